package crypto

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// skSplit finds the SK (46) or SKF (53) payload of an IKE message and
// returns the octets before its IV (assoc) and its body (IV | ciphertext |
// ICV), walking the payload chain from the IKE header (RFC 7296, Section 3).
// first is the SK payload's Next Payload field: the type of the first inner
// payload.
func skSplit(msg []byte) (assoc, body []byte, first byte, err error) {
	if len(msg) < 28 {
		return nil, nil, 0, errors.New("short IKE header")
	}
	np, off := msg[16], 28
	for np != 46 && np != 53 {
		if np == 0 || off+4 > len(msg) {
			return nil, nil, 0, errors.New("no SK payload")
		}
		np = msg[off]
		off += int(binary.BigEndian.Uint16(msg[off+2:]))
	}
	hdr := 4
	if np == 53 {
		hdr = 8 // RFC 7383, Section 2.5: Fragment Number, Total Fragments
	}
	if off+hdr > len(msg) {
		return nil, nil, 0, errors.New("truncated SK header")
	}
	end := off + int(binary.BigEndian.Uint16(msg[off+2:]))
	if end > len(msg) || end < off+hdr {
		return nil, nil, 0, errors.New("bad SK length")
	}
	return msg[:off+hdr], msg[off+hdr : end], msg[off], nil
}

type skSuite struct {
	encr    wire.TransformID
	keyBits int
	integ   wire.TransformID
}

func (s skSuite) String() string {
	return fmt.Sprintf("%s-%d/%s", wire.TransformName(wire.TransformENCR, s.encr), s.keyBits,
		wire.TransformName(wire.TransformINTEG, s.integ))
}

// allSuites is every cipher at every key size; non-AEAD ciphers are paired
// with every integrity transform.
func allSuites() []skSuite {
	var out []skSuite
	for _, e := range IDs(wire.TransformENCR) {
		a, _ := Encr(e)
		for _, kb := range a.KeyBits {
			if !a.KeyLengthAttr {
				kb = 0
			}
			if a.AEAD {
				out = append(out, skSuite{e, kb, wire.AUTH_NONE})
				continue
			}
			for _, i := range IDs(wire.TransformINTEG) {
				out = append(out, skSuite{e, kb, i})
			}
		}
	}
	return out
}

func newTestSK(t testing.TB, s skSuite) (SKCipher, []byte, []byte) {
	t.Helper()
	encLen, integLen, err := ESPKeyLengths(s.encr, s.keyBits, s.integ)
	if err != nil {
		t.Fatal(err)
	}
	ek, ik := make([]byte, encLen), make([]byte, integLen)
	rand.Read(ek)
	rand.Read(ik)
	if integLen == 0 {
		ik = nil
	}
	sk, err := NewSKCipher(s.encr, s.keyBits, s.integ, ek, ik)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return sk, ek, ik
}

// RFC 7296 Section 3.14, RFC 5282, RFC 7634: what Seal produces, Open
// returns, for every cipher, key size, integrity transform and a range of
// lengths that cross block boundaries.
func TestSKRoundTripEverySuite(t *testing.T) {
	assoc := []byte("IKE header and SK generic header")
	for _, s := range allSuites() {
		sk, _, _ := newTestSK(t, s)
		a, _ := Encr(s.encr)
		icv := a.ICVSize
		if ia, ok := Integ(s.integ); ok {
			icv = ia.ICVSize
		}
		for _, n := range []int{0, 1, 7, 8, 14, 15, 16, 17, 31, 32, 33, 100, 1500} {
			plain := make([]byte, n)
			rand.Read(plain)
			body, err := sk.Seal(nil, rand.Reader, assoc, plain)
			if err != nil {
				t.Fatalf("%s/%d: %v", s, n, err)
			}
			if len(body) != sk.BodyLen(n) {
				t.Errorf("%s/%d: body %d octets, BodyLen %d", s, n, len(body), sk.BodyLen(n))
			}
			ct := len(body) - a.IVSize - icv
			if ct%a.BlockSize != 0 || ct < n+1 || ct >= n+1+a.BlockSize {
				t.Errorf("%s/%d: %d octets of ciphertext is not minimal padding to %d", s, n, ct, a.BlockSize)
			}
			got, err := sk.Open(assoc, body)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s/%d: Open = %v", s, n, err)
			}
		}
	}
}

// Seal appends to dst; sealOne passes the message being built as both dst
// and assoc. The body must be the one sealed into a fresh slice with the
// same IV, and the octets before it untouched, whether dst has room to
// spare or must be reallocated.
func TestSKSealAppendsInPlace(t *testing.T) {
	for _, s := range allSuites() {
		sk, _, _ := newTestSK(t, s)
		a, _ := Encr(s.encr)
		iv := bytes.Repeat([]byte{0x5a}, a.IVSize)
		plain := []byte("inner payloads of an IKE_AUTH response")
		want, err := sk.Seal(nil, &fixedReader{bytes.Clone(iv)}, []byte("header"), plain)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		for _, spare := range []int{0, len(want), len(want) + 100} {
			msg := append(make([]byte, 0, len("header")+spare), "header"...)
			got, err := sk.Seal(msg, &fixedReader{bytes.Clone(iv)}, msg, plain)
			if err != nil {
				t.Fatalf("%s/%d: %v", s, spare, err)
			}
			if string(got[:len("header")]) != "header" || !bytes.Equal(got[len("header"):], want) {
				t.Errorf("%s/%d spare: sealed in place\n%x\nwant header then\n%x", s, spare, got, want)
			}
		}
	}
}

// Any change to the associated data or to any octet of the body must fail
// the ICV check (encrypt-then-MAC for the non-AEAD modes, so no padding is
// ever examined under a bad ICV).
func TestSKOpenRejectsEveryModifiedOctet(t *testing.T) {
	assoc := []byte("0123456789abcdef0123456789ab\x2e\x00\x00\x50")
	plain := []byte("inner payloads of an IKE_AUTH request")
	for _, s := range allSuites() {
		sk, _, _ := newTestSK(t, s)
		body, _ := sk.Seal(nil, rand.Reader, assoc, plain)
		for i := range body {
			b := append([]byte(nil), body...)
			b[i] ^= 0x80
			if _, err := sk.Open(assoc, b); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("%s: body octet %d modified: %v", s, i, err)
			}
		}
		for i := range assoc {
			a := append([]byte(nil), assoc...)
			a[i] ^= 1
			if _, err := sk.Open(a, body); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("%s: assoc octet %d modified: %v", s, i, err)
			}
		}
	}
}

// Every truncation of a valid body is an error, never a panic.
func TestSKOpenRejectsTruncatedBodies(t *testing.T) {
	for _, s := range allSuites() {
		sk, _, _ := newTestSK(t, s)
		body, _ := sk.Seal(nil, rand.Reader, nil, []byte("payload"))
		for n := range len(body) {
			_, err := sk.Open(nil, body[:n])
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrAuthentication) {
				t.Fatalf("%s: %d of %d octets: %v", s, n, len(body), err)
			}
		}
		// Appending to a CBC body also breaks the block structure or ICV.
		if _, err := sk.Open(nil, append(body, 0)); err == nil {
			t.Errorf("%s: body with a trailing octet accepted", s)
		}
	}
}

// A pad length that reaches past the start of the plaintext, under a valid
// ICV, is ErrDecrypt (the crafted-padding case): the check must not index
// out of range.
func TestSKOpenRejectsCraftedPadLength(t *testing.T) {
	assoc := []byte("assoc")
	for _, s := range []skSuite{
		{wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128},
		{wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96},
		{wire.ENCR_AES_CTR, 256, wire.AUTH_HMAC_SHA2_512_256},
		{wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE},
		{wire.ENCR_AES_GCM_8, 128, wire.AUTH_NONE},
		{wire.ENCR_AES_CCM_12, 192, wire.AUTH_NONE},
		{wire.ENCR_CHACHA20_POLY1305, 0, wire.AUTH_NONE},
	} {
		sk, _, ik := newTestSK(t, s)
		a, _ := Encr(s.encr)
		for _, pt := range [][]byte{
			append(make([]byte, a.BlockSize-1), 0xff), // 255 > block-1
			append(make([]byte, a.BlockSize-1), byte(a.BlockSize)),
		} {
			body := craftBody(t, sk, s, ik, assoc, pt)
			if _, err := sk.Open(assoc, body); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s: pad length %d in %d octets: %v", s, pt[len(pt)-1], len(pt), err)
			}
		}
		// The largest legal pad length leaves an empty payload.
		pt := append(make([]byte, a.BlockSize-1), byte(a.BlockSize-1))
		if got, err := sk.Open(assoc, craftBody(t, sk, s, ik, assoc, pt)); err != nil || len(got) != 0 {
			t.Errorf("%s: all-padding body: %x, %v", s, got, err)
		}
	}
}

// craftBody encrypts pt exactly as given (no SK padding added) under the
// cipher's own keys and authenticates it, as a malicious peer holding the
// keys could.
func craftBody(t *testing.T, sk SKCipher, s skSuite, ik, assoc, pt []byte) []byte {
	t.Helper()
	iv := make([]byte, 16)
	switch c := sk.(type) {
	case *cbcSK:
		body := append([]byte(nil), iv[:c.alg.IVSize]...)
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(c.block, iv[:c.alg.IVSize]).CryptBlocks(ct, pt)
		body = append(body, ct...)
		return c.mac.sum(body, assoc, body)
	case *ctrSK:
		body := append([]byte(nil), iv[:c.alg.IVSize]...)
		ct := make([]byte, len(pt))
		c.stream(iv[:8]).XORKeyStream(ct, pt)
		body = append(body, ct...)
		return c.mac.sum(body, assoc, body)
	case *aeadSK:
		var nb [16]byte
		return c.aead.Seal(append([]byte(nil), iv[:8]...), c.nonce(&nb, iv[:8]), pt, assoc)
	}
	t.Fatalf("%s: unknown cipher type %T", s, sk)
	return nil
}

func TestSKOpenRejectsPartialBlocks(t *testing.T) {
	sk, _, _ := newTestSK(t, skSuite{wire.ENCR_AES_CBC, 256, wire.AUTH_HMAC_SHA2_256_128})
	body, _ := sk.Seal(nil, rand.Reader, nil, make([]byte, 20))
	// IV | 32 octets | ICV with 5 octets moved from the ciphertext.
	odd := append(append([]byte(nil), body[:16+27]...), body[len(body)-16:]...)
	if _, err := sk.Open(nil, odd); !errors.Is(err, ErrDecrypt) {
		t.Errorf("27-octet CBC ciphertext: %v", err)
	}
}

func TestNewSKCipherRejectsBadParameters(t *testing.T) {
	k := func(n int) []byte { return make([]byte, n) }
	tests := []struct {
		name    string
		encr    wire.TransformID
		keyBits int
		integ   wire.TransformID
		ek, ik  []byte
		err     error
	}{
		{"unknown cipher", wire.ENCR_DES, 0, wire.AUTH_HMAC_SHA1_96, k(8), k(20), ErrUnsupported},
		{"unknown integrity", wire.ENCR_AES_CBC, 128, wire.AUTH_DES_MAC, k(16), k(8), ErrUnsupported},
		{"AES without key length", wire.ENCR_AES_CBC, 0, wire.AUTH_HMAC_SHA1_96, k(16), k(20), ErrUnsupported},
		{"odd key length", wire.ENCR_AES_CBC, 160, wire.AUTH_HMAC_SHA1_96, k(20), k(20), ErrUnsupported},
		{"short key", wire.ENCR_AES_CBC, 256, wire.AUTH_HMAC_SHA1_96, k(16), k(20), ErrKeyLength},
		{"GCM without salt", wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE, k(16), nil, ErrKeyLength},
		{"CCM with GCM salt", wire.ENCR_AES_CCM_8, 128, wire.AUTH_NONE, k(20), nil, ErrKeyLength},
		{"CTR without nonce", wire.ENCR_AES_CTR, 128, wire.AUTH_HMAC_SHA1_96, k(16), k(20), ErrKeyLength},
		{"short integrity key", wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128, k(16), k(20), ErrKeyLength},
		{"AEAD with integrity", wire.ENCR_AES_GCM_16, 128, wire.AUTH_HMAC_SHA1_96, k(20), k(20), ErrUnsupported},
		{"AEAD with integrity key", wire.ENCR_CHACHA20_POLY1305, 0, wire.AUTH_NONE, k(36), k(1), ErrUnsupported},
		{"CBC without integrity", wire.ENCR_AES_CBC, 128, wire.AUTH_NONE, k(16), nil, ErrUnsupported},
		{"3DES with key length", wire.ENCR_3DES, 128, wire.AUTH_HMAC_SHA1_96, k(16), k(20), ErrUnsupported},
	}
	for _, tc := range tests {
		sk, err := NewSKCipher(tc.encr, tc.keyBits, tc.integ, tc.ek, tc.ik)
		if !errors.Is(err, tc.err) || sk != nil {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestSKSealFailsWithoutRandomness(t *testing.T) {
	for _, s := range []skSuite{{wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA1_96},
		{wire.ENCR_AES_CTR, 128, wire.AUTH_HMAC_SHA1_96}, {wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE}} {
		sk, _, _ := newTestSK(t, s)
		if _, err := sk.Seal(nil, &fixedReader{}, nil, []byte("x")); err == nil {
			t.Errorf("%s: sealed without an IV", s)
		}
	}
}

// SKCiphers are shared between the goroutines that send and receive on an
// IKE SA; run with -race.
func TestSKConcurrentUse(t *testing.T) {
	for _, s := range []skSuite{{wire.ENCR_AES_CBC, 256, wire.AUTH_HMAC_SHA2_256_128},
		{wire.ENCR_AES_GCM_8, 256, wire.AUTH_NONE}, {wire.ENCR_AES_CCM_16, 128, wire.AUTH_NONE}} {
		sk, _, _ := newTestSK(t, s)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := []byte(strconv.Itoa(i))
				for range 50 {
					body, err := sk.Seal(nil, rand.Reader, msg, msg)
					if err != nil {
						t.Error(err)
						return
					}
					if got, err := sk.Open(msg, body); err != nil || !bytes.Equal(got, msg) {
						t.Errorf("%s: %v", s, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

// RFC 7296 Section 3.14 padding, as Android's tests expect it: the least
// that makes payloads | padding | pad length a whole number of blocks.
func TestSKPaddingIsMinimalAndroidExpectations(t *testing.T) {
	kvs := loadKV(t, filepath.Join("testdata", "aosp", "IkeEncryptedPayloadBodyTest.txt"))
	checked := 0
	for i := 0; i+2 < len(kvs); i++ {
		if kvs[i].k != "blockSize" || kvs[i+1].k != "plainTextLength" || kvs[i+2].k != "expectedPadLength" {
			continue
		}
		bs, _ := strconv.Atoi(kvs[i].v)
		n, _ := strconv.Atoi(kvs[i+1].v)
		want, _ := strconv.Atoi(kvs[i+2].v)
		if got := padLen(n, bs); got != want {
			t.Errorf("padLen(%d, %d) = %d, want %d", n, bs, got, want)
		}
		checked++
	}
	if checked != 3 {
		t.Fatalf("checked %d padding cases, want 3", checked)
	}
}

// Whole IKE messages from Android's tests, opened with the keys the tests
// give: AES-CBC-128/HMAC-SHA1-96 (IKE_AUTH request), 3DES/HMAC-SHA1-96 as a
// message and as an RFC 7383 fragment, and AES-GCM-16-256 likewise.
func TestSKOpenAndroidMessages(t *testing.T) {
	sk := aosp(t, "IkeSkPayloadTest")
	eb := aosp(t, "IkeEncryptedPayloadBodyTest")
	tests := []struct {
		name                  string
		msg, encKey, integKey []byte
		encr                  wire.TransformID
		keyBits               int
		integ                 wire.TransformID
		want                  []byte
		reseal                bool // padding is zeros and minimal, so Seal reproduces the message
	}{
		{"IKE_AUTH AES-CBC-128", aospHex(t, sk, "IKE_AUTH_INIT_REQUEST_HEX_STRING"),
			aospHex(t, sk, "ENCR_KEY_FROM_INIT_TO_RESP"), aospHex(t, sk, "INTE_KEY_FROM_INIT_TO_RESP"),
			wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA1_96,
			aospHex(t, sk, "IKE_AUTH_INIT_REQUEST_DECRYPTED_BODY_HEX_STRING"), true},
		{"3DES message", aospHex(t, eb, "HMAC_SHA1_3DES_MSG_HEX_STRING"),
			aospHex(t, eb, "HMAC_SHA1_3DES_MSG_ENCR_KEY"), aospHex(t, eb, "HMAC_SHA1_3DES_MSG_INTE_KEY"),
			wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96,
			aospHex(t, eb, "HMAC_SHA1_3DES_DECRYPTED_BODY_HEX_STRING"), false},
		{"3DES fragment", aospHex(t, eb, "HMAC_SHA1_3DES_FRAG_HEX_STRING"),
			aospHex(t, eb, "HMAC_SHA1_3DES_FRAG_ENCR_KEY"), aospHex(t, eb, "HMAC_SHA1_3DES_FRAG_INTE_KEY"),
			wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96,
			aospHex(t, eb, "HMAC_SHA1_3DES_FRAG_DECRYPTED_BODY_HEX_STRING"), false},
		{"AES-GCM message", aospHex(t, eb, "AES_GCM_MSG_HEX_STRING"),
			aospHex(t, eb, "AES_GCM_MSG_ENCR_KEY"), nil, wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE,
			aospHex(t, eb, "AES_GCM_MSG_DECRYPTED_BODY_HEX_STRING"), true},
		{"AES-GCM fragment", aospHex(t, eb, "AES_GCM_FRAG_HEX_STRING"),
			aospHex(t, eb, "AES_GCM_FRAG_ENCR_KEY"), nil, wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE,
			aospHex(t, eb, "AES_GCM_FRAG_DECRYPTED_BODY_HEX_STRING"), true},
	}
	for _, tc := range tests {
		c, err := NewSKCipher(tc.encr, tc.keyBits, tc.integ, tc.encKey, tc.integKey)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		assoc, body, _, err := skSplit(tc.msg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := c.Open(assoc, body)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: Open = %x, %v\nwant %x", tc.name, got, err, tc.want)
			continue
		}
		if tc.reseal {
			a, _ := Encr(tc.encr)
			again, err := c.Seal(nil, &fixedReader{append([]byte(nil), body[:a.IVSize]...)}, assoc, got)
			if err != nil || !bytes.Equal(again, body) {
				t.Errorf("%s: Seal with the same IV did not reproduce the message body", tc.name)
			}
		}
	}
}

// Android's combined-mode cipher test: AES-GCM-16-256 with the IKE header as
// AAD, and the RFC 7634 ESP example for ChaCha20-Poly1305 (an ESP trailer,
// so checked on the AEAD, not through SK padding).
func TestAEADAndroidCombinedMode(t *testing.T) {
	m := aosp(t, "IkeCombinedModeCipherTest")
	sk, err := NewSKCipher(wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE, aospHex(t, m, "KEY"), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := append(aospHex(t, m, "IV"), aospHex(t, m, "ENCRYPTED_PADDED_DATA_WITH_CHECKSUM")...)
	padded := aospHex(t, m, "UNENCRYPTED_PADDED_DATA")
	want := padded[:len(padded)-1-int(padded[len(padded)-1])]
	got, err := sk.Open(aospHex(t, m, "ADDITIONAL_AUTH_DATA"), body)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("AES-GCM: %x, %v; want %x", got, err, want)
	}
	checkAEAD(t, "ChaCha20-Poly1305 RFC 7634 ESP", wire.ENCR_CHACHA20_POLY1305, 0, aospHex(t, m, "CHACHA_POLY_KEY"),
		aospHex(t, m, "CHACHA_POLY_IV"), aospHex(t, m, "CHACHA_POLY_ADDITIONAL_AUTH_DATA"),
		aospHex(t, m, "CHACHA_POLY_UNENCRYPTED_DATA"), aospHex(t, m, "CHACHA_POLY_ENCRYPTED_DATA_WITH_CHECKSUM"))
	n := aosp(t, "IkeNormalModeCipherTest")
	checkCrypter(t, "AES-CTR RFC 3686", wire.ENCR_AES_CTR, 128, aospHex(t, n, "AES_CTR_KEY"), aospHex(t, n, "AES_CTR_IV"),
		aospHex(t, n, "AES_CTR_UNENCRYPTED_DATA"), aospHex(t, n, "AES_CTR_ENCRYPT_DATA"))
}

// RFC 7634, Appendix B: the IKEv2 example. Open yields the Notify payload
// and Seal, given the same IV, reproduces the example's Encrypted payload
// body octet for octet (zero-length padding, Pad Length 0).
func TestChaCha20RFC7634IKEv2Example(t *testing.T) {
	_, secs := strongswan(t, "chacha20poly1305.txt")
	var s section
	for _, x := range secs {
		if x.name == "chacha20poly1305_4" {
			s = x
		}
	}
	if s.name == "" {
		t.Fatal("RFC 7634 IKEv2 example not found")
	}
	sk, err := NewSKCipher(wire.ENCR_CHACHA20_POLY1305, 0, wire.AUTH_NONE, s.hex(t, "key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	iv, assoc := s.hex(t, "iv"), s.hex(t, "adata")
	body := append(append([]byte(nil), iv...), s.hex(t, "cipher")...)
	plain := s.hex(t, "plain")
	got, err := sk.Open(assoc, body)
	if want := plain[:len(plain)-1]; err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Open = %x, %v; want %x", got, err, want)
	}
	again, err := sk.Seal(nil, &fixedReader{append([]byte(nil), iv...)}, assoc, got)
	if err != nil || !bytes.Equal(again, body) {
		t.Errorf("Seal = %x, %v\nwant %x", again, err, body)
	}
}

// A nil random source means crypto/rand.Reader everywhere one is taken.
func TestNilRandMeansSystemRandom(t *testing.T) {
	sk, _, _ := newTestSK(t, skSuite{wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE})
	body, err := sk.Seal(nil, nil, nil, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sk.Open(nil, body); err != nil || string(got) != "x" {
		t.Fatal(err)
	}
	g, _ := KE(wire.CURVE_25519)
	if _, err := g.Generate(nil); err != nil {
		t.Fatal(err)
	}
	rk, _ := testKeys(t)
	if _, err := SignAuth(nil, rk, AuthDigitalSignature, RSAPSSSHA256, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

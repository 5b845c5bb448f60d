package crypto

import (
	"bytes"
	"errors"
	mathrand "math/rand/v2"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// Native fuzz targets. Seeds come from f.Add below and nothing is written to
// testdata/fuzz by the tests; `go test -fuzz FuzzSKOpen -fuzztime 20s
// ./crypto/` explores further.

var fuzzSKSuites = []skSuite{
	{wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128},
	{wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96},
	{wire.ENCR_AES_CTR, 256, wire.AUTH_HMAC_SHA2_512_256},
	{wire.ENCR_AES_CBC, 256, wire.AUTH_AES_XCBC_96},
	{wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE},
	{wire.ENCR_AES_GCM_8, 128, wire.AUTH_NONE},
	{wire.ENCR_AES_CCM_12, 128, wire.AUTH_NONE},
	{wire.ENCR_CHACHA20_POLY1305, 0, wire.AUTH_NONE},
}

// fuzzCiphers builds the suites above over fixed keys, so that a sealed seed
// stays valid from run to run.
func fuzzCiphers(tb testing.TB) []SKCipher {
	var out []SKCipher
	for i, s := range fuzzSKSuites {
		el, il, err := ESPKeyLengths(s.encr, s.keyBits, s.integ)
		if err != nil {
			tb.Fatal(err)
		}
		ik := bytes.Repeat([]byte{byte(0x40 + i)}, il)
		if il == 0 {
			ik = nil
		}
		sk, err := NewSKCipher(s.encr, s.keyBits, s.integ, bytes.Repeat([]byte{byte(i + 1)}, el), ik)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, sk)
	}
	return out
}

// Open never panics, and every failure is ErrAuthentication or ErrDecrypt.
func FuzzSKOpen(f *testing.F) {
	ciphers := fuzzCiphers(f)
	assoc := []byte("0123456789abcdefghijklmnopqrstuvwxyz\x2e\x00\x00\x40")
	for i, sk := range ciphers {
		body, err := sk.Seal(nil, &fixedReader{bytes.Repeat([]byte{9}, 16)}, assoc, []byte("\x00\x00\x00\x0c\x01\x00\x00\x00\xc0\xa8\x00\x01"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(i), assoc, body)
		f.Add(byte(i), assoc, body[:len(body)/2])
		f.Add(byte(i), []byte(nil), body)
	}
	f.Add(byte(0), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sel byte, assoc, body []byte) {
		sk := ciphers[int(sel)%len(ciphers)]
		pt, err := sk.Open(assoc, body)
		if err != nil {
			if !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(pt) >= len(body) {
			t.Fatalf("plaintext %d octets from a %d-octet body", len(pt), len(body))
		}
	})
}

// SharedSecret never panics on any peer value for any method, and every
// failure is an InvalidPublicError.
func FuzzSharedSecret(f *testing.F) {
	ids := IDs(wire.TransformKE)
	privs := make([]*KEPrivate, len(ids))
	for i, id := range ids {
		g, _ := KE(id)
		var seed [32]byte
		seed[0] = byte(i)
		k, err := g.Generate(mathrand.NewChaCha8(seed))
		if err != nil {
			f.Fatal(err)
		}
		privs[i] = k
		f.Add(byte(i), k.Public())
		f.Add(byte(i), make([]byte, g.PublicSize))
		f.Add(byte(i), bytes.Repeat([]byte{0xff}, g.PublicSize))
	}
	f.Fuzz(func(t *testing.T, sel byte, peer []byte) {
		k := privs[int(sel)%len(privs)]
		z, err := k.SharedSecret(peer)
		if err != nil {
			var ipe *InvalidPublicError
			if !errors.As(err, &ipe) || !errors.Is(err, ErrInvalidPublic) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(z) != k.Alg().SharedSize || isZero(z) {
			t.Fatalf("%s: bad shared secret of %d octets", k.Alg().Name, len(z))
		}
	})
}

// VerifyAuth never panics on attacker-chosen AUTH data, for any method.
func FuzzVerifyAuth(f *testing.F) {
	rk, ek := testKeys(f)
	octets := []byte("octets")
	for _, s := range []SignatureScheme{RSAPKCS1SHA256, RSAPSSSHA256, ECDSASHA256} {
		var sig []byte
		var err error
		if s == ECDSASHA256 {
			sig, err = SignAuth(nil, ek["P-256"], AuthDigitalSignature, s, octets)
		} else {
			sig, err = SignAuth(nil, rk, AuthDigitalSignature, s, octets)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(AuthDigitalSignature), sig)
	}
	f.Add(uint8(AuthECDSASHA256P256), make([]byte, 64))
	f.Add(uint8(AuthRSASignature), make([]byte, 256))
	keys := []any{&rk.PublicKey, &ek["P-256"].PublicKey, &ek["P-384"].PublicKey}
	f.Fuzz(func(t *testing.T, method uint8, data []byte) {
		for _, k := range keys {
			if _, err := VerifyAuth(k, AuthMethod(method), octets, data); err == nil {
				continue
			} else if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrKeyMismatch) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error %v", err)
			}
		}
	})
}

// ParseAlgorithmIdentifier never panics, and what it accepts names a scheme
// whose own encoding parses back to the same scheme.
func FuzzParseAlgorithmIdentifier(f *testing.F) {
	for _, s := range schemes {
		f.Add(s.algID)
	}
	f.Add(mustHex(f, "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d0101"+
		"08300d06096086480165030402010500a203020120a303020101"))
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseAlgorithmIdentifier(der)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if back, err := ParseAlgorithmIdentifier(s.AlgorithmIdentifier()); err != nil || back != s {
			t.Fatalf("%s does not round-trip: %s, %v", s, back, err)
		}
	})
}

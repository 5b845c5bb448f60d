package crypto

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

func kvMap(t *testing.T, path string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, e := range loadKV(t, path) {
		m[e.k] = mustHex(t, e.v)
	}
	return m
}

// Android's complete key schedule (SaRecordTest): MODP-1024 g^ir, PRF
// HMAC-SHA1, AES-CBC-128, HMAC-SHA1-96. SKEYSEED, the seven SK_* keys in RFC
// 7296 Section 2.14 order and lengths, and the first child SA's KEYMAT split
// as Section 2.17 says (initiator-to-responder first, encryption before
// integrity).
func TestKeyScheduleAndroidFull(t *testing.T) {
	v := kvMap(t, filepath.Join("testdata", "ikev2-keymat-aosp-modp1024-sha1-aes128cbc.txt"))
	p, _ := PRFByID(wire.PRF_HMAC_SHA1)
	skeyseed := SKEYSEED(p, v["Ni"], v["Nr"], v["g^ir"])
	if !bytes.Equal(skeyseed, v["SKEYSEED"]) {
		t.Fatalf("SKEYSEED %x, want %x", skeyseed, v["SKEYSEED"])
	}
	suite := Suite{Encr: wire.ENCR_AES_CBC, EncrKeyBits: 128, PRF: wire.PRF_HMAC_SHA1,
		Integ: wire.AUTH_HMAC_SHA1_96, KE: wire.MODP_1024}
	keys, err := DeriveIKEKeys(suite, skeyseed, v["Ni"], v["Nr"], [8]byte(v["SPIi"]), [8]byte(v["SPIr"]))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"SK_d": keys.SKd, "SK_ai": keys.SKai, "SK_ar": keys.SKar,
		"SK_ei": keys.SKei, "SK_er": keys.SKer, "SK_pi": keys.SKpi, "SK_pr": keys.SKpr} {
		if !bytes.Equal(got, v[name]) {
			t.Errorf("%s = %x, want %x", name, got, v[name])
		}
	}
	child, err := DeriveChildKeys(p, keys.SKd, nil, v["Ni"], v["Nr"], wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA1_96)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"child_encr_i": child.EncrI, "child_integ_i": child.IntegI,
		"child_encr_r": child.EncrR, "child_integ_r": child.IntegR} {
		if !bytes.Equal(got, v[name]) {
			t.Errorf("%s = %x, want %x", name, got, v[name])
		}
	}
	// prf(SK_pi, IDi') as the AUTH computation uses it.
	if got := p.Compute(keys.SKpi, v["MAC_DATA"]); !bytes.Equal(got, v["CALCULATED_MAC"]) {
		t.Errorf("prf(SK_pi, IDi') = %x, want %x", got, v["CALCULATED_MAC"])
	}
}

// Android's PRF test class: SKEYSEED with HMAC-SHA2-256 over an ECP-521
// g^ir; SKEYSEED with AES-XCBC, keyed by the first 64 bits of each nonce
// (RFC 7296 Section 2.14, RFC 4434 Section 4); and an IKE SA rekey with
// AES-XCBC (Section 2.18).
func TestSKEYSEEDAndroidVectors(t *testing.T) {
	m := aosp(t, "IkeMacPrfTest")
	sha256, _ := PRFByID(wire.PRF_HMAC_SHA2_256)
	got := SKEYSEED(sha256, aospHex(t, m, "PRF_HMAC256_IKE_NONCE_INIT_HEX_STRING"),
		aospHex(t, m, "PRF_HMAC256_IKE_NONCE_RESP_HEX_STRING"), aospHex(t, m, "PRF_HMAC256_IKE_SHARED_DH_KEY_HEX_STRING"))
	if want := aospHex(t, m, "PRF_HMAC256_IKE_SKEYSEED_HEX_STRING"); !bytes.Equal(got, want) {
		t.Errorf("SHA2-256 SKEYSEED %x, want %x", got, want)
	}

	xcbc, _ := PRFByID(wire.PRF_AES128_XCBC)
	// Ni starts 0001020304050607, Nr 08090a0b0c0d0e0f: the SKEYSEED key
	// is then the RFC 4434 test key, and the result its test output.
	got = SKEYSEED(xcbc, aospHex(t, m, "PRF_AES128_IKE_NONCE_INIT_HEX_STRING"),
		aospHex(t, m, "PRF_AES128_IKE_NONCE_RESP_HEX_STRING"), aospHex(t, m, "PRF_AES128XCBC_DATA_TO_SIGN_HEX_STRING"))
	if want := aospHex(t, m, "PRF_AES128XCBC_CALCULATED_MAC_HEX_STRING"); !bytes.Equal(got, want) {
		t.Errorf("AES-XCBC SKEYSEED %x, want %x", got, want)
	}

	got = RekeySKEYSEED(xcbc, aospHex(t, m, "oldSkdHex"), aospHex(t, m, "sharedDhKeyHex"),
		aospHex(t, m, "nonceInitHex"), aospHex(t, m, "nonceRespHex"))
	if want := aospHex(t, m, "expectedSKeySeedHex"); !bytes.Equal(got, want) {
		t.Errorf("AES-XCBC rekey SKEYSEED %x, want %x", got, want)
	}
}

// RFC 7296 Section 2.14 key lengths for an AEAD suite: no SK_a, SK_e with
// the 4-octet GCM salt, SK_d/SK_p at the PRF's preferred length.
func TestDeriveIKEKeysLengths(t *testing.T) {
	tests := []struct {
		s                   Suite
		d, a, e             int
		unsupportedPRFOrErr error
	}{
		{Suite{Encr: wire.ENCR_AES_GCM_16, EncrKeyBits: 256, PRF: wire.PRF_HMAC_SHA2_384, Integ: wire.AUTH_NONE}, 48, 0, 36, nil},
		{Suite{Encr: wire.ENCR_AES_CBC, EncrKeyBits: 256, PRF: wire.PRF_HMAC_SHA2_256, Integ: wire.AUTH_HMAC_SHA2_256_128}, 32, 32, 32, nil},
		{Suite{Encr: wire.ENCR_3DES, PRF: wire.PRF_HMAC_SHA1, Integ: wire.AUTH_HMAC_SHA1_96}, 20, 20, 24, nil},
		{Suite{Encr: wire.ENCR_AES_CTR, EncrKeyBits: 128, PRF: wire.PRF_AES128_XCBC, Integ: wire.AUTH_AES_XCBC_96}, 16, 16, 20, nil},
		{Suite{Encr: wire.ENCR_CHACHA20_POLY1305, PRF: wire.PRF_HMAC_SHA2_512, Integ: wire.AUTH_NONE}, 64, 0, 36, nil},
		{Suite{Encr: wire.ENCR_AES_CBC, EncrKeyBits: 128, PRF: wire.PRF_HMAC_TIGER, Integ: wire.AUTH_HMAC_SHA1_96}, 0, 0, 0, ErrUnsupported},
		{Suite{Encr: wire.ENCR_AES_GCM_16, EncrKeyBits: 128, PRF: wire.PRF_HMAC_SHA1, Integ: wire.AUTH_HMAC_SHA1_96}, 0, 0, 0, ErrUnsupported},
	}
	var spi [8]byte
	for _, tc := range tests {
		k, err := DeriveIKEKeys(tc.s, []byte("skeyseed"), make([]byte, 16), make([]byte, 16), spi, spi)
		if !errors.Is(err, tc.unsupportedPRFOrErr) {
			t.Errorf("%+v: %v", tc.s, err)
			continue
		}
		if err != nil {
			continue
		}
		if len(k.SKd) != tc.d || len(k.SKpi) != tc.d || len(k.SKpr) != tc.d || len(k.SKai) != tc.a ||
			len(k.SKar) != tc.a || len(k.SKei) != tc.e || len(k.SKer) != tc.e {
			t.Errorf("%+v: lengths d=%d a=%d e=%d", tc.s, len(k.SKd), len(k.SKai), len(k.SKei))
		}
		// The keys feed NewSKCipher as they are.
		if _, err := NewSKCipher(tc.s.Encr, tc.s.EncrKeyBits, tc.s.Integ, k.SKei, nilIfEmpty(k.SKai)); err != nil {
			t.Errorf("%+v: NewSKCipher: %v", tc.s, err)
		}
	}
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// RFC 7296, Section 2.17: the child SA pair with and without PFS differ,
// AEAD children take salt-extended keys and no integrity keys, and a KEYMAT
// of the wrong length is refused.
func TestChildKeys(t *testing.T) {
	p, _ := PRFByID(wire.PRF_HMAC_SHA2_256)
	skd, ni, nr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	noPFS, err := DeriveChildKeys(p, skd, nil, ni, nr, wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE)
	if err != nil {
		t.Fatal(err)
	}
	pfs, _ := DeriveChildKeys(p, skd, []byte("g^ir new"), ni, nr, wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE)
	if len(noPFS.EncrI) != 36 || len(noPFS.EncrR) != 36 || len(noPFS.IntegI) != 0 || len(noPFS.IntegR) != 0 {
		t.Errorf("AEAD child key lengths %d/%d/%d/%d", len(noPFS.EncrI), len(noPFS.IntegI), len(noPFS.EncrR), len(noPFS.IntegR))
	}
	if bytes.Equal(noPFS.EncrI, pfs.EncrI) || bytes.Equal(noPFS.EncrI, noPFS.EncrR) {
		t.Error("PFS did not change the keys, or the two directions share one")
	}
	km, _ := ChildKeymat(p, skd, nil, ni, nr, 72)
	if !bytes.Equal(km[:36], noPFS.EncrI) || !bytes.Equal(km[36:], noPFS.EncrR) {
		t.Error("KEYMAT not split in order")
	}
	for _, n := range []int{0, 71, 73} {
		if _, err := SplitChildKeymat(make([]byte, n), 36, 0); !errors.Is(err, ErrKeyLength) {
			t.Errorf("%d octets of KEYMAT: %v", n, err)
		}
	}
	if _, err := DeriveChildKeys(p, skd, nil, ni, nr, wire.ENCR_AES_CBC, 128, wire.AUTH_NONE); !errors.Is(err, ErrUnsupported) {
		t.Errorf("CBC child without integrity: %v", err)
	}
}

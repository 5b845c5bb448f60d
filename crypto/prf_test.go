package crypto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// RFC 7296, Section 2.13: prf+ stops at 255 blocks.
func TestPRFPlusRefusesMoreThan255Blocks(t *testing.T) {
	for _, id := range IDs(wire.TransformPRF) {
		p, _ := PRFByID(id)
		out, err := PRFPlus(p, []byte("key"), []byte("seed"), 255*p.Size)
		if err != nil || len(out) != 255*p.Size {
			t.Errorf("%s: 255 blocks: %d octets, %v", p.Name, len(out), err)
		}
		if _, err := PRFPlus(p, []byte("key"), []byte("seed"), 255*p.Size+1); !errors.Is(err, ErrOutputTooLong) {
			t.Errorf("%s: 255 blocks + 1 octet: %v", p.Name, err)
		}
		if _, err := PRFPlus(p, nil, nil, -1); !errors.Is(err, ErrOutputTooLong) {
			t.Errorf("%s: negative length: %v", p.Name, err)
		}
		if out, err := PRFPlus(p, nil, nil, 0); err != nil || len(out) != 0 {
			t.Errorf("%s: zero length: %x, %v", p.Name, out, err)
		}
	}
}

// T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02): checked against the
// definition directly, and shorter outputs are prefixes of longer ones.
func TestPRFPlusDefinition(t *testing.T) {
	p, _ := PRFByID(wire.PRF_HMAC_SHA2_256)
	k, s := []byte("K"), []byte("S")
	t1 := p.Compute(k, append(append([]byte(nil), s...), 1))
	t2 := p.Compute(k, append(append(append([]byte(nil), t1...), s...), 2))
	got, _ := PRFPlus(p, k, s, 2*p.Size)
	if !bytes.Equal(got, append(t1, t2...)) {
		t.Error("prf+ does not follow RFC 7296, Section 2.13")
	}
	short, _ := PRFPlus(p, k, s, 40)
	if !bytes.Equal(short, got[:40]) || cap(short) != 40 {
		t.Error("a shorter prf+ output is not a prefix, or leaks capacity")
	}
}

// Android's PRF and integrity vectors: HMAC-SHA1 and HMAC-SHA2-256 PRF,
// AES-XCBC-PRF-128 (RFC 4434, keys of 16, 10 and 18 octets), AES-CMAC-PRF-128
// (RFC 4615), HMAC-SHA1-96 over an IKE_AUTH message, AES-XCBC-96, AES-CMAC-96.
func TestPRFAndIntegrityAndroidVectors(t *testing.T) {
	m := aosp(t, "IkeMacPrfTest")
	prfCases := []struct {
		id              wire.TransformID
		key, data, want string
	}{
		{wire.PRF_HMAC_SHA1, "PRF_KEY_HEX_STRING", "DATA_TO_SIGN_HEX_STRING", "CALCULATED_MAC_HEX_STRING"},
		{wire.PRF_HMAC_SHA2_256, "PRF_HMAC256_KEY_HEX_STRING", "PRF_HMAC256_DATA_TO_SIGN_HEX_STRING", "PRF_HMAC256_CALCULATED_MAC_HEX_STRING"},
		{wire.PRF_AES128_XCBC, "PRF_AES128XCBC_KEY_HEX_STRING", "PRF_AES128XCBC_DATA_TO_SIGN_HEX_STRING", "PRF_AES128XCBC_CALCULATED_MAC_HEX_STRING"},
		{wire.PRF_AES128_XCBC, "PRF_AES128XCBC_KEY_HEX_STRING1", "PRF_AES128XCBC_DATA_TO_SIGN_HEX_STRING1", "PRF_AES128XCBC_CALCULATED_MAC_HEX_STRING1"},
		{wire.PRF_AES128_XCBC, "PRF_AES128XCBC_KEY_HEX_STRING2", "PRF_AES128XCBC_DATA_TO_SIGN_HEX_STRING2", "PRF_AES128XCBC_CALCULATED_MAC_HEX_STRING2"},
		{wire.PRF_AES128_XCBC, "PRF_AES128XCBC_KEY_HEX_STRING3", "PRF_AES128XCBC_DATA_TO_SIGN_HEX_STRING3", "PRF_AES128XCBC_CALCULATED_MAC_HEX_STRING3"},
		{wire.PRF_AES128_CMAC, "PRF_AES128_CMAC_KEY_HEX_STRING", "PRF_AES128_CMAC_DATA_TO_SIGN_HEX_STRING", "PRF_AES128_CMAC_CALCULATED_MAC_HEX_STRING"},
		{wire.PRF_AES128_CMAC, "PRF_AES128_CMAC_KEY_HEX_STRING1", "PRF_AES128_CMAC_DATA_TO_SIGN_HEX_STRING1", "PRF_AES128_CMAC_CALCULATED_MAC_HEX_STRING1"},
		{wire.PRF_AES128_CMAC, "PRF_AES128_CMAC_KEY_HEX_STRING2", "PRF_AES128_CMAC_DATA_TO_SIGN_HEX_STRING2", "PRF_AES128_CMAC_CALCULATED_MAC_HEX_STRING2"},
	}
	for _, tc := range prfCases {
		p, _ := PRFByID(tc.id)
		if got, want := p.Compute(aospHex(t, m, tc.key), aospHex(t, m, tc.data)), aospHex(t, m, tc.want); !bytes.Equal(got, want) {
			t.Errorf("%s %s: %x, want %x", p.Name, tc.key, got, want)
		}
	}

	i := aosp(t, "IkeMacIntegrityTest")
	integCases := []struct {
		id              wire.TransformID
		key, data, want string
	}{
		{wire.AUTH_HMAC_SHA1_96, "INTEGRITY_KEY_HEX_STRING", "DATA_TO_AUTH_HEX_STRING", "CHECKSUM_HEX_STRING"},
		{wire.AUTH_AES_XCBC_96, "AUTH_AES128XCBC_KEY_HEX_STRING", "AUTH_AES128XCBC_DATA_TO_SIGN_HEX_STRING", "AUTH_AES128XCBC_CALCULATED_MAC_HEX_STRING"},
		{wire.AUTH_AES_XCBC_96, "AUTH_AES128XCBC_KEY_HEX_STRING1", "AUTH_AES128XCBC_DATA_TO_SIGN_HEX_STRING1", "AUTH_AES128XCBC_CALCULATED_MAC_HEX_STRING1"},
		{wire.AUTH_AES_CMAC_96, "AUTH_AES_CMAC_96_KEY_HEX_STRING", "AUTH_AES_CMAC_96_DATA_TO_SIGN_HEX_STRING", "AUTH_AES_CMAC_96_CALCULATED_MAC_HEX_STRING"},
	}
	for _, tc := range integCases {
		a, _ := Integ(tc.id)
		key, data, want := aospHex(t, i, tc.key), aospHex(t, i, tc.data), aospHex(t, i, tc.want)
		got, err := a.MAC(key, data)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s %s: %x, %v; want %x", a.Name, tc.key, got, err, want)
		}
		if !a.Verify(key, data, want) {
			t.Errorf("%s: Verify rejects the expected ICV", a.Name)
		}
	}
}

// Integrity check values compare in constant time and reject any change,
// any truncation and a key of the wrong length.
func TestIntegVerifyRejects(t *testing.T) {
	for _, id := range IDs(wire.TransformINTEG) {
		a, _ := Integ(id)
		key := bytes.Repeat([]byte{7}, a.KeySize)
		data := []byte("IKE message through the IV and ciphertext")
		icv, err := a.MAC(key, data)
		if err != nil || len(icv) != a.ICVSize {
			t.Fatalf("%s: %d-octet ICV, %v", a.Name, len(icv), err)
		}
		for i := range icv {
			bad := append([]byte(nil), icv...)
			bad[i] ^= 1
			if a.Verify(key, data, bad) {
				t.Errorf("%s: octet %d flipped, still verifies", a.Name, i)
			}
		}
		if a.Verify(key, data, icv[:len(icv)-1]) || a.Verify(key, data, append(icv, 0)) {
			t.Errorf("%s: wrong-length ICV verifies", a.Name)
		}
		if _, err := a.MAC(key[1:], data); !errors.Is(err, ErrKeyLength) {
			t.Errorf("%s: short key: %v", a.Name, err)
		}
		if a.Verify(append(key, 0), data, icv) {
			t.Errorf("%s: long key verifies", a.Name)
		}
	}
}

package crypto

import (
	"errors"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// The names and lengths `ip xfrm state add` takes; LAB.md records that the
// Debian kernel accepted cbc(aes)+hmac(sha256)/128, rfc4106(gcm(aes)) with a
// 20-byte key and ICV 128, and cbc(des3_ede)+hmac(sha1)/96.
func TestKernelEncrNamesAndKeyLengths(t *testing.T) {
	tests := []struct {
		id      wire.TransformID
		keyBits int
		want    KernelAlg
	}{
		{wire.ENCR_AES_CBC, 128, KernelAlg{Name: "cbc(aes)", KeyBits: 128}},
		{wire.ENCR_AES_CBC, 256, KernelAlg{Name: "cbc(aes)", KeyBits: 256}},
		{wire.ENCR_3DES, 0, KernelAlg{Name: "cbc(des3_ede)", KeyBits: 192}},
		{wire.ENCR_AES_CTR, 256, KernelAlg{Name: "rfc3686(ctr(aes))", KeyBits: 288}},
		{wire.ENCR_AES_GCM_16, 128, KernelAlg{Name: "rfc4106(gcm(aes))", KeyBits: 160, ICVBits: 128}},
		{wire.ENCR_AES_GCM_16, 256, KernelAlg{Name: "rfc4106(gcm(aes))", KeyBits: 288, ICVBits: 128}},
		{wire.ENCR_AES_GCM_12, 192, KernelAlg{Name: "rfc4106(gcm(aes))", KeyBits: 224, ICVBits: 96}},
		{wire.ENCR_AES_GCM_8, 128, KernelAlg{Name: "rfc4106(gcm(aes))", KeyBits: 160, ICVBits: 64}},
		{wire.ENCR_AES_CCM_8, 128, KernelAlg{Name: "rfc4309(ccm(aes))", KeyBits: 152, ICVBits: 64}},
		{wire.ENCR_CHACHA20_POLY1305, 0, KernelAlg{Name: "rfc7539esp(chacha20,poly1305)", KeyBits: 288, ICVBits: 128}},
	}
	for _, tc := range tests {
		got, err := KernelEncr(tc.id, tc.keyBits)
		if err != nil || got != tc.want {
			t.Errorf("KernelEncr(%s, %d) = %+v, %v; want %+v", wire.TransformName(wire.TransformENCR, tc.id), tc.keyBits, got, err, tc.want)
		}
		if got.AEAD() != wire.IsAEAD(tc.id) {
			t.Errorf("%s: AEAD() = %v", got.Name, got.AEAD())
		}
	}
	if _, err := KernelEncr(wire.ENCR_AES_CBC, 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AES-CBC without key length: %v", err)
	}
	if _, err := KernelEncr(wire.ENCR_DES, 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("DES: %v", err)
	}
}

func TestKernelIntegTruncation(t *testing.T) {
	tests := []struct {
		id   wire.TransformID
		want KernelAlg
	}{
		{wire.AUTH_HMAC_SHA1_96, KernelAlg{Name: "hmac(sha1)", KeyBits: 160, TruncBits: 96}},
		{wire.AUTH_HMAC_SHA2_256_128, KernelAlg{Name: "hmac(sha256)", KeyBits: 256, TruncBits: 128}},
		{wire.AUTH_HMAC_SHA2_384_192, KernelAlg{Name: "hmac(sha384)", KeyBits: 384, TruncBits: 192}},
		{wire.AUTH_HMAC_SHA2_512_256, KernelAlg{Name: "hmac(sha512)", KeyBits: 512, TruncBits: 256}},
		{wire.AUTH_HMAC_MD5_96, KernelAlg{Name: "hmac(md5)", KeyBits: 128, TruncBits: 96}},
		{wire.AUTH_AES_XCBC_96, KernelAlg{Name: "xcbc(aes)", KeyBits: 128, TruncBits: 96}},
		{wire.AUTH_AES_CMAC_96, KernelAlg{Name: "cmac(aes)", KeyBits: 128, TruncBits: 96}},
	}
	for _, tc := range tests {
		got, err := KernelInteg(tc.id)
		if err != nil || got != tc.want {
			t.Errorf("KernelInteg(%s) = %+v, %v; want %+v", wire.TransformName(wire.TransformINTEG, tc.id), got, err, tc.want)
		}
	}
	if _, err := KernelInteg(wire.AUTH_NONE); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AUTH_NONE: %v", err)
	}
}

// Every transform the registry offers can also be installed in the kernel.
func TestKernelTableCoversRegistry(t *testing.T) {
	for id, a := range encrAlgs {
		for _, kb := range a.KeyBits {
			if _, err := KernelEncr(id, kb); err != nil {
				t.Errorf("%s/%d: %v", a.Name, kb, err)
			}
		}
	}
	for id, a := range integAlgs {
		if _, err := KernelInteg(id); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
	}
}

// RFC 7296, Section 2.17: KEYMAT is cut into an encryption key (with salt)
// and an integrity key per direction; AEAD takes no integrity key.
func TestESPKeyLengths(t *testing.T) {
	tests := []struct {
		encr           wire.TransformID
		keyBits        int
		integ          wire.TransformID
		encLen, intLen int
		err            error
	}{
		{wire.ENCR_AES_CBC, 256, wire.AUTH_HMAC_SHA2_256_128, 32, 32, nil},
		{wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA1_96, 16, 20, nil},
		{wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96, 24, 20, nil},
		{wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE, 20, 0, nil},
		{wire.ENCR_AES_CTR, 128, wire.AUTH_AES_XCBC_96, 20, 16, nil},
		{wire.ENCR_AES_GCM_16, 128, wire.AUTH_HMAC_SHA2_256_128, 0, 0, ErrUnsupported},
		{wire.ENCR_AES_CBC, 128, wire.AUTH_NONE, 0, 0, ErrUnsupported},
		{wire.ENCR_AES_CBC, 128, wire.AUTH_DES_MAC, 0, 0, ErrUnsupported},
		{wire.ENCR_AES_CBC, 100, wire.AUTH_HMAC_SHA1_96, 0, 0, ErrUnsupported},
		{wire.ENCR_DES, 0, wire.AUTH_HMAC_SHA1_96, 0, 0, ErrUnsupported},
	}
	for _, tc := range tests {
		e, i, err := ESPKeyLengths(tc.encr, tc.keyBits, tc.integ)
		if !errors.Is(err, tc.err) || e != tc.encLen || i != tc.intLen {
			t.Errorf("ESPKeyLengths(%d, %d, %d) = %d, %d, %v; want %d, %d, %v",
				tc.encr, tc.keyBits, tc.integ, e, i, err, tc.encLen, tc.intLen, tc.err)
		}
	}
}

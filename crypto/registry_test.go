package crypto

import (
	"errors"
	"slices"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// The Weak flag in each table and IsWeak must agree, or policy and audit
// would disagree about the same transform.
func TestRegistryWeakFlagsAgreeWithIsWeak(t *testing.T) {
	for id, a := range encrAlgs {
		for _, kb := range a.KeyBits {
			if a.Weak != IsWeak(wire.TransformENCR, id, kb) {
				t.Errorf("%s/%d: Weak=%v, IsWeak=%v", a.Name, kb, a.Weak, !a.Weak)
			}
		}
	}
	for id, a := range prfAlgs {
		if a.Weak != IsWeak(wire.TransformPRF, id, 0) {
			t.Errorf("%s: Weak=%v, IsWeak=%v", a.Name, a.Weak, !a.Weak)
		}
	}
	for id, a := range integAlgs {
		if a.Weak != IsWeak(wire.TransformINTEG, id, 0) {
			t.Errorf("%s: Weak=%v, IsWeak=%v", a.Name, a.Weak, !a.Weak)
		}
	}
	for id, a := range keAlgs {
		if a.Weak != IsWeak(wire.TransformKE, id, 0) {
			t.Errorf("%s: Weak=%v, IsWeak=%v", a.Name, a.Weak, !a.Weak)
		}
	}
}

func TestRegistryNamesFollowWire(t *testing.T) {
	for id, a := range encrAlgs {
		if a.ID != id || a.Name != wire.TransformName(wire.TransformENCR, id) {
			t.Errorf("encr %d: ID %d name %q", id, a.ID, a.Name)
		}
		if a.AEAD != wire.IsAEAD(id) {
			t.Errorf("%s: AEAD=%v, wire.IsAEAD=%v", a.Name, a.AEAD, wire.IsAEAD(id))
		}
	}
	for id, a := range keAlgs {
		if a.ID != id || a.Name != wire.TransformName(wire.TransformKE, id) {
			t.Errorf("ke %d: ID %d name %q", id, a.ID, a.Name)
		}
	}
}

// The Windows defaults this project must reproduce and refuse: 3DES,
// SHA-1 and MODP-1024 are weak; what Windows offers besides them is not.
func TestIsWeakWindowsDefaultsAndNISTGuidance(t *testing.T) {
	tests := []struct {
		t       wire.TransformType
		id      wire.TransformID
		keyBits int
		weak    bool
	}{
		{wire.TransformENCR, wire.ENCR_3DES, 0, true},
		{wire.TransformENCR, wire.ENCR_DES, 0, true},
		{wire.TransformENCR, wire.ENCR_NULL, 0, true},
		{wire.TransformENCR, wire.ENCR_AES_CBC, 128, false},
		{wire.TransformENCR, wire.ENCR_AES_CBC, 256, false},
		{wire.TransformENCR, wire.ENCR_AES_GCM_16, 128, false},
		{wire.TransformENCR, wire.ENCR_CHACHA20_POLY1305, 0, false},
		{wire.TransformPRF, wire.PRF_HMAC_SHA1, 0, true},
		{wire.TransformPRF, wire.PRF_HMAC_MD5, 0, true},
		{wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 0, false},
		{wire.TransformPRF, wire.PRF_AES128_XCBC, 0, false},
		{wire.TransformINTEG, wire.AUTH_HMAC_SHA1_96, 0, true},
		{wire.TransformINTEG, wire.AUTH_HMAC_SHA1_160, 0, true},
		{wire.TransformINTEG, wire.AUTH_HMAC_MD5_96, 0, true},
		{wire.TransformINTEG, wire.AUTH_HMAC_SHA2_256_128, 0, false},
		{wire.TransformINTEG, wire.AUTH_NONE, 0, false},
		{wire.TransformKE, wire.MODP_768, 0, true},
		{wire.TransformKE, wire.MODP_1024, 0, true},
		{wire.TransformKE, wire.MODP_1536, 0, true},
		{wire.TransformKE, wire.MODP_1024_160, 0, true},
		{wire.TransformKE, wire.MODP_2048_224, 0, true},
		{wire.TransformKE, wire.MODP_2048_256, 0, true},
		{wire.TransformKE, wire.ECP_192, 0, true},
		{wire.TransformKE, wire.MODP_2048, 0, false},
		{wire.TransformKE, wire.ECP_256, 0, false},
		{wire.TransformKE, wire.CURVE_25519, 0, false},
		{wire.TransformADDKE1, wire.MODP_1024, 0, true},
		{wire.TransformADDKE1, wire.ECP_384, 0, false},
		{wire.TransformESN, wire.ESN_YES, 0, false},
	}
	for _, tc := range tests {
		if got := IsWeak(tc.t, tc.id, tc.keyBits); got != tc.weak {
			t.Errorf("IsWeak(%s, %s, %d) = %v, want %v", tc.t, wire.TransformName(tc.t, tc.id), tc.keyBits, got, tc.weak)
		}
	}
}

// RFC 7296, Section 3.3.5: AES transforms carry a Key Length attribute,
// fixed-size ciphers do not; other transform types never do.
func TestSupportedKeyLengthAttributeRules(t *testing.T) {
	tests := []struct {
		t       wire.TransformType
		id      wire.TransformID
		keyBits int
		want    bool
	}{
		{wire.TransformENCR, wire.ENCR_AES_CBC, 128, true},
		{wire.TransformENCR, wire.ENCR_AES_CBC, 192, true},
		{wire.TransformENCR, wire.ENCR_AES_CBC, 256, true},
		{wire.TransformENCR, wire.ENCR_AES_CBC, 0, false},
		{wire.TransformENCR, wire.ENCR_AES_CBC, 64, false},
		{wire.TransformENCR, wire.ENCR_AES_GCM_8, 256, true},
		{wire.TransformENCR, wire.ENCR_AES_GCM_12, 192, true},
		{wire.TransformENCR, wire.ENCR_AES_CTR, 128, true},
		{wire.TransformENCR, wire.ENCR_AES_CCM_16, 256, true},
		{wire.TransformENCR, wire.ENCR_3DES, 0, true},
		{wire.TransformENCR, wire.ENCR_3DES, 192, true},
		{wire.TransformENCR, wire.ENCR_3DES, 128, false},
		{wire.TransformENCR, wire.ENCR_CHACHA20_POLY1305, 0, true},
		{wire.TransformENCR, wire.ENCR_CHACHA20_POLY1305, 128, false},
		{wire.TransformENCR, wire.ENCR_DES, 0, false},
		{wire.TransformENCR, wire.ENCR_CAMELLIA_CBC, 128, false},
		{wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 0, true},
		{wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 256, false},
		{wire.TransformPRF, wire.PRF_AES128_CMAC, 0, true},
		{wire.TransformPRF, wire.PRF_HMAC_TIGER, 0, false},
		{wire.TransformINTEG, wire.AUTH_NONE, 0, true},
		{wire.TransformINTEG, wire.AUTH_HMAC_SHA2_512_256, 0, true},
		{wire.TransformINTEG, wire.AUTH_AES_128_GMAC, 0, false},
		{wire.TransformKE, wire.MODP_2048, 0, true},
		{wire.TransformKE, wire.MODP_2048_256, 0, true},
		{wire.TransformKE, wire.CURVE_448, 0, true},
		{wire.TransformKE, wire.MODP_768, 0, false},
		{wire.TransformKE, wire.ECP_256_BP, 0, false},
		{wire.TransformKE, wire.ML_KEM_768, 0, false},
		{wire.TransformESN, wire.ESN_NO, 0, true},
		{wire.TransformESN, wire.ESN_YES, 0, true},
		{wire.TransformESN, 2, 0, false},
		{9, 1, 0, false},
	}
	for _, tc := range tests {
		if got := Supported(tc.t, tc.id, tc.keyBits); got != tc.want {
			t.Errorf("Supported(%s, %s, %d) = %v, want %v", tc.t, wire.TransformName(tc.t, tc.id), tc.keyBits, got, tc.want)
		}
	}
}

// The mission's algorithm list, each present in its registry.
func TestRegistryHoldsTheMissionAlgorithms(t *testing.T) {
	for _, id := range []wire.TransformID{wire.ENCR_AES_CBC, wire.ENCR_AES_GCM_16, wire.ENCR_AES_GCM_12,
		wire.ENCR_AES_GCM_8, wire.ENCR_3DES, wire.ENCR_AES_CTR, wire.ENCR_CHACHA20_POLY1305} {
		if _, ok := Encr(id); !ok {
			t.Errorf("Encr(%s) missing", wire.TransformName(wire.TransformENCR, id))
		}
	}
	for _, id := range []wire.TransformID{wire.PRF_HMAC_SHA1, wire.PRF_HMAC_SHA2_256, wire.PRF_HMAC_SHA2_384, wire.PRF_HMAC_SHA2_512} {
		if _, ok := PRFByID(id); !ok {
			t.Errorf("PRFByID(%s) missing", wire.TransformName(wire.TransformPRF, id))
		}
	}
	for _, id := range []wire.TransformID{wire.AUTH_HMAC_SHA1_96, wire.AUTH_HMAC_SHA2_256_128,
		wire.AUTH_HMAC_SHA2_384_192, wire.AUTH_HMAC_SHA2_512_256} {
		if _, ok := Integ(id); !ok {
			t.Errorf("Integ(%s) missing", wire.TransformName(wire.TransformINTEG, id))
		}
	}
	for _, id := range []wire.TransformID{wire.MODP_1024, wire.MODP_1536, wire.MODP_2048, wire.MODP_3072,
		wire.MODP_4096, wire.MODP_2048_256, wire.ECP_256, wire.ECP_384, wire.ECP_521, wire.CURVE_25519, wire.CURVE_448} {
		if _, ok := KE(id); !ok {
			t.Errorf("KE(%s) missing", wire.TransformName(wire.TransformKE, id))
		}
	}
	if _, ok := Integ(wire.AUTH_NONE); ok {
		t.Error("AUTH_NONE must not be an integrity algorithm")
	}
}

// RFC 5282 Section 7.1 (GCM/CCM salt), RFC 5930 (CTR nonce), RFC 7634
// (ChaCha20 salt): SK_e and ESP keys include the salt.
func TestKeyLenIncludesSalt(t *testing.T) {
	tests := []struct {
		id      wire.TransformID
		keyBits int
		want    int
	}{
		{wire.ENCR_AES_CBC, 128, 16}, {wire.ENCR_AES_CBC, 256, 32},
		{wire.ENCR_3DES, 0, 24},
		{wire.ENCR_AES_CTR, 192, 28},
		{wire.ENCR_AES_GCM_16, 128, 20}, {wire.ENCR_AES_GCM_8, 256, 36},
		{wire.ENCR_AES_CCM_12, 128, 19}, {wire.ENCR_AES_CCM_16, 256, 35},
		{wire.ENCR_CHACHA20_POLY1305, 0, 36}, {wire.ENCR_CHACHA20_POLY1305, 256, 36},
	}
	for _, tc := range tests {
		a, _ := Encr(tc.id)
		got, err := a.KeyLen(tc.keyBits)
		if err != nil || got != tc.want {
			t.Errorf("%s/%d: KeyLen = %d, %v; want %d", a.Name, tc.keyBits, got, err, tc.want)
		}
	}
	a, _ := Encr(wire.ENCR_AES_CBC)
	if _, err := a.KeyLen(100); !errors.Is(err, ErrUnsupported) {
		t.Errorf("KeyLen(100) err = %v, want ErrUnsupported", err)
	}
}

func TestIDsSortedAndComplete(t *testing.T) {
	for _, tt := range []wire.TransformType{wire.TransformENCR, wire.TransformPRF, wire.TransformINTEG, wire.TransformKE, wire.TransformESN} {
		ids := IDs(tt)
		if !slices.IsSorted(ids) || len(ids) == 0 {
			t.Errorf("IDs(%s) = %v", tt, ids)
		}
		for _, id := range ids {
			if !Supported(tt, id, firstKeyBits(tt, id)) {
				t.Errorf("IDs(%s) lists %d, which is not Supported", tt, id)
			}
		}
	}
}

func firstKeyBits(t wire.TransformType, id wire.TransformID) int {
	if a, ok := Encr(id); ok && t == wire.TransformENCR {
		return a.KeyBits[0]
	}
	return 0
}

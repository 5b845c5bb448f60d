package wire

import "fmt"

// TransformType is the Transform Type field of a transform substructure
// (RFC 7296, Section 3.3.2; IANA "Transform Type Values").
type TransformType uint8

const (
	TransformENCR  TransformType = 1 // Encryption Algorithm
	TransformPRF   TransformType = 2 // Pseudorandom Function
	TransformINTEG TransformType = 3 // Integrity Algorithm
	TransformKE    TransformType = 4 // Key Exchange Method (formerly Diffie-Hellman Group)
	TransformESN   TransformType = 5 // Extended Sequence Numbers
	// RFC 9370 additional key exchanges 1..7 use types 6..12.
	TransformADDKE1 TransformType = 6
	TransformADDKE7 TransformType = 12
)

var transformTypeNames = map[TransformType]string{
	TransformENCR:  "ENCR",
	TransformPRF:   "PRF",
	TransformINTEG: "INTEG",
	TransformKE:    "KE",
	TransformESN:   "ESN",
}

func (t TransformType) String() string {
	if n, ok := transformTypeNames[t]; ok {
		return n
	}
	if t >= TransformADDKE1 && t <= TransformADDKE7 {
		return fmt.Sprintf("ADDKE%d", t-TransformADDKE1+1)
	}
	return fmt.Sprintf("TRANSFORM_TYPE_%d", uint8(t))
}

// TransformID is a transform identifier; its meaning depends on the
// TransformType it appears with (IANA "IKEv2 Transform Attribute Types").
type TransformID uint16

// Encryption algorithm transform IDs (Transform Type 1).
const (
	ENCR_DES_IV64              TransformID = 1
	ENCR_DES                   TransformID = 2
	ENCR_3DES                  TransformID = 3
	ENCR_RC5                   TransformID = 4
	ENCR_IDEA                  TransformID = 5
	ENCR_CAST                  TransformID = 6
	ENCR_BLOWFISH              TransformID = 7
	ENCR_3IDEA                 TransformID = 8
	ENCR_DES_IV32              TransformID = 9
	ENCR_NULL                  TransformID = 11
	ENCR_AES_CBC               TransformID = 12
	ENCR_AES_CTR               TransformID = 13
	ENCR_AES_CCM_8             TransformID = 14
	ENCR_AES_CCM_12            TransformID = 15
	ENCR_AES_CCM_16            TransformID = 16
	ENCR_AES_GCM_8             TransformID = 18
	ENCR_AES_GCM_12            TransformID = 19
	ENCR_AES_GCM_16            TransformID = 20
	ENCR_NULL_AUTH_AES_GMAC    TransformID = 21
	ENCR_CAMELLIA_CBC          TransformID = 23
	ENCR_CAMELLIA_CTR          TransformID = 24
	ENCR_CAMELLIA_CCM_8        TransformID = 25
	ENCR_CAMELLIA_CCM_12       TransformID = 26
	ENCR_CAMELLIA_CCM_16       TransformID = 27
	ENCR_CHACHA20_POLY1305     TransformID = 28
	ENCR_AES_CCM_8_IIV         TransformID = 29
	ENCR_AES_GCM_16_IIV        TransformID = 30
	ENCR_CHACHA20_POLY1305_IIV TransformID = 31
)

// Pseudorandom function transform IDs (Transform Type 2).
const (
	PRF_HMAC_MD5          TransformID = 1
	PRF_HMAC_SHA1         TransformID = 2
	PRF_HMAC_TIGER        TransformID = 3
	PRF_AES128_XCBC       TransformID = 4
	PRF_HMAC_SHA2_256     TransformID = 5
	PRF_HMAC_SHA2_384     TransformID = 6
	PRF_HMAC_SHA2_512     TransformID = 7
	PRF_AES128_CMAC       TransformID = 8
	PRF_HMAC_STREEBOG_512 TransformID = 9
)

// Integrity algorithm transform IDs (Transform Type 3).
const (
	AUTH_NONE              TransformID = 0
	AUTH_HMAC_MD5_96       TransformID = 1
	AUTH_HMAC_SHA1_96      TransformID = 2
	AUTH_DES_MAC           TransformID = 3
	AUTH_KPDK_MD5          TransformID = 4
	AUTH_AES_XCBC_96       TransformID = 5
	AUTH_HMAC_MD5_128      TransformID = 6
	AUTH_HMAC_SHA1_160     TransformID = 7
	AUTH_AES_CMAC_96       TransformID = 8
	AUTH_AES_128_GMAC      TransformID = 9
	AUTH_AES_192_GMAC      TransformID = 10
	AUTH_AES_256_GMAC      TransformID = 11
	AUTH_HMAC_SHA2_256_128 TransformID = 12
	AUTH_HMAC_SHA2_384_192 TransformID = 13
	AUTH_HMAC_SHA2_512_256 TransformID = 14
)

// Key exchange method transform IDs (Transform Type 4).
const (
	KE_NONE          TransformID = 0
	MODP_768         TransformID = 1
	MODP_1024        TransformID = 2
	MODP_1536        TransformID = 5
	MODP_2048        TransformID = 14
	MODP_3072        TransformID = 15
	MODP_4096        TransformID = 16
	MODP_6144        TransformID = 17
	MODP_8192        TransformID = 18
	ECP_256          TransformID = 19
	ECP_384          TransformID = 20
	ECP_521          TransformID = 21
	MODP_1024_160    TransformID = 22
	MODP_2048_224    TransformID = 23
	MODP_2048_256    TransformID = 24
	ECP_192          TransformID = 25
	ECP_224          TransformID = 26
	ECP_224_BP       TransformID = 27
	ECP_256_BP       TransformID = 28
	ECP_384_BP       TransformID = 29
	ECP_512_BP       TransformID = 30
	CURVE_25519      TransformID = 31
	CURVE_448        TransformID = 32
	GOST3410_2012256 TransformID = 33
	GOST3410_2012512 TransformID = 34
	ML_KEM_512       TransformID = 35
	ML_KEM_768       TransformID = 36
	ML_KEM_1024      TransformID = 37
)

// Extended sequence number transform IDs (Transform Type 5).
const (
	ESN_NO  TransformID = 0
	ESN_YES TransformID = 1
)

// Names follow strongSwan's spelling, so that a proposal printed by ikelab
// reads the same as one in a charon log.
var encrNames = map[TransformID]string{
	ENCR_DES_IV64: "DES_IV64", ENCR_DES: "DES_CBC", ENCR_3DES: "3DES_CBC",
	ENCR_RC5: "RC5_CBC", ENCR_IDEA: "IDEA_CBC", ENCR_CAST: "CAST_CBC",
	ENCR_BLOWFISH: "BLOWFISH_CBC", ENCR_3IDEA: "3IDEA", ENCR_DES_IV32: "DES_IV32",
	ENCR_NULL: "NULL", ENCR_AES_CBC: "AES_CBC", ENCR_AES_CTR: "AES_CTR",
	ENCR_AES_CCM_8: "AES_CCM_8", ENCR_AES_CCM_12: "AES_CCM_12", ENCR_AES_CCM_16: "AES_CCM_16",
	ENCR_AES_GCM_8: "AES_GCM_8", ENCR_AES_GCM_12: "AES_GCM_12", ENCR_AES_GCM_16: "AES_GCM_16",
	ENCR_NULL_AUTH_AES_GMAC: "NULL_AES_GMAC", ENCR_CAMELLIA_CBC: "CAMELLIA_CBC",
	ENCR_CAMELLIA_CTR: "CAMELLIA_CTR", ENCR_CAMELLIA_CCM_8: "CAMELLIA_CCM_8",
	ENCR_CAMELLIA_CCM_12: "CAMELLIA_CCM_12", ENCR_CAMELLIA_CCM_16: "CAMELLIA_CCM_16",
	ENCR_CHACHA20_POLY1305: "CHACHA20_POLY1305", ENCR_AES_CCM_8_IIV: "AES_CCM_8_IIV",
	ENCR_AES_GCM_16_IIV: "AES_GCM_16_IIV", ENCR_CHACHA20_POLY1305_IIV: "CHACHA20_POLY1305_IIV",
}

var prfNames = map[TransformID]string{
	PRF_HMAC_MD5: "PRF_HMAC_MD5", PRF_HMAC_SHA1: "PRF_HMAC_SHA1", PRF_HMAC_TIGER: "PRF_HMAC_TIGER",
	PRF_AES128_XCBC: "PRF_AES128_XCBC", PRF_HMAC_SHA2_256: "PRF_HMAC_SHA2_256",
	PRF_HMAC_SHA2_384: "PRF_HMAC_SHA2_384", PRF_HMAC_SHA2_512: "PRF_HMAC_SHA2_512",
	PRF_AES128_CMAC: "PRF_AES128_CMAC", PRF_HMAC_STREEBOG_512: "PRF_HMAC_STREEBOG_512",
}

var integNames = map[TransformID]string{
	AUTH_NONE: "NONE", AUTH_HMAC_MD5_96: "HMAC_MD5_96", AUTH_HMAC_SHA1_96: "HMAC_SHA1_96",
	AUTH_DES_MAC: "DES_MAC", AUTH_KPDK_MD5: "KPDK_MD5", AUTH_AES_XCBC_96: "AES_XCBC_96",
	AUTH_HMAC_MD5_128: "HMAC_MD5_128", AUTH_HMAC_SHA1_160: "HMAC_SHA1_160",
	AUTH_AES_CMAC_96: "AES_CMAC_96", AUTH_AES_128_GMAC: "AES_128_GMAC",
	AUTH_AES_192_GMAC: "AES_192_GMAC", AUTH_AES_256_GMAC: "AES_256_GMAC",
	AUTH_HMAC_SHA2_256_128: "HMAC_SHA2_256_128", AUTH_HMAC_SHA2_384_192: "HMAC_SHA2_384_192",
	AUTH_HMAC_SHA2_512_256: "HMAC_SHA2_512_256",
}

var keNames = map[TransformID]string{
	KE_NONE: "NONE", MODP_768: "MODP_768", MODP_1024: "MODP_1024", MODP_1536: "MODP_1536",
	MODP_2048: "MODP_2048", MODP_3072: "MODP_3072", MODP_4096: "MODP_4096",
	MODP_6144: "MODP_6144", MODP_8192: "MODP_8192", ECP_256: "ECP_256", ECP_384: "ECP_384",
	ECP_521: "ECP_521", MODP_1024_160: "MODP_1024_160", MODP_2048_224: "MODP_2048_224",
	MODP_2048_256: "MODP_2048_256", ECP_192: "ECP_192", ECP_224: "ECP_224",
	ECP_224_BP: "ECP_224_BP", ECP_256_BP: "ECP_256_BP", ECP_384_BP: "ECP_384_BP",
	ECP_512_BP: "ECP_512_BP", CURVE_25519: "CURVE_25519", CURVE_448: "CURVE_448",
	GOST3410_2012256: "GOST3410_2012_256", GOST3410_2012512: "GOST3410_2012_512",
	ML_KEM_512: "ML_KEM_512", ML_KEM_768: "ML_KEM_768", ML_KEM_1024: "ML_KEM_1024",
}

// TransformName returns strongSwan's name for transform id of type t, or a
// numeric placeholder such as "ENCR_250" for an unregistered one.
func TransformName(t TransformType, id TransformID) string {
	var m map[TransformID]string
	switch t {
	case TransformENCR:
		m = encrNames
	case TransformPRF:
		m = prfNames
	case TransformINTEG:
		m = integNames
	case TransformKE:
		m = keNames
	case TransformESN:
		if id == ESN_NO {
			return "NO_EXT_SEQ"
		} else if id == ESN_YES {
			return "EXT_SEQ"
		}
	default:
		if t >= TransformADDKE1 && t <= TransformADDKE7 {
			m = keNames
		}
	}
	if n, ok := m[id]; ok {
		return n
	}
	return fmt.Sprintf("%s_%d", t, uint16(id))
}

// IsAEAD reports whether the encryption transform id is a combined-mode
// cipher, which carries no separate integrity transform (RFC 5282, Section 8).
func IsAEAD(id TransformID) bool {
	switch id {
	case ENCR_AES_CCM_8, ENCR_AES_CCM_12, ENCR_AES_CCM_16,
		ENCR_AES_GCM_8, ENCR_AES_GCM_12, ENCR_AES_GCM_16,
		ENCR_NULL_AUTH_AES_GMAC,
		ENCR_CAMELLIA_CCM_8, ENCR_CAMELLIA_CCM_12, ENCR_CAMELLIA_CCM_16,
		ENCR_CHACHA20_POLY1305, ENCR_AES_CCM_8_IIV, ENCR_AES_GCM_16_IIV,
		ENCR_CHACHA20_POLY1305_IIV:
		return true
	}
	return false
}

// AttrKeyLength is the Key Length transform attribute type, always sent in
// TV format (RFC 7296, Section 3.3.5).
const AttrKeyLength uint16 = 14

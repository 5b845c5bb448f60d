package policy

import (
	"strconv"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/wire"
)

// Algorithm is one transform as policy sees it: its type, its IANA ID and,
// for the ciphers that take a Key Length attribute, the key size in bits
// (RFC 7296, Section 3.3.5). Fixed-size ciphers (3DES, ChaCha20-Poly1305)
// and all other transform types have KeyBits 0. The zero Algorithm stands
// for "none": no integrity transform beside an AEAD cipher, no PFS.
type Algorithm struct {
	Type    wire.TransformType
	ID      wire.TransformID
	KeyBits int
}

// String returns strongSwan's name for the algorithm, with the key size
// where there is one: "AES_CBC_128", "HMAC_SHA2_256_128",
// "PRF_HMAC_SHA2_256", "MODP_2048", "NO_EXT_SEQ". The zero Algorithm
// prints as "NONE".
func (a Algorithm) String() string {
	if a == (Algorithm{}) {
		return "NONE"
	}
	n := wire.TransformName(a.Type, a.ID)
	if a.KeyBits != 0 {
		n += "_" + strconv.Itoa(a.KeyBits)
	}
	return n
}

// Transform returns the algorithm as a transform substructure, with a Key
// Length attribute when KeyBits is set.
func (a Algorithm) Transform() wire.Transform {
	return wire.NewTransform(a.Type, a.ID, a.KeyBits)
}

// Supported reports whether ikelab implements the algorithm with this key
// size (crypto.Supported).
func (a Algorithm) Supported() bool { return crypto.Supported(a.Type, a.ID, a.KeyBits) }

// Weak reports whether policy treats the algorithm as weak (crypto.IsWeak):
// 3DES and DES, SHA-1 and MD5, MODP groups under 2048 bits and the RFC 5114
// groups.
func (a Algorithm) Weak() bool { return crypto.IsWeak(a.Type, a.ID, a.KeyBits) }

// AEAD reports whether the algorithm is a combined-mode cipher, negotiated
// without an integrity transform (RFC 5282, Section 8).
func (a Algorithm) AEAD() bool { return a.Type == wire.TransformENCR && wire.IsAEAD(a.ID) }

func encr(id wire.TransformID, bits int) Algorithm {
	return Algorithm{Type: wire.TransformENCR, ID: id, KeyBits: bits}
}
func integ(id wire.TransformID) Algorithm { return Algorithm{Type: wire.TransformINTEG, ID: id} }
func prf(id wire.TransformID) Algorithm   { return Algorithm{Type: wire.TransformPRF, ID: id} }
func ke(id wire.TransformID) Algorithm    { return Algorithm{Type: wire.TransformKE, ID: id} }
func esn(id wire.TransformID) Algorithm   { return Algorithm{Type: wire.TransformESN, ID: id} }

// keyword is one strongSwan proposal keyword. Where several keywords name
// the same algorithm, the first in the table is the one Keywords prints.
type keyword struct {
	word string
	alg  Algorithm
}

// keywords follows strongSwan's proposal_keywords_static.txt for the
// algorithms IANA registers for IKEv2. Some of them (DES, MODP_768,
// Camellia, the Brainpool curves, ML-KEM) are parsed so that an error can
// say "not implemented" rather than "unknown keyword"; Policy.Validate
// refuses them.
var keywords = func() []keyword {
	k := []keyword{
		{"null", encr(wire.ENCR_NULL, 0)},
		{"des", encr(wire.ENCR_DES, 0)},
		{"3des", encr(wire.ENCR_3DES, 0)},
		{"aes128", encr(wire.ENCR_AES_CBC, 128)},
		{"aes", encr(wire.ENCR_AES_CBC, 128)},
		{"aes192", encr(wire.ENCR_AES_CBC, 192)},
		{"aes256", encr(wire.ENCR_AES_CBC, 256)},
		{"camellia128", encr(wire.ENCR_CAMELLIA_CBC, 128)},
		{"camellia", encr(wire.ENCR_CAMELLIA_CBC, 128)},
		{"camellia192", encr(wire.ENCR_CAMELLIA_CBC, 192)},
		{"camellia256", encr(wire.ENCR_CAMELLIA_CBC, 256)},
		{"chacha20poly1305", encr(wire.ENCR_CHACHA20_POLY1305, 0)},
	}
	// AES-CTR, -CCM and -GCM in each key size; strongSwan spells the ICV
	// length in octets (gcm16) or bits (gcm128), and a bare "gcm"/"ccm"
	// means the 16-octet ICV.
	for _, bits := range []int{128, 192, 256} {
		b := strconv.Itoa(bits)
		k = append(k, keyword{"aes" + b + "ctr", encr(wire.ENCR_AES_CTR, bits)})
		for _, m := range []struct {
			mode           string
			icv8, i12, i16 wire.TransformID
		}{
			{"ccm", wire.ENCR_AES_CCM_8, wire.ENCR_AES_CCM_12, wire.ENCR_AES_CCM_16},
			{"gcm", wire.ENCR_AES_GCM_8, wire.ENCR_AES_GCM_12, wire.ENCR_AES_GCM_16},
		} {
			p := "aes" + b + m.mode
			k = append(k,
				keyword{p + "16", encr(m.i16, bits)}, keyword{p + "128", encr(m.i16, bits)},
				keyword{p, encr(m.i16, bits)},
				keyword{p + "12", encr(m.i12, bits)}, keyword{p + "96", encr(m.i12, bits)},
				keyword{p + "8", encr(m.icv8, bits)}, keyword{p + "64", encr(m.icv8, bits)})
		}
	}
	k = append(k,
		keyword{"md5", integ(wire.AUTH_HMAC_MD5_96)},
		keyword{"md5_128", integ(wire.AUTH_HMAC_MD5_128)},
		keyword{"sha1", integ(wire.AUTH_HMAC_SHA1_96)},
		keyword{"sha", integ(wire.AUTH_HMAC_SHA1_96)},
		keyword{"sha1_160", integ(wire.AUTH_HMAC_SHA1_160)},
		keyword{"sha256", integ(wire.AUTH_HMAC_SHA2_256_128)},
		keyword{"sha2_256", integ(wire.AUTH_HMAC_SHA2_256_128)},
		keyword{"sha384", integ(wire.AUTH_HMAC_SHA2_384_192)},
		keyword{"sha2_384", integ(wire.AUTH_HMAC_SHA2_384_192)},
		keyword{"sha512", integ(wire.AUTH_HMAC_SHA2_512_256)},
		keyword{"sha2_512", integ(wire.AUTH_HMAC_SHA2_512_256)},
		keyword{"aesxcbc", integ(wire.AUTH_AES_XCBC_96)},
		keyword{"aescmac", integ(wire.AUTH_AES_CMAC_96)},

		keyword{"prfmd5", prf(wire.PRF_HMAC_MD5)},
		keyword{"prfsha1", prf(wire.PRF_HMAC_SHA1)},
		keyword{"prfsha256", prf(wire.PRF_HMAC_SHA2_256)},
		keyword{"prfsha384", prf(wire.PRF_HMAC_SHA2_384)},
		keyword{"prfsha512", prf(wire.PRF_HMAC_SHA2_512)},
		keyword{"prfaesxcbc", prf(wire.PRF_AES128_XCBC)},
		keyword{"prfaescmac", prf(wire.PRF_AES128_CMAC)},

		keyword{"modp768", ke(wire.MODP_768)},
		keyword{"modp1024", ke(wire.MODP_1024)},
		keyword{"modp1536", ke(wire.MODP_1536)},
		keyword{"modp2048", ke(wire.MODP_2048)},
		keyword{"modp3072", ke(wire.MODP_3072)},
		keyword{"modp4096", ke(wire.MODP_4096)},
		keyword{"modp6144", ke(wire.MODP_6144)},
		keyword{"modp8192", ke(wire.MODP_8192)},
		keyword{"modp1024s160", ke(wire.MODP_1024_160)},
		keyword{"modp2048s224", ke(wire.MODP_2048_224)},
		keyword{"modp2048s256", ke(wire.MODP_2048_256)},
		keyword{"ecp192", ke(wire.ECP_192)},
		keyword{"ecp224", ke(wire.ECP_224)},
		keyword{"ecp256", ke(wire.ECP_256)},
		keyword{"ecp384", ke(wire.ECP_384)},
		keyword{"ecp521", ke(wire.ECP_521)},
		keyword{"ecp224bp", ke(wire.ECP_224_BP)},
		keyword{"ecp256bp", ke(wire.ECP_256_BP)},
		keyword{"ecp384bp", ke(wire.ECP_384_BP)},
		keyword{"ecp512bp", ke(wire.ECP_512_BP)},
		keyword{"curve25519", ke(wire.CURVE_25519)},
		keyword{"x25519", ke(wire.CURVE_25519)},
		keyword{"curve448", ke(wire.CURVE_448)},
		keyword{"x448", ke(wire.CURVE_448)},
		keyword{"mlkem512", ke(wire.ML_KEM_512)},
		keyword{"mlkem768", ke(wire.ML_KEM_768)},
		keyword{"mlkem1024", ke(wire.ML_KEM_1024)},

		keyword{"esn", esn(wire.ESN_YES)},
		keyword{"noesn", esn(wire.ESN_NO)},
	)
	return k
}()

var (
	byKeyword = map[string]Algorithm{}
	keywordOf = map[Algorithm]string{}
)

func init() {
	for _, k := range keywords {
		if _, dup := byKeyword[k.word]; dup {
			panic("policy: duplicate keyword " + k.word)
		}
		byKeyword[k.word] = k.alg
		if _, ok := keywordOf[k.alg]; !ok {
			keywordOf[k.alg] = k.word
		}
	}
}

// prfForInteg maps an integrity algorithm to the PRF built on the same
// primitive. strongSwan derives an IKE proposal's PRFs this way when none
// is configured, and Windows' IntegrityCheckMethod sets both.
var prfForInteg = map[wire.TransformID]wire.TransformID{
	wire.AUTH_HMAC_MD5_96:       wire.PRF_HMAC_MD5,
	wire.AUTH_HMAC_MD5_128:      wire.PRF_HMAC_MD5,
	wire.AUTH_HMAC_SHA1_96:      wire.PRF_HMAC_SHA1,
	wire.AUTH_HMAC_SHA1_160:     wire.PRF_HMAC_SHA1,
	wire.AUTH_HMAC_SHA2_256_128: wire.PRF_HMAC_SHA2_256,
	wire.AUTH_HMAC_SHA2_384_192: wire.PRF_HMAC_SHA2_384,
	wire.AUTH_HMAC_SHA2_512_256: wire.PRF_HMAC_SHA2_512,
	wire.AUTH_AES_XCBC_96:       wire.PRF_AES128_XCBC,
	wire.AUTH_AES_CMAC_96:       wire.PRF_AES128_CMAC,
}

// impliedPRFs returns the PRFs that the integrity algorithms stand for, in
// their order, without repeats.
func impliedPRFs(integs []Algorithm) []Algorithm {
	var out []Algorithm
	for _, i := range integs {
		if id, ok := prfForInteg[i.ID]; ok {
			out = appendUnique(out, prf(id))
		}
	}
	return out
}

func appendUnique(list []Algorithm, a Algorithm) []Algorithm {
	for _, b := range list {
		if a == b {
			return list
		}
	}
	return append(list, a)
}

package crypto

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"slices"

	"github.com/ikelab/ikelab/ike/wire"
)

// EncrAlg describes an encryption transform (Transform Type 1) as used both
// for the IKE SA's SK payload and for ESP.
type EncrAlg struct {
	ID   wire.TransformID
	Name string
	// KeyBits lists the allowed key sizes in bits, excluding any salt. A
	// fixed-size cipher has a single entry.
	KeyBits []int
	// KeyLengthAttr is true when a proposal must carry the Key Length
	// attribute (RFC 7296, Section 3.3.5: AES in all its modes). For the
	// fixed-size ciphers (3DES, ChaCha20-Poly1305) the attribute must not be
	// sent, and 0 stands for the single size wherever keyBits is asked for.
	KeyLengthAttr bool
	// AEAD is true for combined-mode ciphers (RFC 5282), negotiated without
	// an integrity transform (RFC 7296, Section 3.3).
	AEAD bool
	// BlockSize is the unit the SK payload plaintext is padded to: the cipher
	// block size for CBC, 1 for counter-based and AEAD modes.
	BlockSize int
	// IVSize is the length of the IV sent in each SK payload.
	IVSize int
	// SaltSize is the number of octets of keying material after the key that
	// form the fixed part of the nonce: 4 for GCM (RFC 5282, Section 7.1),
	// ChaCha20-Poly1305 (RFC 7634, Section 2) and CTR (RFC 5930, Section 2),
	// 3 for CCM (RFC 5282, Section 7.1).
	SaltSize int
	// ICVSize is the length of the AEAD tag; 0 for non-AEAD ciphers, whose
	// ICV comes from the integrity transform.
	ICVSize int
	// Weak marks ciphers that policy refuses unless told otherwise: 3DES
	// (64-bit block, NIST SP 800-131A Rev. 2 disallows it after 2023).
	Weak bool

	newCipher skCipherFactory
}

// ValidKeyBits reports whether keyBits is an allowed key size. For a
// fixed-size cipher 0 (no Key Length attribute) is also accepted.
func (e *EncrAlg) ValidKeyBits(keyBits int) bool {
	if keyBits == 0 && !e.KeyLengthAttr {
		return true
	}
	return slices.Contains(e.KeyBits, keyBits)
}

// KeyLen returns the number of octets of keying material the cipher takes
// for keyBits: the key plus the salt or nonce (RFC 5282, Section 7.1; RFC
// 5930, Section 2). This is the length of SK_ei/SK_er and of each ESP
// encryption key taken from KEYMAT.
func (e *EncrAlg) KeyLen(keyBits int) (int, error) {
	if !e.ValidKeyBits(keyBits) {
		return 0, fmt.Errorf("crypto: %s with %d-bit key: %w", e.Name, keyBits, ErrUnsupported)
	}
	if keyBits == 0 {
		keyBits = e.KeyBits[0]
	}
	return keyBits/8 + e.SaltSize, nil
}

// PRFAlg describes a pseudorandom function (Transform Type 2).
type PRFAlg struct {
	ID   wire.TransformID
	Name string
	// Size is the output length in octets.
	Size int
	// KeySize is the preferred key length in octets: the length of SK_d,
	// SK_pi and SK_pr (RFC 7296, Section 2.13).
	KeySize int
	// Weak marks PRFs built on SHA-1 or MD5.
	Weak bool

	macs macSource
}

// IntegAlg describes an integrity transform (Transform Type 3).
type IntegAlg struct {
	ID   wire.TransformID
	Name string
	// KeySize is the key length in octets (SK_ai, SK_ar and the ESP
	// integrity keys).
	KeySize int
	// ICVSize is the length of the truncated integrity check value.
	ICVSize int
	// Weak marks integrity transforms built on SHA-1 or MD5.
	Weak bool

	macs macSource
}

var encrAlgs = map[wire.TransformID]*EncrAlg{
	wire.ENCR_3DES: {KeyBits: []int{192}, BlockSize: 8, IVSize: 8, Weak: true,
		newCipher: newCBCCipher},
	wire.ENCR_AES_CBC: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true,
		BlockSize: 16, IVSize: 16, newCipher: newCBCCipher},
	wire.ENCR_AES_CTR: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true,
		BlockSize: 1, IVSize: 8, SaltSize: 4, newCipher: newCTRCipher},
	wire.ENCR_AES_CCM_8: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 3, ICVSize: 8, newCipher: newAEADCipher},
	wire.ENCR_AES_CCM_12: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 3, ICVSize: 12, newCipher: newAEADCipher},
	wire.ENCR_AES_CCM_16: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 3, ICVSize: 16, newCipher: newAEADCipher},
	wire.ENCR_AES_GCM_8: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 4, ICVSize: 8, newCipher: newAEADCipher},
	wire.ENCR_AES_GCM_12: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 4, ICVSize: 12, newCipher: newAEADCipher},
	wire.ENCR_AES_GCM_16: {KeyBits: []int{128, 192, 256}, KeyLengthAttr: true, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 4, ICVSize: 16, newCipher: newAEADCipher},
	wire.ENCR_CHACHA20_POLY1305: {KeyBits: []int{256}, AEAD: true,
		BlockSize: 1, IVSize: 8, SaltSize: 4, ICVSize: 16, newCipher: newAEADCipher},
}

var prfAlgs = map[wire.TransformID]*PRFAlg{
	wire.PRF_HMAC_MD5:      {Size: md5.Size, KeySize: md5.Size, Weak: true, macs: hmacOf(md5.New)},
	wire.PRF_HMAC_SHA1:     {Size: sha1.Size, KeySize: sha1.Size, Weak: true, macs: hmacOf(sha1.New)},
	wire.PRF_HMAC_SHA2_256: {Size: sha256.Size, KeySize: sha256.Size, macs: hmacOf(sha256.New)},
	wire.PRF_HMAC_SHA2_384: {Size: sha512.Size384, KeySize: sha512.Size384, macs: hmacOf(sha512.New384)},
	wire.PRF_HMAC_SHA2_512: {Size: sha512.Size, KeySize: sha512.Size, macs: hmacOf(sha512.New)},
	// RFC 4434 and RFC 4615: 128-bit output, 128-bit preferred key, any key
	// length accepted.
	wire.PRF_AES128_XCBC: {Size: 16, KeySize: 16, macs: macFunc(newXCBCPRF)},
	wire.PRF_AES128_CMAC: {Size: 16, KeySize: 16, macs: macFunc(newCMACPRF)},
}

var integAlgs = map[wire.TransformID]*IntegAlg{
	wire.AUTH_HMAC_MD5_96:  {KeySize: md5.Size, ICVSize: 12, Weak: true, macs: hmacOf(md5.New)},
	wire.AUTH_HMAC_SHA1_96: {KeySize: sha1.Size, ICVSize: 12, Weak: true, macs: hmacOf(sha1.New)},
	// RFC 4595: the untruncated SHA-1 ICV, seen in Wireshark's test captures.
	wire.AUTH_HMAC_SHA1_160: {KeySize: sha1.Size, ICVSize: 20, Weak: true, macs: hmacOf(sha1.New)},
	// RFC 3566 and RFC 4494: fixed 128-bit key, 96-bit ICV.
	wire.AUTH_AES_XCBC_96: {KeySize: 16, ICVSize: 12, macs: macFunc(newXCBCMAC)},
	wire.AUTH_AES_CMAC_96: {KeySize: 16, ICVSize: 12, macs: macFunc(newCMACMAC)},
	// RFC 4868, Section 2.1: key as long as the hash output, ICV half of it.
	wire.AUTH_HMAC_SHA2_256_128: {KeySize: sha256.Size, ICVSize: 16, macs: hmacOf(sha256.New)},
	wire.AUTH_HMAC_SHA2_384_192: {KeySize: sha512.Size384, ICVSize: 24, macs: hmacOf(sha512.New384)},
	wire.AUTH_HMAC_SHA2_512_256: {KeySize: sha512.Size, ICVSize: 32, macs: hmacOf(sha512.New)},
}

func init() {
	for id, a := range encrAlgs {
		a.ID, a.Name = id, wire.TransformName(wire.TransformENCR, id)
	}
	for id, a := range prfAlgs {
		a.ID, a.Name = id, wire.TransformName(wire.TransformPRF, id)
	}
	for id, a := range integAlgs {
		a.ID, a.Name = id, wire.TransformName(wire.TransformINTEG, id)
	}
	for id, a := range keAlgs {
		a.ID, a.Name = id, wire.TransformName(wire.TransformKE, id)
	}
}

// Encr returns the encryption transform id, if implemented.
func Encr(id wire.TransformID) (*EncrAlg, bool) { a, ok := encrAlgs[id]; return a, ok }

// PRFByID returns the pseudorandom function id, if implemented.
func PRFByID(id wire.TransformID) (*PRFAlg, bool) { a, ok := prfAlgs[id]; return a, ok }

// Integ returns the integrity transform id, if implemented. AUTH_NONE is not
// in the table: it is not an algorithm but the absence of one.
func Integ(id wire.TransformID) (*IntegAlg, bool) { a, ok := integAlgs[id]; return a, ok }

// KE returns the key exchange method id, if implemented.
func KE(id wire.TransformID) (*KEAlg, bool) { a, ok := keAlgs[id]; return a, ok }

// IDs lists the implemented transform IDs of type t in ascending order.
// For ESN it lists both values.
func IDs(t wire.TransformType) []wire.TransformID {
	var ids []wire.TransformID
	switch t {
	case wire.TransformENCR:
		ids = mapKeys(encrAlgs)
	case wire.TransformPRF:
		ids = mapKeys(prfAlgs)
	case wire.TransformINTEG:
		ids = mapKeys(integAlgs)
	case wire.TransformKE:
		ids = mapKeys(keAlgs)
	case wire.TransformESN:
		ids = []wire.TransformID{wire.ESN_NO, wire.ESN_YES}
	}
	slices.Sort(ids)
	return ids
}

func mapKeys[V any](m map[wire.TransformID]V) []wire.TransformID {
	ids := make([]wire.TransformID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

// Supported reports whether transform id of type t with the Key Length
// attribute keyBits (0 when absent) is implemented. Only encryption
// transforms take a key length; for the others keyBits must be 0. AUTH_NONE
// is supported as the integrity transform that accompanies an AEAD cipher.
func Supported(t wire.TransformType, id wire.TransformID, keyBits int) bool {
	switch t {
	case wire.TransformENCR:
		a, ok := encrAlgs[id]
		return ok && a.ValidKeyBits(keyBits)
	case wire.TransformPRF:
		_, ok := prfAlgs[id]
		return ok && keyBits == 0
	case wire.TransformINTEG:
		_, ok := integAlgs[id]
		return (ok || id == wire.AUTH_NONE) && keyBits == 0
	case wire.TransformKE:
		_, ok := keAlgs[id]
		return ok && keyBits == 0
	case wire.TransformESN:
		return (id == wire.ESN_NO || id == wire.ESN_YES) && keyBits == 0
	}
	return false
}

// Transforms that are weak whether or not this package implements them, so
// that policy and audit can name a peer's weak offer. The reasons:
//   - 64-bit block ciphers (DES, 3DES, IDEA, CAST, Blowfish, RC5): birthday
//     bounds (Sweet32); NIST SP 800-131A Rev. 2 disallows 3DES after 2023.
//     ENCR_NULL gives no confidentiality at all.
//   - SHA-1 and MD5 in PRFs and integrity transforms: RFC 8247 demotes them.
//   - MODP groups under 2048 bits and the RFC 5114 groups 22-24 (RFC 8247,
//     Section 2.4; NIST SP 800-56A Rev. 3 no longer lists them), and the
//     96-bit ECP group 25.
var (
	weakEncr = []wire.TransformID{wire.ENCR_DES_IV64, wire.ENCR_DES, wire.ENCR_3DES,
		wire.ENCR_RC5, wire.ENCR_IDEA, wire.ENCR_CAST, wire.ENCR_BLOWFISH, wire.ENCR_3IDEA,
		wire.ENCR_DES_IV32, wire.ENCR_NULL}
	weakPRF   = []wire.TransformID{wire.PRF_HMAC_MD5, wire.PRF_HMAC_SHA1}
	weakInteg = []wire.TransformID{wire.AUTH_HMAC_MD5_96, wire.AUTH_HMAC_SHA1_96,
		wire.AUTH_DES_MAC, wire.AUTH_KPDK_MD5, wire.AUTH_HMAC_MD5_128, wire.AUTH_HMAC_SHA1_160}
	weakKE = []wire.TransformID{wire.MODP_768, wire.MODP_1024, wire.MODP_1536,
		wire.MODP_1024_160, wire.MODP_2048_224, wire.MODP_2048_256, wire.ECP_192}
)

// IsWeak reports whether policy should treat transform id of type t as weak:
// 3DES and the other 64-bit block ciphers, ENCR_NULL, SHA-1 and MD5 as PRF
// or integrity, MODP groups up to 1536 bits, the RFC 5114 groups 22-24 and
// ECP-192, also as an additional key exchange (RFC 9370). The answer does
// not depend on whether the transform is implemented, so that an audit
// record can flag a weak offer this package could never accept. keyBits is
// taken for symmetry with Supported; no allowed AES key size is weak.
func IsWeak(t wire.TransformType, id wire.TransformID, keyBits int) bool {
	switch t {
	case wire.TransformENCR:
		return slices.Contains(weakEncr, id)
	case wire.TransformPRF:
		return slices.Contains(weakPRF, id)
	case wire.TransformINTEG:
		return slices.Contains(weakInteg, id)
	case wire.TransformKE:
		return slices.Contains(weakKE, id)
	}
	if t >= wire.TransformADDKE1 && t <= wire.TransformADDKE7 {
		return slices.Contains(weakKE, id)
	}
	return false
}

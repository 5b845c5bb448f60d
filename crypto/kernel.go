package crypto

import (
	"fmt"

	"github.com/ikelab/ikelab/ike/wire"
)

// KernelAlg names an ESP algorithm the way the Linux XFRM layer does (the
// alg_name of struct xfrm_algo / xfrm_algo_aead / xfrm_algo_auth, as in
// `ip xfrm state add ... enc 'cbc(aes)' KEY` or `aead 'rfc4106(gcm(aes))' KEY 128`).
type KernelAlg struct {
	// Name is the crypto API template name.
	Name string
	// KeyBits is the length of the key handed to the kernel, including the
	// salt or nonce for AEAD and CTR templates.
	KeyBits int
	// ICVBits is the AEAD tag length (xfrm_algo_aead.alg_icv_len); 0 for
	// plain ciphers and for integrity algorithms.
	ICVBits int
	// TruncBits is the truncated ICV length of an integrity algorithm
	// (xfrm_algo_auth.alg_trunc_len); 0 for ciphers.
	TruncBits int
}

// AEAD reports whether the algorithm goes in XFRMA_ALG_AEAD.
func (k KernelAlg) AEAD() bool { return k.ICVBits != 0 }

var kernelEncrNames = map[wire.TransformID]string{
	wire.ENCR_3DES:    "cbc(des3_ede)",
	wire.ENCR_AES_CBC: "cbc(aes)",
	// RFC 3686 counter mode: key | 4-octet nonce.
	wire.ENCR_AES_CTR: "rfc3686(ctr(aes))",
	// RFC 4106: key | 4-octet salt.
	wire.ENCR_AES_GCM_8:  "rfc4106(gcm(aes))",
	wire.ENCR_AES_GCM_12: "rfc4106(gcm(aes))",
	wire.ENCR_AES_GCM_16: "rfc4106(gcm(aes))",
	// RFC 4309: key | 3-octet salt.
	wire.ENCR_AES_CCM_8:  "rfc4309(ccm(aes))",
	wire.ENCR_AES_CCM_12: "rfc4309(ccm(aes))",
	wire.ENCR_AES_CCM_16: "rfc4309(ccm(aes))",
	// RFC 7634: 256-bit key | 4-octet salt.
	wire.ENCR_CHACHA20_POLY1305: "rfc7539esp(chacha20,poly1305)",
}

var kernelIntegNames = map[wire.TransformID]string{
	wire.AUTH_HMAC_MD5_96:       "hmac(md5)",
	wire.AUTH_HMAC_SHA1_96:      "hmac(sha1)",
	wire.AUTH_HMAC_SHA1_160:     "hmac(sha1)",
	wire.AUTH_AES_XCBC_96:       "xcbc(aes)",
	wire.AUTH_AES_CMAC_96:       "cmac(aes)",
	wire.AUTH_HMAC_SHA2_256_128: "hmac(sha256)",
	wire.AUTH_HMAC_SHA2_384_192: "hmac(sha384)",
	wire.AUTH_HMAC_SHA2_512_256: "hmac(sha512)",
}

// KernelEncr returns the kernel algorithm for ESP encryption transform id
// with Key Length attribute keyBits (0 for fixed-size ciphers).
func KernelEncr(id wire.TransformID, keyBits int) (KernelAlg, error) {
	a, ok := Encr(id)
	name, okName := kernelEncrNames[id]
	if !ok || !okName {
		return KernelAlg{}, unsupported(wire.TransformENCR, id)
	}
	n, err := a.KeyLen(keyBits)
	if err != nil {
		return KernelAlg{}, err
	}
	return KernelAlg{Name: name, KeyBits: 8 * n, ICVBits: 8 * a.ICVSize}, nil
}

// KernelInteg returns the kernel algorithm for ESP integrity transform id.
func KernelInteg(id wire.TransformID) (KernelAlg, error) {
	a, ok := Integ(id)
	name, okName := kernelIntegNames[id]
	if !ok || !okName {
		return KernelAlg{}, unsupported(wire.TransformINTEG, id)
	}
	return KernelAlg{Name: name, KeyBits: 8 * a.KeySize, TruncBits: 8 * a.ICVSize}, nil
}

// ESPKeyLengths returns the octets of keying material per direction for an
// encryption transform (key plus salt or nonce) and an integrity transform
// (0 for AUTH_NONE), the split used for KEYMAT (RFC 7296, Section 2.17) and
// for SK_e/SK_a (Section 2.14). An AEAD cipher must come with AUTH_NONE and
// any other cipher with a real integrity transform.
func ESPKeyLengths(encr wire.TransformID, keyBits int, integ wire.TransformID) (encKeyLen, integKeyLen int, err error) {
	a, ok := Encr(encr)
	if !ok {
		return 0, 0, unsupported(wire.TransformENCR, encr)
	}
	if encKeyLen, err = a.KeyLen(keyBits); err != nil {
		return 0, 0, err
	}
	switch {
	case a.AEAD && integ == wire.AUTH_NONE:
		return encKeyLen, 0, nil
	case a.AEAD:
		return 0, 0, fmt.Errorf("crypto: %s is a combined-mode cipher and takes no integrity transform (RFC 7296, Section 3.3): %w",
			a.Name, ErrUnsupported)
	case integ == wire.AUTH_NONE:
		return 0, 0, fmt.Errorf("crypto: %s needs an integrity transform: %w", a.Name, ErrUnsupported)
	}
	ia, ok := Integ(integ)
	if !ok {
		return 0, 0, unsupported(wire.TransformINTEG, integ)
	}
	return encKeyLen, ia.KeySize, nil
}

package crypto

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"io"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// RFC 4754, Section 3 (methods 9-11): the curve and the hash are fixed by
// the method, and the signature is r | s, each zero-padded to the curve's
// order length.
var ecdsaMethods = map[AuthMethod]struct {
	curve  string
	hash   stdcrypto.Hash
	size   int
	scheme SignatureScheme
}{
	AuthECDSASHA256P256: {"P-256", stdcrypto.SHA256, 32, ECDSASHA256},
	AuthECDSASHA384P384: {"P-384", stdcrypto.SHA384, 48, ECDSASHA384},
	AuthECDSASHA512P521: {"P-521", stdcrypto.SHA512, 66, ECDSASHA512},
}

func digest(h stdcrypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}

// SignAuth returns the Authentication Data of an AUTH payload that signs
// octets (see SignedOctets) with key:
//   - method 1: RSASSA-PKCS1-v1_5 with SHA-1 (RFC 7296, Section 3.8);
//     scheme must be SchemeUnknown or RSAPKCS1SHA1.
//   - methods 9, 10, 11: ECDSA over P-256/SHA-256, P-384/SHA-384,
//     P-521/SHA-512 with r | s (RFC 4754); scheme must be SchemeUnknown or
//     the matching ECDSA scheme.
//   - method 14: the RFC 7427 form, one octet of AlgorithmIdentifier length,
//     the AlgorithmIdentifier of scheme, then the signature (DER
//     Ecdsa-Sig-Value for ECDSA). Use ChooseScheme to pick a scheme the peer
//     announced.
//
// key may be any crypto.Signer over an RSA or ECDSA key (a PKCS#11 or TPM key
// works as well as an in-memory one). rand nil means crypto/rand.Reader.
func SignAuth(rand io.Reader, key stdcrypto.Signer, method AuthMethod, scheme SignatureScheme, octets []byte) ([]byte, error) {
	rand = randOr(rand)
	pub := key.Public()
	switch method {
	case AuthRSASignature:
		if scheme != SchemeUnknown && scheme != RSAPKCS1SHA1 {
			return nil, fmt.Errorf("crypto: %s signs with RSA_PKCS1_SHA1, not %s: %w", method, scheme, ErrKeyMismatch)
		}
		if _, ok := pub.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("crypto: %s needs an RSA key, have %T: %w", method, pub, ErrKeyMismatch)
		}
		return key.Sign(rand, digest(stdcrypto.SHA1, octets), stdcrypto.SHA1)

	case AuthECDSASHA256P256, AuthECDSASHA384P384, AuthECDSASHA512P521:
		m := ecdsaMethods[method]
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok || ec.Curve.Params().Name != m.curve {
			return nil, fmt.Errorf("crypto: %s needs a %s key: %w", method, m.curve, ErrKeyMismatch)
		}
		if scheme != SchemeUnknown && scheme.Hash() != m.hash {
			return nil, fmt.Errorf("crypto: %s hashes with %v, not as %s: %w", method, m.hash, scheme, ErrKeyMismatch)
		}
		der, err := key.Sign(rand, digest(m.hash, octets), m.hash)
		if err != nil {
			return nil, fmt.Errorf("crypto: %s: %w", method, err)
		}
		return ecdsaDERToRS(der, m.size)

	case AuthDigitalSignature:
		i, ok := scheme.info()
		if !ok {
			return nil, fmt.Errorf("crypto: %s: scheme %s: %w", method, scheme, ErrUnsupported)
		}
		var opts stdcrypto.SignerOpts = i.hash
		switch pub.(type) {
		case *rsa.PublicKey:
			if !i.rsa {
				return nil, fmt.Errorf("crypto: %s with an RSA key: %w", scheme, ErrKeyMismatch)
			}
			if i.pss {
				opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: i.hash}
			}
		case *ecdsa.PublicKey:
			if i.rsa {
				return nil, fmt.Errorf("crypto: %s with an ECDSA key: %w", scheme, ErrKeyMismatch)
			}
		default:
			return nil, fmt.Errorf("crypto: %s with a %T key: %w", scheme, pub, ErrUnsupported)
		}
		sig, err := key.Sign(rand, digest(i.hash, octets), opts)
		if err != nil {
			return nil, fmt.Errorf("crypto: %s: %w", scheme, err)
		}
		out := make([]byte, 0, 1+len(i.algID)+len(sig))
		out = append(append(append(out, byte(len(i.algID))), i.algID...), sig...)
		return out, nil
	}
	return nil, fmt.Errorf("crypto: signing with auth method %s: %w", method, ErrUnsupported)
}

// VerifyAuth checks the Authentication Data of a signature AUTH payload
// against octets (see SignedOctets) and the peer's public key, and returns
// the scheme that was used so that policy can refuse, say, SHA-1. Failures
// wrap ErrSignature (bad or malformed signature), ErrKeyMismatch (the
// certificate key does not fit the method) or ErrUnsupported (method or
// algorithm not implemented); the engine answers all of them with
// AUTHENTICATION_FAILED. No input makes it panic.
func VerifyAuth(pub stdcrypto.PublicKey, method AuthMethod, octets, authData []byte) (SignatureScheme, error) {
	fail := func(s SignatureScheme) (SignatureScheme, error) {
		return s, fmt.Errorf("crypto: %s %s: %w", method, s, ErrSignature)
	}
	switch method {
	case AuthRSASignature:
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return SchemeUnknown, fmt.Errorf("crypto: %s with a %T key: %w", method, pub, ErrKeyMismatch)
		}
		if rsa.VerifyPKCS1v15(rk, stdcrypto.SHA1, digest(stdcrypto.SHA1, octets), authData) != nil {
			return fail(RSAPKCS1SHA1)
		}
		return RSAPKCS1SHA1, nil

	case AuthECDSASHA256P256, AuthECDSASHA384P384, AuthECDSASHA512P521:
		m := ecdsaMethods[method]
		scheme := m.scheme
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok || ek.Curve.Params().Name != m.curve {
			return SchemeUnknown, fmt.Errorf("crypto: %s needs a %s key: %w", method, m.curve, ErrKeyMismatch)
		}
		if len(authData) != 2*m.size {
			return fail(scheme)
		}
		r := new(big.Int).SetBytes(authData[:m.size])
		s := new(big.Int).SetBytes(authData[m.size:])
		if !ecdsa.Verify(ek, digest(m.hash, octets), r, s) {
			return fail(scheme)
		}
		return scheme, nil

	case AuthDigitalSignature:
		// RFC 7427, Section 3: ASN.1 Length (1 octet) | AlgorithmIdentifier |
		// Signature Value.
		if len(authData) < 1 || authData[0] == 0 || len(authData) <= 1+int(authData[0]) {
			return fail(SchemeUnknown)
		}
		n := int(authData[0])
		scheme, salt, err := parseAlgID(authData[1 : 1+n])
		if err != nil {
			return SchemeUnknown, err
		}
		i, _ := scheme.info()
		sig, h := authData[1+n:], digest(i.hash, octets)
		switch k := pub.(type) {
		case *rsa.PublicKey:
			if !i.rsa {
				return scheme, fmt.Errorf("crypto: %s with an RSA key: %w", scheme, ErrKeyMismatch)
			}
			if i.pss {
				err = rsa.VerifyPSS(k, i.hash, h, sig, &rsa.PSSOptions{SaltLength: salt, Hash: i.hash})
			} else {
				err = rsa.VerifyPKCS1v15(k, i.hash, h, sig)
			}
			if err != nil {
				return fail(scheme)
			}
		case *ecdsa.PublicKey:
			if i.rsa {
				return scheme, fmt.Errorf("crypto: %s with an ECDSA key: %w", scheme, ErrKeyMismatch)
			}
			if !ecdsa.VerifyASN1(k, h, sig) {
				return fail(scheme)
			}
		default:
			return scheme, fmt.Errorf("crypto: %s with a %T key: %w", scheme, pub, ErrUnsupported)
		}
		return scheme, nil
	}
	return SchemeUnknown, fmt.Errorf("crypto: verifying auth method %s: %w", method, ErrUnsupported)
}

// ChooseScheme picks the method 14 scheme for a key given the hashes the
// peer announced in SIGNATURE_HASH_ALGORITHMS (RFC 7427, Section 4). RSA keys
// get PKCS#1 v1.5, which every IKEv2 peer verifies, with the first of
// SHA2-256, SHA2-384, SHA2-512 the peer accepts; ECDSA keys prefer the hash
// that matches the curve size. Without a common hash (or without the notify
// at all) it returns ErrUnsupported, and the caller falls back to method 1 or
// 9-11.
func ChooseScheme(pub stdcrypto.PublicKey, peer []HashAlgorithm) (SignatureScheme, error) {
	var prefs []SignatureScheme
	switch k := pub.(type) {
	case *rsa.PublicKey:
		prefs = []SignatureScheme{RSAPKCS1SHA256, RSAPKCS1SHA384, RSAPKCS1SHA512}
	case *ecdsa.PublicKey:
		switch k.Curve.Params().Name {
		case "P-384":
			prefs = []SignatureScheme{ECDSASHA384, ECDSASHA512, ECDSASHA256}
		case "P-521":
			prefs = []SignatureScheme{ECDSASHA512, ECDSASHA384, ECDSASHA256}
		default:
			prefs = []SignatureScheme{ECDSASHA256, ECDSASHA384, ECDSASHA512}
		}
	default:
		return SchemeUnknown, fmt.Errorf("crypto: no signature scheme for a %T key: %w", pub, ErrUnsupported)
	}
	for _, s := range prefs {
		if slices.Contains(peer, s.HashAlgorithm()) {
			return s, nil
		}
	}
	return SchemeUnknown, fmt.Errorf("crypto: peer announced no usable hash in %v: %w", peer, ErrUnsupported)
}

// ecdsaDERToRS converts an Ecdsa-Sig-Value to the fixed-width r | s of RFC
// 4754, Section 3.
func ecdsaDERToRS(der []byte, size int) ([]byte, error) {
	var seq cryptobyte.String
	r, s := new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() ||
		r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*size || s.BitLen() > 8*size {
		return nil, fmt.Errorf("crypto: signer returned a malformed ECDSA signature: %w", ErrSignature)
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

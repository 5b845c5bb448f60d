package crypto

import (
	stdcrypto "crypto"
	encasn1 "encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// HashAlgorithm is a value of the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427,
// Section 4; IANA "IKEv2 Hash Algorithms").
type HashAlgorithm uint16

const (
	HashSHA1    HashAlgorithm = 1
	HashSHA2256 HashAlgorithm = 2
	HashSHA2384 HashAlgorithm = 3
	HashSHA2512 HashAlgorithm = 4
	// HashIdentity (RFC 8420) is what EdDSA peers announce; no scheme here
	// uses it, but it is named so that logs show it.
	HashIdentity HashAlgorithm = 5
)

func (h HashAlgorithm) String() string {
	switch h {
	case HashSHA1:
		return "SHA1"
	case HashSHA2256:
		return "SHA2_256"
	case HashSHA2384:
		return "SHA2_384"
	case HashSHA2512:
		return "SHA2_512"
	case HashIdentity:
		return "IDENTITY"
	}
	return fmt.Sprintf("HASH_%d", uint16(h))
}

// SupportedHashAlgorithms lists what this side announces in its own
// SIGNATURE_HASH_ALGORITHMS notify: the SHA-2 family. SHA-1 is verified with
// methods 1 and 14 for old peers but not offered (RFC 8247, Section 3.2).
func SupportedHashAlgorithms() []HashAlgorithm {
	return []HashAlgorithm{HashSHA2256, HashSHA2384, HashSHA2512}
}

// SignatureScheme is a signature algorithm that RFC 7427 digital signature
// authentication (method 14) can name.
type SignatureScheme uint8

const (
	SchemeUnknown SignatureScheme = iota
	RSAPKCS1SHA1
	RSAPKCS1SHA256
	RSAPKCS1SHA384
	RSAPKCS1SHA512
	// RSA-PSS with MGF1 over the same hash and a salt as long as the hash
	// (RFC 4055; RFC 7427 Appendix A.4.3).
	RSAPSSSHA256
	RSAPSSSHA384
	RSAPSSSHA512
	// ECDSA with the signature value DER-encoded as Ecdsa-Sig-Value
	// (RFC 7427, Section 3; RFC 5758 Section 3.2 algorithm identifiers).
	ECDSASHA256
	ECDSASHA384
	ECDSASHA512
)

type schemeInfo struct {
	name    string
	hash    stdcrypto.Hash
	hashAlg HashAlgorithm
	oid     encasn1.ObjectIdentifier
	rsa     bool
	pss     bool
	algID   []byte // DER AlgorithmIdentifier this side sends
}

var (
	oidSHA1WithRSA     = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSASSAPSS       = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECDSAWithSHA256 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA1            = encasn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256          = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

var schemes = map[SignatureScheme]*schemeInfo{
	RSAPKCS1SHA1:   {name: "RSA_PKCS1_SHA1", hash: stdcrypto.SHA1, hashAlg: HashSHA1, oid: oidSHA1WithRSA, rsa: true},
	RSAPKCS1SHA256: {name: "RSA_PKCS1_SHA2_256", hash: stdcrypto.SHA256, hashAlg: HashSHA2256, oid: oidSHA256WithRSA, rsa: true},
	RSAPKCS1SHA384: {name: "RSA_PKCS1_SHA2_384", hash: stdcrypto.SHA384, hashAlg: HashSHA2384, oid: oidSHA384WithRSA, rsa: true},
	RSAPKCS1SHA512: {name: "RSA_PKCS1_SHA2_512", hash: stdcrypto.SHA512, hashAlg: HashSHA2512, oid: oidSHA512WithRSA, rsa: true},
	RSAPSSSHA256:   {name: "RSA_PSS_SHA2_256", hash: stdcrypto.SHA256, hashAlg: HashSHA2256, oid: oidRSASSAPSS, rsa: true, pss: true},
	RSAPSSSHA384:   {name: "RSA_PSS_SHA2_384", hash: stdcrypto.SHA384, hashAlg: HashSHA2384, oid: oidRSASSAPSS, rsa: true, pss: true},
	RSAPSSSHA512:   {name: "RSA_PSS_SHA2_512", hash: stdcrypto.SHA512, hashAlg: HashSHA2512, oid: oidRSASSAPSS, rsa: true, pss: true},
	ECDSASHA256:    {name: "ECDSA_SHA2_256", hash: stdcrypto.SHA256, hashAlg: HashSHA2256, oid: oidECDSAWithSHA256},
	ECDSASHA384:    {name: "ECDSA_SHA2_384", hash: stdcrypto.SHA384, hashAlg: HashSHA2384, oid: oidECDSAWithSHA384},
	ECDSASHA512:    {name: "ECDSA_SHA2_512", hash: stdcrypto.SHA512, hashAlg: HashSHA2512, oid: oidECDSAWithSHA512},
}

var hashOIDs = map[stdcrypto.Hash]encasn1.ObjectIdentifier{
	stdcrypto.SHA1: oidSHA1, stdcrypto.SHA256: oidSHA256, stdcrypto.SHA384: oidSHA384, stdcrypto.SHA512: oidSHA512,
}

func init() {
	for _, s := range schemes {
		s.algID = marshalAlgID(s)
	}
}

// marshalAlgID builds the DER AlgorithmIdentifier in the form RFC 7427
// Appendix A and the CA/Browser Forum Baseline Requirements (Section
// 7.1.3.2) agree on: NULL parameters for PKCS#1 v1.5, absent parameters for
// ECDSA (RFC 5758, Section 3.2), and for PSS explicit hash, MGF1 and salt
// length with the DEFAULT trailer field omitted, as DER requires.
func marshalAlgID(s *schemeInfo) []byte {
	hashAlgID := func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(hashOIDs[s.hash])
			b.AddASN1NULL()
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(s.oid)
		switch {
		case s.pss:
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.Tag(0).Constructed().ContextSpecific(), hashAlgID)
				b.AddASN1(asn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidMGF1)
						hashAlgID(b)
					})
				})
				b.AddASN1(asn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(s.hash.Size()))
				})
			})
		case s.rsa:
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic()
}

func (s SignatureScheme) info() (*schemeInfo, bool) { i, ok := schemes[s]; return i, ok }

func (s SignatureScheme) String() string {
	if i, ok := s.info(); ok {
		return i.name
	}
	return fmt.Sprintf("SIGNATURE_SCHEME_%d", uint8(s))
}

// Hash returns the hash function the scheme signs with, 0 if unknown.
func (s SignatureScheme) Hash() stdcrypto.Hash {
	if i, ok := s.info(); ok {
		return i.hash
	}
	return 0
}

// HashAlgorithm returns the scheme's SIGNATURE_HASH_ALGORITHMS value, which
// the peer must have announced before this side may use the scheme.
func (s SignatureScheme) HashAlgorithm() HashAlgorithm {
	if i, ok := s.info(); ok {
		return i.hashAlg
	}
	return 0
}

// Weak reports whether the scheme hashes with SHA-1.
func (s SignatureScheme) Weak() bool { return s.Hash() == stdcrypto.SHA1 }

// AlgorithmIdentifier returns the DER AlgorithmIdentifier that method 14
// AUTH data carries for the scheme, or nil for an unknown scheme.
func (s SignatureScheme) AlgorithmIdentifier() []byte {
	if i, ok := s.info(); ok {
		return append([]byte(nil), i.algID...)
	}
	return nil
}

// ParseAlgorithmIdentifier maps a DER AlgorithmIdentifier from method 14 AUTH
// data to a scheme. It accepts the encodings peers send in practice: PKCS#1
// v1.5 with NULL or absent parameters, ECDSA with absent or NULL parameters,
// and RSASSA-PSS whose MGF1 hash equals the message hash, with an explicit
// or omitted trailer field of 1. For PSS the salt length may be any value;
// VerifyAuth uses the one given. Errors wrap ErrUnsupported.
func ParseAlgorithmIdentifier(der []byte) (SignatureScheme, error) {
	s, _, err := parseAlgID(der)
	return s, err
}

func parseAlgID(der []byte) (SignatureScheme, int, error) {
	bad := func(why string) (SignatureScheme, int, error) {
		return SchemeUnknown, 0, fmt.Errorf("crypto: signature AlgorithmIdentifier: %s: %w", why, ErrUnsupported)
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	var oid encasn1.ObjectIdentifier
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1ObjectIdentifier(&oid) {
		return bad("malformed DER")
	}
	if oid.Equal(oidRSASSAPSS) {
		h, salt, ok := parsePSSParams(seq)
		if !ok {
			return bad("unsupported RSASSA-PSS parameters")
		}
		for s, i := range schemes {
			if i.pss && i.hash == h {
				return s, salt, nil
			}
		}
		return bad("unsupported RSASSA-PSS hash")
	}
	for s, i := range schemes {
		if i.pss || !i.oid.Equal(oid) {
			continue
		}
		if !nullOrAbsent(seq) {
			return bad("unexpected parameters for " + i.name)
		}
		return s, 0, nil
	}
	return bad("unknown algorithm " + oid.String())
}

// nullOrAbsent reports whether params is empty or exactly an ASN.1 NULL.
func nullOrAbsent(params cryptobyte.String) bool {
	if params.Empty() {
		return true
	}
	var null cryptobyte.String
	return params.ReadASN1(&null, asn1.NULL) && null.Empty() && params.Empty()
}

// parsePSSParams reads RSASSA-PSS-params (RFC 4055, Section 3.1). The SHA-1
// defaults are not supported, the MGF must be MGF1 with the message hash, and
// the trailer field, if present, must be 1.
func parsePSSParams(seqRest cryptobyte.String) (stdcrypto.Hash, int, bool) {
	var params cryptobyte.String
	if !seqRest.ReadASN1(&params, asn1.SEQUENCE) || !seqRest.Empty() {
		return 0, 0, false
	}
	readHashAlg := func(s *cryptobyte.String) (stdcrypto.Hash, bool) {
		var alg cryptobyte.String
		var oid encasn1.ObjectIdentifier
		if !s.ReadASN1(&alg, asn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) || !nullOrAbsent(alg) {
			return 0, false
		}
		for h, o := range hashOIDs {
			if o.Equal(oid) {
				return h, true
			}
		}
		return 0, false
	}
	var hashField, mgfField, saltField, trailerField cryptobyte.String
	var hasHash, hasMGF, hasSalt, hasTrailer bool
	if !params.ReadOptionalASN1(&hashField, &hasHash, asn1.Tag(0).Constructed().ContextSpecific()) ||
		!params.ReadOptionalASN1(&mgfField, &hasMGF, asn1.Tag(1).Constructed().ContextSpecific()) ||
		!params.ReadOptionalASN1(&saltField, &hasSalt, asn1.Tag(2).Constructed().ContextSpecific()) ||
		!params.ReadOptionalASN1(&trailerField, &hasTrailer, asn1.Tag(3).Constructed().ContextSpecific()) ||
		!params.Empty() || !hasHash || !hasMGF {
		return 0, 0, false
	}
	h, ok := readHashAlg(&hashField)
	if !ok || !hashField.Empty() || h == stdcrypto.SHA1 {
		return 0, 0, false
	}
	var mgf cryptobyte.String
	var mgfOID encasn1.ObjectIdentifier
	if !mgfField.ReadASN1(&mgf, asn1.SEQUENCE) || !mgfField.Empty() ||
		!mgf.ReadASN1ObjectIdentifier(&mgfOID) || !mgfOID.Equal(oidMGF1) {
		return 0, 0, false
	}
	if mh, ok := readHashAlg(&mgf); !ok || mh != h || !mgf.Empty() {
		return 0, 0, false
	}
	salt := int64(20) // the DEFAULT
	if hasSalt && (!saltField.ReadASN1Int64WithTag(&salt, asn1.INTEGER) || !saltField.Empty()) {
		return 0, 0, false
	}
	if salt < 0 || salt > 1024 {
		return 0, 0, false
	}
	if hasTrailer {
		var t int64
		if !trailerField.ReadASN1Int64WithTag(&t, asn1.INTEGER) || !trailerField.Empty() || t != 1 {
			return 0, 0, false
		}
	}
	return h, int(salt), true
}

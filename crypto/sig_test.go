package crypto

import (
	"bytes"
	stdcrypto "crypto"
	"errors"
	"testing"
)

// The AlgorithmIdentifier encodings this side sends are the ones the
// CA/Browser Forum Baseline Requirements, Section 7.1.3.2, list byte for byte
// (they coincide with RFC 7427 Appendix A and RFC 8420 practice; the hex is
// as published there).
func TestAlgorithmIdentifierEncodingsMatchPublished(t *testing.T) {
	published := map[SignatureScheme]string{
		RSAPKCS1SHA256: "300d06092a864886f70d01010b0500",
		RSAPKCS1SHA384: "300d06092a864886f70d01010c0500",
		RSAPKCS1SHA512: "300d06092a864886f70d01010d0500",
		RSAPSSSHA256: "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108" +
			"300d06096086480165030402010500a203020120",
		RSAPSSSHA384: "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108" +
			"300d06096086480165030402020500a203020130",
		RSAPSSSHA512: "304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a06092a864886f70d010108" +
			"300d06096086480165030402030500a203020140",
		ECDSASHA256: "300a06082a8648ce3d040302",
		ECDSASHA384: "300a06082a8648ce3d040303",
		ECDSASHA512: "300a06082a8648ce3d040304",
		// sha1WithRSAEncryption, RFC 3279 Section 2.2.1 with NULL parameters.
		RSAPKCS1SHA1: "300d06092a864886f70d0101050500",
	}
	for s, h := range published {
		want := mustHex(t, h)
		if got := s.AlgorithmIdentifier(); !bytes.Equal(got, want) {
			t.Errorf("%s: %x\nwant %x", s, got, want)
		}
		if got, err := ParseAlgorithmIdentifier(want); err != nil || got != s {
			t.Errorf("parse %s: %s, %v", s, got, err)
		}
	}
	if len(published) != len(schemes) {
		t.Errorf("%d schemes, %d checked", len(schemes), len(published))
	}
	if SchemeUnknown.AlgorithmIdentifier() != nil || SchemeUnknown.Hash() != 0 || SchemeUnknown.String() != "SIGNATURE_SCHEME_0" {
		t.Error("unknown scheme has properties")
	}
}

// Encodings peers send that differ from DER's strict form are accepted; ones
// that do not describe a supported scheme are not.
func TestParseAlgorithmIdentifierVariants(t *testing.T) {
	accept := []struct {
		name string
		hex  string
		want SignatureScheme
		salt int
	}{
		// RFC 7427 Appendix A.4.3 writes the trailer field out.
		{"PSS SHA-256 with trailerField 1", "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d0101" +
			"08300d06096086480165030402010500a203020120a303020101", RSAPSSSHA256, 32},
		// RFC 4055 Section 2.1 also allows absent hash parameters.
		{"PSS SHA-256 without NULLs", "303d06092a864886f70d01010a3030a00d300b0609608648016503040201a11a301806092a864886f70d01" +
			"0108300b0609608648016503040201a203020120", RSAPSSSHA256, 32},
		{"PSS SHA-256 salt 20 (DEFAULT)", "303c06092a864886f70d01010a302fa00f300d06096086480165030402010500a11c301a06092a864886f70d01" +
			"0108300d06096086480165030402010500", RSAPSSSHA256, 20},
		{"PKCS1 SHA-256 without NULL", "300b06092a864886f70d01010b", RSAPKCS1SHA256, 0},
		{"ECDSA SHA-256 with NULL", "300c06082a8648ce3d0403020500", ECDSASHA256, 0},
	}
	for _, tc := range accept {
		s, salt, err := parseAlgID(mustHex(t, tc.hex))
		if err != nil || s != tc.want || salt != tc.salt {
			t.Errorf("%s: %s salt %d, %v; want %s salt %d", tc.name, s, salt, err, tc.want, tc.salt)
		}
	}
	reject := map[string]string{
		"empty":                      "",
		"not a SEQUENCE":             "0500",
		"trailing octets":            "300a06082a8648ce3d04030200",
		"truncated":                  "300d06092a864886f70d01010b05",
		"unknown OID (ecPublicKey)":  "300906072a8648ce3d0201",
		"PSS all defaults (SHA-1)":   "300d06092a864886f70d01010a3000",
		"PSS hash SHA-256, MGF1 384": "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d0101" + "08300d06096086480165030402020500a203020120",
		"PSS trailerField 2":         "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d0101" + "08300d06096086480165030402010500a203020120a303020102",
		"PKCS1 with INTEGER params":  "300e06092a864886f70d01010b020100",
		"PSS without params":         "300b06092a864886f70d01010a",
		"dsa-with-sha256":            "300b0609608648016503040302",
	}
	for name, h := range reject {
		if s, err := ParseAlgorithmIdentifier(mustHex(t, h)); !errors.Is(err, ErrUnsupported) || s != SchemeUnknown {
			t.Errorf("%s: %s, %v; want ErrUnsupported", name, s, err)
		}
	}
}

// Android's method 14 AUTH payload: its AlgorithmIdentifier is byte for byte
// the one this side would send for RSA PKCS#1 v1.5 with SHA-256, and
// verifying its signature with the wrong key fails cleanly.
func TestDigitalSignatureAuthAndroidPayload(t *testing.T) {
	m := aosp(t, "IkeAuthDigitalSignPayloadTest")
	body := aospHex(t, m, "AUTH_PAYLOAD_BODY_GENERIC_DIGITAL_SIGN_HEX_STRING")
	if AuthMethod(body[0]) != AuthDigitalSignature {
		t.Fatalf("method %d", body[0])
	}
	data := body[4:]
	n := int(data[0])
	s, err := ParseAlgorithmIdentifier(data[1 : 1+n])
	if err != nil || s != RSAPKCS1SHA256 || !bytes.Equal(data[1:1+n], RSAPKCS1SHA256.AlgorithmIdentifier()) {
		t.Errorf("scheme %s, %v", s, err)
	}
	if !bytes.Equal(data[1+n:], aospHex(t, m, "SIGNATURE")) {
		t.Error("signature does not follow the AlgorithmIdentifier")
	}
	rk, _ := testKeys(t)
	if _, err := VerifyAuth(&rk.PublicKey, AuthDigitalSignature, []byte("octets"), data); !errors.Is(err, ErrSignature) {
		t.Errorf("foreign signature: %v", err)
	}
	rsaBody := aospHex(t, m, "AUTH_PAYLOAD_BODY_RSA_DIGITAL_SIGN_HEX_STRING")
	if AuthMethod(rsaBody[0]) != AuthRSASignature {
		t.Errorf("method 1 payload has method %d", rsaBody[0])
	}
}

func TestSchemeProperties(t *testing.T) {
	for s, want := range map[SignatureScheme]struct {
		h    stdcrypto.Hash
		ha   HashAlgorithm
		weak bool
	}{
		RSAPKCS1SHA1:   {stdcrypto.SHA1, HashSHA1, true},
		RSAPKCS1SHA256: {stdcrypto.SHA256, HashSHA2256, false},
		RSAPSSSHA384:   {stdcrypto.SHA384, HashSHA2384, false},
		ECDSASHA512:    {stdcrypto.SHA512, HashSHA2512, false},
	} {
		if s.Hash() != want.h || s.HashAlgorithm() != want.ha || s.Weak() != want.weak {
			t.Errorf("%s: %v %v %v", s, s.Hash(), s.HashAlgorithm(), s.Weak())
		}
	}
}

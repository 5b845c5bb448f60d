package crypto

import (
	"bytes"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// RFC 7296, Section 2.15, with Android's PSK test: the initiator's
// IKE_SA_INIT request, the responder's nonce, prf(SK_pi, IDi') and the shared
// secret "juniper123" give the published AUTH data.
func TestPSKAuthAndroidVector(t *testing.T) {
	m := aosp(t, "IkeAuthPskPayloadTest")
	p, _ := PRFByID(wire.PRF_HMAC_SHA1)
	octets := SignedOctets(p, aospHex(t, m, "PSK_IKE_INIT_REQUEST_HEX_STRING"), aospHex(t, m, "PSK_NONCE_RESP_HEX_STRING"),
		aospHex(t, m, "PSK_SKP_HEX_STRING"), aospHex(t, m, "PSK_ID_INITIATOR_PAYLOAD_HEX_STRING"))
	psk, want := aospHex(t, m, "PSK_HEX_STRING"), aospHex(t, m, "PSK_AUTH_PAYLOAD_SIGNATURE_HEX_STRING")
	if got := PSKAuth(p, psk, octets); !bytes.Equal(got, want) {
		t.Errorf("PSK AUTH %x, want %x", got, want)
	}
	if !VerifyPSKAuth(p, psk, octets, want) {
		t.Error("VerifyPSKAuth rejects the published value")
	}
	bad := append([]byte(nil), want...)
	bad[0] ^= 1
	if VerifyPSKAuth(p, psk, octets, bad) || VerifyPSKAuth(p, []byte("juniper124"), octets, want) ||
		VerifyPSKAuth(p, psk, octets, want[:len(want)-1]) {
		t.Error("VerifyPSKAuth accepts a wrong value")
	}
	// The AUTH payload body is method 2, three reserved octets, the data.
	body := aospHex(t, m, "PSK_AUTH_PAYLOAD_BODY_HEX_STRING")
	if AuthMethod(body[0]) != AuthSharedKey || !bytes.Equal(body[4:], want) {
		t.Errorf("AUTH body %x", body)
	}
}

// SignedOctets is RealMessage | Nonce | prf(SK_p, IDx'), nothing else.
func TestSignedOctetsLayout(t *testing.T) {
	p, _ := PRFByID(wire.PRF_HMAC_SHA2_256)
	msg, nonce, skp, id := []byte("IKE_SA_INIT"), []byte("nonce"), []byte("SK_pr"), []byte{2, 0, 0, 0, 'v', 'p', 'n'}
	got := SignedOctets(p, msg, nonce, skp, id)
	want := append(append(append([]byte(nil), msg...), nonce...), p.Compute(skp, id)...)
	if !bytes.Equal(got, want) {
		t.Errorf("%x, want %x", got, want)
	}
	if m := hmac.Equal(PSKAuth(p, []byte("k"), got), p.Compute(p.Compute([]byte("k"), []byte("Key Pad for IKEv2")), got)); !m {
		t.Error("PSKAuth differs from prf(prf(key, \"Key Pad for IKEv2\"), octets)")
	}
}

var (
	testKeysOnce sync.Once
	testRSA2048  *rsa.PrivateKey
	testECDSA    map[string]*ecdsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, map[string]*ecdsa.PrivateKey) {
	testKeysOnce.Do(func() {
		var err error
		if testRSA2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		testECDSA = map[string]*ecdsa.PrivateKey{}
		for name, c := range map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()} {
			if testECDSA[name], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
				panic(err)
			}
		}
	})
	return testRSA2048, testECDSA
}

// Methods 1, 9-11 and 14 with every scheme: a signature verifies, reports
// its scheme, and fails once the signed octets change.
func TestSignVerifyEveryMethod(t *testing.T) {
	rk, ek := testKeys(t)
	octets := []byte("IKE_SA_INIT | Ni | prf(SK_pr, IDr')")
	type tc struct {
		name   string
		key    stdcrypto.Signer
		method AuthMethod
		scheme SignatureScheme
		want   SignatureScheme
		sigLen int // 0: any
	}
	tests := []tc{
		{"RSA method 1", rk, AuthRSASignature, SchemeUnknown, RSAPKCS1SHA1, 256},
		{"ECDSA-256 method 9", ek["P-256"], AuthECDSASHA256P256, SchemeUnknown, ECDSASHA256, 64},
		{"ECDSA-384 method 10", ek["P-384"], AuthECDSASHA384P384, ECDSASHA384, ECDSASHA384, 96},
		{"ECDSA-521 method 11", ek["P-521"], AuthECDSASHA512P521, SchemeUnknown, ECDSASHA512, 132},
	}
	for _, s := range []SignatureScheme{RSAPKCS1SHA1, RSAPKCS1SHA256, RSAPKCS1SHA384, RSAPKCS1SHA512,
		RSAPSSSHA256, RSAPSSSHA384, RSAPSSSHA512} {
		tests = append(tests, tc{"RSA method 14 " + s.String(), rk, AuthDigitalSignature, s, s, 0})
	}
	for _, s := range []SignatureScheme{ECDSASHA256, ECDSASHA384, ECDSASHA512} {
		for _, c := range []string{"P-256", "P-384", "P-521"} {
			tests = append(tests, tc{c + " method 14 " + s.String(), ek[c], AuthDigitalSignature, s, s, 0})
		}
	}
	for _, tc := range tests {
		signer := tc.key
		sig, err := SignAuth(rand.Reader, signer, tc.method, tc.scheme, octets)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.sigLen != 0 && len(sig) != tc.sigLen {
			t.Errorf("%s: %d-octet signature, want %d", tc.name, len(sig), tc.sigLen)
		}
		if tc.method == AuthDigitalSignature {
			if n := int(sig[0]); !bytes.Equal(sig[1:1+n], tc.scheme.AlgorithmIdentifier()) {
				t.Errorf("%s: AlgorithmIdentifier not in the AUTH data", tc.name)
			}
		}
		got, err := VerifyAuth(signer.Public(), tc.method, octets, sig)
		if err != nil || got != tc.want {
			t.Errorf("%s: VerifyAuth = %s, %v; want %s", tc.name, got, err, tc.want)
		}
		tampered := append(append([]byte(nil), octets...), 0)
		if _, err := VerifyAuth(signer.Public(), tc.method, tampered, sig); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: changed octets: %v", tc.name, err)
		}
		bad := append([]byte(nil), sig...)
		bad[len(bad)-1] ^= 1
		if _, err := VerifyAuth(signer.Public(), tc.method, octets, bad); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: changed signature: %v", tc.name, err)
		}
	}
}

// RFC 4754, Section 8.1: the published P-256 key and signature over "abc"
// verify as method 9 AUTH data (r | s, 32 octets each).
func TestECDSARFC4754Vector(t *testing.T) {
	x, _ := new(big.Int).SetString("2442A5CC0ECD015FA3CA31DC8E2BBC70BF42D60CBCA20085E0822CB04235E970", 16)
	y, _ := new(big.Int).SetString("6FC98BD7E50211A4A27102FA3549DF79EBCB4BF246B80945CDDFE7D509BBFD7D", 16)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	sig := mustHex(t, "CB28E0999B9C7715FD0A80D8E47A77079716CBBF917DD72E97566EA1C066957C"+
		"86FA3BB4E26CAD5BF90B7F81899256CE7594BB1EA0C89212748BFF3B3D5B0315")
	if s, err := VerifyAuth(pub, AuthECDSASHA256P256, []byte("abc"), sig); err != nil || s != ECDSASHA256 {
		t.Errorf("RFC 4754 vector: %s, %v", s, err)
	}
	if _, err := VerifyAuth(pub, AuthECDSASHA256P256, []byte("abd"), sig); !errors.Is(err, ErrSignature) {
		t.Errorf("RFC 4754 vector over other data: %v", err)
	}
}

// A key that does not fit the method is ErrKeyMismatch, an unknown method
// ErrUnsupported, on both sides.
func TestSignVerifyKeyMismatch(t *testing.T) {
	rk, ek := testKeys(t)
	octets := []byte("x")
	for _, tc := range []struct {
		name   string
		sign   func() ([]byte, error)
		verify func() (SignatureScheme, error)
		err    error
	}{
		{"ECDSA key, method 1", func() ([]byte, error) { return SignAuth(rand.Reader, ek["P-256"], AuthRSASignature, 0, octets) },
			func() (SignatureScheme, error) {
				return VerifyAuth(&ek["P-256"].PublicKey, AuthRSASignature, octets, make([]byte, 256))
			}, ErrKeyMismatch},
		{"P-384 key, method 9", func() ([]byte, error) { return SignAuth(rand.Reader, ek["P-384"], AuthECDSASHA256P256, 0, octets) },
			func() (SignatureScheme, error) {
				return VerifyAuth(&ek["P-384"].PublicKey, AuthECDSASHA256P256, octets, make([]byte, 64))
			}, ErrKeyMismatch},
		{"RSA key, method 10", func() ([]byte, error) { return SignAuth(rand.Reader, rk, AuthECDSASHA384P384, 0, octets) },
			func() (SignatureScheme, error) {
				return VerifyAuth(&rk.PublicKey, AuthECDSASHA384P384, octets, make([]byte, 96))
			}, ErrKeyMismatch},
		{"RSA key, ECDSA scheme", func() ([]byte, error) { return SignAuth(rand.Reader, rk, AuthDigitalSignature, ECDSASHA256, octets) },
			func() (SignatureScheme, error) {
				sig, _ := SignAuth(rand.Reader, ek["P-256"], AuthDigitalSignature, ECDSASHA256, octets)
				return VerifyAuth(&rk.PublicKey, AuthDigitalSignature, octets, sig)
			}, ErrKeyMismatch},
		{"ECDSA key, RSA scheme", func() ([]byte, error) {
			return SignAuth(rand.Reader, ek["P-256"], AuthDigitalSignature, RSAPSSSHA256, octets)
		}, func() (SignatureScheme, error) {
			sig, _ := SignAuth(rand.Reader, rk, AuthDigitalSignature, RSAPKCS1SHA256, octets)
			return VerifyAuth(&ek["P-256"].PublicKey, AuthDigitalSignature, octets, sig)
		}, ErrKeyMismatch},
		{"method 1 with SHA-256 scheme", func() ([]byte, error) { return SignAuth(rand.Reader, rk, AuthRSASignature, RSAPKCS1SHA256, octets) },
			func() (SignatureScheme, error) { return VerifyAuth(nil, AuthRSASignature, octets, nil) }, ErrKeyMismatch},
		{"PSK method", func() ([]byte, error) { return SignAuth(rand.Reader, rk, AuthSharedKey, 0, octets) },
			func() (SignatureScheme, error) { return VerifyAuth(&rk.PublicKey, AuthSharedKey, octets, nil) }, ErrUnsupported},
		{"method 14 without scheme", func() ([]byte, error) { return SignAuth(rand.Reader, rk, AuthDigitalSignature, 0, octets) },
			func() (SignatureScheme, error) { return VerifyAuth(&rk.PublicKey, AuthDSSSignature, octets, nil) }, ErrUnsupported},
	} {
		if _, err := tc.sign(); !errors.Is(err, tc.err) {
			t.Errorf("%s: sign: %v, want %v", tc.name, err, tc.err)
		}
		if _, err := tc.verify(); !errors.Is(err, tc.err) {
			t.Errorf("%s: verify: %v, want %v", tc.name, err, tc.err)
		}
	}
}

// Garbage AUTH data is a typed error, never a panic.
func TestVerifyAuthRejectsMalformedData(t *testing.T) {
	rk, ek := testKeys(t)
	algID := RSAPKCS1SHA256.AlgorithmIdentifier()
	cases := map[string][]byte{
		"empty":                nil,
		"zero length":          {0, 1, 2, 3},
		"length past end":      append([]byte{byte(len(algID) + 5)}, algID...),
		"no signature":         append([]byte{byte(len(algID))}, algID...),
		"garbage AlgId":        {3, 0x30, 0x01, 0xff, 1, 2, 3},
		"unknown OID":          append([]byte{11}, mustHex(t, "300906072a8648ce3d02010102")...),
		"short RSA signature":  append(append([]byte{byte(len(algID))}, algID...), 1, 2, 3),
		"huge RSA signature":   append(append([]byte{byte(len(algID))}, algID...), make([]byte, 4096)...),
		"RSA sig all ones":     append(append([]byte{byte(len(algID))}, algID...), bytes.Repeat([]byte{0xff}, 256)...),
		"method 1 random data": bytes.Repeat([]byte{0x5a}, 256),
	}
	for name, data := range cases {
		_, err := VerifyAuth(&rk.PublicKey, AuthDigitalSignature, []byte("x"), data)
		if err == nil || !(errors.Is(err, ErrSignature) || errors.Is(err, ErrUnsupported)) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := VerifyAuth(&rk.PublicKey, AuthRSASignature, []byte("x"), data); !errors.Is(err, ErrSignature) {
			t.Errorf("%s, method 1: %v", name, err)
		}
		if _, err := VerifyAuth(&ek["P-256"].PublicKey, AuthECDSASHA256P256, []byte("x"), data); !errors.Is(err, ErrSignature) {
			t.Errorf("%s, method 9: %v", name, err)
		}
	}
	// r = 0 and r = n are not valid ECDSA values.
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	for _, r := range [][]byte{make([]byte, 32), n} {
		if _, err := VerifyAuth(&ek["P-256"].PublicKey, AuthECDSASHA256P256, []byte("x"), append(r, n...)); !errors.Is(err, ErrSignature) {
			t.Errorf("r = %x: %v", r[:2], err)
		}
	}
}

func TestChooseSchemeFollowsPeerHashes(t *testing.T) {
	rk, ek := testKeys(t)
	all := SupportedHashAlgorithms()
	tests := []struct {
		name string
		pub  any
		peer []HashAlgorithm
		want SignatureScheme
		err  error
	}{
		{"RSA, all", &rk.PublicKey, all, RSAPKCS1SHA256, nil},
		{"RSA, only 512", &rk.PublicKey, []HashAlgorithm{HashSHA2512}, RSAPKCS1SHA512, nil},
		{"RSA, only SHA-1", &rk.PublicKey, []HashAlgorithm{HashSHA1}, SchemeUnknown, ErrUnsupported},
		{"RSA, none announced", &rk.PublicKey, nil, SchemeUnknown, ErrUnsupported},
		{"P-256, all", &ek["P-256"].PublicKey, all, ECDSASHA256, nil},
		{"P-384, all", &ek["P-384"].PublicKey, all, ECDSASHA384, nil},
		{"P-521, all", &ek["P-521"].PublicKey, all, ECDSASHA512, nil},
		{"P-384, only 256", &ek["P-384"].PublicKey, []HashAlgorithm{HashSHA2256, HashIdentity}, ECDSASHA256, nil},
		{"unknown key", "not a key", all, SchemeUnknown, ErrUnsupported},
	}
	for _, tc := range tests {
		got, err := ChooseScheme(tc.pub, tc.peer)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: %s, %v; want %s, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestAuthMethodAndHashNames(t *testing.T) {
	for m, want := range map[AuthMethod]string{AuthRSASignature: "RSA_SIG", AuthSharedKey: "SHARED_KEY_MIC",
		AuthDigitalSignature: "DIGITAL_SIGNATURE", 200: "AUTH_METHOD_200"} {
		if m.String() != want {
			t.Errorf("%d: %s", m, m)
		}
	}
	for h, want := range map[HashAlgorithm]string{HashSHA1: "SHA1", HashSHA2256: "SHA2_256", HashSHA2384: "SHA2_384",
		HashSHA2512: "SHA2_512", HashIdentity: "IDENTITY", 9: "HASH_9"} {
		if h.String() != want {
			t.Errorf("%d: %s", h, h)
		}
	}
}

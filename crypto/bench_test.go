package crypto

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// Benchmarks behind docs/performance.md. Regenerate with
//
//	go test -run '^$' -bench . -benchmem ./crypto/
//
// and recompute the handshake table from BenchmarkKE, BenchmarkSign,
// BenchmarkVerify, BenchmarkSK and BenchmarkKDF as that document explains.

// BenchmarkKE is one side of a key exchange: generate an ephemeral key and
// compute the shared secret from a peer value (whose validation is
// included).
func BenchmarkKE(b *testing.B) {
	for _, id := range IDs(wire.TransformKE) {
		g, _ := KE(id)
		peer, err := g.Generate(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		pub := peer.Public()
		b.Run(g.Name, func(b *testing.B) {
			for b.Loop() {
				k, err := g.Generate(rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := k.SharedSecret(pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchSigner struct {
	name   string
	key    stdcrypto.Signer
	method AuthMethod
	scheme SignatureScheme
}

var (
	benchSignersOnce sync.Once
	benchSignersList []benchSigner
)

func benchSigners(b *testing.B) []benchSigner {
	benchSignersOnce.Do(func() {
		r2048, err1 := rsa.GenerateKey(rand.Reader, 2048)
		r3072, err2 := rsa.GenerateKey(rand.Reader, 3072)
		p256, err3 := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p384, err4 := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				panic(err)
			}
		}
		benchSignersList = []benchSigner{
			{"RSA-2048/PKCS1-SHA256", r2048, AuthDigitalSignature, RSAPKCS1SHA256},
			{"RSA-2048/method1-SHA1", r2048, AuthRSASignature, SchemeUnknown},
			{"RSA-3072/PKCS1-SHA256", r3072, AuthDigitalSignature, RSAPKCS1SHA256},
			{"RSA-3072/PSS-SHA256", r3072, AuthDigitalSignature, RSAPSSSHA256},
			{"ECDSA-P256/method9", p256, AuthECDSASHA256P256, SchemeUnknown},
			{"ECDSA-P384/method10", p384, AuthECDSASHA384P384, SchemeUnknown},
		}
	})
	return benchSignersList
}

// benchOctets is about the size of the octets an AUTH payload signs: an
// IKE_SA_INIT message of ~550 octets, a 32-octet nonce and a PRF output.
var benchOctets = make([]byte, 550+32+32)

// BenchmarkSign is one AUTH payload signature (SignAuth), the responder's
// own authentication.
func BenchmarkSign(b *testing.B) {
	for _, s := range benchSigners(b) {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := SignAuth(rand.Reader, s.key, s.method, s.scheme, benchOctets); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify is one AUTH payload verification (VerifyAuth), the
// responder's check of the initiator (certificate chain validation not
// included).
func BenchmarkVerify(b *testing.B) {
	for _, s := range benchSigners(b) {
		sig, err := SignAuth(rand.Reader, s.key, s.method, s.scheme, benchOctets)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := VerifyAuth(s.key.Public(), s.method, benchOctets, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var benchSKSuites = []skSuite{
	{wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA1_96},
	{wire.ENCR_AES_CBC, 256, wire.AUTH_HMAC_SHA2_256_128},
	{wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96},
	{wire.ENCR_AES_CTR, 256, wire.AUTH_HMAC_SHA2_256_128},
	{wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE},
	{wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE},
	{wire.ENCR_AES_GCM_12, 256, wire.AUTH_NONE},
	{wire.ENCR_AES_GCM_8, 256, wire.AUTH_NONE},
	{wire.ENCR_AES_CCM_16, 256, wire.AUTH_NONE},
	{wire.ENCR_CHACHA20_POLY1305, 0, wire.AUTH_NONE},
}

// BenchmarkSK seals and opens a 1,500-octet SK payload (a full-MTU IKE_AUTH
// message) with each cipher.
func BenchmarkSK(b *testing.B) {
	assoc := make([]byte, 32)
	plain := make([]byte, 1500)
	for _, s := range benchSKSuites {
		sk, _, _ := newTestSK(b, s)
		body, err := sk.Seal(nil, rand.Reader, assoc, plain)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.String()+"/Seal", func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if _, err := sk.Seal(nil, rand.Reader, assoc, plain); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.String()+"/Open", func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if _, err := sk.Open(assoc, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKDF is the responder's key schedule for one handshake: SKEYSEED,
// the seven SK_* keys, the first child SA's KEYMAT, and the two sets of
// signed octets (its own and the initiator's, RFC 7296 Section 2.15).
func BenchmarkKDF(b *testing.B) {
	for _, prf := range []wire.TransformID{wire.PRF_HMAC_SHA1, wire.PRF_HMAC_SHA2_256, wire.PRF_HMAC_SHA2_384} {
		p, _ := PRFByID(prf)
		suite := Suite{Encr: wire.ENCR_AES_CBC, EncrKeyBits: 256, PRF: prf, Integ: wire.AUTH_HMAC_SHA2_256_128}
		ni, nr, gir := make([]byte, 32), make([]byte, 32), make([]byte, 256)
		msgI, msgR, id := make([]byte, 550), make([]byte, 550), make([]byte, 40)
		var spi [8]byte
		b.Run(p.Name, func(b *testing.B) {
			for b.Loop() {
				seed := SKEYSEED(p, ni, nr, gir)
				k, err := DeriveIKEKeys(suite, seed, ni, nr, spi, spi)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := DeriveChildKeys(p, k.SKd, nil, ni, nr, wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE); err != nil {
					b.Fatal(err)
				}
				SignedOctets(p, msgR, ni, k.SKpr, id)
				SignedOctets(p, msgI, nr, k.SKpi, id)
			}
		})
	}
}

// BenchmarkResponderHandshake is all the cryptography a responder does for
// one IKE_SA_INIT + IKE_AUTH exchange with one child SA, measured as one
// operation: a key exchange (its key generation and the shared secret from
// the initiator's value), one AUTH signature, one AUTH verification, SK
// protection of four 1,500-octet messages (two opened, two sealed: about
// what an IKE_AUTH with certificates and a later INFORMATIONAL cost) and the
// key schedule. Certificate chain validation and message parsing are not
// included. 1e9 / (ns/op) is the most handshakes per second one core could
// complete.
func BenchmarkResponderHandshake(b *testing.B) {
	signers := benchSigners(b)
	pick := func(name string) benchSigner {
		for _, s := range signers {
			if s.name == name {
				return s
			}
		}
		b.Fatalf("no signer %s", name)
		return benchSigner{}
	}
	for _, hs := range []struct {
		name   string
		ke     wire.TransformID
		signer benchSigner
		sk     skSuite
		prf    wire.TransformID
	}{
		{"ECP256-ECDSAP256-AESGCM256", wire.ECP_256, pick("ECDSA-P256/method9"),
			skSuite{wire.ENCR_AES_GCM_16, 256, wire.AUTH_NONE}, wire.PRF_HMAC_SHA2_256},
		{"MODP2048-RSA2048-AESCBC256", wire.MODP_2048, pick("RSA-2048/PKCS1-SHA256"),
			skSuite{wire.ENCR_AES_CBC, 256, wire.AUTH_HMAC_SHA2_256_128}, wire.PRF_HMAC_SHA2_256},
		{"MODP1024-RSA2048-3DES-SHA1-Windows", wire.MODP_1024, pick("RSA-2048/method1-SHA1"),
			skSuite{wire.ENCR_3DES, 0, wire.AUTH_HMAC_SHA1_96}, wire.PRF_HMAC_SHA1},
	} {
		g, _ := KE(hs.ke)
		p, _ := PRFByID(hs.prf)
		peer, _ := g.Generate(rand.Reader)
		peerPub := peer.Public()
		// The initiator's AUTH, signed by a key of the same kind.
		peerSig, err := SignAuth(rand.Reader, hs.signer.key, hs.signer.method, hs.signer.scheme, benchOctets)
		if err != nil {
			b.Fatal(err)
		}
		sk, _, _ := newTestSK(b, hs.sk)
		plain, assoc := make([]byte, 1500), make([]byte, 32)
		sealed, _ := sk.Seal(nil, rand.Reader, assoc, plain)
		suite := Suite{Encr: hs.sk.encr, EncrKeyBits: hs.sk.keyBits, PRF: hs.prf, Integ: hs.sk.integ, KE: hs.ke}
		ni, nr, msgI, msgR, id := make([]byte, 32), make([]byte, 32), make([]byte, 550), make([]byte, 550), make([]byte, 40)
		var spi [8]byte
		b.Run(hs.name, func(b *testing.B) {
			for b.Loop() {
				k, err := g.Generate(rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				gir, err := k.SharedSecret(peerPub)
				if err != nil {
					b.Fatal(err)
				}
				keys, err := DeriveIKEKeys(suite, SKEYSEED(p, ni, nr, gir), ni, nr, spi, spi)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := DeriveChildKeys(p, keys.SKd, nil, ni, nr, hs.sk.encr, hs.sk.keyBits, hs.sk.integ); err != nil {
					b.Fatal(err)
				}
				SignedOctets(p, msgI, nr, keys.SKpi, id)
				if _, err := VerifyAuth(hs.signer.key.Public(), hs.signer.method, benchOctets, peerSig); err != nil {
					b.Fatal(err)
				}
				SignedOctets(p, msgR, ni, keys.SKpr, id)
				if _, err := SignAuth(rand.Reader, hs.signer.key, hs.signer.method, hs.signer.scheme, benchOctets); err != nil {
					b.Fatal(err)
				}
				for range 2 {
					if _, err := sk.Open(assoc, sealed); err != nil {
						b.Fatal(err)
					}
					if _, err := sk.Seal(nil, rand.Reader, assoc, plain); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

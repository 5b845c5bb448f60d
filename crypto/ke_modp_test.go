package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

var modpByGroup = map[int]*modpGroup{
	2: modp1024, 5: modp1536, 14: modp2048, 15: modp3072, 16: modp4096, 17: modp6144, 18: modp8192,
	22: modp22, 23: modp23, 24: modp24,
}

// The embedded primes, generators and subgroup orders are the RFC 2409,
// RFC 3526 and RFC 5114 values, and the number theory they promise holds:
// p and (p-1)/2 prime for the safe-prime groups, q prime and g^q = 1 mod p
// for groups 22-24.
func TestMODPGroupParametersMatchRFCs(t *testing.T) {
	secs := loadSections(t, filepath.Join("testdata", "modp-groups-rfc2409-3526-5114.txt"))
	seen := map[int]bool{}
	for _, s := range secs {
		var n int
		if _, err := fmt.Sscanf(s.name, "group %d", &n); err != nil {
			t.Fatal(err)
		}
		m, ok := modpByGroup[n]
		if !ok {
			if n != 1 {
				t.Errorf("group %d is in the RFC table but not implemented", n)
			}
			continue
		}
		seen[n] = true
		if !strings.EqualFold(m.pHex, s.f["p"]) {
			t.Errorf("group %d: p differs from the RFC", n)
		}
		if g := strings.TrimLeft(m.gHex, "0"); !strings.EqualFold(g, strings.TrimLeft(s.f["g"], "0")) {
			t.Errorf("group %d: g = %s, RFC %s", n, m.gHex, s.f["g"])
		}
		if s.has("q") != (m.qHex != "") || (s.has("q") && !strings.EqualFold(m.qHex, s.f["q"])) {
			t.Errorf("group %d: q differs from the RFC", n)
		}
		g, _ := KE(m.id)
		if g.PublicSize != len(m.pHex)/2 {
			t.Errorf("group %d: PublicSize %d, modulus %d octets", n, g.PublicSize, len(m.pHex)/2)
		}
		p, _ := new(big.Int).SetString(m.pHex, 16)
		if testing.Short() && p.BitLen() > 4096 {
			continue
		}
		if !p.ProbablyPrime(1) {
			t.Errorf("group %d: p is not prime", n)
		}
		if m.qHex == "" {
			q := new(big.Int).Rsh(p, 1)
			if !q.ProbablyPrime(1) {
				t.Errorf("group %d: (p-1)/2 is not prime", n)
			}
			continue
		}
		q, _ := new(big.Int).SetString(m.qHex, 16)
		gen, _ := new(big.Int).SetString(m.gHex, 16)
		if !q.ProbablyPrime(1) || new(big.Int).Exp(gen, q, p).Cmp(big.NewInt(1)) != 0 {
			t.Errorf("group %d: q not prime or g^q != 1 mod p", n)
		}
	}
	if len(seen) != len(modpByGroup) {
		t.Errorf("checked %d groups, implemented %d", len(seen), len(modpByGroup))
	}
}

// Android's IKEv2 library tests: MODP-1024 and MODP-1536 with full-length
// private exponents against a remote public value.
func TestMODPAndroidVectors(t *testing.T) {
	m := aosp(t, "IkeKePayloadTest")
	for _, tc := range []struct {
		id                wire.TransformID
		priv, peer, share string
	}{
		{wire.MODP_1024, "LOCAL_PRIVATE_KEY_1024_X_VALUE", "REMOTE_PUBLIC_KEY_1024", "EXPECTED_SHARED_KEY_1024"},
		{wire.MODP_1536, "privateKeyXValueHex", "publicKeyRemoteHex", "expectedSharedKeyHex"},
	} {
		g, _ := KE(tc.id)
		s, err := g.impl.fromScalar(aospHex(t, m, tc.priv))
		if err != nil {
			t.Fatal(err)
		}
		k := &KEPrivate{alg: g, s: s}
		z, err := k.SharedSecret(aospHex(t, m, tc.peer))
		if want := aospHex(t, m, tc.share); err != nil || !bytes.Equal(z, want) {
			t.Errorf("%s: shared %x, %v; want %x", g.Name, z, err, want)
		}
	}
	// The KE payload body of the same test is MODP-1024 data of exactly
	// PublicSize octets after the group and reserved fields.
	body := aospHex(t, m, "KE_PAYLOAD_RAW_PACKET")
	g, _ := KE(wire.MODP_1024)
	if int(body[0])<<8|int(body[1]) != int(wire.MODP_1024) || len(body)-4 != g.PublicSize {
		t.Errorf("KE payload: group %x, %d octets of data", body[:2], len(body)-4)
	}
}

// RFC 6989, Section 2.1 (1 < y < p-1) and Section 2.2 (y^q = 1 mod p for
// the RFC 5114 groups), and RFC 7296 Section 3.4 (exact length).
func TestMODPRejectsPeerValuesRFC6989(t *testing.T) {
	for _, id := range []wire.TransformID{wire.MODP_1024, wire.MODP_2048, wire.MODP_2048_256, wire.MODP_1024_160} {
		g, _ := KE(id)
		k, err := g.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m := g.impl.(*modpGroup)
		p, _ := new(big.Int).SetString(m.pHex, 16)
		n := g.PublicSize
		enc := func(v *big.Int) []byte { return v.FillBytes(make([]byte, n)) }
		bad := map[string][]byte{
			"zero":         make([]byte, n),
			"one":          enc(big.NewInt(1)),
			"p-1":          enc(new(big.Int).Sub(p, big.NewInt(1))),
			"p":            enc(p),
			"p+1":          enc(new(big.Int).Add(p, big.NewInt(1))),
			"all ones":     bytes.Repeat([]byte{0xff}, n),
			"one short":    k.Public()[1:],
			"one long":     append([]byte{0}, k.Public()...),
			"empty":        nil,
			"double width": append(k.Public(), k.Public()...),
		}
		if m.q != nil {
			// 2 generates far more than the order-q subgroup of these
			// primes, so it fails y^q = 1.
			bad["outside subgroup"] = enc(big.NewInt(2))
		}
		for name, v := range bad {
			z, err := k.SharedSecret(v)
			var ipe *InvalidPublicError
			if !errors.Is(err, ErrInvalidPublic) || !errors.As(err, &ipe) || ipe.Method != id || z != nil {
				t.Errorf("%s, %s: got %x, %v; want an InvalidPublicError", g.Name, name, z, err)
			}
		}
		// The generator itself is a valid public value.
		gen, _ := new(big.Int).SetString(m.gHex, 16)
		if _, err := k.SharedSecret(enc(gen)); err != nil {
			t.Errorf("%s: generator rejected: %v", g.Name, err)
		}
	}
}

// Private exponents have the documented length (2x the security strength
// for safe primes) and lie in [1, q-1] for groups 22-24.
func TestMODPPrivateExponentSize(t *testing.T) {
	for _, m := range modpByGroup {
		g, _ := KE(m.id)
		if m.qHex == "" && m.expBits < 2*g.SecurityBits {
			t.Errorf("%s: %d-bit exponent below twice the %d-bit strength", g.Name, m.expBits, g.SecurityBits)
		}
		k, err := g.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		x := k.s.(*modpSecret).x
		if m.q == nil {
			if len(x)*8 != m.expBits {
				t.Errorf("%s: exponent %d bits, want %d", g.Name, len(x)*8, m.expBits)
			}
			continue
		}
		q, _ := new(big.Int).SetString(m.qHex, 16)
		if xv := new(big.Int).SetBytes(x); xv.Sign() <= 0 || xv.Cmp(q) >= 0 {
			t.Errorf("%s: exponent outside [1, q-1]", g.Name)
		}
	}
}

func TestMODPRejectsZeroAndOversizeScalars(t *testing.T) {
	if _, err := modp2048.fromScalar(make([]byte, 32)); err == nil {
		t.Error("zero exponent accepted")
	}
	q, _ := hex.DecodeString(modp24Q)
	if _, err := modp24.fromScalar(q); err == nil {
		t.Error("group 24 exponent q accepted")
	}
}

// Both sides of every implemented method agree, keys have the advertised
// sizes, and a fixed random source fixes the public value.
func TestKEAgreementAndDeterminism(t *testing.T) {
	for _, id := range IDs(wire.TransformKE) {
		g, _ := KE(id)
		t.Run(g.Name, func(t *testing.T) {
			a, err := g.Generate(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			b, err := g.Generate(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Public()) != g.PublicSize {
				t.Fatalf("public %d octets, want %d", len(a.Public()), g.PublicSize)
			}
			za, err1 := a.SharedSecret(b.Public())
			zb, err2 := b.SharedSecret(a.Public())
			if err1 != nil || err2 != nil || !bytes.Equal(za, zb) || len(za) != g.SharedSize {
				t.Fatalf("disagree: %x %v / %x %v", za, err1, zb, err2)
			}
			seed := bytes.Repeat([]byte{0x5a}, 4096)
			c1, err := g.Generate(&fixedReader{append([]byte(nil), seed...)})
			if err != nil {
				t.Fatal(err)
			}
			c2, _ := g.Generate(&fixedReader{append([]byte(nil), seed...)})
			if !bytes.Equal(c1.Public(), c2.Public()) || c1.Alg() != g {
				t.Error("a fixed random source gave two different public values")
			}
			// Public returns a copy the caller may change.
			pub := c1.Public()
			pub[0] ^= 0xff
			if bytes.Equal(pub, c1.Public()) {
				t.Error("Public exposes internal state")
			}
			if _, err := g.Generate(&fixedReader{}); err == nil {
				t.Error("an exhausted random source did not fail")
			}
		})
	}
}

// A broken random source that yields only zeros makes generation fail
// where zero is not a valid secret, instead of looping forever.
func TestKEGenerateZeroRandomFails(t *testing.T) {
	for _, id := range []wire.TransformID{wire.MODP_2048, wire.MODP_2048_256, wire.ECP_256, wire.ECP_521} {
		g, _ := KE(id)
		if _, err := g.Generate(zeroReader{}); err == nil {
			t.Errorf("%s: all-zero randomness accepted", g.Name)
		}
	}
}

package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// Android's X25519 KE test (the RFC 7748 Section 6.1 keys): the private key
// comes as PKCS#8, whose last 32 octets are the scalar.
func TestX25519AndroidVector(t *testing.T) {
	m := aosp(t, "IkeKePayloadTest")
	pkcs8 := aospHex(t, m, "privateKeyHex")
	g, _ := KE(wire.CURVE_25519)
	s, err := g.impl.fromScalar(pkcs8[len(pkcs8)-32:])
	if err != nil {
		t.Fatal(err)
	}
	z, err := (&KEPrivate{alg: g, s: s}).SharedSecret(aospHex(t, m, "publicKeyHex"))
	if want := aospHex(t, m, "sharedKeyHex"); err != nil || !bytes.Equal(z, want) {
		t.Errorf("shared %x, %v; want %x", z, err, want)
	}
	if n := m["expectedKeDataLen"]; n != "32" || g.PublicSize != 32 {
		t.Errorf("KE data length %s, PublicSize %d", n, g.PublicSize)
	}
}

// RFC 8031, Section 2.3: an all-zero X25519/X448 result (from a low-order
// peer point) MUST be rejected. The X25519 points are the small-order ones
// listed with the RFC 7748 test suites; the non-canonical encodings p-1, p
// and p+1 reduce to the same points.
func TestXRejectsLowOrderPoints(t *testing.T) {
	x25519Bad := map[string]string{
		"0":           "0000000000000000000000000000000000000000000000000000000000000000",
		"1":           "0100000000000000000000000000000000000000000000000000000000000000",
		"order 8 (a)": "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"order 8 (b)": "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"p-1":         "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"p":           "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"p+1":         "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		// The top bit is ignored (RFC 7748, Section 5), so this is 1 again.
		"1 with bit 255": "0100000000000000000000000000000000000000000000000000000000000080",
	}
	x448Bad := map[string]string{
		"0":   "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
		"1":   "0100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
		"p-1": "fefffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"p":   "fffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	}
	for id, bad := range map[wire.TransformID]map[string]string{wire.CURVE_25519: x25519Bad, wire.CURVE_448: x448Bad} {
		g, _ := KE(id)
		k, err := g.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for name, h := range bad {
			z, err := k.SharedSecret(mustHex(t, h))
			if !errors.Is(err, ErrInvalidPublic) || z != nil {
				t.Errorf("%s, %s: got %x, %v; want ErrInvalidPublic", g.Name, name, z, err)
			}
		}
		for _, n := range []int{0, g.PublicSize - 1, g.PublicSize + 1} {
			if _, err := k.SharedSecret(make([]byte, n)); !errors.Is(err, ErrInvalidPublic) {
				t.Errorf("%s: %d-octet value: %v", g.Name, n, err)
			}
		}
	}
}

package crypto

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// RFC 5903, Section 8: for groups 19, 20 and 21 the KE payload data is
// exactly gx | gy and g^ir is the x coordinate alone.
func TestECPRFC5903Vectors(t *testing.T) {
	secs := loadSections(t, filepath.Join("testdata", "rfc5903-ecp-groups-19-20-21.txt"))
	if len(secs) != 3 {
		t.Fatalf("%d sections, want 3", len(secs))
	}
	for _, s := range secs {
		var n int
		fmt.Sscanf(s.name, "group %d", &n)
		g, ok := KE(wire.TransformID(n))
		if !ok {
			t.Fatalf("group %d not implemented", n)
		}
		if g.PublicSize != 2*s.int(t, "coordinate_octets") {
			t.Errorf("%s: PublicSize %d", g.Name, g.PublicSize)
		}
		checkKEVector(t, "RFC 5903 "+s.name, g, s.hex(t, "i"), s.hex(t, "r"),
			s.hex(t, "ke_initiator"), s.hex(t, "ke_responder"), s.hex(t, "ikev2_shared_secret"))
		if !bytes.Equal(s.hex(t, "ikev2_shared_secret"), s.hex(t, "girx")) {
			t.Errorf("%s: vector file inconsistent", s.name)
		}
	}
}

// RFC 6989, Section 2.3: a peer point must be on the curve, with both
// coordinates below p, and not the point at infinity; RFC 7296 Section 3.4:
// the data length is fixed.
func TestECPRejectsInvalidPoints(t *testing.T) {
	for _, tc := range []struct {
		id    wire.TransformID
		curve elliptic.Curve
	}{{wire.ECP_256, elliptic.P256()}, {wire.ECP_384, elliptic.P384()}, {wire.ECP_521, elliptic.P521()}} {
		g, _ := KE(tc.id)
		k, err := g.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		size := g.PublicSize / 2
		good := k.Public()
		notOnCurve := append([]byte(nil), good...)
		notOnCurve[len(notOnCurve)-1] ^= 1
		p := tc.curve.Params().P.FillBytes(make([]byte, size))
		xIsP := append(append([]byte(nil), p...), good[size:]...)
		// (x, p - y) is the negation of a valid point; (x, p + y) would be
		// the same point with a non-canonical coordinate.
		gen := append(tc.curve.Params().Gx.FillBytes(make([]byte, size)), tc.curve.Params().Gy.FillBytes(make([]byte, size))...)
		bad := map[string][]byte{
			"not on curve":       notOnCurve,
			"infinity (zeros)":   make([]byte, g.PublicSize),
			"x = p":              xIsP,
			"all ones":           bytes.Repeat([]byte{0xff}, g.PublicSize),
			"short":              good[1:],
			"SEC 1 0x04 prefix":  append([]byte{4}, good...),
			"compressed (x, 02)": append([]byte{2}, good[:size]...),
			"empty":              nil,
		}
		for name, v := range bad {
			z, err := k.SharedSecret(v)
			if !errors.Is(err, ErrInvalidPublic) || z != nil {
				t.Errorf("%s, %s: got %x, %v; want ErrInvalidPublic", g.Name, name, z, err)
			}
		}
		if _, err := k.SharedSecret(gen); err != nil {
			t.Errorf("%s: the generator was rejected: %v", g.Name, err)
		}
	}
}

// P-521 scalars are 66 octets with only the low bit of the first one used.
func TestECPScalarMasking(t *testing.T) {
	g, _ := KE(wire.ECP_521)
	// 0x01ff..ff is above the order n, so every draw is rejected until the
	// reader runs dry: that must be an error, not a key or a panic.
	k, err := g.Generate(&fixedReader{bytes.Repeat([]byte{0xff}, 66*4)})
	if err == nil || k != nil {
		t.Fatalf("scalar above the order accepted: %v", err)
	}
	k, err = g.Generate(&fixedReader{append([]byte{0x01}, bytes.Repeat([]byte{0x23}, 65)...)})
	if err != nil || len(k.Public()) != 132 {
		t.Fatalf("P-521 generation from a valid scalar: %v", err)
	}
}

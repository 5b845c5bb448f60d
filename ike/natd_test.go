package ike

import (
	"bytes"
	"crypto/sha1"
	"net/netip"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// TestNATHash checks the NAT-D data against RFC 7296, Section 2.23's
// definition, SHA-1(SPIi | SPIr | IP | Port), for IPv4 (also when carried
// in an IPv4-mapped IPv6 address, as a dual-stack socket reports it) and
// IPv6.
func TestNATHash(t *testing.T) {
	spii := wire.SPI{1, 2, 3, 4, 5, 6, 7, 8}
	spir := wire.SPI{9, 10, 11, 12, 13, 14, 15, 16}
	for _, c := range []struct {
		ap   string
		addr []byte
	}{
		{"192.0.2.1:4500", []byte{192, 0, 2, 1}},
		{"[::ffff:192.0.2.1]:4500", []byte{192, 0, 2, 1}},
		{"[2001:db8::1]:500", netip.MustParseAddr("2001:db8::1").AsSlice()},
	} {
		ap := netip.MustParseAddrPort(c.ap)
		in := append(append(append(spii[:], spir[:]...), c.addr...), byte(ap.Port()>>8), byte(ap.Port()))
		want := sha1.Sum(in)
		if got := natHash(spii, spir, ap); !bytes.Equal(got, want[:]) {
			t.Errorf("%s: natHash = %x, want %x", c.ap, got, want)
		}
	}
}

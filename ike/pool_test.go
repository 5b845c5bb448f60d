package ike

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
)

func spiN(n byte) wire.SPI { return wire.SPI{7, 0, 0, 0, 0, 0, 0, n} }

// TestPoolLeaseRound: leases skip the network address, the first host and
// the broadcast address, continue where the last one stopped, reuse
// released addresses once they come round again, and fail when the pool
// is full.
func TestPoolLeaseRound(t *testing.T) {
	var p pools
	pfx := netip.MustParsePrefix("10.99.0.0/29") // .2 to .6 usable
	var got []string
	for i := byte(1); i <= 5; i++ {
		a, ok := p.lease(pfx, spiN(i))
		require.True(t, ok, "lease %d", i)
		got = append(got, a.String())
	}
	assert.Equal(t, []string{"10.99.0.2", "10.99.0.3", "10.99.0.4", "10.99.0.5", "10.99.0.6"}, got)
	_, ok := p.lease(pfx, spiN(6))
	assert.False(t, ok, "pool full")

	p.release(spiN(2)) // frees .3
	a, ok := p.lease(pfx, spiN(7))
	require.True(t, ok)
	assert.Equal(t, "10.99.0.3", a.String(), "the one free address, found after wrapping")
	_, ok = p.lease(pfx, spiN(8))
	assert.False(t, ok)

	p.release(spiN(4)) // frees .5
	p.release(spiN(1)) // frees .2
	a, _ = p.lease(pfx, spiN(9))
	assert.Equal(t, "10.99.0.5", a.String(), "the search resumes after the last lease (.3), not at the start")
	a, _ = p.lease(pfx, spiN(10))
	assert.Equal(t, "10.99.0.2", a.String())
}

func TestPoolLeaseSmallAndIPv6(t *testing.T) {
	var p pools
	a, ok := p.lease(netip.MustParsePrefix("192.0.2.0/30"), spiN(1))
	require.True(t, ok)
	assert.Equal(t, "192.0.2.2", a.String(), "the only address of a /30")
	_, ok = p.lease(netip.MustParsePrefix("192.0.2.0/30"), spiN(2))
	assert.False(t, ok)
	for _, s := range []string{"192.0.2.8/31", "192.0.2.9/32", "2001:db8::/127", "2001:db8::1/128"} {
		_, ok := p.lease(netip.MustParsePrefix(s), spiN(3))
		assert.False(t, ok, "%s has no address to hand out", s)
	}
	pfx := netip.MustParsePrefix("2001:db8:99::/126") // ::2 and ::3 (no broadcast in IPv6)
	a, _ = p.lease(pfx, spiN(4))
	b, _ := p.lease(pfx, spiN(5))
	_, ok = p.lease(pfx, spiN(6))
	assert.Equal(t, []string{"2001:db8:99::2", "2001:db8:99::3"}, []string{a.String(), b.String()})
	assert.False(t, ok)
}

func TestPoolTransfer(t *testing.T) {
	var p pools
	pfx := netip.MustParsePrefix("10.99.0.0/24")
	a, _ := p.lease(pfx, spiN(1))
	p.transfer(spiN(1), spiN(2))
	p.release(spiN(1))
	assert.Equal(t, spiN(2), p.leased[a], "the lease followed the rekeyed IKE SA")
	p.release(spiN(2))
	assert.Empty(t, p.leased)
	assert.Empty(t, p.owner)
}

// BenchmarkPoolLease leases from a pool that already holds 10,000
// addresses: the cost must not grow with the number leased.
func BenchmarkPoolLease(b *testing.B) {
	var p pools
	pfx := netip.MustParsePrefix("10.100.0.0/16")
	for i := range 10000 {
		p.lease(pfx, wire.SPI{1, byte(i >> 8), byte(i)})
	}
	b.ResetTimer()
	for i := range b.N {
		owner := wire.SPI{2, byte(i >> 16), byte(i >> 8), byte(i)}
		if _, ok := p.lease(pfx, owner); !ok {
			b.Fatal("pool full")
		}
		p.release(owner)
	}
}

package xfrm

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
)

func ts4(start, end string, proto uint8, lo, hi uint16) wire.Selector {
	return wire.Selector{TSType: wire.TS_IPV4_ADDR_RANGE, IPProtocol: proto, StartPort: lo, EndPort: hi,
		Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end)}
}

func ts6(start, end string) wire.Selector {
	return wire.Selector{TSType: wire.TS_IPV6_ADDR_RANGE, EndPort: 0xffff,
		Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end)}
}

func prefixStrings(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// RFC 7296, Section 3.13.1 selectors are ranges; the kernel's are
// prefixes: a range must become prefixes that cover it exactly.
func TestRangePrefixesCoverExactly(t *testing.T) {
	for _, tc := range []struct{ start, end, want string }{
		{"0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"10.99.200.7", "10.99.200.7", "10.99.200.7/32"},
		{"10.1.0.0", "10.1.255.255", "10.1.0.0/16"},
		{"10.0.0.1", "10.0.0.6", "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32"},
		{"192.168.0.255", "192.168.1.0", "192.168.0.255/32 192.168.1.0/32"},
		{"255.255.255.254", "255.255.255.255", "255.255.255.254/31"},
		{"0.0.0.0", "127.255.255.254", "0.0.0.0/2 64.0.0.0/3 96.0.0.0/4 112.0.0.0/5 120.0.0.0/6 124.0.0.0/7 126.0.0.0/8 " +
			"127.0.0.0/9 127.128.0.0/10 127.192.0.0/11 127.224.0.0/12 127.240.0.0/13 127.248.0.0/14 127.252.0.0/15 " +
			"127.254.0.0/16 127.255.0.0/17 127.255.128.0/18 127.255.192.0/19 127.255.224.0/20 127.255.240.0/21 " +
			"127.255.248.0/22 127.255.252.0/23 127.255.254.0/24 127.255.255.0/25 127.255.255.128/26 127.255.255.192/27 " +
			"127.255.255.224/28 127.255.255.240/29 127.255.255.248/30 127.255.255.252/31 127.255.255.254/32"},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
		{"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::/64"},
		{"2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::", "2001:db8::ffff:ffff:ffff:ffff/128 2001:db8:0:1::/128"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"},
	} {
		t.Run(tc.start+".."+tc.end, func(t *testing.T) {
			got := rangePrefixes(netip.MustParseAddr(tc.start), netip.MustParseAddr(tc.end))
			assert.Equal(t, tc.want, prefixStrings(got))
		})
	}
}

// Every address of a random-ish range is covered exactly once, and nothing
// outside it.
func TestRangePrefixesExhaustive(t *testing.T) {
	base := netip.MustParseAddr("10.0.0.0")
	addr := func(i int) netip.Addr {
		a := base.As4()
		a[2], a[3] = byte(i>>8), byte(i)
		return netip.AddrFrom4(a)
	}
	for _, r := range [][2]int{{0, 0}, {1, 2}, {3, 300}, {255, 257}, {17, 1023}, {0, 511}} {
		ps := rangePrefixes(addr(r[0]), addr(r[1]))
		for i := 0; i < 1100; i++ {
			n := 0
			for _, p := range ps {
				if p.Contains(addr(i)) {
					n++
				}
			}
			want := 0
			if i >= r[0] && i <= r[1] {
				want = 1
			}
			require.Equal(t, want, n, "range %v, address %s covered %d times by %v", r, addr(i), n, ps)
		}
	}
}

func TestPortBlocks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi uint16
		want   string
	}{
		{0, 65535, "0/0x0000"},
		{500, 500, "500/0xffff"},
		{1024, 2047, "1024/0xfc00"},
		{1, 4, "1/0xffff 2/0xfffe 4/0xffff"},
		{65534, 65535, "65534/0xfffe"},
		{0, 1023, "0/0xfc00"},
	} {
		var got []string
		for _, b := range portBlocks(tc.lo, tc.hi) {
			got = append(got, fmt.Sprintf("%d/0x%04x", b.Port, b.Mask))
		}
		assert.Equal(t, tc.want, strings.Join(got, " "), "%d-%d", tc.lo, tc.hi)
	}
}

func TestSelectorsCrossProduct(t *testing.T) {
	local := []wire.Selector{ts4("10.99.1.0", "10.99.1.255", 0, 0, 0xffff), ts6("2001:db8:1::", "2001:db8:1:0:ffff:ffff:ffff:ffff")}
	remote := []wire.Selector{ts4("10.99.200.7", "10.99.200.7", 0, 0, 0xffff), ts6("2001:db8:ff::7", "2001:db8:ff::7")}
	sels, err := selectors(local, remote)
	require.NoError(t, err)
	var got []string
	for _, s := range sels {
		got = append(got, s.String())
	}
	// One selector per family: RFC 4301 pairs never mix families.
	assert.Equal(t, []string{
		"src 10.99.1.0/24 dst 10.99.200.7/32",
		"src 2001:db8:1::/64 dst 2001:db8:ff::7/128",
	}, got)
}

func TestSelectorsProtocolsAndPorts(t *testing.T) {
	// The local side any protocol, the remote UDP port 53: the kernel
	// selector is UDP with a destination port.
	sels, err := selectors([]wire.Selector{ts4("0.0.0.0", "255.255.255.255", 0, 0, 0xffff)},
		[]wire.Selector{ts4("10.0.0.53", "10.0.0.53", 17, 53, 53)})
	require.NoError(t, err)
	require.Len(t, sels, 1)
	assert.Equal(t, "src 0.0.0.0/0 dst 10.0.0.53/32 proto 17 dport 53", sels[0].String())
	assert.Equal(t, "src 10.0.0.53/32 dst 0.0.0.0/0 proto 17 sport 53", sels[0].reverse().String())

	// TCP against UDP matches no packet: no selector, an error.
	_, err = selectors([]wire.Selector{ts4("10.0.0.1", "10.0.0.1", 6, 0, 0xffff)}, []wire.Selector{ts4("10.0.0.2", "10.0.0.2", 17, 0, 0xffff)})
	assert.ErrorContains(t, err, "no address family or protocol in common")

	// A port range becomes port/mask blocks.
	sels, err = selectors([]wire.Selector{ts4("10.0.0.1", "10.0.0.1", 6, 1024, 2047)}, []wire.Selector{ts4("10.0.0.2", "10.0.0.2", 6, 0, 0xffff)})
	require.NoError(t, err)
	require.Len(t, sels, 1)
	assert.Equal(t, "src 10.0.0.1/32 dst 10.0.0.2/32 proto 6 sport 1024/0xfc00", sels[0].String())
}

func TestSelectorsRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local wire.Selector
		want  string
	}{
		{"ICMPTypeCode", ts4("10.0.0.1", "10.0.0.1", 1, 0x0800, 0x0800), "ICMP type/code"},
		{"PortsWithoutProtocol", ts4("10.0.0.1", "10.0.0.1", 0, 80, 80), "without a protocol"},
		{"InvertedRange", ts4("10.0.0.9", "10.0.0.1", 0, 0, 0xffff), "not a valid address range"},
		{"FCType", wire.Selector{TSType: 9}, "cannot be installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := selectors([]wire.Selector{tc.local}, []wire.Selector{ts4("10.0.0.2", "10.0.0.2", 0, 0, 0xffff)})
			assert.ErrorContains(t, err, tc.want)
		})
	}
	// A pathological range would need thousands of policies.
	_, err := selectors([]wire.Selector{ts4("1.0.0.1", "254.255.255.254", 6, 1, 65534)}, []wire.Selector{ts4("10.0.0.2", "10.0.0.2", 0, 0, 0xffff)})
	assert.ErrorContains(t, err, "kernel policies")
}

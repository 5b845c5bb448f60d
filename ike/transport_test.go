package ike

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLocalAddrFromPKTINFO reads the destination address of a datagram as
// the responder does, from the kernel's IP_PKTINFO: a socket bound to the
// wildcard address learns which of its addresses the peer sent to, and
// answers from that one.
func TestLocalAddrFromPKTINFO(t *testing.T) {
	for _, tc := range []struct {
		name       string
		bind, dest netip.Addr
	}{
		{"IPv4", netip.IPv4Unspecified(), netip.MustParseAddr("127.0.0.2")},
		{"IPv6", netip.IPv6Unspecified(), netip.IPv6Loopback()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := listenOne(tc.bind, 0, false)
			if err != nil {
				t.Skipf("no %s socket on this machine: %v", tc.name, err)
			}
			defer c.Close()
			port := c.LocalAddr().(*net.UDPAddr).AddrPort().Port()
			uc := &udpConn{c: c, addr: tc.bind, port: port}

			to := netip.AddrPortFrom(tc.dest, port)
			s, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Write([]byte("x"))
			require.NoError(t, err)

			buf, oob := make([]byte, 16), make([]byte, 128)
			_, oobn, _, _, err := c.ReadMsgUDPAddrPort(buf, oob)
			require.NoError(t, err)
			assert.Equal(t, to, localAddr(oob[:oobn], uc))
			assert.Zero(t, testing.AllocsPerRun(100, func() { localAddr(oob[:oobn], uc) }), "allocations per datagram")

			// Without control messages: the socket's own address.
			assert.Equal(t, c.LocalAddr().(*net.UDPAddr).AddrPort(), localAddr(nil, uc))
			assert.Equal(t, c.LocalAddr().(*net.UDPAddr).AddrPort(), localAddr([]byte{1, 2, 3}, uc), "truncated control data")
		})
	}
}

package ike

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// UDPClient is an initiator's Conn over real UDP: port 500 first, then
// 4500 with the non-ESP marker once a NAT is detected (RFC 7296, Section
// 2.23). NAT-T keepalives and ESP arriving on 4500 are skipped.
type UDPClient struct {
	local, remote netip.AddrPort
	natt          bool
	c             *net.UDPConn
	nattPort      uint16
}

// DialUDP opens the client socket. local may be unspecified; localPort 0
// picks an ephemeral port (a real client uses 500, which a responder on
// the same host would hold). The 4500 socket uses localNATTPort (0:
// ephemeral).
func DialUDP(local netip.Addr, localPort, localNATTPort uint16, remote netip.AddrPort) (*UDPClient, error) {
	c, err := dialOne(local, localPort, remote)
	if err != nil {
		return nil, err
	}
	u := &UDPClient{c: c, remote: remote, nattPort: localNATTPort}
	u.local = u.localAddr(c)
	return u, nil
}

func dialOne(local netip.Addr, port uint16, remote netip.AddrPort) (*net.UDPConn, error) {
	network := "udp4"
	if remote.Addr().Unmap().Is6() {
		network = "udp6"
	}
	var la *net.UDPAddr
	if local.IsValid() || port != 0 {
		la = net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, port))
	}
	c, err := net.DialUDP(network, la, net.UDPAddrFromAddrPort(remote))
	if err != nil {
		return nil, fmt.Errorf("ike: dialing %s: %w", remote, err)
	}
	return c, nil
}

func (u *UDPClient) localAddr(c *net.UDPConn) netip.AddrPort {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Send transmits one IKE message.
func (u *UDPClient) Send(msg []byte) error {
	if u.natt {
		msg = append(wire.NonESPMarker[:], msg...)
	}
	_, err := u.c.Write(msg)
	return err
}

// Receive returns the next IKE message.
func (u *UDPClient) Receive(ctx context.Context) ([]byte, error) {
	buf := make([]byte, maxDatagram)
	for {
		dl, ok := ctx.Deadline()
		if !ok {
			dl = time.Now().Add(time.Hour)
		}
		u.c.SetReadDeadline(dl)
		n, err := u.c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, context.DeadlineExceeded
			}
			return nil, err
		}
		data := buf[:n]
		if u.natt {
			ike, keepalive, esp := wire.SplitUDP4500(data)
			if keepalive || esp {
				continue
			}
			data = ike
		}
		return append([]byte(nil), data...), nil
	}
}

// Float moves to the responder's port 4500.
func (u *UDPClient) Float() error {
	if u.natt {
		return nil
	}
	remote := netip.AddrPortFrom(u.remote.Addr(), 4500)
	c, err := dialOne(u.local.Addr(), u.nattPort, remote)
	if err != nil {
		return err
	}
	u.c.Close()
	u.c, u.remote, u.natt = c, remote, true
	u.local = u.localAddr(c)
	return nil
}

// Addrs returns the local and remote address and port.
func (u *UDPClient) Addrs() (netip.AddrPort, netip.AddrPort) { return u.local, u.remote }

// Close closes the socket.
func (u *UDPClient) Close() error { return u.c.Close() }

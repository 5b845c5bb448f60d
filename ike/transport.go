package ike

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/ike/wire"
)

// UDP_ENCAP socket option values (linux/udp.h): make the kernel treat
// non-IKE datagrams on the NAT-T socket as ESP (RFC 3948), so that kernel
// SAs with ESP-in-UDP encapsulation receive.
const (
	udpEncap         = 100
	udpEncapESPinUDP = 2
	maxDatagram      = 65535
	defaultIKEPort   = 500
	defaultNATTPort  = 4500
	// serveQueue bounds the datagrams read but not yet handled: enough
	// for the bursts of hundreds of handshakes in flight, small enough
	// that a flood of maximal datagrams holds at most 32 MiB.
	serveQueue = 512
	// minServeWorkers run the engine even on one core, so that a
	// certificate check waiting for a CRL fetch (Config.TrustTimeout)
	// does not hold up every other peer.
	minServeWorkers = 4
)

// UDP is the real transport: one socket for port 500 and one for 4500 per
// address family, bound to a listen address. Packets are delivered with
// their true local address (IP_PKTINFO), which NAT detection hashes.
type UDP struct {
	conns   []*udpConn
	wg      sync.WaitGroup // readers
	workers sync.WaitGroup
	dropped atomic.Uint64
}

type udpConn struct {
	c    *net.UDPConn
	addr netip.Addr
	natt bool
	port uint16
}

// ListenUDP opens the IKE sockets on each address (an unspecified address
// listens on all of its family) with the given ports (0: 500 and 4500).
func ListenUDP(addrs []netip.Addr, port, nattPort uint16) (*UDP, error) {
	if port == 0 {
		port = defaultIKEPort
	}
	if nattPort == 0 {
		nattPort = defaultNATTPort
	}
	u := &UDP{}
	for _, addr := range addrs {
		for _, p := range []struct {
			port uint16
			natt bool
		}{{port, false}, {nattPort, true}} {
			c, err := listenOne(addr, p.port, p.natt)
			if err != nil {
				u.Close()
				return nil, err
			}
			u.conns = append(u.conns, &udpConn{c: c, addr: addr.Unmap(), natt: p.natt, port: p.port})
		}
	}
	return u, nil
}

func listenOne(addr netip.Addr, port uint16, natt bool) (*net.UDPConn, error) {
	network := "udp4"
	if addr.Is6() && !addr.Is4In6() {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if network == "udp4" {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
			} else {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
			}
			if serr == nil && natt {
				// Best effort: without it kernel NAT-T SAs do not receive,
				// but IKE itself works (see ../shared/LAB.md).
				unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, udpEncap, udpEncapESPinUDP)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(nil, network, netip.AddrPortFrom(addr, port).String())
	if err != nil {
		return nil, fmt.Errorf("ike: listening on %s port %d: %w", addr, port, err)
	}
	return pc.(*net.UDPConn), nil
}

// Serve reads datagrams and hands them to e until Close.
//
// Each socket has a reader that only reads and queues; a few workers run
// the engine. The reader must not run the engine itself: while it spent
// milliseconds on one handshake's RSA signature the socket's receive
// buffer filled up under load, the kernel dropped datagrams and peers
// waited out their retransmission timers (p99 latency of 2.5 s with 64
// handshakes in flight). Reading stays cheap, so the queue absorbs bursts
// and the workers use every core the engine may run on. A full queue
// drops the datagram, as a full socket buffer would, but counts it.
func (u *UDP) Serve(e *Engine) {
	work := make(chan Packet, serveQueue)
	workers := max(minServeWorkers, 2*runtime.GOMAXPROCS(0))
	for range workers {
		u.workers.Add(1)
		go func() {
			defer u.workers.Done()
			for p := range work {
				e.Handle(p)
			}
		}()
	}
	for _, c := range u.conns {
		u.wg.Add(1)
		go func(c *udpConn) {
			defer u.wg.Done()
			buf := make([]byte, maxDatagram)
			oob := make([]byte, 128)
			for {
				n, oobn, _, from, err := c.c.ReadMsgUDPAddrPort(buf, oob)
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue
				}
				local := localAddr(oob[:oobn], c)
				data := buf[:n]
				if c.natt {
					ike, keepalive, esp := wire.SplitUDP4500(data)
					if keepalive || esp {
						continue // keepalives need no answer; ESP is the kernel's
					}
					data = ike
				}
				// A copy: the engine keeps messages (IKE_SA_INIT is
				// signed later) and buf is reused for the next read.
				p := Packet{Local: local, Remote: from, NATT: c.natt, Data: append([]byte(nil), data...)}
				select {
				case work <- p:
				default:
					u.dropped.Add(1)
					e.dropLog.log(e, fmt.Sprintf("receive queue full (%d datagrams): dropped a datagram from %s; %d dropped so far",
						serveQueue, fmtAddr(from), u.dropped.Load()))
				}
			}
		}(c)
	}
	go func() {
		// Close closes the sockets, which ends the readers; the workers
		// then finish what was queued.
		u.wg.Wait()
		close(work)
	}()
}

// Dropped returns how many datagrams Serve dropped because its queue was
// full.
func (u *UDP) Dropped() uint64 { return u.dropped.Load() }

// localAddr extracts the destination address from IP_PKTINFO. It runs for
// every datagram, so it parses the control messages in place rather than
// with unix.ParseSocketControlMessage, which allocates.
func localAddr(oob []byte, c *udpConn) netip.AddrPort {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		oob = rest
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			var a [4]byte
			copy(a[:], data[8:12]) // struct in_pktinfo: ifindex, spec_dst, addr
			return netip.AddrPortFrom(netip.AddrFrom4(a), c.port)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			var a [16]byte
			copy(a[:], data[:16])
			return netip.AddrPortFrom(netip.AddrFrom16(a), c.port)
		}
	}
	return c.c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Send transmits p from the socket of its local port, with the source
// address pinned to p.Local (IP_PKTINFO) so replies leave from the address
// the peer talked to.
func (u *UDP) Send(p Packet) error {
	local := p.Local.Addr().Unmap()
	var pick *udpConn
	for _, c := range u.conns {
		if c.natt != p.NATT || c.addr.Is4() != p.Remote.Addr().Unmap().Is4() {
			continue
		}
		if c.addr == local {
			pick = c
			break
		}
		if c.addr.IsUnspecified() && pick == nil {
			pick = c
		}
	}
	if c := pick; c != nil {
		data := p.Data
		if p.NATT {
			data = append(wire.NonESPMarker[:], p.Data...)
		}
		var oob []byte
		if l := p.Local.Addr(); l.IsValid() && !l.IsUnspecified() {
			if l.Unmap().Is4() {
				var pi unix.Inet4Pktinfo
				pi.Spec_dst = l.Unmap().As4()
				oob = unix.PktInfo4(&pi)
			} else {
				var pi unix.Inet6Pktinfo
				pi.Addr = l.As16()
				oob = unix.PktInfo6(&pi)
			}
		}
		_, _, err := c.c.WriteMsgUDPAddrPort(data, oob, p.Remote)
		return err
	}
	return fmt.Errorf("ike: no socket for %v", p.Local)
}

// Close closes the sockets and waits for the readers, and for the
// workers to handle what was queued.
func (u *UDP) Close() error {
	for _, c := range u.conns {
		c.c.Close()
	}
	u.wg.Wait()
	u.workers.Wait()
	return nil
}

package flood

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/interop/lab"
)

// Replies counts what came back to the spoofed sources, by kind.
type Replies struct {
	// Cookies are IKE_SA_INIT responses carrying only N(COOKIE): the
	// responder kept no state (RFC 7296, Section 2.6).
	Cookies int
	// Accepted are IKE_SA_INIT responses with a responder SPI: a half-open
	// IKE SA was created.
	Accepted int
	// Errors are other error notifications (NO_PROPOSAL_CHOSEN, ...).
	Errors int
	// Other counts IPv4 datagrams that are no IKE_SA_INIT response.
	Other int
	// First and Last are when the first and last COOKIE arrived.
	First, Last time.Time
}

// Sink counts the responder's replies as they arrive on an interface of the
// flooding namespace, before the kernel drops them for want of an owner.
type Sink struct {
	fd   int
	stop atomic.Bool
	done chan struct{}

	mu      sync.Mutex
	replies Replies
}

// sinkPoll is how often the receive loop looks at the stop flag.
const sinkPoll = 100 * time.Millisecond

// Listen starts counting IPv4 datagrams that arrive on iface inside ns.
//
// It is a packet socket (packet(7), SOCK_DGRAM, ETH_P_IP), so it sees
// datagrams addressed to nobody in the namespace as well.
func Listen(ns *lab.Netns, iface string) (*Sink, error) {
	s := &Sink{fd: -1, done: make(chan struct{})}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		proto := htons(unix.ETH_P_IP)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(proto))
		if err != nil {
			return err
		}
		s.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
			return err
		}
		// A flood arrives faster than a test binary under the race
		// detector reads; a big buffer keeps the counts honest.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		tv := unix.NsecToTimeval(sinkPoll.Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		return nil, fmt.Errorf("flood: packet socket on %s in %s: %w", iface, ns.Name, err)
	}
	go s.loop()
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *Sink) loop() {
	defer close(s.done)
	buf := make([]byte, 65536)
	for !s.stop.Load() {
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // our own flood leaving
		}
		s.count(buf[:n])
	}
}

// count classifies one IPv4 datagram.
func (s *Sink) count(pkt []byte) {
	kind := classify(pkt)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case replyCookie:
		s.replies.Cookies++
		if s.replies.First.IsZero() {
			s.replies.First = now
		}
		s.replies.Last = now
	case replyAccepted:
		s.replies.Accepted++
	case replyError:
		s.replies.Errors++
	default:
		s.replies.Other++
	}
}

type replyKind int

const (
	replyOther replyKind = iota
	replyCookie
	replyAccepted
	replyError
)

// classify decodes IPv4, UDP from port 500 or 4500 (after the non-ESP
// marker, RFC 3948) and an IKE_SA_INIT response.
func classify(pkt []byte) replyKind {
	if len(pkt) < ipv4HeaderLen || pkt[0]>>4 != 4 || pkt[9] != unix.IPPROTO_UDP {
		return replyOther
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < ipv4HeaderLen || len(pkt) < ihl+udpHeaderLen {
		return replyOther
	}
	udp := pkt[ihl:]
	sport := binary.BigEndian.Uint16(udp[0:])
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < udpHeaderLen || ulen > len(udp) {
		return replyOther
	}
	data := udp[udpHeaderLen:ulen]
	switch sport {
	case 500:
	case 4500:
		ikeMsg, keepalive, esp := wire.SplitUDP4500(data)
		if keepalive || esp {
			return replyOther
		}
		data = ikeMsg
	default:
		return replyOther
	}
	m, err := wire.ParseMessage(data)
	if err != nil || m.Exchange != wire.IKE_SA_INIT || !m.IsResponse() || len(m.Payloads) == 0 {
		return replyOther
	}
	if !m.SPIr.IsZero() {
		return replyAccepted
	}
	if n, ok := m.Payloads[0].(*wire.Notify); ok {
		if n.NotifyType == wire.COOKIE {
			return replyCookie
		}
		if n.NotifyType.IsError() {
			return replyError
		}
	}
	return replyOther
}

// Replies returns the counts so far.
func (s *Sink) Replies() Replies {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replies
}

// Close stops counting and returns the final counts.
func (s *Sink) Close() Replies {
	if s.stop.CompareAndSwap(false, true) {
		<-s.done
		unix.Close(s.fd)
	}
	return s.Replies()
}

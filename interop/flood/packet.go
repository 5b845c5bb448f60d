package flood

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
)

const (
	ipv4HeaderLen = 20
	udpHeaderLen  = 8
	ikeHeaderLen  = 28
)

// builder lays out IPv4 + UDP + IKE datagrams from one request template,
// changing only the source, the SPIi and the checksums between packets.
type builder struct {
	buf []byte
	dst netip.AddrPort
}

func newBuilder(request []byte, dst netip.AddrPort) *builder {
	buf := make([]byte, ipv4HeaderLen+udpHeaderLen+len(request))
	copy(buf[ipv4HeaderLen+udpHeaderLen:], request)
	return &builder{buf: buf, dst: dst}
}

// packet returns the datagram from src with SPIi spi. The slice is reused
// by the next call.
func (b *builder) packet(src netip.AddrPort, spi uint64) []byte {
	ike := b.buf[ipv4HeaderLen+udpHeaderLen:]
	// RFC 7296, Section 3.1: the SPIi is the first eight octets; a zero
	// SPIi is invalid, so never send one.
	binary.BigEndian.PutUint64(ike[:8], spi|1)
	putIPv4UDP(b.buf, src, b.dst)
	return b.buf
}

// IPv4UDP returns an IPv4 datagram carrying payload in UDP from src to dst,
// both checksums filled in (RFC 791, RFC 768).
func IPv4UDP(src, dst netip.AddrPort, payload []byte) []byte {
	buf := make([]byte, ipv4HeaderLen+udpHeaderLen+len(payload))
	copy(buf[ipv4HeaderLen+udpHeaderLen:], payload)
	putIPv4UDP(buf, src, dst)
	return buf
}

// putIPv4UDP writes the IPv4 and UDP headers in front of the payload that
// buf already holds after them.
func putIPv4UDP(buf []byte, src, dst netip.AddrPort) {
	ip, udp := buf[:ipv4HeaderLen], buf[ipv4HeaderLen:]
	s, d := src.Addr().As4(), dst.Addr().As4()
	ip[0] = 0x45 // version 4, 5 words of header
	ip[1] = 0
	binary.BigEndian.PutUint16(ip[2:], uint16(len(buf)))
	binary.BigEndian.PutUint16(ip[4:], 0)      // ID: the kernel fills in a zero one
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF, no fragments
	ip[8] = 64
	ip[9] = unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[10:], 0)
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], ^checksum(0, ip))

	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	binary.BigEndian.PutUint16(udp[6:], 0)
	// The UDP checksum covers a pseudo-header of addresses, protocol and
	// length (RFC 768); a result of zero is sent as all ones.
	var pseudo [12]byte
	copy(pseudo[0:4], s[:])
	copy(pseudo[4:8], d[:])
	pseudo[9] = unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(udp)))
	sum := ^checksum(checksum(0, pseudo[:]), udp)
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], sum)
}

// checksum adds b to the running one's complement sum (RFC 1071) and
// returns the folded, not yet inverted, result.
func checksum(initial uint16, b []byte) uint16 {
	sum := uint32(initial)
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// InitRequest returns an IKE_SA_INIT request exactly as ikelab's initiator
// sends it from local to remote: the proposals (strongSwan syntax, e.g.
// "aes128gcm16-prfsha256-ecp256"), a real key share for the first group, a
// nonce and NAT detection payloads (RFC 7296, Section 1.2). Before the
// cookie threshold every copy costs the responder a key exchange.
func InitRequest(proposals string, local, remote netip.AddrPort) ([]byte, error) {
	ps, err := policy.ParseProposals(wire.ProtoIKE, proposals)
	if err != nil {
		return nil, fmt.Errorf("flood: %w", err)
	}
	cfg := ike.InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("flood.lab")}, PSK: []byte("unused")}
	for i, p := range ps {
		cfg.IKE = append(cfg.IKE, p.Wire(uint8(i+1), nil))
	}
	conn := &captureConn{local: local, remote: remote, sent: make(chan []byte, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := ike.Connect(ctx, cfg, conn)
		done <- err
	}()
	select {
	case req := <-conn.sent:
		cancel()
		<-done
		return req, nil
	case err := <-done:
		if err == nil {
			err = errors.New("initiator sent nothing")
		}
		return nil, fmt.Errorf("flood: building IKE_SA_INIT: %w", err)
	}
}

// captureConn is an ike.Conn that keeps the first message sent and never
// answers.
type captureConn struct {
	local, remote netip.AddrPort
	once          sync.Once
	sent          chan []byte
}

func (c *captureConn) Send(msg []byte) error {
	c.once.Do(func() { c.sent <- append([]byte(nil), msg...) })
	return nil
}

func (c *captureConn) Receive(ctx context.Context) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (c *captureConn) Float() error                            { return nil }
func (c *captureConn) Addrs() (netip.AddrPort, netip.AddrPort) { return c.local, c.remote }

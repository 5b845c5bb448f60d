// Package capture reads IKE datagrams out of pcap and pcapng files, for the
// decode command, the corpus tests and the fuzz seeds.
//
// It finds UDP on ports 500 and 4500 (either side), reassembles fragmented
// IPv4 and IPv6 datagrams (Windows sends its certificate IKE_AUTH as IP
// fragments when IKE fragmentation is off), and strips the non-ESP marker
// on port 4500 (RFC 3948, Section 2.2). ESP and NAT-T keepalives on 4500
// are skipped.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// IKE ports (RFC 7296, Section 2; RFC 3948).
const (
	PortIKE  = 500
	PortNATT = 4500
)

// Datagram is one IKE message found in a capture.
type Datagram struct {
	Frame    int // 1-based frame number, as Wireshark counts
	Time     time.Time
	Src, Dst netip.AddrPort
	// NATT is true for UDP 4500, where Data followed the non-ESP marker.
	NATT bool
	Data []byte
}

// packetSource yields packets from pcap or pcapng.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// ReadFile returns the IKE datagrams of a pcap, pcapng or gzip-compressed
// capture file.
func ReadFile(path string) ([]Datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Read is ReadFile for an open stream.
func Read(r io.Reader) ([]Datagram, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var (
		src  packetSource
		link layers.LinkType
	)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("capture: reading file magic: %w", err)
	}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("capture: pcapng: %w", err)
		}
		src, link = ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("capture: pcap: %w", err)
		}
		src, link = pr, pr.LinkType()
	}
	d := &decoder{v4: ip4defrag.NewIPv4Defragmenter(), v6: ip6defrag.NewIPv6Defragmenter()}
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A truncated last record still leaves the earlier packets.
			if len(d.out) > 0 || frame > 1 {
				break
			}
			return nil, fmt.Errorf("capture: frame %d: %w", frame, err)
		}
		pkt := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
		d.packet(frame, ci.Timestamp, pkt)
	}
	return d.out, nil
}

type decoder struct {
	v4  *ip4defrag.IPv4Defragmenter
	v6  *ip6defrag.IPv6Defragmenter
	out []Datagram
}

func (d *decoder) packet(frame int, ts time.Time, pkt gopacket.Packet) {
	var (
		src, dst netip.Addr
		payload  []byte
	)
	switch {
	case pkt.Layer(layers.LayerTypeIPv4) != nil:
		ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			whole, err := d.v4.DefragIPv4WithTimestamp(ip, ts)
			if err != nil || whole == nil {
				return
			}
			ip = whole
		}
		if ip.Protocol != layers.IPProtocolUDP {
			return
		}
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		payload = ip.Payload
	case pkt.Layer(layers.LayerTypeIPv6) != nil:
		ip := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if fl := pkt.Layer(layers.LayerTypeIPv6Fragment); fl != nil {
			whole := d.v6.DefragIPv6(ip, fl.(*layers.IPv6Fragment))
			if whole == nil {
				return
			}
			ip = whole
		}
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		if ip.NextHeader != layers.IPProtocolUDP {
			return
		}
		payload = ip.Payload
	default:
		return
	}
	var udp layers.UDP
	if err := udp.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
		return
	}
	sp, dp := uint16(udp.SrcPort), uint16(udp.DstPort)
	data := udp.Payload
	dg := Datagram{Frame: frame, Time: ts, Src: netip.AddrPortFrom(src, sp), Dst: netip.AddrPortFrom(dst, dp)}
	switch {
	case sp == PortNATT || dp == PortNATT:
		// RFC 3948: keepalives are one 0xff octet, ESP starts with a
		// non-zero SPI, IKE with four zero octets.
		if len(data) < 4 || data[0] != 0 || data[1] != 0 || data[2] != 0 || data[3] != 0 {
			return
		}
		dg.NATT, dg.Data = true, data[4:]
	case sp == PortIKE || dp == PortIKE:
		dg.Data = data
	default:
		return
	}
	if len(dg.Data) == 0 {
		return
	}
	dg.Data = bytes.Clone(dg.Data)
	d.out = append(d.out, dg)
}

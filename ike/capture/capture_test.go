package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packets are built octet by octet here, so that each test says exactly
// what is on the wire.

var (
	macs = []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}
	v4a  = netip.MustParseAddr("192.0.2.1")
	v4b  = netip.MustParseAddr("198.51.100.7")
	v6a  = netip.MustParseAddr("2001:db8::1")
	v6b  = netip.MustParseAddr("2001:db8::2")
)

func ether(ethType uint16, payload []byte) []byte {
	b := append(bytes.Clone(macs), byte(ethType>>8), byte(ethType))
	return append(b, payload...)
}

func udp(sp, dp uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

// ipv4 builds an IPv4 header; fragOff is in octets and must be a multiple
// of 8.
func ipv4(src, dst netip.Addr, proto uint8, id uint16, more bool, fragOff int, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(b[4:], id)
	ff := uint16(fragOff / 8)
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	b[8], b[9] = 64, proto
	copy(b[12:], src.AsSlice())
	copy(b[16:], dst.AsSlice())
	return append(b, payload...)
}

func ipv6(src, dst netip.Addr, next uint8, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6], b[7] = next, 64
	copy(b[8:], src.AsSlice())
	copy(b[24:], dst.AsSlice())
	return append(b, payload...)
}

func ipv6Frag(next uint8, id uint32, more bool, fragOff int, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0] = next
	off := uint16(fragOff/8) << 3
	if more {
		off |= 1
	}
	binary.BigEndian.PutUint16(b[2:], off)
	binary.BigEndian.PutUint32(b[4:], id)
	return append(b, payload...)
}

// ikeMsg returns a fake IKEv2 message of n octets: an IKE_SA_INIT header
// with a consistent length, then filler.
func ikeMsg(n int, fill byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = fill + byte(i)
	}
	copy(b, []byte{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 33, 0x20, 34, 8, 0, 0, 0, 0})
	binary.BigEndian.PutUint32(b[24:], uint32(n))
	return b
}

type testPacket struct {
	data []byte
	want *Datagram // nil: the reader must skip this frame
}

// testPackets returns a capture's worth of frames covering every case the
// reader handles, with the datagrams it must return.
func testPackets() []testPacket {
	marker := []byte{0, 0, 0, 0}
	m500, m4500, big, m6, m6big := ikeMsg(300, 1), ikeMsg(200, 2), ikeMsg(3000, 3), ikeMsg(120, 4), ikeMsg(2000, 5)
	bigUDP := udp(4500, 4500, append(bytes.Clone(marker), big...))
	m6bigUDP := udp(500, 500, m6big)
	ap := netip.AddrPortFrom
	return []testPacket{
		{ether(0x0800, ipv4(v4a, v4b, 17, 1, false, 0, udp(500, 500, m500))),
			&Datagram{Src: ap(v4a, 500), Dst: ap(v4b, 500), Data: m500}},
		// RFC 3948, Section 2.2: IKE on 4500 after the non-ESP marker.
		{ether(0x0800, ipv4(v4b, v4a, 17, 2, false, 0, udp(4500, 61000, append(bytes.Clone(marker), m4500...)))),
			&Datagram{Src: ap(v4b, 4500), Dst: ap(v4a, 61000), NATT: true, Data: m4500}},
		// A NAT-T keepalive and ESP on 4500 are not IKE.
		{ether(0x0800, ipv4(v4a, v4b, 17, 3, false, 0, udp(4500, 4500, []byte{0xff}))), nil},
		{ether(0x0800, ipv4(v4a, v4b, 17, 4, false, 0, udp(4500, 4500, append([]byte{0, 0, 1, 0}, make([]byte, 40)...)))), nil},
		// The marker alone carries nothing.
		{ether(0x0800, ipv4(v4a, v4b, 17, 5, false, 0, udp(4500, 4500, marker))), nil},
		// Other ports, other protocols, other link types are skipped.
		{ether(0x0800, ipv4(v4a, v4b, 17, 6, false, 0, udp(53, 5353, m500))), nil},
		{ether(0x0800, ipv4(v4a, v4b, 6, 7, false, 0, append([]byte{1, 244, 1, 244}, make([]byte, 16)...))), nil},
		{ether(0x0806, make([]byte, 28)), nil},
		{ether(0x0800, ipv4(v4a, v4b, 17, 8, false, 0, udp(500, 500, nil))), nil},
		// A 3000-octet IKE message on 4500 in three IPv4 fragments (the
		// Windows certificate IKE_AUTH): returned once, at the last one.
		{ether(0x0800, ipv4(v4a, v4b, 17, 9, true, 0, bigUDP[:1200])), nil},
		{ether(0x0800, ipv4(v4a, v4b, 17, 9, true, 1200, bigUDP[1200:2400])), nil},
		{ether(0x0800, ipv4(v4a, v4b, 17, 9, false, 2400, bigUDP[2400:])),
			&Datagram{Src: ap(v4a, 4500), Dst: ap(v4b, 4500), NATT: true, Data: big}},
		// IPv6, whole and in two fragments.
		{ether(0x86dd, ipv6(v6a, v6b, 17, udp(500, 500, m6))),
			&Datagram{Src: ap(v6a, 500), Dst: ap(v6b, 500), Data: m6}},
		{ether(0x86dd, ipv6(v6b, v6a, 44, ipv6Frag(17, 77, true, 0, m6bigUDP[:1232]))), nil},
		{ether(0x86dd, ipv6(v6b, v6a, 44, ipv6Frag(17, 77, false, 1232, m6bigUDP[1232:]))),
			&Datagram{Src: ap(v6b, 500), Dst: ap(v6a, 500), Data: m6big}},
		// Short data on 500 is still returned: the decoder reports it.
		{ether(0x0800, ipv4(v4a, v4b, 17, 10, false, 0, udp(500, 500, []byte{1, 2, 3}))),
			&Datagram{Src: ap(v4a, 500), Dst: ap(v4b, 500), Data: []byte{1, 2, 3}}},
	}
}

var t0 = time.Date(2015, 1, 20, 10, 0, 0, 0, time.UTC)

func writePcap(t testing.TB, pkts []testPacket) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(p.data), Length: len(p.data)}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func writePcapng(t testing.TB, pkts []testPacket) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(p.data), Length: len(p.data)}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkDatagrams(t *testing.T, got []Datagram, pkts []testPacket) {
	t.Helper()
	var want []Datagram
	for i, p := range pkts {
		if p.want != nil {
			d := *p.want
			d.Frame = i + 1
			d.Time = t0.Add(time.Duration(i) * time.Second)
			want = append(want, d)
		}
	}
	if len(got) != len(want) {
		for _, d := range got {
			t.Logf("got frame %d %s -> %s %d octets", d.Frame, d.Src, d.Dst, len(d.Data))
		}
		t.Fatalf("%d datagrams, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Frame != w.Frame || g.Src != w.Src || g.Dst != w.Dst || g.NATT != w.NATT || !g.Time.Equal(w.Time) {
			t.Errorf("datagram %d: frame %d %s -> %s NAT-T %v at %v; want frame %d %s -> %s NAT-T %v at %v",
				i, g.Frame, g.Src, g.Dst, g.NATT, g.Time, w.Frame, w.Src, w.Dst, w.NATT, w.Time)
		}
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("datagram %d (frame %d): %d octets, want %d", i, g.Frame, len(g.Data), len(w.Data))
		}
	}
}

func TestReadFormats(t *testing.T) {
	pkts := testPackets()
	pcap := writePcap(t, pkts)
	for name, data := range map[string][]byte{
		"pcap":      pcap,
		"pcapng":    writePcapng(t, pkts),
		"pcap.gz":   gz(t, pcap),
		"pcapng.gz": gz(t, writePcapng(t, pkts)),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			checkDatagrams(t, got, pkts)
		})
	}
}

func TestReadDataIsCopied(t *testing.T) {
	pkts := testPackets()[:1]
	data := writePcap(t, pkts)
	got, err := Read(bytes.NewReader(data))
	if err != nil || len(got) != 1 {
		t.Fatalf("%d datagrams, %v", len(got), err)
	}
	for i := range data {
		data[i] = 0
	}
	if !bytes.Equal(got[0].Data, pkts[0].want.Data) {
		t.Fatalf("datagram aliases the input")
	}
}

func TestReadErrors(t *testing.T) {
	pcap := writePcap(t, testPackets())
	for name, data := range map[string][]byte{
		"empty":           nil,
		"three_octets":    {0xa1, 0xb2, 0xc3},
		"not_a_capture":   []byte("this is not a capture file at all"),
		"bad_gzip":        {0x1f, 0x8b, 0, 0, 0, 0},
		"pcapng_garbage":  {0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0},
		"header_only_cut": pcap[:20],
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(data))
			if err == nil {
				t.Fatalf("accepted: %d datagrams", len(got))
			}
			if !strings.HasPrefix(err.Error(), "capture: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.pcap")); err == nil {
		t.Errorf("a missing file was read")
	}
}

// TestReadTruncatedLastRecord: a capture cut inside its last record still
// yields the packets before it, as tshark does.
func TestReadTruncatedLastRecord(t *testing.T) {
	pkts := testPackets()
	pcap := writePcap(t, pkts)
	got, err := Read(bytes.NewReader(pcap[:len(pcap)-10]))
	if err != nil {
		t.Fatal(err)
	}
	checkDatagrams(t, got, pkts[:len(pkts)-1])
	// Cut inside the first record: nothing to return but an error.
	first := 24 + 16 + len(pkts[0].data)
	if got, err := Read(bytes.NewReader(pcap[:first-5])); err == nil {
		t.Errorf("a file cut inside its only record: %d datagrams, no error", len(got))
	}
}

func TestReadFileAOSP(t *testing.T) {
	dgs, err := ReadFile(filepath.Join("testdata", "aosp-ike-messages.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	tsv, err := os.ReadFile(filepath.Join("testdata", "aosp-ike-messages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(tsv)), "\n")[1:] // after the column names
	if len(dgs) != len(rows) {
		t.Fatalf("%d datagrams, the .tsv lists %d", len(dgs), len(rows))
	}
	src, dst := netip.MustParseAddrPort("192.0.2.1:500"), netip.MustParseAddrPort("192.0.2.2:500")
	for i, d := range dgs {
		f := strings.Split(rows[i], "\t")
		if d.Frame != i+1 || f[0] != strconv.Itoa(d.Frame) || d.Src != src || d.Dst != dst || d.NATT {
			t.Errorf("frame %d: %s -> %s (tsv row %q)", d.Frame, d.Src, d.Dst, rows[i])
		}
		if f[3] != strconv.Itoa(len(d.Data)) || len(d.Data) < 28 || int(binary.BigEndian.Uint32(d.Data[24:])) != len(d.Data) {
			t.Errorf("frame %d: %d octets, the .tsv says %s", d.Frame, len(d.Data), f[3])
		}
	}
}

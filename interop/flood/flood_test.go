package flood

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/interop/lab"
)

var (
	testSrc = netip.MustParseAddrPort("198.18.3.4:500")
	testDst = netip.MustParseAddrPort("10.77.0.2:500")
)

func testRequest(t *testing.T) []byte {
	t.Helper()
	req, err := InitRequest("aes128gcm16-prfsha256-ecp256", testSrc, testDst)
	require.NoError(t, err)
	return req
}

// TestInitRequestIsARealIKESAInit: the template is what an initiator sends
// first (RFC 7296, Section 1.2): SA, KE, Ni and NAT detection, SPIr zero.
func TestInitRequestIsARealIKESAInit(t *testing.T) {
	m, err := wire.ParseMessage(testRequest(t))
	require.NoError(t, err)
	assert.Equal(t, wire.IKE_SA_INIT, m.Exchange)
	assert.False(t, m.IsResponse())
	assert.True(t, m.IsInitiator())
	assert.False(t, m.SPIi.IsZero())
	assert.True(t, m.SPIr.IsZero())
	assert.Zero(t, m.MessageID)
	var kinds []string
	for _, p := range m.Payloads {
		kinds = append(kinds, p.Summary())
	}
	assert.Equal(t, []string{"SA", "KE", "No", "N(NATD_S_IP)", "N(NATD_D_IP)"}, kinds)
	ke := m.Payloads[1].(*wire.KE)
	assert.Equal(t, wire.ECP_256, ke.Group)
	assert.Len(t, ke.Data, 64, "an ECP-256 public value (RFC 5903)")
}

// TestPacketMatchesGopacket: headers and checksums agree, octet for octet,
// with gopacket's independent serialiser.
func TestPacketMatchesGopacket(t *testing.T) {
	req := testRequest(t)
	b := newBuilder(req, testDst)
	for _, spi := range []uint64{0, 1, 0xdeadbeefcafe0000, ^uint64(0)} {
		got := append([]byte(nil), b.packet(testSrc, spi)...)

		payload := append([]byte(nil), req...)
		var want [8]byte
		copy(want[:], got[28:36])
		copy(payload, want[:])
		assert.NotEqual(t, [8]byte{}, want, "SPIi never zero")
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolUDP,
			SrcIP: testSrc.Addr().AsSlice(), DstIP: testDst.Addr().AsSlice()}
		udp := &layers.UDP{SrcPort: layers.UDPPort(testSrc.Port()), DstPort: layers.UDPPort(testDst.Port())}
		require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
		sb := gopacket.NewSerializeBuffer()
		require.NoError(t, gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			ip, udp, gopacket.Payload(payload)))
		assert.Equal(t, sb.Bytes(), got, "SPIi %x", spi)
	}
	// An odd payload length exercises the checksum's trailing octet.
	odd := IPv4UDP(testSrc, testDst, []byte{1, 2, 3})
	pkt := gopacket.NewPacket(odd, layers.LayerTypeIPv4, gopacket.Default)
	require.Nil(t, pkt.ErrorLayer())
	u := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	want := *u
	require.NoError(t, want.SetNetworkLayerForChecksum(pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)))
	sb := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(sb, gopacket.SerializeOptions{ComputeChecksums: true}, &want, gopacket.Payload([]byte{1, 2, 3})))
	assert.Equal(t, sb.Bytes()[6:8], odd[26:28])
}

func TestRandomAddrStaysInsideThePrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []string{"198.18.0.0/15", "10.77.128.0/17", "192.168.7.0/30", "10.1.2.3/32"} {
		p := netip.MustParsePrefix(s)
		seen := map[netip.Addr]bool{}
		for range 2000 {
			a := randomAddr(rng, p)
			require.True(t, p.Contains(a), "%v outside %v", a, p)
			if p.Bits() < 31 {
				require.NotEqual(t, p.Masked().Addr(), a, "network address")
			}
			seen[a] = true
		}
		if p.Bits() <= 17 {
			assert.Greater(t, len(seen), 1900, "sources of %v spread out", p)
		}
	}
}

// TestUnsafeFloodsAreRefused: nothing is sent unless the flood is confined
// to a lab namespace and lab address space, and bounded.
func TestUnsafeFloodsAreRefused(t *testing.T) {
	ns := &lab.Netns{Name: "unused"}
	good := Config{Netns: ns, Sources: netip.MustParsePrefix("198.18.0.0/16"), Target: testDst,
		Request: make([]byte, 100), Count: 10, Duration: time.Second}
	require.NoError(t, good.check())
	for name, mutate := range map[string]func(*Config){
		"no netns":        func(c *Config) { c.Netns = nil },
		"public sources":  func(c *Config) { c.Sources = netip.MustParsePrefix("8.8.0.0/16") },
		"too wide":        func(c *Config) { c.Sources = netip.MustParsePrefix("0.0.0.0/0") },
		"straddles":       func(c *Config) { c.Sources = netip.MustParsePrefix("198.16.0.0/13") },
		"IPv6 sources":    func(c *Config) { c.Sources = netip.MustParsePrefix("fd00::/64") },
		"public target":   func(c *Config) { c.Target = netip.MustParseAddrPort("192.0.2.1:500") },
		"unbounded count": func(c *Config) { c.Count = 0 },
		"huge count":      func(c *Config) { c.Count = MaxCount + 1 },
		"no duration":     func(c *Config) { c.Duration = 0 },
		"long duration":   func(c *Config) { c.Duration = MaxDuration + time.Second },
		"absurd rate":     func(c *Config) { c.Rate = MaxRate + 1 },
	} {
		c := good
		mutate(&c)
		err := c.check()
		assert.ErrorIs(t, err, ErrUnsafe, name)
		_, err = Run(context.Background(), c)
		assert.ErrorIs(t, err, ErrUnsafe, name)
	}
}

func TestClassify(t *testing.T) {
	resp := func(spir wire.SPI, ps ...wire.Payload) []byte {
		m := &wire.Message{Header: wire.Header{SPIi: wire.SPI{1}, SPIr: spir, Exchange: wire.IKE_SA_INIT,
			Flags: wire.FlagResponse}, Payloads: ps}
		raw, err := m.Marshal()
		require.NoError(t, err)
		return raw
	}
	from := netip.MustParseAddrPort("10.77.0.2:500")
	to := netip.MustParseAddrPort("198.18.0.9:500")
	cookie := resp(wire.SPI{}, wire.NewNotify(wire.COOKIE, make([]byte, 33)))
	assert.Equal(t, replyCookie, classify(IPv4UDP(from, to, cookie)))
	assert.Equal(t, replyCookie, classify(IPv4UDP(netip.AddrPortFrom(from.Addr(), 4500), to, append(make([]byte, 4), cookie...))))
	assert.Equal(t, replyAccepted, classify(IPv4UDP(from, to, resp(wire.SPI{2}, &wire.Nonce{Data: make([]byte, 32)}))))
	assert.Equal(t, replyError, classify(IPv4UDP(from, to, resp(wire.SPI{}, wire.NewNotify(wire.NO_PROPOSAL_CHOSEN, nil)))))
	assert.Equal(t, replyOther, classify(IPv4UDP(netip.AddrPortFrom(from.Addr(), 53), to, cookie)))
	assert.Equal(t, replyOther, classify(IPv4UDP(from, to, testRequest(t))), "a request is no reply")
	for i := range 48 {
		assert.Equal(t, replyOther, classify(IPv4UDP(from, to, cookie)[:i]), "truncated to %d", i)
	}
}

// TestFloodAcrossNamespaces sends a small flood over a veth to a fake
// responder that answers every request with a COOKIE to its (spoofed)
// source; the answers are routed back and counted by the Sink.
func TestFloodAcrossNamespaces(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireBinaries(t, "ip")
	fl, rsp := lab.NewNetns(t, "fls"), lab.NewNetns(t, "flr")
	v := lab.Link(t, fl, rsp, "10.77.0.1/30", "10.77.0.2/30")
	rsp.Route(t, "198.18.0.0/16", "10.77.0.1")

	var conn *net.UDPConn
	require.NoError(t, rsp.Do(func() error {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(testDst))
		conn = c
		return err
	}))
	t.Cleanup(func() { conn.Close() })
	var received atomic.Int64
	sources := map[netip.Addr]bool{}
	spis := map[wire.SPI]bool{}
	served := make(chan struct{})
	go func() {
		defer close(served)
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m, err := wire.ParseMessage(buf[:n])
			if err != nil {
				continue
			}
			sources[from.Addr()] = true
			spis[m.SPIi] = true
			received.Add(1)
			reply := &wire.Message{Header: wire.Header{SPIi: m.SPIi, Exchange: wire.IKE_SA_INIT, Flags: wire.FlagResponse},
				Payloads: []wire.Payload{wire.NewNotify(wire.COOKIE, make([]byte, 33))}}
			raw, _ := reply.Marshal()
			conn.WriteToUDPAddrPort(raw, from)
		}
	}()

	sink, err := Listen(fl, v.Iface(fl))
	require.NoError(t, err)
	const count = 500
	st, err := Run(context.Background(), Config{Netns: fl, Sources: netip.MustParsePrefix("198.18.0.0/16"),
		Target: testDst, Request: testRequest(t), Count: count, Rate: 2000, Duration: 10 * time.Second, Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, count, st.Sent)
	assert.Zero(t, st.SendErrors)
	assert.Greater(t, st.Sources, count*9/10, "distinct spoofed sources")
	assert.InDelta(t, 2000, st.Rate(), 600, "paced near the asked rate")

	lab.Eventually(t, 5*time.Second, "every request answered and counted", func() (bool, error) {
		r := sink.Replies()
		if r.Cookies < count {
			return false, fmt.Errorf("sink counted %d cookies, the server received %d requests", r.Cookies, received.Load())
		}
		return true, nil
	})
	r := sink.Close()
	assert.Equal(t, count, r.Cookies)
	assert.Zero(t, r.Accepted)
	conn.Close()
	<-served
	assert.EqualValues(t, count, received.Load(), "UDP checksums good: the kernel delivered every datagram")
	assert.Len(t, spis, count, "a fresh SPIi per request")
	for a := range sources {
		assert.True(t, netip.MustParsePrefix("198.18.0.0/16").Contains(a), "source %v", a)
	}
}

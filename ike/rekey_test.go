package ike

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
)

// established returns a harness with one PSK IKE SA and its child.
func established(t *testing.T, cfg Config) (*harness, *Session) {
	t.Helper()
	cfg.PSK = []byte("engine-test-psk-0123456789abcdef")
	h := newHarness(t, cfg)
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")}, PSK: cfg.PSK, Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	s, err := connect(t, h, ic)
	require.NoError(t, err)
	require.Len(t, h.mem.Children(), 1)
	return h, s
}

// childRekeyPayloads builds a CREATE_CHILD_SA request as an initiator.
func childRekeyPayloads(t *testing.T, rekeySPI uint32, group wire.TransformID, tsi, tsr []wire.Selector) ([]wire.Payload, *crypto.KEPrivate) {
	t.Helper()
	ni := make([]byte, 32)
	io.ReadFull(crand.Reader, ni)
	esp := proposals(t, wire.ProtoESP, "aes128-sha256-modp2048")
	for i := range esp {
		esp[i].SPI = []byte{0xc0, 0, 0, byte(i + 1)}
		esp[i].Transforms = append(esp[i].Transforms, wire.NewTransform(wire.TransformKE, wire.MODP_2048, 0))
	}
	var ps []wire.Payload
	if rekeySPI != 0 {
		ps = append(ps, &wire.Notify{Protocol: wire.ProtoESP, SPI: binary.BigEndian.AppendUint32(nil, rekeySPI), NotifyType: wire.REKEY_SA})
	}
	ps = append(ps, &wire.SA{Proposals: esp}, &wire.Nonce{Data: ni})
	var priv *crypto.KEPrivate
	if group != wire.KE_NONE {
		g, _ := crypto.KE(group)
		priv, _ = g.Generate(nil)
		ps = append(ps, &wire.KE{Group: group, Data: priv.Public()})
	}
	return append(ps, &wire.TS{Selectors: tsi}, &wire.TS{Responder: true, Selectors: tsr}), priv
}

func notifyOf(inner []wire.Payload) wire.NotifyType {
	if n := notifyError(inner); n != nil {
		return n.NotifyType
	}
	return 0
}

var (
	anyTS  = prefixSelectors([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
	peerTS = prefixSelectors([]netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")})
)

func TestCreateChildSA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("RFC7296_1.3.3_child_rekey_with_PFS", func(t *testing.T) {
		h, s := established(t, Config{})
		old := h.mem.Children()[0]
		ps, _ := childRekeyPayloads(t, old.SPIOut, wire.MODP_2048, peerTS, anyTS)
		inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
		require.NoError(t, err)
		assert.Zero(t, notifyOf(inner))
		assert.Len(t, h.mem.Children(), 2, "new SA installed before the old one goes (RFC 7296, Section 2.8)")
		// The initiator deletes the old SA.
		d := &wire.Delete{Protocol: wire.ProtoESP, SPISize: 4, SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, old.SPIOut)}}
		inner, err = s.Request(ctx, wire.INFORMATIONAL, []wire.Payload{d})
		require.NoError(t, err)
		require.Len(t, inner, 1)
		assert.Equal(t, binary.BigEndian.AppendUint32(nil, old.SPIIn), inner[0].(*wire.Delete).SPIs[0])
		require.Len(t, h.mem.Children(), 1)
		assert.NotEqual(t, old.SPIIn, h.mem.Children()[0].SPIIn)
	})
	t.Run("RFC7296_1.3_wrong_KE_group_INVALID_KE_PAYLOAD", func(t *testing.T) {
		h, s := established(t, Config{})
		ps, _ := childRekeyPayloads(t, h.mem.Children()[0].SPIOut, wire.ECP_384, peerTS, anyTS)
		inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
		require.NoError(t, err)
		n := notifyError(inner)
		require.NotNil(t, n)
		assert.Equal(t, wire.INVALID_KE_PAYLOAD, n.NotifyType)
		g, _ := n.KEGroup()
		assert.Equal(t, wire.MODP_2048, g)
		assert.Len(t, h.mem.Children(), 1, "nothing installed")
	})
	t.Run("RFC7296_2.25_unknown_REKEY_SA_CHILD_SA_NOT_FOUND", func(t *testing.T) {
		h, s := established(t, Config{})
		ps, _ := childRekeyPayloads(t, 0xdeadbeef, wire.MODP_2048, peerTS, anyTS)
		inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
		require.NoError(t, err)
		assert.Equal(t, wire.CHILD_SA_NOT_FOUND, notifyOf(inner))
		assert.Len(t, h.mem.Children(), 1)
	})
	t.Run("RFC7296_2.9_crafted_TS_TS_UNACCEPTABLE", func(t *testing.T) {
		h, s := established(t, Config{LocalTS: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}})
		for _, ts := range [][]wire.Selector{
			prefixSelectors([]netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}),                                            // not the peer
			prefixSelectors([]netip.Prefix{netip.MustParsePrefix("::/0")}),                                                      // wrong family
			{{TSType: wire.TS_IPV4_ADDR_RANGE, Start: netip.MustParseAddr("192.0.2.9"), End: netip.MustParseAddr("192.0.2.1")}}, // inverted
		} {
			ps, _ := childRekeyPayloads(t, h.mem.Children()[0].SPIOut, wire.MODP_2048, ts, anyTS)
			inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
			require.NoError(t, err)
			assert.Equal(t, wire.TS_UNACCEPTABLE, notifyOf(inner), "TSi %v", ts)
		}
		assert.Len(t, h.mem.Children(), 1)
		assert.Len(t, h.e.SAs(), 1, "the IKE SA survives")
	})
	t.Run("RFC7296_1.3.1_additional_child_SA", func(t *testing.T) {
		h, s := established(t, Config{})
		ps, _ := childRekeyPayloads(t, 0, wire.MODP_2048, peerTS, anyTS)
		inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
		require.NoError(t, err)
		assert.Zero(t, notifyOf(inner))
		assert.Len(t, h.mem.Children(), 2)
		assert.Equal(t, 2, h.e.indexedChildren())
		require.NoError(t, s.Delete(ctx))
		assert.Empty(t, h.mem.Children(), "deleting the IKE SA takes every child SA")
		assert.Zero(t, h.e.indexedChildren(), "and the engine's child index forgets them")
	})
}

// TestChildLifetimeTimer: the child SA's own timer, not a call from the
// test, rekeys it at the soft lifetime and, when the peer never answers,
// deletes it at the hard one.
func TestChildLifetimeTimer(t *testing.T) {
	p, err := policy.Builtin("recommended")
	require.NoError(t, err)
	const life = 300 * time.Millisecond // soft 270-300 ms, hard 330 ms
	p.ChildLifetime = life
	start := time.Now()
	h, _ := established(t, Config{Policy: p})
	old := h.mem.Children()[0]
	require.Equal(t, life+life/10, old.HardLife, "the hard lifetime is 10% past the policy's")

	select {
	case raw := <-h.p.in:
		m, err := wire.ParseMessage(raw)
		require.NoError(t, err)
		assert.Equal(t, wire.CREATE_CHILD_SA, m.Exchange, "the soft lifetime starts a rekey")
		assert.GreaterOrEqual(t, time.Since(start), life-life/10, "not before the soft lifetime")
	case <-time.After(5 * time.Second):
		t.Fatal("no CREATE_CHILD_SA request at the soft lifetime")
	}
	assert.Len(t, h.mem.Children(), 1, "the child lives until its hard lifetime")

	// The request goes unanswered: the hard lifetime deletes the child.
	require.Eventually(t, func() bool { return len(h.mem.Children()) == 0 }, 5*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), old.HardLife, "not before the hard lifetime")
	assert.Zero(t, h.e.indexedChildren())
}

// TestResponderRekeysOnLifetime: the policy lifetime makes the engine start
// a child rekey itself; the hard lifetime deletes a child that was not
// rekeyed.
func TestResponderRekeysOnLifetime(t *testing.T) {
	h, s := established(t, Config{})
	old := h.mem.Children()[0]
	h.e.ChildExpired(old.SPIIn, false)
	// The engine's CREATE_CHILD_SA request reaches the client.
	var req *wire.Message
	select {
	case raw := <-h.p.in:
		m, err := wire.ParseMessage(raw)
		require.NoError(t, err)
		req = m
	case <-time.After(2 * time.Second):
		t.Fatal("no CREATE_CHILD_SA request from the responder")
	}
	assert.Equal(t, wire.CREATE_CHILD_SA, req.Exchange)
	assert.False(t, req.IsResponse())
	assert.False(t, req.IsInitiator(), "the original responder never sets the I flag")
	inner, err := req.Decrypt(s.in)
	require.NoError(t, err)
	rekey, ke := payloadOf[*wire.Notify](inner), payloadOf[*wire.KE](inner)
	require.NotNil(t, rekey)
	assert.Equal(t, wire.REKEY_SA, rekey.NotifyType)
	assert.Equal(t, old.SPIIn, binary.BigEndian.Uint32(rekey.SPI))
	require.NotNil(t, ke)
	assert.Equal(t, wire.MODP_2048, ke.Group, "PFS in the IKE SA's group first")

	// A hard expiry deletes the child and tells the peer.
	h2, _ := established(t, Config{})
	c := h2.mem.Children()[0]
	h2.e.ChildExpired(c.SPIIn, true)
	assert.Empty(t, h2.mem.Children())
	select {
	case raw := <-h2.p.in:
		m, err := wire.ParseMessage(raw)
		require.NoError(t, err)
		assert.Equal(t, wire.INFORMATIONAL, m.Exchange)
	case <-time.After(2 * time.Second):
		t.Fatal("no delete sent")
	}
}

// peerSPI is the initiator's SPI of the IKE SAs the peer's rekeys create.
var peerSPI = wire.SPI{0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4}

// peerRekeysIKE sends the engine an IKE SA rekey (RFC 7296, Section
// 1.3.2) with SPIi spi and nonce ni, and checks that it is accepted.
func peerRekeysIKE(t *testing.T, s *Session, spi wire.SPI, ni []byte) {
	t.Helper()
	props := proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048")
	props[0].SPI = spi[:]
	g, _ := crypto.KE(wire.MODP_2048)
	priv, err := g.Generate(nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, []wire.Payload{&wire.SA{Proposals: props},
		&wire.Nonce{Data: ni}, &wire.KE{Group: wire.MODP_2048, Data: priv.Public()}})
	require.NoError(t, err)
	require.Zero(t, notifyOf(inner))
}

// indexedChildren counts the entries of the engine's child SA index.
func (e *Engine) indexedChildren() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.byChild)
}

// TestChildExpiryFollowsIKERekey: a rekey of the IKE SA moves its child SA
// to the new IKE SA (RFC 7296, Section 2.8). The child's lifetime timers
// and the kernel's expire events name it only by its inbound SPI; they
// find it on the new IKE SA, through the engine's index.
func TestChildExpiryFollowsIKERekey(t *testing.T) {
	h, s := established(t, Config{})
	c := h.mem.Children()[0]
	ni := make([]byte, 32)
	_, err := io.ReadFull(crand.Reader, ni)
	require.NoError(t, err)
	peerRekeysIKE(t, s, peerSPI, ni)
	var successor string
	for _, st := range h.e.SAs() {
		if st.SPIi == peerSPI.String() {
			require.Len(t, st.Children, 1, "the child SA moved to the new IKE SA")
			successor = st.SPIr
		}
	}
	require.NotEmpty(t, successor, "no IKE SA with the peer's new SPI")
	for len(h.p.in) > 0 {
		<-h.p.in
	}

	require.Error(t, h.e.RekeyChild(c.SPIIn^1), "no child SA has that SPI")
	h.e.ChildExpired(c.SPIIn^1, true)
	assert.Len(t, h.mem.Children(), 1, "an unknown SPI expires nothing")
	h.e.ChildExpired(c.SPIIn, true)
	assert.Empty(t, h.mem.Children(), "the hard expiry deleted the moved child SA")
	select {
	case raw := <-h.p.in:
		m, err := wire.ParseMessage(raw)
		require.NoError(t, err)
		assert.Equal(t, wire.INFORMATIONAL, m.Exchange)
		assert.Equal(t, successor, m.SPIr.String(), "the delete goes out on the new IKE SA")
	case <-time.After(2 * time.Second):
		t.Fatal("no delete sent")
	}
	assert.Zero(t, h.e.indexedChildren())
}

func TestRekeyAuditNamesPFSGroup(t *testing.T) {
	h, s := established(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, _ := childRekeyPayloads(t, h.mem.Children()[0].SPIOut, wire.MODP_2048, peerTS, anyTS)
	_, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
	require.NoError(t, err)
	a := h.audit("child_rekeyed")
	require.NotNil(t, a)
	assert.Equal(t, "MODP_2048", a.PFSGroup)
}

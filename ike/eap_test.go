package ike

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// TestEAPMSCHAPv2: RFC 7296, Section 2.16 with EAP-MSCHAPv2 as a Windows
// user tunnel does it: IDi is the client's address, no AUTH in the first
// IKE_AUTH, the responder proves itself with its certificate, and both
// final AUTH payloads come from the MSK.
func TestEAPMSCHAPv2(t *testing.T) {
	pki := labPKI(t)
	cfg := certConfig(t, pki.RSA)
	cfg.EAP = &eap.ServerConfig{Methods: []wire.EAPType{wire.EAPMSCHAPv2},
		Users: map[string][16]byte{"carol": eap.NTHash("carol-password-123")}}
	client := func(password string) InitiatorConfig {
		ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_IPV4_ADDR, Data: clientAP.Addr().AsSlice()},
			EAP:       &eap.ClientConfig{Identity: "carol", Password: password},
			CPRequest: []wire.CPAttrType{wire.INTERNAL_IP4_ADDRESS}, Timeout: 500 * time.Millisecond}
		ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
		return ic
	}
	t.Run("success", func(t *testing.T) {
		h := newHarness(t, cfg)
		s, err := connect(t, h, client("carol-password-123"))
		require.NoError(t, err)
		assert.Equal(t, wire.AuthSharedKey, s.Result.ResponderAuth, "the final AUTH is from the MSK")
		assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.99.0.2")}, s.Result.VIPs)
		require.Len(t, h.mem.Children(), 1)
		st := h.e.SAs()
		require.Len(t, st, 1)
		assert.Equal(t, sa.Established.String(), st[0].State)
		a := h.audit("established")
		require.NotNil(t, a)
		assert.Equal(t, "EAP-MSCHAPV2", a.AuthMethod)
		assert.Contains(t, a.PeerID, `"carol"`)
	})
	t.Run("wrong_password_AUTHENTICATION_FAILED", func(t *testing.T) {
		h := newHarness(t, cfg)
		_, err := connect(t, h, client("not-her-password"))
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, wire.AUTHENTICATION_FAILED, re.Notify)
		assert.Empty(t, h.mem.Children())
		a := h.audit("refused")
		require.NotNil(t, a)
		assert.Contains(t, a.Reason, "EAP")
	})
	t.Run("EAP_not_configured", func(t *testing.T) {
		h := newHarness(t, certConfig(t, pki.RSA))
		_, err := connect(t, h, client("carol-password-123"))
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, wire.AUTHENTICATION_FAILED, re.Notify)
	})
}

// TestInformationalDuringEAPEndsTheSA: RFC 7296, Section 2.21.2. An
// initiator that gives up during EAP says AUTHENTICATION_FAILED in an
// INFORMATIONAL; the half-open SA and its EAP conversation end at once.
func TestInformationalDuringEAPEndsTheSA(t *testing.T) {
	pki := labPKI(t)
	cfg := certConfig(t, pki.RSA)
	cfg.EAP = &eap.ServerConfig{Methods: []wire.EAPType{wire.EAPMSCHAPv2},
		Users: map[string][16]byte{"carol": eap.NTHash("carol-password-123")}}
	h := newHarness(t, cfg)
	// Run IKE_SA_INIT and the first IKE_AUTH by hand: Connect would go on.
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_IPV4_ADDR, Data: clientAP.Addr().AsSlice()},
		EAP: &eap.ClientConfig{Identity: "carol", Password: "x"}, Timeout: 300 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	ic.defaults()
	e := &Engine{cfg: Config{}}
	e.cfg.setDefaults()
	s := &Session{cfg: &ic, conn: h.p}
	s.ikeSA.e, s.initiator = e, true
	s.local, s.remote = h.p.Addrs()
	s.spii = wire.SPI{1, 2, 3, 4, 5, 6, 7, 8}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.initExchange(ctx))
	s.myMsgID = 1
	first := append([]wire.Payload{&wire.ID{IDType: wire.ID_IPV4_ADDR, Data: clientAP.Addr().AsSlice()}}, s.childRequest()...)
	inner, err := s.Request(ctx, wire.IKE_AUTH, first)
	require.NoError(t, err)
	require.NotNil(t, payloadOf[*wire.EAP](inner), "EAP started")
	require.Len(t, h.e.SAs(), 1)
	_, err = s.Request(ctx, wire.INFORMATIONAL, []wire.Payload{wire.NewNotify(wire.AUTHENTICATION_FAILED, nil)})
	require.NoError(t, err, "the INFORMATIONAL is answered")
	assert.Empty(t, h.e.SAs(), "the half-open SA is gone")
	a := h.audit("refused_by_peer")
	require.NotNil(t, a)
	assert.Contains(t, a.Reason, "AUTHENTICATION_FAILED")
}

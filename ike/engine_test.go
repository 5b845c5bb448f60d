package ike

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/labpki"
	"github.com/ikelab/ikelab/sa"
)

var (
	clientAP = netip.MustParseAddrPort("192.0.2.1:500")
	serverAP = netip.MustParseAddrPort("192.0.2.2:500")
)

// The lab PKI takes RSA-3072 key generation: make it once per test binary.
var (
	pkiOnce sync.Once
	testPKI *labpki.PKI
	pkiErr  error
)

func labPKI(t testing.TB) *labpki.PKI {
	t.Helper()
	pkiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ikelab-engine-pki")
		if err != nil {
			pkiErr = err
			return
		}
		testPKI, pkiErr = labpki.Generate(labpki.Options{Dir: dir})
	})
	require.NoError(t, pkiErr)
	return testPKI
}

// pipe connects an initiator directly to an engine: the initiator's sends
// are handled at once, the engine's responses queue for Receive.
type pipe struct {
	e            *Engine
	local, peer  netip.AddrPort
	natt         bool
	in           chan []byte
	dropToEngine atomic.Bool
	dropToClient atomic.Bool
	toEngine     [][]byte
	mu           sync.Mutex
}

func (p *pipe) Send(m []byte) error {
	p.mu.Lock()
	p.toEngine = append(p.toEngine, bytes.Clone(m))
	p.mu.Unlock()
	if p.dropToEngine.Load() {
		return nil
	}
	p.e.Handle(Packet{Local: p.peer, Remote: p.local, NATT: p.natt, Data: bytes.Clone(m)})
	return nil
}

func (p *pipe) Receive(ctx context.Context) ([]byte, error) {
	select {
	case m := <-p.in:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipe) Float() error {
	p.natt = true
	p.local = netip.AddrPortFrom(p.local.Addr(), 4500)
	p.peer = netip.AddrPortFrom(p.peer.Addr(), 4500)
	return nil
}

func (p *pipe) Addrs() (netip.AddrPort, netip.AddrPort) { return p.local, p.peer }

// Send is the engine's side: responses go to the initiator.
func (p *pipe) deliver(pk Packet) error {
	if p.dropToClient.Load() {
		return nil
	}
	select {
	case p.in <- bytes.Clone(pk.Data):
	default:
	}
	return nil
}

type senderFunc func(Packet) error

func (f senderFunc) Send(p Packet) error { return f(p) }

// harness is one responder engine with recorded audit records.
type harness struct {
	e      *Engine
	p      *pipe
	mem    *sa.Memory
	mu     sync.Mutex
	audits []Audit
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{mem: sa.NewMemory()}
	if cfg.Policy == nil {
		var err error
		cfg.Policy, err = policy.Builtin("recommended")
		require.NoError(t, err)
	}
	cfg.Installer = h.mem
	cfg.Audit = func(a *Audit) {
		h.mu.Lock()
		h.audits = append(h.audits, *a)
		h.mu.Unlock()
	}
	h.p = &pipe{local: clientAP, peer: serverAP, in: make(chan []byte, 64)}
	e, err := NewEngine(cfg, senderFunc(func(pk Packet) error { return h.p.deliver(pk) }))
	require.NoError(t, err)
	h.p.e = e
	h.e = e
	t.Cleanup(e.Close)
	return h
}

func (h *harness) audit(event string) *Audit {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.audits {
		if h.audits[i].Event == event {
			return &h.audits[i]
		}
	}
	return nil
}

func readPEM(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk, path)
	return blk.Bytes
}

// certResponder is a responder with the family's server certificate,
// trusting both lab roots with CRLs from files.
func certConfig(t testing.TB, f *labpki.Family) Config {
	pki := labPKI(t)
	v, err := trust.NewVerifier(trust.Policy{
		RootCAFiles: []string{pki.RSA.Root.CertPath, pki.ECDSA.Root.CertPath},
		CRL:         trust.CRLPolicy{Files: []string{pki.RSA.RootCRL.Path, pki.ECDSA.RootCRL.Path}},
	})
	require.NoError(t, err)
	return Config{Certificates: [][]byte{f.Server.Cert.Raw}, Key: f.Server.Key, Trust: v,
		Pool4: netip.MustParsePrefix("10.99.0.0/24"), DNS: []netip.Addr{netip.MustParseAddr("10.99.0.1")}}
}

func proposals(t testing.TB, proto wire.ProtocolID, s string) []wire.Proposal {
	t.Helper()
	ps, err := policy.ParseProposals(proto, s)
	require.NoError(t, err)
	out := make([]wire.Proposal, len(ps))
	for i, p := range ps {
		out[i] = p.Wire(uint8(i+1), nil)
		if proto == wire.ProtoESP {
			// IKE_AUTH carries no KE transforms (RFC 7296, Section 1.2).
			var ts []wire.Transform
			for _, tr := range out[i].Transforms {
				if tr.Type != wire.TransformKE {
					ts = append(ts, tr)
				}
			}
			out[i].Transforms = ts
		}
	}
	return out
}

func clientCert(f *labpki.Family, c *labpki.Issued) InitiatorConfig {
	return InitiatorConfig{
		ID:           &wire.ID{IDType: wire.ID_DER_ASN1_DN, Data: c.Cert.RawSubject},
		Certificates: [][]byte{c.Cert.Raw}, Key: c.Key,
		CPRequest: []wire.CPAttrType{wire.INTERNAL_IP4_ADDRESS, wire.INTERNAL_IP4_DNS, wire.MS_INTERNAL_IP4_SERVER},
		Timeout:   200 * time.Millisecond, Retries: 2,
	}
}

// payloadOf returns the first payload of type T in ps, or the zero T.
func payloadOf[T wire.Payload](ps []wire.Payload) T {
	for _, p := range ps {
		if v, ok := p.(T); ok {
			return v
		}
	}
	var zero T
	return zero
}

func connect(t *testing.T, h *harness, ic InitiatorConfig) (*Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Connect(ctx, ic, h.p)
}

func TestHandshakeCertificates(t *testing.T) {
	pki := labPKI(t)
	cases := []struct {
		name      string
		family    *labpki.Family
		ike, esp  string
		sigHashes bool
		wantAuth  wire.AuthMethod
	}{
		{"RSA_method1_AES128_SHA256_MODP2048", pki.RSA, "aes128-sha256-modp2048", "aes128-sha256", false, wire.AuthRSASig},
		{"RSA_RFC7427_AES256", pki.RSA, "aes256-sha256-modp2048", "aes128gcm16", true, wire.AuthDigitalSig},
		{"ECDSA_method9_GCM_ECP256", pki.ECDSA, "aes128gcm16-prfsha256-ecp256", "aes128gcm16", false, wire.AuthECDSA256},
		{"ECDSA_RFC7427_GCM256_ECP384", pki.ECDSA, "aes256gcm16-prfsha384-ecp384", "aes256gcm16", true, wire.AuthDigitalSig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, certConfig(t, tc.family))
			ic := clientCert(tc.family, tc.family.Clients[0])
			ic.IKE, ic.ESP, ic.SignatureHashes = proposals(t, wire.ProtoIKE, tc.ike), proposals(t, wire.ProtoESP, tc.esp), tc.sigHashes
			s, err := connect(t, h, ic)
			require.NoError(t, err)
			assert.Equal(t, tc.wantAuth, s.Result.ResponderAuth)
			require.NotNil(t, s.Result.ESP, "child SA created")
			assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.99.0.2")}, s.Result.VIPs)
			assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.99.0.1")}, s.Result.DNS)

			st := h.e.SAs()
			require.Len(t, st, 1)
			assert.Equal(t, sa.Established.String(), st[0].State)
			children := h.mem.Children()
			require.Len(t, children, 1)
			c := children[0]
			assert.Equal(t, s.Result.ChildSPIIn, c.SPIOut, "our outbound SPI is the initiator's inbound")
			assert.Equal(t, s.Result.ChildSPIOut, c.SPIIn)
			assert.Equal(t, "10.99.0.2/32", c.RemoteTS[0].String(), "TSi narrowed to the virtual IP")

			a := h.audit("established")
			require.NotNil(t, a)
			assert.Equal(t, "ok", a.Result)
			require.NotNil(t, a.Certificate)
			assert.True(t, a.Certificate.Accepted)
			assert.Equal(t, []string{"10.99.0.2"}, a.AssignedIP)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, s.Delete(ctx))
			assert.Empty(t, h.e.SAs(), "IKE SA gone after delete")
			assert.Empty(t, h.mem.Children(), "child SA uninstalled after delete")
			assert.NotNil(t, h.audit("deleted"))
		})
	}
}

func TestHandshakePSK(t *testing.T) {
	h := newHarness(t, Config{PSK: []byte("engine-test-psk-0123456789abcdef")})
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")},
		PSK: []byte("engine-test-psk-0123456789abcdef"), Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	s, err := connect(t, h, ic)
	require.NoError(t, err)
	assert.Equal(t, wire.AuthSharedKey, s.Result.ResponderAuth)
	// Without a CP request, TSi is narrowed to the peer's own address.
	require.Len(t, h.mem.Children(), 1)
	assert.Equal(t, "192.0.2.1/32", h.mem.Children()[0].RemoteTS[0].String())

	t.Run("RFC7296_2.15_wrong_psk_AUTHENTICATION_FAILED", func(t *testing.T) {
		h := newHarness(t, Config{PSK: []byte("engine-test-psk-0123456789abcdef")})
		ic.PSK = []byte("not-the-psk-0123456789abcdef0000")
		_, err := connect(t, h, ic)
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, wire.AUTHENTICATION_FAILED, re.Notify)
		assert.Empty(t, h.e.SAs())
		assert.Empty(t, h.mem.Children())
	})
}

func TestRefusals(t *testing.T) {
	pki := labPKI(t)
	win10 := "3des-sha1-modp1024,aes128-sha1-modp1024,aes192-sha1-modp1024,aes256-sha1-modp1024," +
		"3des-sha256-modp1024,aes128-sha256-modp1024,aes256-sha384-modp1024"
	t.Run("Windows10_defaults_under_recommended_NO_PROPOSAL_CHOSEN", func(t *testing.T) {
		h := newHarness(t, certConfig(t, pki.RSA))
		ic := clientCert(pki.RSA, pki.RSA.Clients[0])
		ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, win10), proposals(t, wire.ProtoESP, "aes256-sha1,aes128-sha1,3des-sha1")
		_, err := connect(t, h, ic)
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, wire.NO_PROPOSAL_CHOSEN, re.Notify)
		a := h.audit("ike_sa_init")
		require.NotNil(t, a)
		assert.Equal(t, "NO_PROPOSAL_CHOSEN", a.Notify)
		assert.Contains(t, a.Reason, "MODP_1024")
		assert.Empty(t, h.e.SAs(), "no state kept for a refused IKE_SA_INIT")
	})
	t.Run("Windows10_defaults_under_windows_default_established_insecure", func(t *testing.T) {
		cfg := certConfig(t, pki.RSA)
		var err error
		cfg.Policy, err = policy.Builtin("windows-default")
		require.NoError(t, err)
		h := newHarness(t, cfg)
		ic := clientCert(pki.RSA, pki.RSA.Clients[0])
		ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, win10), proposals(t, wire.ProtoESP, "aes256-sha1,aes128-sha1,3des-sha1")
		_, err = connect(t, h, ic)
		require.NoError(t, err)
		a := h.audit("established")
		require.NotNil(t, a)
		assert.Contains(t, a.IKEChosen, "MODP_1024")
		assert.NotEmpty(t, a.Insecure, "weak algorithms are named in the audit")
	})
	for _, tc := range []struct {
		name   string
		client *labpki.Issued
		reason string
	}{
		{"revoked_certificate", pki.RSA.Revoked, "revoked"},
		{"certificate_from_unaccepted_root", pki.Other.Clients[0], "root"},
	} {
		t.Run(tc.name+"_AUTHENTICATION_FAILED", func(t *testing.T) {
			h := newHarness(t, certConfig(t, pki.RSA))
			ic := clientCert(pki.RSA, tc.client)
			ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
			_, err := connect(t, h, ic)
			var re *RefusedError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, wire.AUTHENTICATION_FAILED, re.Notify)
			a := h.audit("refused")
			require.NotNil(t, a)
			assert.Contains(t, strings.ToLower(a.Reason), tc.reason)
			require.NotNil(t, a.Certificate)
			assert.False(t, a.Certificate.Accepted)
			assert.Empty(t, h.e.SAs())
		})
	}
	t.Run("RFC7296_1.2_INVALID_KE_PAYLOAD_then_retry", func(t *testing.T) {
		h := newHarness(t, certConfig(t, pki.RSA))
		ic := clientCert(pki.RSA, pki.RSA.Clients[0])
		ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-curve25519-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
		ic.KEGroup = wire.CURVE_25519
		s, err := connect(t, h, ic)
		require.NoError(t, err)
		assert.Equal(t, 1, s.Result.InvalidKERetries)
		a := h.audit("ike_sa_init")
		require.NotNil(t, a)
		assert.Equal(t, "INVALID_KE_PAYLOAD", a.Notify)
	})
	t.Run("ESP_refused_IKE_SA_stays", func(t *testing.T) {
		h := newHarness(t, certConfig(t, pki.RSA))
		ic := clientCert(pki.RSA, pki.RSA.Clients[0])
		ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "3des-sha1")
		s, err := connect(t, h, ic)
		require.NoError(t, err)
		assert.Nil(t, s.Result.ESP)
		assert.Equal(t, wire.NO_PROPOSAL_CHOSEN, s.Result.ChildRefused)
		assert.Len(t, h.e.SAs(), 1)
		assert.Empty(t, h.mem.Children())
	})
}

// TestRetransmittedRequestGetsCachedResponse: RFC 7296, Section 2.1.
func TestRetransmittedRequestGetsCachedResponse(t *testing.T) {
	pki := labPKI(t)
	h := newHarness(t, certConfig(t, pki.ECDSA))
	ic := clientCert(pki.ECDSA, pki.ECDSA.Clients[0])
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128gcm16-prfsha256-ecp256"), proposals(t, wire.ProtoESP, "aes128gcm16")
	_, err := connect(t, h, ic)
	require.NoError(t, err)
	var init, auth []byte
	for _, m := range h.p.toEngine {
		hd, err := wire.ParseHeader(m)
		require.NoError(t, err)
		switch hd.Exchange {
		case wire.IKE_SA_INIT:
			init = m
		case wire.IKE_AUTH:
			auth = m
		}
	}
	drain := func() [][]byte { return drainOf(h) }
	drain()
	h.p.Send(auth)
	first := drain()
	h.p.Send(auth)
	second := drain()
	require.Len(t, first, 1)
	assert.Equal(t, first, second, "the same IKE_AUTH response, byte for byte")

	// Past IKE_AUTH the IKE_SA_INIT response is forgotten (Section 2.3
	// keeps a response until the next request) and a late duplicate is
	// dropped, as charon drops a message ID below its window.
	h.p.Send(init)
	assert.Empty(t, drain(), "a late IKE_SA_INIT is not answered")
	assert.Len(t, h.e.SAs(), 1, "a retransmission creates no new SA")
	for _, s := range h.e.bySPI {
		s.mu.Lock()
		assert.Nil(t, s.initReq, "the established SA let its IKE_SA_INIT request go")
		assert.Nil(t, s.initResp)
		assert.Nil(t, s.in, "an idle SA keeps no SK cipher")
		s.mu.Unlock()
	}

	// A half-open SA answers a retransmitted IKE_SA_INIT with the same
	// response.
	h2 := newHarness(t, certConfig(t, pki.ECDSA))
	h2.p.Send(init)
	first = drainOf(h2)
	h2.p.Send(init)
	second = drainOf(h2)
	require.Len(t, first, 1)
	assert.Equal(t, first, second, "the same IKE_SA_INIT response, byte for byte")
	assert.Len(t, h2.e.SAs(), 1, "a retransmission creates no new SA")
}

// drainOf returns what the engine has sent so far.
func drainOf(h *harness) [][]byte {
	var out [][]byte
	for {
		select {
		case m := <-h.p.in:
			out = append(out, m)
		default:
			return out
		}
	}
}

// TestFragmentation: RFC 7383 both ways with RSA certificates.
func TestFragmentation(t *testing.T) {
	pki := labPKI(t)
	cfg := certConfig(t, pki.RSA)
	cfg.FragmentSize = 600
	h := newHarness(t, cfg)
	ic := clientCert(pki.RSA, pki.RSA.Clients[0])
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	ic.Fragmentation, ic.FragmentSize = true, 580
	s, err := connect(t, h, ic)
	require.NoError(t, err)
	assert.True(t, s.Result.Fragmented, "the IKE_AUTH response came in fragments")
	var frags int
	for _, m := range h.p.toEngine {
		msg, err := wire.ParseMessage(m)
		require.NoError(t, err)
		if msg.Fragment() != nil {
			frags++
			assert.LessOrEqual(t, len(m), 580)
		}
	}
	assert.Greater(t, frags, 1, "the IKE_AUTH request went in fragments")
}

// TestDeadPeerDetection: a silent peer is deleted after the retransmits.
func TestDeadPeerDetection(t *testing.T) {
	cfg := Config{PSK: []byte("engine-test-psk-0123456789abcdef"), DPDInterval: 50 * time.Millisecond,
		RetransmitTimeout: 20 * time.Millisecond, RetransmitTries: 2}
	h := newHarness(t, cfg)
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")},
		PSK: cfg.PSK, Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	_, err := connect(t, h, ic)
	require.NoError(t, err)
	h.p.dropToClient.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for len(h.e.SAs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Empty(t, h.e.SAs(), "dead peer reaped")
	assert.Empty(t, h.mem.Children())
	a := h.audit("dead_peer")
	require.NotNil(t, a)
	assert.Equal(t, "failed", a.Result)
}

// TestGarbageNeverPanics feeds truncations and bit flips of real messages.
func TestGarbageNeverPanics(t *testing.T) {
	h := newHarness(t, Config{PSK: []byte("engine-test-psk-0123456789abcdef")})
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")},
		PSK: []byte("engine-test-psk-0123456789abcdef"), Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	_, err := connect(t, h, ic)
	require.NoError(t, err)
	for _, m := range h.p.toEngine {
		for i := 0; i < len(m); i += 7 {
			h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: m[:i]})
			flipped := bytes.Clone(m)
			flipped[i] ^= 0x40
			h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: flipped})
		}
	}
	assert.LessOrEqual(t, len(h.e.SAs()), 64)
}

// TestCookies: RFC 7296, Section 2.6. With cookies always demanded, the
// first IKE_SA_INIT gets a stateless COOKIE and the retry carrying it
// succeeds; a forged cookie gets a fresh one, never state.
func TestCookies(t *testing.T) {
	cfg := Config{PSK: []byte("engine-test-psk-0123456789abcdef"), CookieThreshold: CookieAlways}
	h := newHarness(t, cfg)
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")},
		PSK: cfg.PSK, Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	s, err := connect(t, h, ic)
	require.NoError(t, err)
	assert.True(t, s.Result.Cookie)
	assert.Len(t, h.e.SAs(), 1)

	// Replay the first request with a wrong cookie in front: no state.
	first := h.p.toEngine[0]
	m, err := wire.ParseMessage(first)
	require.NoError(t, err)
	bad := bytes.Repeat([]byte{7}, cookieLen)
	m.Payloads = append([]wire.Payload{wire.NewNotify(wire.COOKIE, bad)}, m.Payloads...)
	m.SPIi[0] ^= 1
	raw, err := m.Marshal()
	require.NoError(t, err)
	for len(h.p.in) > 0 {
		<-h.p.in
	}
	h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: raw})
	resp, err := wire.ParseMessage(<-h.p.in)
	require.NoError(t, err)
	require.Len(t, resp.Payloads, 1)
	n := resp.Payloads[0].(*wire.Notify)
	assert.Equal(t, wire.COOKIE, n.NotifyType)
	assert.NotEqual(t, bad, n.Data)
	assert.True(t, resp.SPIr.IsZero(), "stateless answer")
	assert.Len(t, h.e.SAs(), 1, "no state for a forged cookie")
}

// TestFloodIsBounded: half-open SAs from one source stop at the block
// threshold, and from many sources at MaxHalfOpen, with cookies demanded
// beyond the cookie threshold.
func TestFloodIsBounded(t *testing.T) {
	cfg := Config{PSK: []byte("engine-test-psk-0123456789abcdef"), CookieThreshold: 20, MaxHalfOpen: 50}
	h := newHarness(t, cfg)
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")}, PSK: cfg.PSK}
	ic.IKE = proposals(t, wire.ProtoIKE, "aes128gcm16-prfsha256-ecp256")
	// Build one IKE_SA_INIT request and replay it with fresh SPIs from
	// many addresses, never answering the cookies.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		Connect(ctx, ic, h.p)
	}()
	require.Eventually(t, func() bool { h.p.mu.Lock(); defer h.p.mu.Unlock(); return len(h.p.toEngine) > 0 }, time.Second, time.Millisecond)
	h.p.mu.Lock()
	tmpl, err := wire.ParseMessage(h.p.toEngine[0])
	h.p.mu.Unlock()
	require.NoError(t, err)
	for i := 0; i < 400; i++ {
		m := *tmpl
		m.SPIi = wire.SPI{0xfe, byte(i >> 8), byte(i)}
		raw, err := m.Marshal()
		require.NoError(t, err)
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 77, byte(i / 4 >> 8), byte(i / 4)}), 500)
		h.e.Handle(Packet{Local: serverAP, Remote: src, Data: raw})
	}
	total, _ := h.e.halfOpen.counts(netip.Addr{})
	assert.LessOrEqual(t, total, 50, "half-open SAs bounded")
	assert.GreaterOrEqual(t, total, 20, "half-open SAs up to the cookie threshold")
	var cookies int
	for len(h.p.in) > 0 {
		if m, err := wire.ParseMessage(<-h.p.in); err == nil {
			if n, ok := m.Payloads[0].(*wire.Notify); ok && n.NotifyType == wire.COOKIE {
				cookies++
			}
		}
	}
	assert.Greater(t, cookies, 0, "cookies demanded under flood")
}

// TestRefusedFloodTurnsCookiesOn: requests the policy refuses leave no
// half-open SA, so the request rate turns cookies on, and refusals under
// a flood are not each audited.
func TestRefusedFloodTurnsCookiesOn(t *testing.T) {
	h := newHarness(t, Config{PSK: []byte("engine-test-psk-0123456789abcdef")})
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")}, PSK: []byte("x")}
	ic.IKE = proposals(t, wire.ProtoIKE, "aes256-sha1-modp1024")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		Connect(ctx, ic, h.p)
	}()
	require.Eventually(t, func() bool { h.p.mu.Lock(); defer h.p.mu.Unlock(); return len(h.p.toEngine) > 0 }, time.Second, time.Millisecond)
	h.p.mu.Lock()
	tmpl, err := wire.ParseMessage(h.p.toEngine[0])
	h.p.mu.Unlock()
	require.NoError(t, err)
	cookies := 0
	for i := 0; i < 2*InitRateThreshold; i++ {
		m := *tmpl
		m.SPIi = wire.SPI{0xfd, byte(i >> 8), byte(i)}
		raw, err := m.Marshal()
		require.NoError(t, err)
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 78, byte(i >> 8), byte(i)}), 500)
		h.e.Handle(Packet{Local: serverAP, Remote: src, Data: raw})
		for len(h.p.in) > 0 {
			if r, err := wire.ParseMessage(<-h.p.in); err == nil {
				if n, ok := r.Payloads[0].(*wire.Notify); ok && n.NotifyType == wire.COOKIE {
					cookies++
				}
			}
		}
	}
	assert.Greater(t, cookies, InitRateThreshold/2, "cookies demanded once the rate passed the threshold")
	h.mu.Lock()
	audits := len(h.audits)
	h.mu.Unlock()
	assert.LessOrEqual(t, audits, InitRateThreshold+1, "refusals past the threshold are not audited one by one")
}

// TestConcurrentInitRetransmission: a retransmitted IKE_SA_INIT that
// arrives while another worker is still answering the first copy (charon
// retransmits a request the moment it is sent when an old retransmission
// timer fires) makes no second SA (RFC 7296, Section 2.1).
func TestConcurrentInitRetransmission(t *testing.T) {
	pki := labPKI(t)
	cfg := certConfig(t, pki.ECDSA)
	h := newHarness(t, cfg)
	ic := clientCert(pki.ECDSA, pki.ECDSA.Clients[0])
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128gcm16-prfsha256-ecp256"), proposals(t, wire.ProtoESP, "aes128gcm16")
	_, err := connect(t, h, ic)
	require.NoError(t, err)
	var init []byte
	for _, m := range h.p.toEngine {
		if hd, err := wire.ParseHeader(m); err == nil && hd.Exchange == wire.IKE_SA_INIT {
			init = m
		}
	}
	require.NotNil(t, init)

	for i := range 30 {
		h := newHarness(t, cfg)
		var start, done sync.WaitGroup
		start.Add(1)
		for range 2 {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: bytes.Clone(init)})
			}()
		}
		start.Done()
		done.Wait()
		require.Len(t, h.e.SAs(), 1, "round %d: one SA for a request and its retransmission", i)
	}
}

// TestHalfOpenTimeout: an IKE SA whose IKE_AUTH never comes is reaped after
// HalfOpenTimeout, an established one is not, and the reaper's queue is
// empty afterwards.
func TestHalfOpenTimeout(t *testing.T) {
	psk := []byte("engine-test-psk-0123456789abcdef")
	h := newHarness(t, Config{PSK: psk, HalfOpenTimeout: 300 * time.Millisecond})
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")}, PSK: psk, Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128gcm16-prfsha256-ecp256"), proposals(t, wire.ProtoESP, "aes128gcm16")
	_, err := connect(t, h, ic)
	require.NoError(t, err)

	require.Len(t, h.e.SAs(), 1)
	require.Equal(t, 1, h.e.reaper.pending(), "the established SA's deadline is queued until it passes")

	// The same IKE_SA_INIT with a new SPIi from another address, never
	// followed by IKE_AUTH.
	h.p.mu.Lock()
	m, err := wire.ParseMessage(h.p.toEngine[0])
	h.p.mu.Unlock()
	require.NoError(t, err)
	m.SPIi = wire.SPI{0xfe, 1}
	raw, err := m.Marshal()
	require.NoError(t, err)
	h.e.Handle(Packet{Local: serverAP, Remote: netip.MustParseAddrPort("192.0.2.99:500"), Data: raw})
	require.Len(t, h.e.SAs(), 2)

	require.Eventually(t, func() bool { return h.audit("half_open_timeout") != nil }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, "IKE_AUTH never arrived", h.audit("half_open_timeout").Reason)
	require.Eventually(t, func() bool { return len(h.e.SAs()) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, sa.Established.String(), h.e.SAs()[0].State, "the established SA outlived the half-open timeout")
	total, _ := h.e.halfOpen.counts(netip.Addr{})
	assert.Zero(t, total, "no half-open SA counted")
	assert.Zero(t, h.e.reaper.pending(), "both deadlines taken off the queue")
}

package eap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// fakeRADIUS is a RADIUS server on loopback that runs this package's own
// Server for each session, as FreeRADIUS runs its EAP module, and answers
// with Access-Challenge, -Accept (with MS-MPPE keys) or -Reject.
type fakeRADIUS struct {
	t         *testing.T
	conn      net.PacketConn
	secret    []byte
	newServer func() Server

	mu          sync.Mutex
	sessions    map[string]Server
	next        int
	drop        int      // requests to ignore
	requests    [][]byte // every request received, dropped ones too
	states      [][]byte // the State of each request handled
	replySecret []byte   // signs replies; default secret
	omitMA      bool
	omitKeys    bool
}

func newFakeRADIUS(t *testing.T, secret string, newServer func() Server) *fakeRADIUS {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRADIUS{t: t, conn: conn, secret: []byte(secret), newServer: newServer, sessions: map[string]Server{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
		for _, s := range f.sessions {
			s.Close()
		}
	})
	return f
}

// sessionServer builds the Server of one fake RADIUS session; the fake
// closes it (not t.Cleanup, which would run while the fake still serves).
func sessionServer(t *testing.T, cfg ServerConfig) Server {
	s, err := NewServer(cfg)
	if err != nil {
		t.Error(err)
	}
	return s
}

func (f *fakeRADIUS) set(edit func(*fakeRADIUS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f)
}

func (f *fakeRADIUS) addr() string { return f.conn.LocalAddr().String() }

func (f *fakeRADIUS) serve() {
	buf := make([]byte, 4096)
	for {
		n, from, err := f.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		raw := bytes.Clone(buf[:n])
		if reply := f.handle(raw); reply != nil {
			f.conn.WriteTo(reply, from)
		}
	}
}

func (f *fakeRADIUS) handle(raw []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, raw)
	if f.drop > 0 {
		f.drop--
		return nil
	}
	req, err := parseRADIUS(raw)
	if err != nil || req.code != radiusAccessRequest || req.attrs[0].typ != attrMessageAuthenticator {
		f.t.Errorf("fake radius: bad request (%v), Message-Authenticator first: %v", err, err == nil && req.attrs[0].typ == attrMessageAuthenticator)
		return nil
	}
	if !bytes.Equal(req.attrs[0].value, messageAuthenticator(raw, req.attrs[0].off, nil, f.secret)) {
		f.t.Error("fake radius: request Message-Authenticator does not verify")
		return nil
	}
	pkt, err := Parse(req.concat(attrEAPMessage))
	if err != nil {
		f.t.Errorf("fake radius: EAP-Message: %v", err)
		return nil
	}
	state, _ := req.get(attrState)
	f.states = append(f.states, bytes.Clone(state))
	srv, ok := f.sessions[string(state)]
	if !ok {
		// A new session starts with the identity response the NAS got.
		srv = f.newServer()
		first, err := srv.Start()
		if err != nil {
			f.t.Error(err)
			return nil
		}
		pkt.Identifier = first.Identifier
		f.next++
		state = []byte{'s', byte(f.next)}
		f.sessions[string(state)] = srv
	}
	next, done, res, err := srv.Next(context.Background(), pkt)
	if err != nil {
		f.t.Errorf("fake radius: %v", err)
		return nil
	}
	eap, _ := Marshal(next)
	reply := &radiusPacket{id: req.id, auth: req.auth}
	if !f.omitMA {
		reply.add(attrMessageAuthenticator, make([]byte, 16))
	}
	reply.add(attrEAPMessage, eap)
	switch {
	case !done:
		reply.code = radiusAccessChallenge
		reply.add(attrState, state)
	case res.Success:
		reply.code = radiusAccessAccept
		reply.add(attrUserName, []byte(res.Identity))
		if !f.omitKeys {
			// As FreeRADIUS for EAP-TLS: Recv-Key the first 32 MSK octets,
			// Send-Key the next 32.
			reply.add(attrVendorSpecific, mppeVSA(msMPPERecvKey, encryptMPPEKey(res.MSK[:32], f.secret, req.auth, [2]byte{0x80, 1})))
			reply.add(attrVendorSpecific, mppeVSA(msMPPESendKey, encryptMPPEKey(res.MSK[32:], f.secret, req.auth, [2]byte{0x80, 2})))
		}
	default:
		reply.code = radiusAccessReject
		reply.add(attrReplyMessage, []byte("go away"))
	}
	out, err := reply.marshal()
	if err != nil {
		f.t.Error(err)
		return nil
	}
	secret := f.secret
	if f.replySecret != nil {
		secret = f.replySecret
	}
	if !f.omitMA {
		copy(out[reply.attrs[0].off:], messageAuthenticator(out, reply.attrs[0].off, &req.auth, secret))
	}
	copy(out[4:20], responseAuthenticator(out, req.auth, secret))
	return out
}

func relayConfig(addr string) ServerConfig {
	return ServerConfig{RADIUS: &RADIUSConfig{Server: addr, Secret: []byte("testing123"), Timeout: 200 * time.Millisecond,
		NASIdentifier: "ikelab-test"}, CallingStationID: "192.0.2.7"}
}

func TestRelayMSCHAPv2(t *testing.T) {
	f := newFakeRADIUS(t, "testing123", func() Server { return sessionServer(t, ServerConfig{Users: testUsers}) })
	c := converse(t, mustServer(t, relayConfig(f.addr())), msClient(t, "carol", "carol-secret"))
	if !c.server.Success || !c.client.Success || c.server.Method != wire.EAPMSCHAPv2 || c.server.Identity != "carol" {
		t.Fatalf("trace %v\nserver %+v\nclient %+v", c.trace, c.server, c.client)
	}
	if !bytes.Equal(c.server.MSK, c.client.MSK) {
		t.Fatal("relayed MSK differs from the client's")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.states) != 3 || f.states[0] != nil || !bytes.Equal(f.states[1], f.states[2]) || f.states[1] == nil {
		t.Errorf("State not echoed: %q", f.states)
	}
	req, _ := parseRADIUS(f.requests[0])
	for typ, want := range map[uint8]string{attrUserName: "carol", attrNASIdentifier: "ikelab-test", attrCallingStationID: "192.0.2.7"} {
		if v, _ := req.get(typ); string(v) != want {
			t.Errorf("attribute %d = %q, want %q", typ, v, want)
		}
	}
}

func TestRelayTLSAfterNak(t *testing.T) {
	p := tlsPKI(t)
	f := newFakeRADIUS(t, "testing123", func() Server {
		cfg := tlsServerConfig(t, p)
		cfg.Users, cfg.Methods = testUsers, []wire.EAPType{wire.EAPMSCHAPv2, wire.EAPTLS}
		return sessionServer(t, cfg)
	})
	c := converse(t, mustServer(t, relayConfig(f.addr())), mustClient(t, tlsClientConfig(t, p, p.carol)))
	if !c.server.Success || c.server.Method != wire.EAPTLS || !bytes.Equal(c.server.MSK, c.client.MSK) || len(c.server.MSK) != 64 {
		t.Fatalf("trace %v\nserver %+v", c.trace, c.server)
	}
	if !slices.Contains(c.trace, "EAP/RES/NAK") {
		t.Error("no Nak relayed")
	}
}

func TestRelayReject(t *testing.T) {
	f := newFakeRADIUS(t, "testing123", func() Server { return sessionServer(t, ServerConfig{Users: testUsers}) })
	c := converse(t, mustServer(t, relayConfig(f.addr())), msClient(t, "carol", "wrong"))
	if c.server.Success || !errors.Is(c.server.Err, ErrRejected) || !strings.Contains(c.server.Reason, "go away") {
		t.Fatalf("server %+v", c.server)
	}
	if c.client.Success || !strings.Contains(c.client.Reason, "691") {
		t.Fatalf("client %+v", c.client)
	}
	// The MS-CHAPv2 Failure Request in the Access-Challenge is the verdict
	// one round early, as from the local server: Windows and strongSwan
	// never acknowledge it.
	if c.early == nil || c.early.Success || !errors.Is(c.early.Err, ErrRejected) || c.early.Method != wire.EAPMSCHAPv2 ||
		c.early.Identity != "carol" || !strings.Contains(c.early.Reason, "error 691") {
		t.Fatalf("early verdict %+v", c.early)
	}
}

// Lost requests are retransmitted unchanged (RFC 5080, Section 2.2.1).
func TestRelayRetransmits(t *testing.T) {
	f := newFakeRADIUS(t, "testing123", func() Server { return sessionServer(t, ServerConfig{Users: testUsers}) })
	f.set(func(f *fakeRADIUS) { f.drop = 2 })
	c := converse(t, mustServer(t, relayConfig(f.addr())), msClient(t, "carol", "carol-secret"))
	if !c.server.Success {
		t.Fatalf("server %+v", c.server)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 5 || !bytes.Equal(f.requests[0], f.requests[1]) || !bytes.Equal(f.requests[1], f.requests[2]) {
		t.Fatalf("%d requests; the first three identical: %v", len(f.requests), len(f.requests) >= 3 && bytes.Equal(f.requests[0], f.requests[2]))
	}
}

func TestRelayFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*fakeRADIUS)
		reason string
	}{
		{"no answer", func(f *fakeRADIUS) { f.drop = 1000 }, "after 3 attempts"},
		{"wrong shared secret", func(f *fakeRADIUS) { f.replySecret = []byte("other") }, "response authenticator"},
		{"no Message-Authenticator", func(f *fakeRADIUS) { f.omitMA = true }, "without Message-Authenticator"},
		{"Accept without keys", func(f *fakeRADIUS) { f.omitKeys = true }, "MS-MPPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRADIUS(t, "testing123", func() Server { return sessionServer(t, ServerConfig{Users: testUsers}) })
			f.set(tc.edit)
			start := time.Now()
			c := converse(t, mustServer(t, relayConfig(f.addr())), msClient(t, "carol", "carol-secret"))
			if c.server.Success || !errors.Is(c.server.Err, ErrRADIUS) || !strings.Contains(c.server.Reason, tc.reason) {
				t.Fatalf("server %+v, want %q", c.server, tc.reason)
			}
			if c.client.Success {
				t.Fatal("client succeeded")
			}
			if tc.name == "no answer" && time.Since(start) < 600*time.Millisecond {
				t.Errorf("gave up after %v, before three 200 ms attempts", time.Since(start))
			}
		})
	}
}

// The caller's context bounds the whole round trip.
func TestRelayContext(t *testing.T) {
	f := newFakeRADIUS(t, "testing123", func() Server { return sessionServer(t, ServerConfig{Users: testUsers}) })
	f.set(func(f *fakeRADIUS) { f.drop = 1000 })
	cfg := relayConfig(f.addr())
	cfg.RADIUS.Timeout = 10 * time.Second
	srv := mustServer(t, cfg)
	req, _ := srv.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	next, done, res, err := srv.Next(ctx, response(req.Identifier, wire.EAPIdentity, []byte("carol")))
	if err != nil || !done || next.Code != wire.EAPFailure || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("%v %v %+v %v", next, done, res, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestRelayRefusesWrongIdentifier(t *testing.T) {
	srv := mustServer(t, relayConfig("127.0.0.1:9"))
	req, _ := srv.Start()
	next, done, res, err := srv.Next(context.Background(), response(req.Identifier+1, wire.EAPIdentity, []byte("carol")))
	if err != nil || !done || next.Code != wire.EAPFailure || !errors.Is(res.Err, ErrProtocol) {
		t.Fatalf("%v %v %+v %v", next, done, res, err)
	}
}

func TestRADIUSMaxWait(t *testing.T) {
	for _, tc := range []struct {
		cfg  RADIUSConfig
		want time.Duration
	}{
		{RADIUSConfig{Server: "x", Secret: []byte("s")}, 9 * time.Second},
		{RADIUSConfig{Server: "x", Secret: []byte("s"), Timeout: time.Second, Retries: -1}, time.Second},
		{RADIUSConfig{Server: "x", Secret: []byte("s"), Timeout: time.Second, Retries: 4}, 5 * time.Second},
		{RADIUSConfig{}, 0},
	} {
		if got := tc.cfg.MaxWait(); got != tc.want {
			t.Errorf("%+v: MaxWait %v, want %v", tc.cfg, got, tc.want)
		}
	}
}

package eap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// Windows set for MSCHAPv2 NAKs EAP-TLS, and set for TLS NAKs MSCHAPv2
// (LAB.md); the server honours the Nak in both directions (RFC 3748,
// Section 5.3.1).
func TestNakNegotiation(t *testing.T) {
	p := tlsPKI(t)
	both := func(order ...wire.EAPType) ServerConfig {
		cfg := tlsServerConfig(t, p)
		cfg.Users, cfg.Methods = testUsers, order
		return cfg
	}
	msOnly := ClientConfig{Identity: "carol", Password: "carol-secret"}
	tlsOnly := tlsClientConfig(t, p, p.carol)
	for _, tc := range []struct {
		name   string
		server ServerConfig
		client ClientConfig
		method wire.EAPType
	}{
		{"TLS offered, client wants MSCHAPv2", both(wire.EAPTLS, wire.EAPMSCHAPv2), msOnly, wire.EAPMSCHAPv2},
		{"MSCHAPv2 offered, client wants TLS", both(wire.EAPMSCHAPv2, wire.EAPTLS), tlsOnly, wire.EAPTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := converse(t, mustServer(t, tc.server), mustClient(t, tc.client))
			if !slices.Contains(c.trace, "EAP/RES/NAK") {
				t.Errorf("no Nak in %v", c.trace)
			}
			if !c.server.Success || c.server.Method != tc.method || !c.client.Success || c.client.Method != tc.method {
				t.Fatalf("server %+v client %+v", c.server, c.client)
			}
			if slices.Equal(c.server.MSK, make([]byte, 64)) || string(c.server.MSK) != string(c.client.MSK) {
				t.Error("MSKs differ")
			}
		})
	}
	// No common method: the failure says what each side wanted.
	c := converse(t, mustServer(t, ServerConfig{Users: testUsers}), mustClient(t, tlsOnly))
	var ne *NegotiationError
	if c.server.Success || !errors.As(c.server.Err, &ne) || !errors.Is(c.server.Err, ErrNegotiation) {
		t.Fatalf("server %+v", c.server)
	}
	if !slices.Equal(ne.Offered, []wire.EAPType{wire.EAPMSCHAPv2}) || !slices.Equal(ne.Wanted, []wire.EAPType{wire.EAPTLS}) ||
		ne.Error() != "eap: peer wants [TLS], server offers [MSCHAPV2]" {
		t.Errorf("negotiation error %v", ne)
	}
}

// step drives a server by hand: Start, the identity, then the given
// responses.
type step struct {
	srv  Server
	last *wire.EAP
	t    *testing.T
}

func startServer(t *testing.T, cfg ServerConfig, identity string) *step {
	s := &step{srv: mustServer(t, cfg), t: t}
	req, err := s.srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	s.last = req
	if identity != "" {
		s.send(response(req.Identifier, wire.EAPIdentity, []byte(identity)))
	}
	return s
}

func (s *step) send(resp *wire.EAP) (*wire.EAP, bool, *Result) {
	s.t.Helper()
	next, done, res, err := s.srv.Next(context.Background(), resp)
	if err != nil {
		s.t.Fatalf("Next: %v", err)
	}
	if next != nil {
		s.last = next
	}
	return next, done, res
}

// expectFailure sends resp and checks that the conversation ends with
// EAP-Failure for the reason given.
func (s *step) expectFailure(resp *wire.EAP, kind error, reason string) {
	s.t.Helper()
	next, done, res := s.send(resp)
	if !done || next.Code != wire.EAPFailure || res.Success || !errors.Is(res.Err, kind) || !strings.Contains(res.Reason, reason) {
		s.t.Fatalf("got %s done=%v %+v, want EAP-Failure with %v %q", next.Summary(), done, res, kind, reason)
	}
	if next.Identifier != resp.Identifier {
		s.t.Errorf("EAP-Failure identifier %d, response had %d (RFC 3748, Section 4.2)", next.Identifier, resp.Identifier)
	}
	if _, _, _, err := s.srv.Next(context.Background(), resp); !errors.Is(err, ErrDone) {
		s.t.Errorf("Next after the end: %v", err)
	}
}

func TestServerRefusesBadResponses(t *testing.T) {
	cfg := ServerConfig{Users: testUsers}
	for _, tc := range []struct {
		name     string
		identity string
		resp     func(last *wire.EAP) *wire.EAP
		kind     error
		reason   string
	}{
		{"wrong identifier", "", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier+1, wire.EAPIdentity, []byte("carol"))
		}, ErrProtocol, "identifier"},
		{"request instead of response", "", func(l *wire.EAP) *wire.EAP {
			return request(l.Identifier, wire.EAPIdentity, nil)
		}, ErrProtocol, "expected a response"},
		{"success from the peer", "", func(l *wire.EAP) *wire.EAP {
			return &wire.EAP{Code: wire.EAPSuccess, Identifier: l.Identifier}
		}, ErrProtocol, "expected a response"},
		{"oversized identity", "", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier, wire.EAPIdentity, []byte(strings.Repeat("x", 300)))
		}, ErrLimit, "identity"},
		{"Nak to the identity request", "", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier, wire.EAPNak, []byte{byte(wire.EAPTLS)})
		}, ErrProtocol, "NAK"},
		{"wrong type", "carol", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier, wire.EAPMD5, []byte{16})
		}, ErrProtocol, "MD5"},
		{"MSCHAPv2 op code of a request", "carol", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier, wire.EAPMSCHAPv2, mschapv2Data(wire.MSCHAPv2Challenge, l.Data[1], make([]byte, 17)))
		}, ErrProtocol, "op code"},
		{"MSCHAPv2 short response value", "carol", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier, wire.EAPMSCHAPv2, mschapv2Data(wire.MSCHAPv2Response, l.Data[1], []byte{49, 1, 2}))
		}, ErrProtocol, "value"},
		{"MSCHAPv2 wrong MS-CHAPv2-ID", "carol", func(l *wire.EAP) *wire.EAP {
			return response(l.Identifier, wire.EAPMSCHAPv2, mschapv2Data(wire.MSCHAPv2Response, l.Data[1]+1, make([]byte, 50)))
		}, ErrProtocol, "MS-CHAPv2-ID"},
		{"MSCHAPv2 bad MS-Length", "carol", func(l *wire.EAP) *wire.EAP {
			d := mschapv2Data(wire.MSCHAPv2Response, l.Data[1], make([]byte, 50))
			d[3]++
			return response(l.Identifier, wire.EAPMSCHAPv2, d)
		}, ErrProtocol, "malformed"},
		{"MSCHAPv2 oversized name", "carol", func(l *wire.EAP) *wire.EAP {
			body := append([]byte{49}, make([]byte, 49+300)...)
			return response(l.Identifier, wire.EAPMSCHAPv2, mschapv2Data(wire.MSCHAPv2Response, l.Data[1], body))
		}, ErrLimit, "user name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, cfg, tc.identity)
			s.expectFailure(tc.resp(s.last), tc.kind, tc.reason)
		})
	}
}

// A response replayed later in the conversation carries an old
// Identifier and ends it.
func TestServerRefusesReplayedResponse(t *testing.T) {
	ctx := context.Background()
	srv := mustServer(t, ServerConfig{Users: testUsers})
	cli := msClient(t, "carol", "carol-secret")
	req, _ := srv.Start()
	var sent []*wire.EAP
	for range 2 { // identity and MS-CHAPv2 response
		resp, _, _, err := cli.Next(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, resp)
		req, _, _, _ = srv.Next(ctx, resp)
	}
	s := &step{srv: srv, last: req, t: t}
	s.expectFailure(sent[1], ErrProtocol, "identifier")
}

// A Nak is accepted only as the first answer to a method (RFC 3748,
// Section 5.3.1).
func TestServerRefusesLateNak(t *testing.T) {
	p := tlsPKI(t)
	cfg := tlsServerConfig(t, p)
	cfg.Users, cfg.Methods = testUsers, []wire.EAPType{wire.EAPTLS, wire.EAPMSCHAPv2}
	s := startServer(t, cfg, "carol")
	// Answer the TLS start with a ClientHello-sized fragment, then Nak.
	s.send(response(s.last.Identifier, wire.EAPTLS, tlsTypeData(wire.TLSFlagLength|wire.TLSFlagMore, 2000, make([]byte, 100))))
	if s.last.EAPType != wire.EAPTLS {
		t.Fatalf("no acknowledgement: %s", s.last.Summary())
	}
	s.expectFailure(response(s.last.Identifier, wire.EAPNak, []byte{byte(wire.EAPMSCHAPv2)}), ErrProtocol, "NAK")
}

func TestServerRoundLimit(t *testing.T) {
	p := tlsPKI(t)
	cfg := tlsServerConfig(t, p)
	cfg.MaxRounds, cfg.MaxFragments = 5, 1000
	s := startServer(t, cfg, "carol") // the identity is the first response
	for i := range 4 {
		next, done, _ := s.send(response(s.last.Identifier, wire.EAPTLS, tlsTypeData(wire.TLSFlagMore, 0, []byte{22})))
		if done {
			t.Fatalf("ended after %d fragments: %s", i, next.Summary())
		}
	}
	s.expectFailure(response(s.last.Identifier, wire.EAPTLS, tlsTypeData(wire.TLSFlagMore, 0, []byte{22})), ErrLimit, "more than 5 responses")
}

func TestServerAPIMisuse(t *testing.T) {
	for name, cfg := range map[string]ServerConfig{
		"local": {Users: testUsers},
		// The misuse is refused before any RADIUS traffic: nothing listens.
		"radius relay": relayConfig("127.0.0.1:9"),
	} {
		t.Run(name, func(t *testing.T) {
			srv := mustServer(t, cfg)
			if _, _, _, err := srv.Next(context.Background(), response(0, wire.EAPIdentity, nil)); err == nil {
				t.Error("Next before Start accepted")
			}
			if _, err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Start(); err == nil {
				t.Error("second Start accepted")
			}
			if _, _, _, err := srv.Next(context.Background(), nil); err == nil {
				t.Error("nil packet accepted")
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	p := tlsPKI(t)
	for name, cfg := range map[string]ServerConfig{
		"nothing":           {},
		"TLS without trust": {Methods: []wire.EAPType{wire.EAPTLS}, Certificate: p.server.tlsCert()},
		"MSCHAPv2 no users": {Methods: []wire.EAPType{wire.EAPMSCHAPv2}},
		"unknown method":    {Users: testUsers, Methods: []wire.EAPType{wire.EAPMD5}},
		"twice":             {Users: testUsers, Methods: []wire.EAPType{wire.EAPMSCHAPv2, wire.EAPMSCHAPv2}},
		"tiny fragments":    {Users: testUsers, FragmentSize: -1},
		"TLS 1.1":           {Users: testUsers, TLSMinVersion: 0x0302},
		"radius no secret":  {RADIUS: &RADIUSConfig{Server: "127.0.0.1"}},
		"radius no server":  {RADIUS: &RADIUSConfig{Secret: []byte("x")}},
		"radius framed mtu": {RADIUS: &RADIUSConfig{Server: "127.0.0.1", Secret: []byte("x"), FramedMTU: 10}},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, cfg := range map[string]ClientConfig{
		"nothing":          {Identity: "carol"},
		"TLS no trust":     {Identity: "carol", Certificate: p.carol.tlsCert()},
		"MSCHAPv2 no pass": {Identity: "carol", Methods: []wire.EAPType{wire.EAPMSCHAPv2}},
		"long identity":    {Identity: strings.Repeat("x", 254), Password: "x"},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("client %s: accepted", name)
		}
	}
	s, err := NewServer(ServerConfig{Users: testUsers, Certificate: p.server.tlsCert(), Trust: p.clientVerifier(t)})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.(*server).cfg.methods; !slices.Equal(m, []wire.EAPType{wire.EAPMSCHAPv2, wire.EAPTLS}) {
		t.Errorf("default methods %v", m)
	}
}

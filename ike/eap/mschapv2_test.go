package eap

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

var testUsers = map[string][16]byte{"carol": NTHash("carol-secret"), "dave": NTHash("Passw0rd!")}

func msServer(t testing.TB) Server {
	return mustServer(t, ServerConfig{Users: testUsers})
}

func msClient(t testing.TB, identity, password string) Client {
	return mustClient(t, ClientConfig{Identity: identity, Password: password})
}

func TestMSCHAPv2Success(t *testing.T) {
	c := converse(t, msServer(t), msClient(t, "carol", "carol-secret"))
	want := []string{"EAP/REQ/ID", "EAP/RES/ID", "EAP/REQ/MSCHAPV2", "EAP/RES/MSCHAPV2",
		"EAP/REQ/MSCHAPV2", "EAP/RES/MSCHAPV2", "EAP/SUCC"}
	if !slices.Equal(c.trace, want) {
		t.Errorf("trace %v, want %v", c.trace, want)
	}
	if c.server == nil || !c.server.Success || !c.client.Success {
		t.Fatalf("server %+v client %+v", c.server, c.client)
	}
	if c.server.Identity != "carol" || c.server.Method != wire.EAPMSCHAPv2 || c.server.Err != nil {
		t.Errorf("server result %+v", c.server)
	}
	if len(c.server.MSK) != 64 || !bytes.Equal(c.server.MSK, c.client.MSK) {
		t.Fatalf("MSKs differ or are not 64 octets: %d %d", len(c.server.MSK), len(c.client.MSK))
	}
	if !bytes.Equal(c.server.MSK[32:], make([]byte, 32)) || bytes.Equal(c.server.MSK[:32], make([]byte, 32)) {
		t.Error("MSK is not recv|send|32 zero octets")
	}
}

// Two runs with the same password give different MSKs: both challenges
// are random.
func TestMSCHAPv2FreshKeys(t *testing.T) {
	a := converse(t, msServer(t), msClient(t, "carol", "carol-secret"))
	b := converse(t, msServer(t), msClient(t, "carol", "carol-secret"))
	if bytes.Equal(a.server.MSK, b.server.MSK) {
		t.Fatal("two conversations produced the same MSK")
	}
}

func TestMSCHAPv2WindowsDomainUser(t *testing.T) {
	c := converse(t, msServer(t), msClient(t, `IKELAB\carol`, "carol-secret"))
	if !c.server.Success || c.server.Identity != `IKELAB\carol` {
		t.Fatalf("domain user: %+v", c.server)
	}
}

func TestMSCHAPv2WrongPasswordAndUnknownUser(t *testing.T) {
	for _, tc := range []struct{ user, password, reason string }{
		{"carol", "wrong", "wrong password for user carol"},
		{"mallory", "carol-secret", "unknown user mallory"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			c := converse(t, msServer(t), msClient(t, tc.user, tc.password))
			want := []string{"EAP/REQ/ID", "EAP/RES/ID", "EAP/REQ/MSCHAPV2", "EAP/RES/MSCHAPV2",
				"EAP/REQ/MSCHAPV2", "EAP/RES/MSCHAPV2", "EAP/FAIL"}
			if !slices.Equal(c.trace, want) {
				t.Errorf("trace %v, want %v", c.trace, want)
			}
			if c.early == nil || c.early.Success || !strings.Contains(c.early.Reason, tc.reason) {
				t.Errorf("early verdict %+v, want %q", c.early, tc.reason)
			}
			if c.server.Success || !errors.Is(c.server.Err, ErrCredentials) || !strings.Contains(c.server.Reason, tc.reason) {
				t.Errorf("server result %+v", c.server)
			}
			if c.server.MSK != nil {
				t.Error("failed conversation has an MSK")
			}
			if c.client.Success || !strings.Contains(c.client.Reason, "error 691") {
				t.Errorf("client result %+v, want the 691 failure", c.client)
			}
		})
	}
}

// The client refuses a server that cannot prove it knows the password
// hash (RFC 2759, Section 5): mutual authentication.
func TestMSCHAPv2ClientRefusesImpostor(t *testing.T) {
	ctx := context.Background()
	cli := msClient(t, "carol", "carol-secret")
	impostor := mustServer(t, ServerConfig{Users: map[string][16]byte{"carol": NTHash("carol-secret")}})
	req, _ := impostor.Start()
	for range 2 { // identity, then challenge
		resp, _, _, _ := cli.Next(ctx, viaWire(t, req))
		req, _, _, _ = impostor.Next(ctx, viaWire(t, resp))
	}
	// req is the Success request; corrupt its authenticator response.
	p, err := req.MSCHAPv2()
	if err != nil || p.OpCode != wire.MSCHAPv2Success {
		t.Fatalf("expected a success request, got %v %v", p, err)
	}
	forged := bytes.Clone(req.Data)
	forged[4+2] ^= 1 // a hex digit of S=
	if forged[6] == 'S' || forged[6] == '=' {
		t.Fatal("test corrupts the wrong octet")
	}
	req.Data = forged
	resp, done, res, err := cli.Next(ctx, viaWire(t, req))
	if err != nil || !done || resp != nil || res.Success || !errors.Is(res.Err, ErrCredentials) {
		t.Fatalf("client accepted a forged authenticator response: resp %v done %v res %+v err %v", resp, done, res, err)
	}
}

func TestClientRefusesPrematureSuccess(t *testing.T) {
	ctx := context.Background()
	cli := msClient(t, "carol", "carol-secret")
	if _, _, _, err := cli.Next(ctx, request(7, wire.EAPIdentity, nil)); err != nil {
		t.Fatal(err)
	}
	_, done, res, err := cli.Next(ctx, &wire.EAP{Code: wire.EAPSuccess, Identifier: 7})
	if err != nil || !done || res.Success || !errors.Is(res.Err, ErrProtocol) || res.MSK != nil {
		t.Fatalf("premature EAP-Success accepted: done %v res %+v err %v", done, res, err)
	}
	if _, _, _, err := cli.Next(ctx, request(8, wire.EAPIdentity, nil)); !errors.Is(err, ErrDone) {
		t.Errorf("Next after done: %v", err)
	}
}

// A retransmitted request gets the identical response (RFC 3748, Section
// 4.1), with no new challenge.
func TestClientAnswersRetransmissionAlike(t *testing.T) {
	ctx := context.Background()
	srv, cli := msServer(t), msClient(t, "carol", "carol-secret")
	req, _ := srv.Start()
	resp, _, _, _ := cli.Next(ctx, req)
	ch, _, _, _ := srv.Next(ctx, resp)
	r1, _, _, err1 := cli.Next(ctx, viaWire(t, ch))
	r2, _, _, err2 := cli.Next(ctx, viaWire(t, ch))
	if err1 != nil || err2 != nil || !bytes.Equal(r1.Data, r2.Data) || r1.Identifier != r2.Identifier {
		t.Fatalf("retransmission answered differently: %v %v", err1, err2)
	}
	next, done, _, _ := srv.Next(ctx, r2)
	if done || next.Code != wire.EAPRequest {
		t.Fatalf("server refused the response: %s", next.Summary())
	}
}

func TestClientNotificationAndBadRequests(t *testing.T) {
	ctx := context.Background()
	cli := msClient(t, "carol", "carol-secret")
	resp, done, _, err := cli.Next(ctx, request(1, wire.EAPNotification, []byte("maintenance at 5")))
	if err != nil || done || resp.EAPType != wire.EAPNotification || len(resp.Data) != 0 || resp.Identifier != 1 {
		t.Fatalf("notification: %v %v %v", resp, done, err)
	}
	_, done, res, _ := cli.Next(ctx, &wire.EAP{Code: wire.EAPResponse, Identifier: 2, EAPType: wire.EAPIdentity})
	if !done || res.Success || !errors.Is(res.Err, ErrProtocol) {
		t.Fatalf("a response sent to the client: %+v", res)
	}
}

package eap

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// recorder keeps every packet of a conversation, to seed the fuzzers with
// real traffic.
type recorder struct {
	Server
	requests, responses [][]byte
}

func (r *recorder) Start() (*wire.EAP, error) {
	p, err := r.Server.Start()
	r.keep(&r.requests, p)
	return p, err
}

func (r *recorder) Next(ctx context.Context, resp *wire.EAP) (*wire.EAP, bool, *Result, error) {
	r.keep(&r.responses, resp)
	next, done, res, err := r.Server.Next(ctx, resp)
	r.keep(&r.requests, next)
	return next, done, res, err
}

func (r *recorder) keep(to *[][]byte, p *wire.EAP) {
	if p == nil {
		return
	}
	if b, err := Marshal(p); err == nil {
		*to = append(*to, b)
	}
}

// recorded runs an MSCHAPv2 and an EAP-TLS conversation (small fragments)
// and returns their packets.
func recorded(t testing.TB) (requests, responses [][]byte) {
	p := newTestPKI(t)
	cv, sv := p.clientVerifier(t), p.serverVerifier(t)
	ms := &recorder{Server: mustServer(t, ServerConfig{Users: testUsers})}
	converse(t, ms, mustClient(t, ClientConfig{Identity: "carol", Password: "carol-secret"}))
	tl := &recorder{Server: mustServer(t, ServerConfig{Methods: []wire.EAPType{wire.EAPTLS}, Certificate: p.server.tlsCert(),
		Trust: cv, FragmentSize: 400})}
	converse(t, tl, mustClient(t, ClientConfig{Identity: "carol", Certificate: p.carol.tlsCert(), Trust: sv, FragmentSize: 400}))
	return append(ms.requests, tl.requests...), append(ms.responses, tl.responses...)
}

// packets splits fuzz input into packets: a 2-octet length, a control
// octet whose low bit asks for the expected Identifier, then the packet.
func packets(b []byte) (out [][]byte, fixID []bool) {
	for len(b) >= 3 {
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		ctl := b[0]
		b = b[1:]
		n = min(n, len(b))
		out, fixID = append(out, b[:n]), append(fixID, ctl&1 != 0)
		b = b[n:]
	}
	return out, fixID
}

func joinPackets(ps ...[]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, 1)
		b = append(b, p...)
	}
	return b
}

func FuzzParse(f *testing.F) {
	req, resp := recorded(f)
	for _, p := range append(req, resp...) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		out, err := Marshal(p)
		if err != nil {
			t.Fatalf("parsed packet does not marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, out)
		}
		// Method framing decoders must not panic either.
		p.TLS()
		p.MSCHAPv2()
	})
}

// fuzzServer feeds the fuzz packets to a fresh server after Start. The
// server must never panic, return an error before it is done, or succeed.
func fuzzServer(f *testing.F, cfg func(testing.TB) ServerConfig) {
	_, resp := recorded(f)
	f.Add(joinPackets(resp[:3]...))
	f.Add(joinPackets(resp[3:]...))
	f.Add(joinPackets(resp...))
	f.Fuzz(func(t *testing.T, b []byte) {
		srv, err := NewServer(cfg(t))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		last, err := srv.Start()
		if err != nil {
			t.Fatal(err)
		}
		ps, fix := packets(b)
		for i, raw := range ps {
			p, err := Parse(raw)
			if err != nil {
				continue // the IKE codec refuses it before EAP sees it
			}
			if fix[i] {
				p.Identifier = last.Identifier
			}
			next, done, res, err := srv.Next(ctx, p)
			if err != nil {
				t.Fatalf("Next returned an error before the end: %v", err)
			}
			if done {
				if res == nil || next == nil || (next.Code != wire.EAPSuccess && next.Code != wire.EAPFailure) {
					t.Fatalf("done with %v %+v", next, res)
				}
				if res.Success && res.Method != wire.EAPTLS {
					t.Fatalf("fuzzed responses authenticated: %+v", res)
				}
				return
			}
			last = viaWire(t, next)
		}
	})
}

func FuzzServerMSCHAPv2(f *testing.F) {
	fuzzServer(f, func(testing.TB) ServerConfig { return ServerConfig{Users: testUsers} })
}

var fuzzPKI *testPKI

func FuzzServerTLS(f *testing.F) {
	fuzzPKI = newTestPKI(f)
	trust := fuzzPKI.clientVerifier(f)
	fuzzServer(f, func(testing.TB) ServerConfig {
		return ServerConfig{Methods: []wire.EAPType{wire.EAPTLS, wire.EAPMSCHAPv2}, Users: testUsers,
			Certificate: fuzzPKI.server.tlsCert(), Trust: trust, FragmentSize: 400, IdleTimeout: time.Second}
	})
}

// FuzzClient feeds requests to a client that accepts both methods.
func FuzzClient(f *testing.F) {
	req, _ := recorded(f)
	f.Add(joinPackets(req...))
	p := newTestPKI(f)
	sv := p.serverVerifier(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		cli, err := NewClient(ClientConfig{Identity: "carol", Password: "carol-secret", Certificate: p.carol.tlsCert(),
			Trust: sv, IdleTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ps, _ := packets(b)
		for _, raw := range ps {
			p, err := Parse(raw)
			if err != nil {
				continue
			}
			resp, done, res, err := cli.Next(ctx, p)
			if err != nil {
				t.Fatalf("Next returned an error before the end: %v", err)
			}
			if done {
				if res.Success {
					t.Fatalf("fuzzed requests authenticated the server: %+v", res)
				}
				return
			}
			viaWire(t, resp)
		}
	})
}

func FuzzReassembler(f *testing.F) {
	fr := fragmenter{size: 100}
	fr.load(make([]byte, 350))
	var seed [][]byte
	for fr.pending() {
		seed = append(seed, fr.next())
	}
	f.Add(joinPackets(seed...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := reassembler{maxMsg: 2048, maxFrags: 8}
		ps, _ := packets(b)
		total := 0
		for _, raw := range ps {
			fr, err := parseTLS(raw)
			if err != nil {
				continue
			}
			msg, done, err := r.add(fr)
			if err != nil {
				return
			}
			total++
			if done && (len(msg) == 0 || len(msg) > 2048) {
				t.Fatalf("message of %d octets", len(msg))
			}
			if total > 8 && !done {
				t.Fatal("more than 8 fragments accepted")
			}
			if done {
				total = 0
			}
		}
	})
}

// FuzzRADIUS decodes packets and every value the relay reads from them.
func FuzzRADIUS(f *testing.F) {
	var auth [16]byte
	p := &radiusPacket{code: radiusAccessAccept, id: 1}
	p.add(attrMessageAuthenticator, make([]byte, 16))
	p.add(attrEAPMessage, []byte{3, 1, 0, 4})
	p.add(attrVendorSpecific, mppeVSA(msMPPERecvKey, encryptMPPEKey(make([]byte, 32), []byte("s"), auth, [2]byte{0x80, 0})))
	p.add(attrState, []byte("state"))
	raw, _ := p.marshal()
	f.Add(raw)
	f.Add(unhex(f, "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseRADIUS(b)
		if err != nil {
			return
		}
		out, err := p.marshal()
		length := int(binary.BigEndian.Uint16(b[2:]))
		if err != nil || !bytes.Equal(out, b[:length]) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		for _, v := range append(p.vendor(vendorMicrosoft, msMPPERecvKey), p.vendor(vendorMicrosoft, msMPPESendKey)...) {
			decryptMPPEKey(v, []byte("s"), auth)
		}
		verifyResponse(b, p, auth, []byte("s"))
		// The relay's handling of any reply.
		cfg, err := (&ServerConfig{RADIUS: &RADIUSConfig{Server: "127.0.0.1", Secret: []byte("s")}}).settings()
		if err != nil {
			t.Fatal(err)
		}
		r := newRelay(cfg)
		r.state = srvMethod
		next, done, res, err := r.answer(p, auth)
		if err != nil || (done && (res == nil || next == nil)) || (!done && next == nil) {
			t.Fatalf("answer: %v %v %+v %v", next, done, res, err)
		}
	})
}

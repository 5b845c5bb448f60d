package eap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// relay is the Server that passes the conversation to a RADIUS server
// (RFC 3579): "pass-through" mode, in which the NAS (here the IKE
// responder) asks for the identity itself (RFC 3579, Section 2.1) and
// then forwards each EAP response in an Access-Request, and each
// EAP packet of the Access-Challenge/-Accept/-Reject to the peer.
type relay struct {
	cfg      *serverSettings
	r        *RADIUSConfig
	state    serverState
	id       uint8 // Identifier of the outstanding EAP request
	respID   uint8
	identity string
	radState []byte // State of the last Access-Challenge, echoed back
	method   wire.EAPType
	rounds   int
	result   *Result
	log      *slog.Logger
}

func newRelay(cfg *serverSettings) *relay {
	return &relay{cfg: cfg, r: cfg.radius, log: cfg.log.With("eap", "radius", "server", cfg.radius.Server)}
}

func (s *relay) Start() (*wire.EAP, error) {
	if s.state != srvNew {
		return nil, errors.New("eap: Start called twice")
	}
	var b [1]byte
	if _, err := io.ReadFull(s.cfg.rand, b[:]); err != nil {
		return nil, fmt.Errorf("eap: random identifier: %w", err)
	}
	s.id, s.state = b[0], srvIdentity
	return request(s.id, wire.EAPIdentity, nil), nil
}

func (s *relay) Close() error { return nil }

func (s *relay) Next(ctx context.Context, resp *wire.EAP) (*wire.EAP, bool, *Result, error) {
	if done, res, err := refuseNext(s.state, s.result, resp); err != nil {
		return nil, done, res, err
	}
	s.rounds++
	s.respID = resp.Identifier
	switch {
	case s.rounds > s.cfg.maxRounds:
		return s.fail(failf(ErrLimit, nil, "more than %d responses", s.cfg.maxRounds))
	case resp.Code != wire.EAPResponse:
		return s.fail(failf(ErrProtocol, nil, "expected a response, got %s", resp.Summary()))
	case resp.Identifier != s.id:
		// The RADIUS server would refuse it too, but one round trip later.
		return s.fail(failf(ErrProtocol, nil, "response identifier %d, the outstanding request has %d", resp.Identifier, s.id))
	}
	if s.state == srvIdentity {
		if resp.EAPType != wire.EAPIdentity {
			return s.fail(failf(ErrProtocol, nil, "response of type %s to the identity request", resp.EAPType))
		}
		id := bytes.TrimRight(resp.Data, "\x00")
		if len(id) > maxIdentity {
			return s.fail(failf(ErrLimit, nil, "identity of %d octets", len(id)))
		}
		s.identity, s.state = string(id), srvMethod
	}
	raw, err := Marshal(resp)
	if err != nil {
		return s.fail(failf(ErrProtocol, err, "response does not encode"))
	}
	reply, reqAuth, err := s.roundTrip(ctx, raw)
	if err != nil {
		return s.fail(err)
	}
	return s.answer(reply, reqAuth)
}

// answer turns the RADIUS reply into the EAP packet for the peer (RFC
// 3579, Section 2.6).
func (s *relay) answer(reply *radiusPacket, reqAuth [16]byte) (*wire.EAP, bool, *Result, error) {
	var pkt *wire.EAP
	if raw := reply.concat(attrEAPMessage); len(raw) > 0 {
		p, err := Parse(raw)
		if err != nil {
			return s.fail(failf(ErrRADIUS, err, "radius server sent a bad EAP packet"))
		}
		pkt = p
	}
	switch reply.code {
	case radiusAccessChallenge:
		if pkt == nil || pkt.Code != wire.EAPRequest {
			return s.fail(failf(ErrRADIUS, nil, "Access-Challenge without an EAP request"))
		}
		// RFC 2865, Section 5.24: State is echoed unmodified.
		st, _ := reply.get(attrState)
		s.radState = bytes.Clone(st)
		s.id = pkt.Identifier
		if pkt.EAPType != wire.EAPIdentity && pkt.EAPType != wire.EAPNotification {
			s.method = pkt.EAPType
		}
		if res := s.earlyVerdict(pkt); res != nil {
			s.log.Info("EAP method failed at the radius server, telling the peer", "method", res.Method,
				"identity", sanitize(res.Identity), "reason", res.Reason)
			return pkt, false, res, nil
		}
		return pkt, false, nil, nil
	case radiusAccessAccept:
		// RFC 3579, Section 2.6.3: an Accept carrying EAP-Failure denies.
		if pkt != nil && pkt.Code != wire.EAPSuccess {
			return s.fail(failf(ErrRADIUS, nil, "Access-Accept with %s", pkt.Summary()))
		}
		msk, err := s.msk(reply, reqAuth)
		if err != nil {
			return s.fail(err)
		}
		identity := s.identity
		if u, ok := reply.get(attrUserName); ok && len(u) > 0 {
			identity = string(u)
		}
		res := &Result{Success: true, Identity: identity, Method: s.method, MSK: msk,
			Reason: fmt.Sprintf("radius: Access-Accept after %s", s.method)}
		return s.finish(res)
	case radiusAccessReject:
		reason := "Access-Reject"
		if m, ok := reply.get(attrReplyMessage); ok {
			reason += ": " + sanitize(string(m))
		}
		return s.fail(failf(ErrRejected, nil, "radius: %s", reason))
	}
	return s.fail(failf(ErrRADIUS, nil, "radius reply code %d", reply.code))
}

// earlyVerdict recognises a refusal that the RADIUS server sends one round
// before EAP-Failure: an MS-CHAPv2 Failure Request (RFC 2759, Section 6;
// FreeRADIUS with send_error = yes), which the peer is meant to acknowledge
// first. Windows and strongSwan never do (see Server.Next), so the caller
// must learn the verdict now, as it does from the local server.
func (s *relay) earlyVerdict(pkt *wire.EAP) *Result {
	if pkt.EAPType != wire.EAPMSCHAPv2 {
		return nil
	}
	p, err := parseMSCHAPv2(pkt.Data)
	if err != nil || p.OpCode != wire.MSCHAPv2Failure {
		return nil
	}
	err = failf(ErrRejected, nil, "radius: MS-CHAPv2 Failure Request: %s", sanitize(failureText(string(p.Data))))
	return &Result{Identity: s.identity, Method: wire.EAPMSCHAPv2, Reason: err.Error(), Err: err}
}

// msk is MS-MPPE-Recv-Key | MS-MPPE-Send-Key (RFC 3579, Section 2.6.3
// and RFC 5216, Section 2.3, which name the first 32 MSK octets the
// Recv-Key and the next 32 the Send-Key).
func (s *relay) msk(reply *radiusPacket, reqAuth [16]byte) ([]byte, error) {
	recv := reply.vendor(vendorMicrosoft, msMPPERecvKey)
	send := reply.vendor(vendorMicrosoft, msMPPESendKey)
	if len(recv) != 1 || len(send) != 1 {
		// Both methods run here derive keys; accepting without them
		// would leave the IKE AUTH unbound to the EAP run.
		return nil, failf(ErrRADIUS, nil, "Access-Accept with %d MS-MPPE-Recv-Key and %d MS-MPPE-Send-Key attributes, want one each", len(recv), len(send))
	}
	r, err := decryptMPPEKey(recv[0], s.r.Secret, reqAuth)
	if err != nil {
		return nil, failf(ErrRADIUS, err, "MS-MPPE-Recv-Key")
	}
	sk, err := decryptMPPEKey(send[0], s.r.Secret, reqAuth)
	if err != nil {
		return nil, failf(ErrRADIUS, err, "MS-MPPE-Send-Key")
	}
	return append(r, sk...), nil
}

func (s *relay) finish(res *Result) (*wire.EAP, bool, *Result, error) {
	if res.Method == 0 {
		res.Method = s.method
	}
	if res.Identity == "" {
		res.Identity = s.identity
	}
	s.state, s.result = srvDone, res
	if res.Success {
		s.log.Info("EAP succeeded", "method", res.Method, "identity", sanitize(res.Identity))
		return &wire.EAP{Code: wire.EAPSuccess, Identifier: s.respID}, true, res, nil
	}
	s.log.Info("EAP failed", "method", res.Method, "identity", sanitize(res.Identity), "reason", res.Reason)
	return &wire.EAP{Code: wire.EAPFailure, Identifier: s.respID}, true, res, nil
}

func (s *relay) fail(err error) (*wire.EAP, bool, *Result, error) {
	return s.finish(&Result{Reason: err.Error(), Err: err})
}

// request builds the Access-Request that carries one EAP response.
func (s *relay) request(eap []byte) (*radiusPacket, error) {
	var b [17]byte
	if _, err := io.ReadFull(s.cfg.rand, b[:]); err != nil {
		return nil, fmt.Errorf("eap: radius authenticator: %w", err)
	}
	p := &radiusPacket{code: radiusAccessRequest, id: b[16]}
	copy(p.auth[:], b[:16])
	// Message-Authenticator first: RFC 3579, Section 3.2 requires it with
	// EAP-Message, and first is the Blast-RADIUS advice.
	p.add(attrMessageAuthenticator, make([]byte, 16))
	if s.identity != "" {
		p.add(attrUserName, []byte(s.identity))
	}
	p.add(attrNASIdentifier, []byte(s.r.NASIdentifier))
	if a := s.r.NASIPAddress; a.Is4() || a.Is4In6() {
		ip := a.Unmap().As4()
		p.add(attrNASIPAddress, ip[:])
	}
	p.addUint32(attrServiceType, serviceTypeFramed)
	p.addUint32(attrNASPortType, nasPortTypeVirtual)
	if s.cfg.calling != "" && len(s.cfg.calling) <= radiusMaxValue {
		p.add(attrCallingStationID, []byte(s.cfg.calling))
	}
	if s.r.FramedMTU != 0 {
		p.addUint32(attrFramedMTU, uint32(s.r.FramedMTU))
	}
	if len(s.radState) > 0 {
		p.add(attrState, s.radState)
	}
	p.add(attrEAPMessage, eap)
	return p, nil
}

// roundTrip sends one Access-Request and returns the first valid reply.
// A lost request or reply is retransmitted unchanged (RFC 5080, Section
// 2.2.1) Retries times after Timeout each; replies that do not verify are
// dropped silently (RFC 2865, Section 3) and the wait goes on.
func (s *relay) roundTrip(ctx context.Context, eap []byte) (*radiusPacket, [16]byte, error) {
	req, err := s.request(eap)
	if err != nil {
		return nil, [16]byte{}, err
	}
	raw, err := req.marshal()
	if err != nil {
		return nil, req.auth, failf(ErrLimit, err, "EAP response does not fit a radius packet")
	}
	signRequest(raw, req, s.r.Secret)

	conn, err := s.r.Dial("udp", s.r.Server)
	if err != nil {
		return nil, req.auth, failf(ErrRADIUS, err, "radius socket")
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, radiusMaxPacket)
	var lastErr error
	for attempt := 0; attempt <= s.r.Retries; attempt++ {
		if attempt > 0 {
			s.log.Debug("radius retransmission", "attempt", attempt+1)
		}
		if _, err := conn.Write(raw); err != nil {
			lastErr = err
		}
		deadline := time.Now().Add(s.r.Timeout)
		for {
			if ctx.Err() != nil {
				return nil, req.auth, failf(ErrRADIUS, ctx.Err(), "radius exchange abandoned")
			}
			conn.SetReadDeadline(deadline)
			n, err := conn.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					// An ICMP error on the connected socket (nothing
					// listens): wait out the attempt, then resend.
					lastErr = err
					sleepUntil(ctx, deadline)
				}
				break
			}
			reply, err := s.accept(buf[:n], req)
			if err != nil {
				lastErr = err
				s.log.Warn("radius reply dropped", "err", err)
				continue
			}
			return reply, req.auth, nil
		}
	}
	if lastErr == nil {
		lastErr = os.ErrDeadlineExceeded
	}
	return nil, req.auth, failf(ErrRADIUS, lastErr, "no valid answer from radius server %s after %d attempts", s.r.Server, s.r.Retries+1)
}

// accept parses and authenticates a reply to req.
func (s *relay) accept(b []byte, req *radiusPacket) (*radiusPacket, error) {
	reply, err := parseRADIUS(b)
	if err != nil {
		return nil, err
	}
	if reply.id != req.id {
		return nil, fmt.Errorf("eap: radius reply identifier %d for request %d", reply.id, req.id)
	}
	if err := verifyResponse(b, reply, req.auth, s.r.Secret); err != nil {
		return nil, err
	}
	return reply, nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

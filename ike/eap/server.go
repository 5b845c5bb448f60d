package eap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/ikelab/ikelab/ike/wire"
)

// serverState is the authenticator's position in the conversation.
type serverState uint8

const (
	srvNew      serverState = iota // Start not called yet
	srvIdentity                    // EAP-Request/Identity sent
	srvMethod                      // a method runs
	srvDone                        // Success or Failure sent
)

func (s serverState) String() string {
	switch s {
	case srvNew:
		return "new"
	case srvIdentity:
		return "identity"
	case srvMethod:
		return "method"
	case srvDone:
		return "done"
	}
	return fmt.Sprintf("serverState(%d)", uint8(s))
}

// refuseNext is what both authenticators' Next answer before looking at
// resp: a finished conversation repeats its result with ErrDone; Next
// before Start and a nil packet are the caller's errors. A nil error means
// none of these applies and Next goes on.
func refuseNext(state serverState, result *Result, resp *wire.EAP) (done bool, res *Result, err error) {
	switch {
	case state == srvDone:
		return true, result, ErrDone
	case state == srvNew:
		return false, nil, errors.New("eap: Next before Start")
	case resp == nil:
		return false, nil, errors.New("eap: Next with a nil packet")
	}
	return false, nil, nil
}

// serverMethod is one method on the authenticator side.
type serverMethod interface {
	// start returns the Type-Data of the method's first request.
	start() ([]byte, error)
	// process consumes the Type-Data of a response. It returns the
	// Type-Data of the next request, or nil with the final result. A
	// failed result together with a request is the verdict sent one round
	// early (the method's own failure message). err is a protocol
	// violation: the conversation ends with EAP-Failure.
	process(ctx context.Context, data []byte) (next []byte, res *Result, err error)
	// close releases resources (the TLS goroutine).
	close()
}

// server is the local authenticator.
type server struct {
	cfg      *serverSettings
	state    serverState
	id       uint8 // Identifier of the outstanding request
	respID   uint8 // Identifier of the response being answered
	identity string
	offered  []wire.EAPType // still untried, in order
	current  wire.EAPType
	method   serverMethod
	answered bool // the current method processed a response: no Nak any more
	rounds   int
	verdict  *Result // failure decided while the method still talks
	result   *Result
	log      *slog.Logger
}

// NewServer returns the authenticator for one conversation; with
// cfg.RADIUS set, a relay (see the package documentation).
func NewServer(cfg ServerConfig) (Server, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if s.radius != nil {
		return newRelay(s), nil
	}
	return &server{cfg: s, offered: slices.Clone(s.methods), log: s.log.With("eap", "server")}, nil
}

func (s *server) Start() (*wire.EAP, error) {
	if s.state != srvNew {
		return nil, errors.New("eap: Start called twice")
	}
	var b [1]byte
	if _, err := s.cfg.rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("eap: random identifier: %w", err)
	}
	s.id = b[0] - 1 // send increments it
	s.state = srvIdentity
	return s.send(wire.EAPIdentity, nil), nil
}

// send returns the next request, with a new Identifier (RFC 3748,
// Section 4.1).
func (s *server) send(t wire.EAPType, data []byte) *wire.EAP {
	s.id++
	return request(s.id, t, data)
}

func (s *server) Close() error {
	if s.method != nil {
		s.method.close()
	}
	return nil
}

func (s *server) Next(ctx context.Context, resp *wire.EAP) (*wire.EAP, bool, *Result, error) {
	if done, res, err := refuseNext(s.state, s.result, resp); err != nil {
		return nil, done, res, err
	}
	s.rounds++
	s.respID = resp.Identifier
	if s.rounds > s.cfg.maxRounds {
		return s.fail(failf(ErrLimit, nil, "more than %d responses", s.cfg.maxRounds))
	}
	if err := s.check(resp); err != nil {
		return s.fail(err)
	}
	if s.state == srvIdentity {
		return s.identityResponse(resp.Data)
	}
	if resp.EAPType == wire.EAPNak {
		return s.nak(resp.Data)
	}
	s.answered = true
	next, res, err := s.method.process(ctx, resp.Data)
	switch {
	case err != nil:
		return s.fail(err)
	case next != nil:
		if res != nil {
			s.verdict = s.fill(res)
			s.log.Info("EAP method failed, telling the peer", "method", s.current, "identity", sanitize(s.identity), "reason", res.Reason)
		}
		return s.send(s.current, next), false, res, nil
	case res == nil:
		return s.fail(failf(ErrProtocol, nil, "method %s ended without a result", s.current))
	}
	return s.finish(res)
}

// check applies RFC 3748, Sections 4.1 and 5: a Response to the
// outstanding Request, with its Identifier and Type (or a Nak).
func (s *server) check(resp *wire.EAP) error {
	if resp.Code != wire.EAPResponse {
		return failf(ErrProtocol, nil, "expected a response, got %s", resp.Summary())
	}
	if resp.Identifier != s.id {
		// Duplicates are answered by the IKE layer from its cache, so an
		// old Identifier here is a replayed or forged response.
		return failf(ErrProtocol, nil, "response identifier %d, the outstanding request has %d", resp.Identifier, s.id)
	}
	want := wire.EAPIdentity
	if s.state == srvMethod {
		want = s.current
	}
	if resp.EAPType == want {
		return nil
	}
	if resp.EAPType == wire.EAPNak && s.state == srvMethod && !s.answered {
		// RFC 3748, Section 5.3.1: a Nak answers the first request of a
		// method the peer does not want.
		return nil
	}
	return failf(ErrProtocol, nil, "response of type %s to a %s request", resp.EAPType, want)
}

func (s *server) identityResponse(data []byte) (*wire.EAP, bool, *Result, error) {
	// RFC 3748, Section 5.1: the identity is not NUL-terminated, but
	// some peers add one.
	data = bytes.TrimRight(data, "\x00")
	if len(data) > maxIdentity {
		return s.fail(failf(ErrLimit, nil, "identity of %d octets", len(data)))
	}
	s.identity = string(data)
	s.log.Debug("EAP identity received", "identity", sanitize(s.identity))
	return s.startMethod(s.offered[0])
}

func (s *server) startMethod(t wire.EAPType) (*wire.EAP, bool, *Result, error) {
	if s.method != nil {
		s.method.close()
	}
	s.offered = slices.DeleteFunc(s.offered, func(m wire.EAPType) bool { return m == t })
	s.current, s.answered, s.state = t, false, srvMethod
	switch t {
	case wire.EAPMSCHAPv2:
		// The Challenge's MS-CHAPv2-ID is its EAP Identifier, as in
		// strongSwan; the peer echoes it in its Response.
		s.method = newMSCHAPv2Server(s.cfg, s.id+1)
	case wire.EAPTLS:
		s.method = newTLSServer(s.cfg)
	}
	data, err := s.method.start()
	if err != nil {
		return s.fail(err)
	}
	return s.send(t, data), false, nil, nil
}

// nak honours a Legacy Nak (RFC 3748, Section 5.3.1): the first type the
// peer desires that we offer and have not tried.
func (s *server) nak(data []byte) (*wire.EAP, bool, *Result, error) {
	wanted := make([]wire.EAPType, len(data))
	for i, t := range data {
		wanted[i] = wire.EAPType(t)
	}
	for _, t := range wanted {
		if slices.Contains(s.offered, t) {
			s.log.Debug("EAP method refused by the peer", "refused", s.current, "wanted", typeList(wanted), "next", t)
			return s.startMethod(t)
		}
	}
	offered := slices.Clone(s.cfg.methods)
	return s.fail(&NegotiationError{Offered: offered, Wanted: wanted})
}

// fill completes a method's result with the method and the identity.
func (s *server) fill(res *Result) *Result {
	if res.Method == 0 {
		res.Method = s.current
	}
	if res.Identity == "" {
		res.Identity = s.identity
	}
	return res
}

func (s *server) finish(res *Result) (*wire.EAP, bool, *Result, error) {
	if s.verdict != nil {
		// The verdict announced earlier stands, with its reason; a
		// method cannot turn it into success.
		res = s.verdict
	}
	res = s.fill(res)
	s.method.close()
	s.state, s.result = srvDone, res
	if res.Success {
		s.log.Info("EAP succeeded", "method", res.Method, "identity", sanitize(res.Identity))
		return &wire.EAP{Code: wire.EAPSuccess, Identifier: s.respID}, true, res, nil
	}
	s.log.Info("EAP failed", "method", res.Method, "identity", sanitize(res.Identity), "reason", res.Reason)
	return &wire.EAP{Code: wire.EAPFailure, Identifier: s.respID}, true, res, nil
}

// fail ends the conversation with EAP-Failure (RFC 3748, Section 4.2: its
// Identifier is that of the response being answered). A verdict the method
// already announced keeps its reason.
func (s *server) fail(err error) (*wire.EAP, bool, *Result, error) {
	res := s.verdict
	if res == nil {
		res = &Result{Reason: err.Error(), Err: err}
	}
	if s.method == nil {
		s.method = nopMethod{}
	}
	return s.finish(res)
}

type nopMethod struct{}

func (nopMethod) start() ([]byte, error) { return nil, nil }
func (nopMethod) process(context.Context, []byte) ([]byte, *Result, error) {
	return nil, nil, nil
}
func (nopMethod) close() {}

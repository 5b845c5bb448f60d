package eap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
)

// Server runs one EAP conversation as the authenticator (the IKE responder).
// It is not safe for concurrent use; one IKE SA owns one Server.
type Server interface {
	// Start returns the first request, EAP-Request/Identity (RFC 3748,
	// Section 5.1). It may be called once.
	Start() (*wire.EAP, error)
	// Next consumes the peer's response and returns the next packet to
	// send: a Request, or EAP-Success / EAP-Failure with done set and res
	// the outcome. ctx bounds certificate checks (CRL fetches) and RADIUS
	// round trips.
	//
	// A non-nil res with done false is a verdict reached one round early:
	// the method failed and next is its own failure message (an
	// MS-CHAPv2 Failure Request, or a TLS alert), which the peer is meant
	// to acknowledge before EAP-Failure. Windows and strongSwan never
	// acknowledge it, so the caller records the verdict at once.
	//
	// err is non-nil only when the call itself is wrong (Next after done,
	// a nil packet); every protocol failure of the peer is answered with
	// EAP-Failure and explained in res.
	Next(ctx context.Context, resp *wire.EAP) (next *wire.EAP, done bool, res *Result, err error)
	// Close releases the TLS handshake goroutine of an unfinished
	// conversation (an IKE SA deleted during EAP). It is idempotent and
	// needed only if Next never reported done.
	Close() error
}

// Client runs one EAP conversation as the peer (the IKE initiator).
type Client interface {
	// Next consumes the authenticator's packet and returns the response
	// to send. On EAP-Success or EAP-Failure it returns done with the
	// outcome and no response. If the client itself refuses to go on (a
	// server that fails mutual authentication), it returns done, a failed
	// res and no response: the initiator abandons the IKE SA.
	Next(ctx context.Context, req *wire.EAP) (resp *wire.EAP, done bool, res *Result, err error)
	// Close releases the TLS handshake goroutine of an unfinished
	// conversation.
	Close() error
}

// Result is the outcome of an EAP conversation.
type Result struct {
	// Success is the verdict.
	Success bool
	// Identity is the authenticated user: the MS-CHAPv2 user name, the
	// RADIUS User-Name of an Access-Accept, or else the EAP identity.
	Identity string
	// Method is the method that ran (the last one, after a Nak).
	Method wire.EAPType
	// MSK is the Master Session Key (RFC 3748, Section 7.10; RFC 5247),
	// the shared secret of the IKE AUTH payloads that follow EAP (RFC
	// 7296, Section 2.16). 64 octets, except relayed MSCHAPv2 keys, which
	// are the 32 octets of the two MPPE keys (equivalent as an HMAC key).
	// Never log it.
	MSK []byte
	// Reason is one line for the audit record.
	Reason string
	// Err is the failure, wrapping one of the sentinels below; nil on
	// success.
	Err error
	// Certificate is the trust decision on the EAP-TLS peer's certificate
	// (on a Client: on the server's certificate), when one was judged.
	Certificate *trust.Decision
}

// Sentinel errors carried in Result.Err (test with errors.Is).
var (
	// ErrProtocol: a malformed packet, an unexpected code, type or
	// identifier, a replayed response or a Nak out of turn.
	ErrProtocol = errors.New("eap: protocol violation")
	// ErrNegotiation: no method both sides accept; the error is a
	// *NegotiationError.
	ErrNegotiation = errors.New("eap: no acceptable method")
	// ErrCredentials: unknown user or wrong password (the peer is not told
	// which), or a server whose MS-CHAPv2 authenticator response is wrong.
	ErrCredentials = errors.New("eap: credentials refused")
	// ErrCertificate: the EAP-TLS certificate was refused by the trust
	// policy; the *trust.Error is wrapped too.
	ErrCertificate = errors.New("eap: certificate refused")
	// ErrTLS: the EAP-TLS handshake failed for another reason.
	ErrTLS = errors.New("eap: tls handshake failed")
	// ErrLimit: a size, fragment or round limit was exceeded.
	ErrLimit = errors.New("eap: limit exceeded")
	// ErrRADIUS: the RADIUS server did not answer validly, or rejected.
	ErrRADIUS = errors.New("eap: radius relay failed")
	// ErrRejected: the RADIUS server answered Access-Reject.
	ErrRejected = errors.New("eap: rejected by radius server")
	// ErrDone: Next was called after the conversation ended.
	ErrDone = errors.New("eap: conversation already finished")
)

// NegotiationError says what each side offered when no method fits.
type NegotiationError struct {
	// Offered are the methods the authenticator offered, in order.
	Offered []wire.EAPType
	// Wanted are the methods the peer asked for in its Nak (type 0: none).
	Wanted []wire.EAPType
}

func (e *NegotiationError) Error() string {
	return fmt.Sprintf("eap: peer wants %s, server offers %s", typeList(e.Wanted), typeList(e.Offered))
}

func (e *NegotiationError) Unwrap() error { return ErrNegotiation }

func typeList(ts []wire.EAPType) string {
	if len(ts) == 0 {
		return "[]"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// failf builds an error wrapping kind (and cause, when not nil).
func failf(kind error, cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		return &methodError{kind: kind, cause: cause, msg: msg}
	}
	return &methodError{kind: kind, msg: msg}
}

type methodError struct {
	kind, cause error
	msg         string
}

func (e *methodError) Error() string {
	if e.cause != nil {
		return "eap: " + e.msg + ": " + e.cause.Error()
	}
	return "eap: " + e.msg
}

func (e *methodError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Limits that are not configurable. RFC 3748 leaves them open; these are
// far above what Windows, strongSwan and FreeRADIUS send.
const (
	// maxIdentity bounds an EAP identity; RADIUS User-Name holds 253.
	maxIdentity = 253
	// maxPacket is the largest EAP packet carried in one IKE payload
	// (RFC 7296, Section 3.2: a 16-bit payload length with its header).
	maxPacket = 0xffff - 4
)

// Parse decodes one EAP packet (RFC 3748, Section 4) with the checks of
// the IKE payload codec: length, code, and the framing of Nak, EAP-TLS and
// EAP-MSCHAPv2. It is used for packets that arrive outside an IKE payload,
// from RADIUS.
func Parse(b []byte) (*wire.EAP, error) {
	if len(b) > maxPacket {
		return nil, failf(ErrProtocol, nil, "EAP packet of %d octets", len(b))
	}
	buf := make([]byte, 4, 4+len(b))
	buf[2], buf[3] = byte((len(b)+4)>>8), byte(len(b)+4)
	ps, err := wire.ParsePayloads(wire.PayloadEAP, append(buf, b...))
	if err != nil {
		return nil, failf(ErrProtocol, err, "malformed EAP packet")
	}
	p := ps[0].(*wire.EAP)
	p.Flags = 0
	return p, nil
}

// Marshal encodes one EAP packet (without the IKE payload header).
func Marshal(p *wire.EAP) ([]byte, error) {
	q := *p
	q.Flags = 0
	b, _, err := wire.AppendPayloads(nil, []wire.Payload{&q})
	if err != nil {
		return nil, fmt.Errorf("eap: %w", err)
	}
	return b[4:], nil
}

func request(id uint8, t wire.EAPType, data []byte) *wire.EAP {
	return &wire.EAP{Code: wire.EAPRequest, Identifier: id, EAPType: t, Data: data}
}

func response(id uint8, t wire.EAPType, data []byte) *wire.EAP {
	return &wire.EAP{Code: wire.EAPResponse, Identifier: id, EAPType: t, Data: data}
}

// sanitize makes peer-supplied text safe for one log line.
func sanitize(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return '?'
		}
		return r
	}, s)
}

package eap

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ikelab/ikelab/ike/wire"
)

// EAP-MSCHAPv2 framing (draft-kamath-pppext-eap-mschapv2-02, Section 2;
// the values are those of RFC 2759, Sections 3 to 6).
const (
	msChallengeSize = 16 // Value-Size of a Challenge
	msResponseSize  = 49 // Value-Size of a Response
	msMaxName       = 256
	// msErrAuthFailure is ERROR_AUTHENTICATION_FAILURE (RFC 2759,
	// Section 6), what Windows reports as error 691.
	msErrAuthFailure = 691
)

// mschapv2Data builds the Type-Data of an EAP-MSCHAPv2 packet:
// OpCode, MS-CHAPv2-ID, MS-Length (the length of the Type-Data), body.
func mschapv2Data(op, id uint8, body []byte) []byte {
	b := make([]byte, 4, 4+len(body))
	b[0], b[1] = op, id
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(body)))
	return append(b, body...)
}

// parseMSCHAPv2 decodes Type-Data with the wire codec's framing checks.
func parseMSCHAPv2(data []byte) (*wire.MSCHAPv2Packet, error) {
	p := &wire.EAP{EAPType: wire.EAPMSCHAPv2, Data: data}
	m, err := p.MSCHAPv2()
	if err != nil {
		return nil, failf(ErrProtocol, err, "malformed EAP-MSCHAPv2 packet")
	}
	return m, nil
}

// stripDomain returns the user name without a "DOMAIN\" prefix: RFC 2759,
// Section 4, hashes the name without it.
func stripDomain(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}

type msServerState uint8

const (
	msChallengeSent msServerState = iota
	msSuccessSent
	msFailureSent
)

// mschapv2Server is the authenticator side of EAP-MSCHAPv2.
type mschapv2Server struct {
	cfg       *serverSettings
	msID      uint8
	state     msServerState
	challenge [16]byte
	user      string
	msk       []byte
}

func newMSCHAPv2Server(cfg *serverSettings, msID uint8) *mschapv2Server {
	return &mschapv2Server{cfg: cfg, msID: msID}
}

// start sends the Challenge (RFC 2759, Section 3): Value-Size 16, the
// authenticator challenge, our name.
func (m *mschapv2Server) start() ([]byte, error) {
	if _, err := io.ReadFull(m.cfg.rand, m.challenge[:]); err != nil {
		return nil, fmt.Errorf("eap: mschapv2 challenge: %w", err)
	}
	body := append([]byte{msChallengeSize}, m.challenge[:]...)
	body = append(body, m.cfg.serverName...)
	return mschapv2Data(wire.MSCHAPv2Challenge, m.msID, body), nil
}

func (m *mschapv2Server) close() { clear(m.msk) }

func (m *mschapv2Server) process(_ context.Context, data []byte) ([]byte, *Result, error) {
	p, err := parseMSCHAPv2(data)
	if err != nil {
		return nil, nil, err
	}
	switch m.state {
	case msChallengeSent:
		if p.OpCode != wire.MSCHAPv2Response {
			return nil, nil, failf(ErrProtocol, nil, "mschapv2: op code %d in answer to the challenge", p.OpCode)
		}
		return m.response(p)
	case msSuccessSent:
		switch {
		case p.OpCode == wire.MSCHAPv2Success && len(data) == 1:
			return nil, &Result{Success: true, Identity: m.user, Method: wire.EAPMSCHAPv2, MSK: bytes.Clone(m.msk),
				Reason: "mschapv2: password verified"}, nil
		case p.OpCode == wire.MSCHAPv2Failure:
			return nil, nil, failf(ErrCredentials, nil, "mschapv2: peer refused our authenticator response")
		}
		return nil, nil, failf(ErrProtocol, nil, "mschapv2: op code %d in answer to the success request", p.OpCode)
	default: // msFailureSent; the verdict is already out
		if p.OpCode != wire.MSCHAPv2Failure || len(data) != 1 {
			return nil, nil, failf(ErrProtocol, nil, "mschapv2: op code %d in answer to the failure request", p.OpCode)
		}
		err := failf(ErrCredentials, nil, "mschapv2: failure acknowledged")
		return nil, &Result{Reason: err.Error(), Err: err}, nil
	}
}

// response checks the peer's Response (RFC 2759, Section 4) and answers
// with the Success (Section 5) or Failure (Section 6) request.
func (m *mschapv2Server) response(p *wire.MSCHAPv2Packet) ([]byte, *Result, error) {
	if p.ID != m.msID {
		return nil, nil, failf(ErrProtocol, nil, "mschapv2: response MS-CHAPv2-ID %d, challenge had %d", p.ID, m.msID)
	}
	d := p.Data
	if len(d) < 1+msResponseSize || d[0] != msResponseSize {
		return nil, nil, failf(ErrProtocol, nil, "mschapv2: response value of %d octets", len(d))
	}
	name := d[1+msResponseSize:]
	if len(name) > msMaxName {
		return nil, nil, failf(ErrLimit, nil, "mschapv2: user name of %d octets", len(name))
	}
	var peerChallenge [16]byte
	var ntResponse [24]byte
	copy(peerChallenge[:], d[1:17])
	copy(ntResponse[:], d[25:49])
	// d[17:25] is Reserved and d[49] Flags; both must be zero but
	// Microsoft's own code ignores them, and so do we.

	user := string(name)
	hash, known := m.cfg.users[user]
	if !known {
		hash, known = m.cfg.users[stripDomain(user)]
	}
	want := generateNTResponse(m.challenge, peerChallenge, stripDomain(user), hash)
	ok := subtle.ConstantTimeCompare(want[:], ntResponse[:]) == 1 && known
	if !ok {
		// The same answer for an unknown user and a wrong password, so
		// that user names cannot be probed.
		reason := "mschapv2: wrong password for user " + sanitize(user)
		if !known {
			reason = "mschapv2: unknown user " + sanitize(user)
		}
		return m.failure(reason)
	}
	m.user = user
	m.msk = mschapv2MSK(hash, ntResponse)
	auth := authenticatorResponse(hash, ntResponse, peerChallenge, m.challenge, stripDomain(user))
	m.state = msSuccessSent
	return mschapv2Data(wire.MSCHAPv2Success, m.msID, []byte(auth+" M=Welcome to ikelab")), nil, nil
}

// failure sends the Failure request (RFC 2759, Section 6) with R=0: no
// retry, so a password cannot be guessed several times per IKE SA.
func (m *mschapv2Server) failure(reason string) ([]byte, *Result, error) {
	var c [16]byte
	if _, err := io.ReadFull(m.cfg.rand, c[:]); err != nil {
		return nil, nil, fmt.Errorf("eap: mschapv2 challenge: %w", err)
	}
	m.state = msFailureSent
	msg := fmt.Sprintf("E=%d R=0 C=%s V=3 M=Authentication failed", msErrAuthFailure, strings.ToUpper(hex.EncodeToString(c[:])))
	err := failf(ErrCredentials, nil, "%s", reason)
	res := &Result{Method: wire.EAPMSCHAPv2, Reason: err.Error(), Err: err}
	return mschapv2Data(wire.MSCHAPv2Failure, m.msID, []byte(msg)), res, nil
}

type msClientState uint8

const (
	msWaitChallenge msClientState = iota
	msWaitSuccess
	msAuthenticated // the server proved it knows the password hash
	msRefused       // the server sent a Failure request
)

// mschapv2Client is the peer side of EAP-MSCHAPv2.
type mschapv2Client struct {
	cfg      *clientSettings
	state    msClientState
	wantAuth string
	msk      []byte
	reason   string
}

func newMSCHAPv2Client(cfg *clientSettings) *mschapv2Client { return &mschapv2Client{cfg: cfg} }

func (m *mschapv2Client) close() { clear(m.msk) }

func (m *mschapv2Client) complete() bool { return m.state == msAuthenticated }

func (m *mschapv2Client) outcome() ([]byte, string) { return m.msk, m.reason }

func (m *mschapv2Client) process(_ context.Context, data []byte) ([]byte, error) {
	p, err := parseMSCHAPv2(data)
	if err != nil {
		return nil, err
	}
	switch {
	case p.OpCode == wire.MSCHAPv2Challenge && m.state == msWaitChallenge:
		return m.challenge(p)
	case p.OpCode == wire.MSCHAPv2Success && m.state == msWaitSuccess:
		return m.success(p)
	case p.OpCode == wire.MSCHAPv2Failure && m.state == msWaitSuccess:
		// RFC 2759, Section 6: acknowledge, then expect EAP-Failure.
		m.state = msRefused
		m.reason = "mschapv2: server refused the password: " + sanitize(failureText(string(p.Data)))
		return []byte{wire.MSCHAPv2Failure}, nil
	}
	return nil, failf(ErrProtocol, nil, "mschapv2: unexpected op code %d", p.OpCode)
}

// challenge answers the Challenge with a Response (RFC 2759, Section 4).
func (m *mschapv2Client) challenge(p *wire.MSCHAPv2Packet) ([]byte, error) {
	d := p.Data
	if len(d) < 1+msChallengeSize || d[0] != msChallengeSize {
		return nil, failf(ErrProtocol, nil, "mschapv2: challenge value of %d octets", len(d))
	}
	var authChallenge, peerChallenge [16]byte
	copy(authChallenge[:], d[1:17])
	if _, err := io.ReadFull(m.cfg.rand, peerChallenge[:]); err != nil {
		return nil, fmt.Errorf("eap: mschapv2 peer challenge: %w", err)
	}
	user := stripDomain(m.cfg.identity)
	nt := generateNTResponse(authChallenge, peerChallenge, user, *m.cfg.ntHash)
	m.wantAuth = authenticatorResponse(*m.cfg.ntHash, nt, peerChallenge, authChallenge, user)
	m.msk = mschapv2MSK(*m.cfg.ntHash, nt)
	m.state = msWaitSuccess

	body := make([]byte, 0, 1+msResponseSize+len(m.cfg.identity))
	body = append(body, msResponseSize)
	body = append(body, peerChallenge[:]...)
	body = append(body, make([]byte, 8)...) // Reserved
	body = append(body, nt[:]...)
	body = append(body, 0) // Flags
	body = append(body, m.cfg.identity...)
	return mschapv2Data(wire.MSCHAPv2Response, p.ID, body), nil
}

// success checks the authenticator response (RFC 2759, Section 5): the
// server must prove that it knows the password hash too.
func (m *mschapv2Client) success(p *wire.MSCHAPv2Packet) ([]byte, error) {
	msg := string(p.Data)
	if len(msg) < 42 || !equalAuthResponse(msg[:42], m.wantAuth) {
		return nil, failf(ErrCredentials, nil, "mschapv2: the server's authenticator response is wrong; it does not know the password")
	}
	m.state = msAuthenticated
	return []byte{wire.MSCHAPv2Success}, nil
}

// failureText renders "E=691 R=0 C=... V=3 M=text" as "error 691: text".
func failureText(msg string) string {
	code, text := "", ""
	if i := strings.Index(msg, "M="); i >= 0 {
		text = msg[i+2:]
		msg = msg[:i]
	}
	for f := range strings.FieldsSeq(msg) {
		if v, ok := strings.CutPrefix(f, "E="); ok {
			if _, err := strconv.Atoi(v); err == nil {
				code = v
			}
		}
	}
	switch {
	case code != "" && text != "":
		return "error " + code + ": " + text
	case code != "":
		return "error " + code
	}
	return text
}

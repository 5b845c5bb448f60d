package ike

import (
	"context"
	stdcrypto "crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// A Conn carries one initiator's IKE messages to a responder: UDP in the
// initiator command, a direct call into an Engine in tests.
type Conn interface {
	// Send transmits one IKE message.
	Send(msg []byte) error
	// Receive returns the next IKE message, or ctx's error.
	Receive(ctx context.Context) ([]byte, error)
	// Float moves the conversation to UDP 4500 with the non-ESP marker
	// (RFC 7296, Section 2.23), after a NAT was detected.
	Float() error
	// Addrs returns the local and remote address and port as the peer
	// will see them, for NAT detection.
	Addrs() (local, remote netip.AddrPort)
}

// InitiatorConfig is one connection attempt: what to offer and how to
// authenticate. It fixes everything a client puts on the wire, so that
// profiles can reproduce Windows exactly.
type InitiatorConfig struct {
	// IKE and ESP are the offered proposals in order; numbers and SPIs
	// are filled in. ESP proposals carry no KE transforms in IKE_AUTH.
	IKE, ESP []wire.Proposal
	// KEGroup is the first KE payload's group. Default: the first KE
	// transform of the first IKE proposal.
	KEGroup wire.TransformID

	// ID is IDi. Certificates and Key sign AUTH; PSK, if set, is used
	// instead (AUTH method 2).
	ID           *wire.ID
	Certificates [][]byte
	Key          stdcrypto.Signer
	PSK          []byte
	EAP          *eap.ClientConfig
	// AuthMethod overrides the signature method: 0 picks RFC 7427 when the
	// responder announced hashes, else the key's classic method.
	AuthMethod crypto.AuthMethod
	// IDr, if set, is sent in IKE_AUTH (Windows never does).
	IDr *wire.ID
	// Trust verifies the responder's certificate; without it a signature
	// from the certificate the responder sent is accepted as is (lab use).
	Trust *trust.Verifier

	// VendorIDs are sent in IKE_SA_INIT, in order.
	VendorIDs [][]byte
	// Fragmentation announces RFC 7383 support; FragmentSize is the
	// largest message sent unfragmented once the responder agreed.
	Fragmentation bool
	FragmentSize  int
	// SignatureHashes sends SIGNATURE_HASH_ALGORITHMS (RFC 7427).
	SignatureHashes bool
	// InitialContact and MOBIKE add those notifications to IKE_AUTH.
	InitialContact, MOBIKE bool
	// CPRequest lists the attributes asked for in a CFG_REQUEST; nil
	// sends no CP payload.
	CPRequest []wire.CPAttrType
	// TSi and TSr are the proposed selectors. Default: everything.
	TSi, TSr []wire.Selector

	// NonceLen is the nonce size; default NonceLen (Windows sends 48).
	NonceLen int

	// Timeout is the first retransmission timeout, doubled on each of
	// Retries retransmissions (RFC 7296, Section 2.1). Defaults 2 s, 3.
	Timeout time.Duration
	Retries int

	Rand io.Reader
	Now  func() time.Time
	Log  *slog.Logger
	// KeyLog and ESPKeyLog receive Wireshark ikev2_decryption_table and
	// esp_sa rows.
	KeyLog, ESPKeyLog io.Writer
}

// RefusedError is a responder's error notification: what a Windows client
// turns into its error code.
type RefusedError struct {
	Exchange wire.ExchangeType
	Notify   wire.NotifyType
	Data     []byte
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("ike: responder refused %s with %s", e.Exchange, e.Notify)
}

// Session is an established IKE SA seen from the initiator.
type Session struct {
	ikeSA
	cfg  *InitiatorConfig
	conn Conn
	// child is the child SA negotiated in IKE_AUTH, with its keys.
	child *sa.Child
	// msk is the EAP Master Session Key, the AUTH key after EAP.
	msk []byte
	// Result describes what was negotiated.
	Result Result
}

// Result is what an initiator learned: algorithms, identities, addresses.
type Result struct {
	SPIi, SPIr       wire.SPI
	IKE              wire.Proposal
	ESP              *wire.Proposal // nil when the child SA was refused
	ChildRefused     wire.NotifyType
	ChildSPIIn       uint32
	ChildSPIOut      uint32
	TSi, TSr         []wire.Selector
	VIPs, DNS        []netip.Addr
	ResponderID      *wire.ID
	ResponderAuth    wire.AuthMethod
	NATLocal         bool
	NATRemote        bool
	InvalidKERetries int
	Cookie           bool
	Fragmented       bool
}

func (c *InitiatorConfig) defaults() {
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.NonceLen == 0 {
		c.NonceLen = NonceLen
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.KEGroup == 0 {
		for _, p := range c.IKE {
			for _, t := range p.Transforms {
				if t.Type == wire.TransformKE && c.KEGroup == 0 {
					c.KEGroup = t.ID
				}
			}
		}
	}
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	if c.TSi == nil {
		c.TSi = prefixSelectors(all)
	}
	if c.TSr == nil {
		c.TSr = prefixSelectors(all)
	}
}

func prefixSelectors(ps []netip.Prefix) []wire.Selector {
	out := make([]wire.Selector, len(ps))
	for i, p := range ps {
		out[i] = wire.PrefixSelector(p)
	}
	return out
}

// Connect runs IKE_SA_INIT and IKE_AUTH against a responder (RFC 7296,
// Section 1.2) and returns the established session. A refusal is a
// *RefusedError carrying the notification.
func Connect(ctx context.Context, cfg InitiatorConfig, conn Conn) (*Session, error) {
	cfg.defaults()
	e := &Engine{cfg: Config{Rand: cfg.Rand, Now: cfg.Now, Log: cfg.Log, FragmentSize: cfg.FragmentSize,
		KeyLog: cfg.KeyLog, ESPKeyLog: cfg.ESPKeyLog}}
	e.cfg.setDefaults()
	if cfg.FragmentSize == 0 {
		e.cfg.FragmentSize = DefaultFragmentSize
	}
	s := &Session{cfg: &cfg, conn: conn}
	s.ikeSA.e = e
	s.initiator = true
	local, remote := conn.Addrs()
	s.local, s.remote = local, remote
	if _, err := io.ReadFull(e.cfg.rand(), s.spii[:]); err != nil {
		return nil, err
	}
	if err := s.initExchange(ctx); err != nil {
		return nil, err
	}
	if err := s.authExchange(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// roundTrip sends the request datagrams and waits for the response with
// message ID id, retransmitting with back-off; fragments of the response
// are collected until complete.
func (s *Session) roundTrip(ctx context.Context, req [][]byte, id uint32, exch wire.ExchangeType) (*wire.Message, []wire.Payload, error) {
	timeout := s.cfg.Timeout
	for try := 0; try <= s.cfg.Retries; try++ {
		for _, m := range req {
			if err := s.conn.Send(m); err != nil {
				return nil, nil, err
			}
		}
		deadline := time.Now().Add(timeout)
		for {
			rctx, cancel := context.WithDeadline(ctx, deadline)
			data, err := s.conn.Receive(rctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				break // timeout: retransmit
			}
			m, err := wire.ParseMessage(data)
			if err != nil || !m.IsResponse() || m.MessageID != id || m.Exchange != exch || m.SPIi != s.spii {
				continue
			}
			if exch == wire.IKE_SA_INIT {
				return m, m.Payloads, nil
			}
			if m.SPIr != s.spir {
				continue
			}
			inner, complete, err := s.decrypt(m)
			if err != nil {
				s.log("dropped response: %v", err)
				continue
			}
			if m.Fragment() != nil {
				s.Result.Fragmented = true
			}
			if complete {
				return m, inner, nil
			}
		}
		timeout *= 2
	}
	return nil, nil, fmt.Errorf("ike: no response to %s after %d retransmits", exch, s.cfg.Retries)
}

// initExchange runs IKE_SA_INIT, following COOKIE and INVALID_KE_PAYLOAD
// answers (RFC 7296, Sections 2.6 and 1.2).
func (s *Session) initExchange(ctx context.Context) error {
	group := s.cfg.KEGroup
	var cookie []byte
	var priv *crypto.KEPrivate
	for attempt := 0; attempt < 4; attempt++ {
		// A retry with a COOKIE repeats the request otherwise unchanged
		// (RFC 7296, Section 2.6); a new group needs a new key share, but
		// the nonce stays, since the responder's cookie covers it.
		if s.ni == nil {
			s.ni = make([]byte, s.cfg.NonceLen)
			if _, err := io.ReadFull(s.e.cfg.rand(), s.ni); err != nil {
				return err
			}
		}
		if priv == nil || priv.Alg().ID != group {
			g, ok := crypto.KE(group)
			if !ok {
				return fmt.Errorf("ike: key exchange %s not implemented", wire.TransformName(wire.TransformKE, group))
			}
			var err error
			if priv, err = g.Generate(s.e.cfg.rand()); err != nil {
				return err
			}
		}
		var ps []wire.Payload
		if cookie != nil {
			ps = append(ps, wire.NewNotify(wire.COOKIE, cookie))
		}
		props := make([]wire.Proposal, len(s.cfg.IKE))
		for i, p := range s.cfg.IKE {
			props[i] = p
			props[i].Number, props[i].SPI = uint8(i+1), nil
		}
		ps = append(ps, &wire.SA{Proposals: props}, &wire.KE{Group: group, Data: priv.Public()}, &wire.Nonce{Data: s.ni})
		ps = append(ps,
			wire.NewNotify(wire.NAT_DETECTION_SOURCE_IP, natHash(s.spii, wire.SPI{}, s.local)),
			wire.NewNotify(wire.NAT_DETECTION_DESTINATION_IP, natHash(s.spii, wire.SPI{}, s.remote)))
		if s.cfg.Fragmentation {
			ps = append(ps, wire.NewNotify(wire.IKEV2_FRAGMENTATION_SUPPORTED, nil))
		}
		if s.cfg.SignatureHashes {
			var d []byte
			for _, a := range crypto.SupportedHashAlgorithms() {
				d = binary.BigEndian.AppendUint16(d, uint16(a))
			}
			ps = append(ps, wire.NewNotify(wire.SIGNATURE_HASH_ALGORITHMS, d))
		}
		for _, v := range s.cfg.VendorIDs {
			ps = append(ps, &wire.VendorID{Data: v})
		}
		req := &wire.Message{Header: wire.Header{SPIi: s.spii, MajorVersion: 2, Exchange: wire.IKE_SA_INIT,
			Flags: wire.FlagInitiator}, Payloads: ps}
		raw, err := req.Marshal()
		if err != nil {
			return err
		}
		s.log("generating %s", req.Summary())
		m, payloads, err := s.roundTrip(ctx, [][]byte{raw}, 0, wire.IKE_SA_INIT)
		if err != nil {
			return err
		}
		s.log("parsed %s", m.Summary())
		var sa *wire.SA
		var ke *wire.KE
		var natS, natD [][]byte
		for _, p := range payloads {
			switch p := p.(type) {
			case *wire.Notify:
				switch {
				case p.NotifyType == wire.COOKIE:
					cookie = p.Data
					s.Result.Cookie = true
				case p.NotifyType == wire.INVALID_KE_PAYLOAD:
					ng, ok := p.KEGroup()
					if !ok || ng == group || !offered(s.cfg.IKE, wire.TransformKE, ng) {
						return &RefusedError{Exchange: wire.IKE_SA_INIT, Notify: p.NotifyType, Data: p.Data}
					}
					group = ng
					s.Result.InvalidKERetries++
				case p.NotifyType.IsError():
					return &RefusedError{Exchange: wire.IKE_SA_INIT, Notify: p.NotifyType, Data: p.Data}
				case p.NotifyType == wire.NAT_DETECTION_SOURCE_IP:
					natS = append(natS, p.Data)
				case p.NotifyType == wire.NAT_DETECTION_DESTINATION_IP:
					natD = append(natD, p.Data)
				case p.NotifyType == wire.IKEV2_FRAGMENTATION_SUPPORTED:
					s.peerFrag = s.cfg.Fragmentation
				case p.NotifyType == wire.SIGNATURE_HASH_ALGORITHMS:
					for _, a := range p.HashAlgorithms() {
						s.peerHashes = append(s.peerHashes, crypto.HashAlgorithm(a))
					}
				}
			case *wire.SA:
				sa = p
			case *wire.KE:
				ke = p
			case *wire.Nonce:
				s.nr = p.Data
			}
		}
		if sa == nil && ke == nil {
			continue // COOKIE or INVALID_KE_PAYLOAD: try again
		}
		if sa == nil || ke == nil || s.nr == nil || len(sa.Proposals) != 1 {
			return fmt.Errorf("ike: IKE_SA_INIT response lacks SA, KE or Nonce")
		}
		s.spir, s.initReq, s.initResp = m.SPIr, raw, m.Raw
		if err := s.acceptIKE(sa.Proposals[0], ke, priv); err != nil {
			return err
		}
		if len(natS) > 0 {
			s.natRemote = !containsHash(natS, natHash(s.spii, s.spir, s.remote))
			s.natLocal = !containsHash(natD, natHash(s.spii, s.spir, s.local))
			s.Result.NATLocal, s.Result.NATRemote = s.natLocal, s.natRemote
			if s.natLocal || s.natRemote {
				// RFC 7296, Section 2.23: float to port 4500.
				if err := s.conn.Float(); err != nil {
					return err
				}
				s.local, s.remote = s.conn.Addrs()
			}
		}
		return nil
	}
	return fmt.Errorf("ike: IKE_SA_INIT did not converge after COOKIE and INVALID_KE_PAYLOAD rounds")
}

// offered reports whether any proposal offers transform id of type t.
func offered(ps []wire.Proposal, t wire.TransformType, id wire.TransformID) bool {
	for _, p := range ps {
		for _, tr := range p.Transforms {
			if tr.Type == t && tr.ID == id {
				return true
			}
		}
	}
	return false
}

// acceptIKE checks the responder's choice against the offer and derives
// the keys (the initiator's SK ciphers are the responder's, swapped).
func (s *Session) acceptIKE(p wire.Proposal, ke *wire.KE, priv *crypto.KEPrivate) error {
	c, err := choiceFromProposal(p, s.cfg.IKE)
	if err != nil {
		return err
	}
	if c.KE.ID != ke.Group || ke.Group != priv.Alg().ID {
		return fmt.Errorf("ike: responder chose %s but sent a %s KE payload", c.KE, wire.TransformName(wire.TransformKE, ke.Group))
	}
	shared, err := priv.SharedSecret(ke.Data)
	if err != nil {
		return err
	}
	s.choice = c
	if err := s.deriveKeys(shared); err != nil {
		return err
	}
	s.Result.SPIi, s.Result.SPIr, s.Result.IKE = s.spii, s.spir, p
	return nil
}

// authExchange runs IKE_AUTH.
func (s *Session) authExchange(ctx context.Context) error {
	idi := *s.cfg.ID
	idi.Responder = false
	var ps []wire.Payload
	ps = append(ps, &idi)
	usePSK := s.cfg.PSK != nil
	if !usePSK {
		for _, c := range s.cfg.Certificates {
			ps = append(ps, &wire.Cert{Encoding: wire.CertX509Signature, Data: c})
		}
	}
	if s.cfg.InitialContact {
		ps = append(ps, wire.NewNotify(wire.INITIAL_CONTACT, nil))
	}
	if s.cfg.Trust != nil {
		var hashes []byte
		for _, r := range s.cfg.Trust.Roots() {
			h := sha1.Sum(r.RawSubjectPublicKeyInfo)
			hashes = append(hashes, h[:]...)
		}
		ps = append(ps, &wire.CertReq{Encoding: wire.CertX509Signature, Data: hashes})
	}
	if s.cfg.IDr != nil {
		idr := *s.cfg.IDr
		idr.Responder = true
		ps = append(ps, &idr)
	}
	octets := crypto.SignedOctets(s.prf, s.initReq, s.nr, s.keys.SKpi, idi.Body())
	if s.cfg.EAP != nil {
		// RFC 7296, Section 2.16: no AUTH asks for EAP.
		return s.eapExchange(ctx, append(ps, s.childRequest()...), octets)
	}
	if usePSK {
		ps = append(ps, &wire.Auth{Method: wire.AuthSharedKey, Data: crypto.PSKAuth(s.prf, s.cfg.PSK, octets)})
	} else {
		method, scheme := s.cfg.AuthMethod, crypto.SchemeUnknown
		if method == 0 {
			method = classicMethod(s.cfg.Key.Public())
			if s.peerHashes != nil {
				if sc, err := crypto.ChooseScheme(s.cfg.Key.Public(), s.peerHashes); err == nil {
					method, scheme = crypto.AuthDigitalSignature, sc
				}
			}
		} else if method == crypto.AuthDigitalSignature {
			sc, err := crypto.ChooseScheme(s.cfg.Key.Public(), s.peerHashes)
			if err != nil {
				return err
			}
			scheme = sc
		}
		data, err := crypto.SignAuth(s.e.cfg.rand(), s.cfg.Key, method, scheme, octets)
		if err != nil {
			return err
		}
		ps = append(ps, &wire.Auth{Method: method, Data: data})
	}
	ps = append(ps, s.childRequest()...)
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: wire.IKE_AUTH, Flags: wire.FlagInitiator, MessageID: 1}
	s.log("generating %s", wire.SummaryLine(&h, ps))
	msgs, err := s.encode(h, ps)
	if err != nil {
		return err
	}
	_, inner, err := s.roundTrip(ctx, msgs, 1, wire.IKE_AUTH)
	if err != nil {
		return err
	}
	s.log("parsed %s", wire.SummaryLine(&wire.Header{Exchange: wire.IKE_AUTH, Flags: wire.FlagResponse, MessageID: 1}, inner))
	s.myMsgID = 2
	return s.acceptAuth(inner)
}

// childRequest returns the notifications, CP request and child SA offer
// of IKE_AUTH.
func (s *Session) childRequest() []wire.Payload {
	var ps []wire.Payload
	if s.cfg.MOBIKE {
		ps = append(ps, wire.NewNotify(wire.MOBIKE_SUPPORTED, nil))
	}
	if s.cfg.CPRequest != nil {
		cp := &wire.CP{CFGType: wire.CFG_REQUEST}
		for _, t := range s.cfg.CPRequest {
			cp.Attributes = append(cp.Attributes, wire.CPAttribute{Type: t})
		}
		ps = append(ps, cp)
	}
	if s.Result.ChildSPIIn == 0 {
		var spi [4]byte
		io.ReadFull(s.e.cfg.rand(), spi[:])
		s.Result.ChildSPIIn = binary.BigEndian.Uint32(spi[:]) | 0x100 // never a reserved SPI (RFC 4303, Section 2.1)
	}
	childSPI := binary.BigEndian.AppendUint32(nil, s.Result.ChildSPIIn)
	esp := make([]wire.Proposal, len(s.cfg.ESP))
	for i, p := range s.cfg.ESP {
		esp[i] = p
		esp[i].Number, esp[i].SPI = uint8(i+1), childSPI
	}
	if len(esp) > 0 {
		ps = append(ps, &wire.SA{Proposals: esp}, &wire.TS{Selectors: s.cfg.TSi}, &wire.TS{Responder: true, Selectors: s.cfg.TSr})
	}
	return ps
}

// eapExchange runs IKE_AUTH with EAP (RFC 7296, Section 2.16): the first
// request has no AUTH; the responder proves itself with its certificate
// and starts EAP; after EAP-Success both sides send AUTH from the MSK.
func (s *Session) eapExchange(ctx context.Context, first []wire.Payload, octets []byte) error {
	client, err := eap.NewClient(*s.cfg.EAP)
	if err != nil {
		return err
	}
	defer client.Close()
	send := func(ps []wire.Payload) ([]wire.Payload, error) {
		h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: wire.IKE_AUTH, Flags: wire.FlagInitiator, MessageID: s.myMsgID}
		s.log("generating %s", wire.SummaryLine(&h, ps))
		msgs, err := s.encode(h, ps)
		if err != nil {
			return nil, err
		}
		_, inner, err := s.roundTrip(ctx, msgs, s.myMsgID, wire.IKE_AUTH)
		s.myMsgID++
		return inner, err
	}
	s.myMsgID = 1
	inner, err := send(first)
	if err != nil {
		return err
	}
	// The responder's certificate AUTH comes with the first EAP request.
	var req *wire.EAP
	for _, p := range inner {
		if e, ok := p.(*wire.EAP); ok {
			req = e
		}
	}
	if err := s.acceptAuth(inner); err != nil {
		return err
	}
	for rounds := 0; req != nil; rounds++ {
		if rounds > 50 {
			return fmt.Errorf("ike: EAP did not finish in 50 rounds")
		}
		resp, done, res, err := client.Next(ctx, req)
		if err != nil {
			return err
		}
		if done {
			if res == nil || !res.Success {
				reason := "EAP failed"
				if res != nil {
					reason = res.Reason
				}
				s.log("EAP failed: %s", reason)
				return &RefusedError{Exchange: wire.IKE_AUTH, Notify: wire.AUTHENTICATION_FAILED}
			}
			s.msk = res.MSK
			break
		}
		if inner, err = send([]wire.Payload{resp}); err != nil {
			return err
		}
		req = nil
		for _, p := range inner {
			switch p := p.(type) {
			case *wire.EAP:
				req = p
			case *wire.Notify:
				if p.NotifyType.IsError() {
					return &RefusedError{Exchange: wire.IKE_AUTH, Notify: p.NotifyType, Data: p.Data}
				}
			}
		}
	}
	if s.msk == nil {
		return fmt.Errorf("ike: EAP ended without a key")
	}
	auth := &wire.Auth{Method: wire.AuthSharedKey, Data: crypto.PSKAuth(s.prf, s.msk, octets)}
	if inner, err = send([]wire.Payload{auth}); err != nil {
		return err
	}
	return s.acceptAuth(inner)
}

// acceptAuth checks the IKE_AUTH response: the responder's AUTH, then the
// child SA and the configuration reply.
func (s *Session) acceptAuth(inner []wire.Payload) error {
	var idr *wire.ID
	var auth *wire.Auth
	var certs [][]byte
	var esp *wire.SA
	for _, p := range inner {
		switch p := p.(type) {
		case *wire.Notify:
			if p.NotifyType == wire.AUTHENTICATION_FAILED || p.NotifyType == wire.INVALID_SYNTAX ||
				p.NotifyType == wire.UNSUPPORTED_CRITICAL_PAYLOAD {
				return &RefusedError{Exchange: wire.IKE_AUTH, Notify: p.NotifyType, Data: p.Data}
			}
			if p.NotifyType.IsError() {
				s.Result.ChildRefused = p.NotifyType
			}
		case *wire.ID:
			idr = p
		case *wire.Auth:
			auth = p
		case *wire.Cert:
			if p.Encoding == wire.CertX509Signature {
				certs = append(certs, p.Data)
			}
		case *wire.SA:
			esp = p
		case *wire.TS:
			if p.Responder {
				s.Result.TSr = p.Selectors
			} else {
				s.Result.TSi = p.Selectors
			}
		case *wire.CP:
			for _, a := range p.Attributes {
				addr, ok := a.Addr()
				switch {
				case !ok:
				case a.Type == wire.INTERNAL_IP4_ADDRESS || a.Type == wire.INTERNAL_IP6_ADDRESS:
					s.Result.VIPs = append(s.Result.VIPs, addr)
				case a.Type == wire.INTERNAL_IP4_DNS || a.Type == wire.INTERNAL_IP6_DNS:
					s.Result.DNS = append(s.Result.DNS, addr)
				}
			}
		}
	}
	if idr == nil && s.peerID != nil {
		idr = s.peerID // after EAP, the final response carries no IDr
	}
	if idr == nil || auth == nil {
		return fmt.Errorf("ike: IKE_AUTH response without IDr or AUTH")
	}
	octets := crypto.SignedOctets(s.prf, s.initResp, s.ni, s.keys.SKpr, idr.Body())
	if auth.Method == wire.AuthSharedKey {
		// A shared key, or after EAP the MSK (RFC 7296, Section 2.16).
		key := s.cfg.PSK
		if s.msk != nil {
			key = s.msk
		}
		if key == nil || !crypto.VerifyPSKAuth(s.prf, key, octets, auth.Data) {
			return fmt.Errorf("ike: responder's shared key AUTH does not verify")
		}
	} else {
		if len(certs) == 0 {
			return fmt.Errorf("ike: responder signed with %s but sent no certificate", auth.Method)
		}
		d := &trust.Decision{}
		if s.cfg.Trust != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			d = s.cfg.Trust.Verify(ctx, certs[0], certs[1:])
			cancel()
			if !d.Accepted {
				return fmt.Errorf("ike: responder certificate refused: %s", d.Reason)
			}
		} else if d.Leaf, d.Err = parseCert(certs[0]); d.Err != nil {
			return d.Err
		}
		if _, err := crypto.VerifyAuth(d.Leaf.PublicKey, auth.Method, octets, auth.Data); err != nil {
			return fmt.Errorf("ike: responder AUTH: %w", err)
		}
	}
	s.Result.ResponderID, s.Result.ResponderAuth = idr, auth.Method
	s.peerID = idr
	if esp != nil && len(esp.Proposals) == 1 {
		p := esp.Proposals[0]
		c, err := choiceFromProposal(p, s.cfg.ESP)
		if err != nil {
			return err
		}
		if len(p.SPI) != 4 {
			return fmt.Errorf("ike: responder's ESP SPI has %d octets", len(p.SPI))
		}
		s.Result.ESP = &p
		s.Result.ChildSPIOut = binary.BigEndian.Uint32(p.SPI)
		keys, err := crypto.DeriveChildKeys(s.prf, s.keys.SKd, nil, s.ni, s.nr, c.Encr.ID, c.Encr.KeyBits, c.Integ.ID)
		if err != nil {
			return err
		}
		// KEYMAT is initiator-to-responder first (RFC 7296, Section 2.17).
		s.child = &sa.Child{SPIIn: s.Result.ChildSPIIn, SPIOut: s.Result.ChildSPIOut, Encr: c.Encr.ID,
			EncrKeyBits: c.Encr.KeyBits, Integ: c.Integ.ID, EncKeyOut: keys.EncrI, IntegKeyOut: keys.IntegI,
			EncKeyIn: keys.EncrR, IntegKeyIn: keys.IntegR, LocalTS: s.Result.TSi, RemoteTS: s.Result.TSr}
		s.exportESPKeys(s.child)
	}
	return nil
}

// Delete ends the IKE SA with an INFORMATIONAL delete (RFC 7296, Section
// 1.4.1) and waits for the answer.
func (s *Session) Delete(ctx context.Context) error {
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: wire.INFORMATIONAL,
		Flags: wire.FlagInitiator, MessageID: s.myMsgID}
	msgs, err := s.encode(h, []wire.Payload{&wire.Delete{Protocol: wire.ProtoIKE}})
	if err != nil {
		return err
	}
	_, _, err = s.roundTrip(ctx, msgs, s.myMsgID, wire.INFORMATIONAL)
	s.myMsgID++
	return err
}

// Request sends one request of any exchange on the established IKE SA and
// returns the decrypted payloads of the response: tests and tools use it to
// drive CREATE_CHILD_SA and INFORMATIONAL exchanges by hand.
func (s *Session) Request(ctx context.Context, exch wire.ExchangeType, payloads []wire.Payload) ([]wire.Payload, error) {
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: exch,
		Flags: wire.FlagInitiator, MessageID: s.myMsgID}
	msgs, err := s.encode(h, payloads)
	if err != nil {
		return nil, err
	}
	_, inner, err := s.roundTrip(ctx, msgs, s.myMsgID, exch)
	s.myMsgID++
	return inner, err
}

// Liveness sends an empty INFORMATIONAL request (RFC 7296, Section 2.4).
func (s *Session) Liveness(ctx context.Context) error {
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: wire.INFORMATIONAL,
		Flags: wire.FlagInitiator, MessageID: s.myMsgID}
	msgs, err := s.encode(h, nil)
	if err != nil {
		return err
	}
	_, _, err = s.roundTrip(ctx, msgs, s.myMsgID, wire.INFORMATIONAL)
	s.myMsgID++
	return err
}

var errNotOffered = errors.New("ike: responder chose a transform that was not offered")

// choiceFromProposal checks that the responder's proposal names one
// transform of each type and that the offer with its number had each
// (RFC 7296, Section 2.7: the responder picks, it does not invent).
func choiceFromProposal(p wire.Proposal, offer []wire.Proposal) (*policy.Choice, error) {
	num := int(p.Number)
	if num < 1 || num > len(offer) {
		return nil, fmt.Errorf("%w: proposal number %d", errNotOffered, p.Number)
	}
	mine := offer[num-1]
	c := &policy.Choice{Proposal: p}
	seen := map[wire.TransformType]bool{}
	for _, t := range p.Transforms {
		if seen[t.Type] {
			return nil, fmt.Errorf("ike: responder chose two %s transforms", t.Type)
		}
		seen[t.Type] = true
		found := false
		for _, o := range mine.Transforms {
			if o.Type == t.Type && o.ID == t.ID && o.KeyLength() == t.KeyLength() {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %s", errNotOffered, t.Name())
		}
		a := policy.Algorithm{Type: t.Type, ID: t.ID, KeyBits: t.KeyLength()}
		switch t.Type {
		case wire.TransformENCR:
			c.Encr = a
		case wire.TransformINTEG:
			if t.ID != wire.AUTH_NONE {
				c.Integ = a
			}
		case wire.TransformPRF:
			c.PRF = a
		case wire.TransformKE:
			if t.ID != wire.KE_NONE {
				c.KE = a
			}
		case wire.TransformESN:
			c.ESN = a
		}
	}
	if c.Encr.ID == 0 {
		return nil, fmt.Errorf("ike: responder chose no cipher")
	}
	return c, nil
}

func parseCert(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }

package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/ike/wskeys"
	"github.com/ikelab/ikelab/sa"
)

// initRequest is the state of one IKE_SA_INIT exchange as responder, its
// methods called in RFC 7296 Section 1.2 order by handleInit and discarded
// when the response is sent.
type initRequest struct {
	e     *Engine
	p     Packet
	m     *wire.Message
	audit *Audit

	sa       *wire.SA
	ke       *wire.KE
	nonce    []byte
	natdSrc  [][]byte
	natdDst  [][]byte
	frag     bool
	hashes   []crypto.HashAlgorithm
	vendors  []wire.Vendor
	choice   *policy.Choice
	priv     *crypto.KEPrivate
	shared   []byte
	spir     wire.SPI
	nr       []byte
	response []wire.Payload
	reserved bool // admit reserved a half-open slot not yet handed to an SA
}

func (e *Engine) handleInit(p Packet, h *wire.Header) {
	key := initKey{h.SPIi, p.Remote.Addr()}
	e.mu.Lock()
	old := e.byInit[key]
	_, busy := e.initBusy[key]
	if !busy {
		e.initBusy[key] = struct{}{}
	}
	e.mu.Unlock()
	if busy {
		// Another worker is answering a request with this SPIi from this
		// peer: most likely this is its retransmission, which must not
		// make a second SA (RFC 7296, Section 2.1). The answer under way
		// serves both; charon drops such a request the same way ("already
		// processing").
		if e.debugOn() {
			e.debugf("IKE_SA_INIT with SPIi %s from %s is being answered; dropped", h.SPIi, fmtAddr(p.Remote))
		}
		return
	}
	defer func() {
		e.mu.Lock()
		delete(e.initBusy, key)
		e.mu.Unlock()
	}()
	if old != nil {
		old.mu.Lock()
		// An SA past IKE_AUTH has let its IKE_SA_INIT messages go
		// (establish): RFC 7296, Section 2.3 keeps a response only until
		// the next request, and the initiator has moved on. A late
		// duplicate is dropped rather than made a second,
		// never-completed SA.
		late := old.state == sa.Established || old.state == sa.Deleting
		same := bytes.Equal(old.initReq, p.Data) && old.state != sa.Dead
		resp := old.initResp
		old.mu.Unlock()
		if late {
			if e.debugOn() {
				e.debugf("IKE_SA_INIT with SPIi %s from %s belongs to an established IKE_SA; dropped", h.SPIi, fmtAddr(p.Remote))
			}
			return
		}
		if same {
			// RFC 7296, Section 2.1: answer a retransmission with the
			// same response.
			e.cfg.Log.Info(fmt.Sprintf("received retransmit of IKE_SA_INIT from %s, retransmitting response", fmtAddr(p.Remote)))
			e.sendRaw(p.Local, p.Remote, p.NATT, [][]byte{resp})
			return
		}
	}
	var text [64]byte
	r := &initRequest{e: e, p: p, audit: &Audit{Event: "ike_sa_init", Peer: p.Remote.String(),
		Local: e.texts.intern(p.Local.AppendTo(text[:0])), SPIi: h.SPIi.String()}}
	err := r.run()
	if r.reserved {
		// Refused after admission: the half-open slot goes back.
		e.halfOpen.add(p.Remote.Addr(), -1)
	}
	if errors.Is(err, errStateless) {
		return
	} else if err != nil {
		ne := asNotify(err)
		r.audit.Result, r.audit.Notify, r.audit.Reason = "failed", ne.Type.String(), ne.Reason
		r.audit.Time = e.cfg.now()
		line := fmt.Sprintf("IKE_SA_INIT from %s refused with %s: %s", fmtAddr(p.Remote), ne.Type, ne.Reason)
		if e.initRate.current(e.cfg.now()) > InitRateThreshold {
			// Under a flood, refusals are summarised, not each recorded.
			e.dropLog.log(e, line)
		} else {
			e.cfg.Log.Info(line)
			if e.cfg.Audit != nil {
				e.cfg.Audit(r.audit)
			}
		}
		r.sendError(h, ne)
	}
}

// run handles the request; an error is answered with its notification.
func (r *initRequest) run() error {
	m, err := wire.ParseMessage(r.p.Data)
	if err != nil {
		return err
	}
	r.m = m
	if m.MessageID != 0 {
		return notifyErr(wire.INVALID_SYNTAX, nil, "IKE_SA_INIT with message ID %d", m.MessageID)
	}
	if err := r.collect(); err != nil {
		return err
	}
	if !r.admit() {
		return errStateless
	}
	// Logged only once admitted: admit's rate-limited line speaks for the
	// requests it turns away, so that a flood cannot fill the log.
	r.e.infoLine(func(b []byte) []byte { return wire.AppendSummaryLine(append(b, "parsed "...), &m.Header, m.Payloads) })
	if r.ClientIsWindows() {
		r.e.cfg.Log.Info(fmt.Sprintf("%s is a Windows client (vendor IDs %v)", fmtAddr(r.p.Remote), r.audit.VendorIDs))
	}
	if err := r.selectProposal(); err != nil {
		return err
	}
	if err := r.exchangeKeys(); err != nil {
		return err
	}
	return r.respond()
}

// errStateless ends an IKE_SA_INIT that was answered (COOKIE) or dropped
// without state.
var errStateless = errors.New("ike: answered statelessly")

// admit applies the flood defences of RFC 7296, Section 2.6 before any
// expensive work: above the thresholds a request must return a valid
// cookie, and a source holding too many half-open SAs is ignored.
func (r *initRequest) admit() bool {
	e, ip := r.e, r.p.Remote.Addr()
	total, fromIP := e.halfOpen.counts(ip)
	rate := e.initRate.tick(e.cfg.now())
	if total >= e.cfg.MaxHalfOpen || fromIP >= e.cfg.BlockThresholdIP {
		e.dropLog.log(e, fmt.Sprintf("dropping IKE_SA_INIT from %s: %d half-open SAs from it, %d in all", fmtAddr(r.p.Remote), fromIP, total))
		return false
	}
	// Requests are handled concurrently: the half-open slot is reserved
	// in the same step that checks the thresholds, so that a burst cannot
	// slip past them together. The SA takes the slot over; a request that
	// fails later gives it back (handleInit).
	switch {
	case e.cfg.CookieThreshold == CookieNever:
		r.reserved = e.halfOpen.reserve(ip, 0, 0)
		return true
	case e.cfg.CookieThreshold != CookieAlways && rate <= InitRateThreshold &&
		e.halfOpen.reserve(ip, e.cfg.CookieThreshold, e.cfg.CookieThresholdIP):
		r.reserved = true
		return true
	}
	// The cookie must come first (Section 2.6) and match Ni, IPi and SPIi.
	if n, ok := r.m.Payloads[0].(*wire.Notify); ok && n.NotifyType == wire.COOKIE &&
		e.cookies.valid(n.Data, r.nonce, ip, r.m.SPIi) {
		r.reserved = e.halfOpen.reserve(ip, 0, 0)
		return true
	}
	cookie := e.cookies.make(e.cfg.rand(), e.cfg.now(), r.nonce, ip, r.m.SPIi)
	e.dropLog.log(e, fmt.Sprintf("%d half-open IKE_SAs (%d from %s): answering IKE_SA_INIT with a COOKIE", total, fromIP, ip))
	r.sendError(&r.m.Header, &NotifyError{Type: wire.COOKIE, Data: cookie})
	return false
}

// collect sorts the payloads (RFC 7296, Section 1.2: SA, KE, Ni, in any
// order) and the notifications that shape the response.
func (r *initRequest) collect() error {
	for _, pl := range r.m.Payloads {
		switch pl := pl.(type) {
		case *wire.SA:
			r.sa = pl
		case *wire.KE:
			r.ke = pl
		case *wire.Nonce:
			r.nonce = pl.Data
		case *wire.VendorID:
			v := wire.LookupVendor(pl.Data)
			if v.Name == "" {
				v.Name = fmt.Sprintf("unknown %x", pl.Data)
			}
			r.vendors = append(r.vendors, v)
			r.audit.VendorIDs = append(r.audit.VendorIDs, v.Name)
			if v.Family != "" {
				r.audit.ClientFamily = v.Family
			}
		case *wire.Notify:
			switch pl.NotifyType {
			case wire.NAT_DETECTION_SOURCE_IP:
				r.natdSrc = append(r.natdSrc, pl.Data)
			case wire.NAT_DETECTION_DESTINATION_IP:
				r.natdDst = append(r.natdDst, pl.Data)
			case wire.IKEV2_FRAGMENTATION_SUPPORTED:
				r.frag = true
			case wire.SIGNATURE_HASH_ALGORITHMS:
				for _, a := range pl.HashAlgorithms() {
					r.hashes = append(r.hashes, crypto.HashAlgorithm(a))
				}
			}
		}
	}
	switch {
	case r.sa == nil:
		return notifyErr(wire.INVALID_SYNTAX, nil, "IKE_SA_INIT without SA payload")
	case r.ke == nil:
		return notifyErr(wire.INVALID_SYNTAX, nil, "IKE_SA_INIT without KE payload")
	case r.nonce == nil:
		return notifyErr(wire.INVALID_SYNTAX, nil, "IKE_SA_INIT without Nonce payload")
	}
	var text [128]byte
	for _, pr := range r.sa.Proposals {
		r.audit.IKEOffered = append(r.audit.IKEOffered, r.e.texts.intern(pr.AppendString(text[:0])))
	}
	return nil
}

// ClientIsWindows reports whether the vendor IDs name a Windows client.
func (r *initRequest) ClientIsWindows() bool { return r.audit.ClientFamily == "Windows" }

// selectProposal applies policy (RFC 7296, Section 2.7) and the KE rule
// (Section 1.2: INVALID_KE_PAYLOAD names the group we want).
func (r *initRequest) selectProposal() error {
	c, err := r.e.cfg.Policy.SelectIKE(r.sa.Proposals, r.ke.Group)
	if err != nil {
		var np *policy.NoProposalError
		if errors.As(err, &np) {
			return notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "%s", np.Reason)
		}
		return notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "no acceptable proposal")
	}
	r.choice = c
	var text [128]byte
	r.audit.IKEChosen = r.e.texts.intern(c.Proposal.AppendString(text[:0]))
	r.audit.KEGroup = wire.TransformName(wire.TransformKE, c.KE.ID)
	if c.KE.ID != r.ke.Group {
		ne := notifyErr(wire.INVALID_KE_PAYLOAD, nil, "client sent a KE payload for %s; policy selected %s",
			wire.TransformName(wire.TransformKE, r.ke.Group), r.audit.KEGroup)
		ne.Data = binary.BigEndian.AppendUint16(nil, uint16(c.KE.ID))
		return ne
	}
	for _, a := range []policy.Algorithm{c.Encr, c.Integ, c.PRF, c.KE} {
		if a.ID != 0 && crypto.IsWeak(a.Type, a.ID, a.KeyBits) {
			r.audit.Insecure = append(r.audit.Insecure, a.String())
		}
	}
	return nil
}

// exchangeKeys generates our key share and the shared secret; a peer
// public value that fails validation is INVALID_SYNTAX (RFC 6989 checks).
func (r *initRequest) exchangeKeys() error {
	g, ok := crypto.KE(r.choice.KE.ID)
	if !ok {
		return notifyErr(wire.NO_PROPOSAL_CHOSEN, nil, "%s is not implemented", r.audit.KEGroup)
	}
	var err error
	if r.priv, err = g.Generate(r.e.cfg.rand()); err != nil {
		return notifyErr(wire.TEMPORARY_FAILURE, err, "key generation failed")
	}
	if r.shared, err = r.priv.SharedSecret(r.ke.Data); err != nil {
		return notifyErr(wire.INVALID_SYNTAX, err, "peer's %s public value is invalid", r.audit.KEGroup)
	}
	if r.spir, err = r.e.newSPI(); err != nil {
		return notifyErr(wire.TEMPORARY_FAILURE, err, "no randomness")
	}
	r.nr = make([]byte, NonceLen)
	if _, err := r.e.cfg.rand().Read(r.nr); err != nil {
		return notifyErr(wire.TEMPORARY_FAILURE, err, "no randomness")
	}
	return nil
}

// respond builds, records and sends the response, and creates the
// half-open IKE SA with its keys (RFC 7296, Section 2.14).
func (r *initRequest) respond() error {
	e, h := r.e, &r.m.Header
	// Ni is copied out of the request, which establish lets go.
	s := &ikeSA{e: e, state: sa.HalfOpen, spii: h.SPIi, spir: r.spir, local: r.p.Local, remote: r.p.Remote,
		natt: r.p.NATT, choice: r.choice, ni: bytes.Clone(r.nonce), nr: r.nr, initReq: r.p.Data,
		peerFrag: r.frag, peerHashes: r.hashes, nextReqID: 1, created: e.cfg.now(), audit: r.audit}
	s.lastSeen = s.created
	// NAT detection (RFC 7296, Section 2.23): the peer's source hash is
	// over its address as we see it; a mismatch means it is behind a NAT.
	if len(r.natdSrc) > 0 {
		s.natRemote = !containsHash(r.natdSrc, natHash(h.SPIi, wire.SPI{}, r.p.Remote))
		s.natLocal = !containsHash(r.natdDst, natHash(h.SPIi, wire.SPI{}, r.p.Local))
		r.audit.NATLocal, r.audit.NATRemote = s.natLocal, s.natRemote
	}
	resp := []wire.Payload{
		&wire.SA{Proposals: []wire.Proposal{r.choice.Proposal}},
		&wire.KE{Group: r.choice.KE.ID, Data: r.priv.Public()},
		&wire.Nonce{Data: r.nr},
	}
	if len(r.natdSrc) > 0 {
		resp = append(resp,
			wire.NewNotify(wire.NAT_DETECTION_SOURCE_IP, natHash(h.SPIi, r.spir, r.p.Local)),
			wire.NewNotify(wire.NAT_DETECTION_DESTINATION_IP, natHash(h.SPIi, r.spir, r.p.Remote)))
	}
	if hashes := e.certReq; hashes != nil {
		resp = append(resp, &wire.CertReq{Encoding: wire.CertX509Signature, Data: hashes})
	}
	if r.frag {
		resp = append(resp, wire.NewNotify(wire.IKEV2_FRAGMENTATION_SUPPORTED, nil))
	}
	if r.hashes != nil {
		var d []byte
		for _, a := range crypto.SupportedHashAlgorithms() {
			d = binary.BigEndian.AppendUint16(d, uint16(a))
		}
		resp = append(resp, wire.NewNotify(wire.SIGNATURE_HASH_ALGORITHMS, d))
	}
	out := &wire.Message{Header: wire.Header{SPIi: h.SPIi, SPIr: r.spir, MajorVersion: 2,
		Exchange: wire.IKE_SA_INIT, Flags: wire.FlagResponse}, Payloads: resp}
	raw, err := out.Marshal()
	if err != nil {
		return notifyErr(wire.TEMPORARY_FAILURE, err, "encoding the response")
	}
	s.initResp = raw
	if err := s.deriveKeys(r.shared); err != nil {
		return notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "deriving keys")
	}
	s.initKey = initKey{h.SPIi, r.p.Remote.Addr()}
	// Once published, the SA may see its IKE_AUTH on another goroutine
	// (the transport's workers, or the NAT-T socket's) before this
	// function is done with it: the half-open count and the audit record
	// below are written under its lock. Nothing below is cryptography.
	s.mu.Lock()
	defer s.mu.Unlock()
	e.mu.Lock()
	e.bySPI[r.spir] = s
	e.byInit[s.initKey] = s
	e.mu.Unlock()
	// The slot admit reserved is the SA's now.
	s.halfOpenCounted, r.reserved = true, false
	e.infoLine(func(b []byte) []byte {
		return wire.AppendSummaryLine(append(appendSAPrefix(b, r.spir), "generating "...), &out.Header, out.Payloads)
	})
	if s.natRemote || s.natLocal {
		e.cfg.Log.Info(fmt.Sprintf("<%s> NAT detected: local %v, remote %v", r.spir, s.natLocal, s.natRemote))
	}
	e.sendRaw(r.p.Local, r.p.Remote, r.p.NATT, [][]byte{raw})
	r.audit.SPIr = r.spir.String()
	if e.cfg.Audit != nil {
		a := *r.audit
		a.Time, a.Result = e.cfg.now(), "ok"
		e.cfg.Audit(&a)
	}
	s.halfOpenUntil = e.reaper.add(r.spir, e.cfg.HalfOpenTimeout)
	return nil
}

// countHalfOpen adds to or removes from the half-open counts, once each.
func (s *ikeSA) countHalfOpen(n int) {
	if (n > 0) == s.halfOpenCounted {
		return
	}
	s.halfOpenCounted = n > 0
	s.e.halfOpen.add(s.remote.Addr(), n)
}

// deriveKeys computes SKEYSEED and SK_* (RFC 7296, Section 2.14) and the
// SK ciphers of both directions.
func (s *ikeSA) deriveKeys(shared []byte) error {
	prf, ok := crypto.PRFByID(s.choice.PRF.ID)
	if !ok {
		return fmt.Errorf("PRF %s not implemented", s.choice.PRF)
	}
	return s.deriveKeysFrom(crypto.SKEYSEED(prf, s.ni, s.nr, shared))
}

// makeCiphers builds the SK ciphers of both directions from SK_e and SK_a.
func (s *ikeSA) makeCiphers() error {
	c, keys := s.choice, s.keys
	in, err := crypto.NewSKCipher(c.Encr.ID, c.Encr.KeyBits, c.Integ.ID, keys.SKei, keys.SKai)
	if err != nil {
		return err
	}
	out, err := crypto.NewSKCipher(c.Encr.ID, c.Encr.KeyBits, c.Integ.ID, keys.SKer, keys.SKar)
	if err != nil {
		return err
	}
	if s.initiator {
		// The original initiator sends with SK_ei and receives with SK_er.
		in, out = out, in
	}
	s.in, s.out = in, out
	return nil
}

// ciphers returns the SK ciphers, made again if the SA let them go while
// idle.
func (s *ikeSA) ciphers() (in, out crypto.SKCipher, err error) {
	if s.in == nil {
		if err := s.makeCiphers(); err != nil {
			return nil, nil, err
		}
	}
	return s.in, s.out, nil
}

// idle lets an established SA's SK ciphers go between exchanges. Their key
// schedules (1.4 KB for a pair of AES-GCM ciphers) were the largest part
// of what an idle SA kept, and the keys they are made from are kept
// anyway; making them again when the next message comes (a DPD, a rekey)
// takes a few microseconds.
func (s *ikeSA) idle() {
	if s.state == sa.Established && s.pending == nil && s.frags == nil {
		s.in, s.out = nil, nil
	}
}

// deriveKeysFrom derives SK_* from SKEYSEED (RFC 7296, Section 2.14) and
// builds the SK ciphers; IKE SA rekeys enter here with their own SKEYSEED.
func (s *ikeSA) deriveKeysFrom(skeyseed []byte) error {
	c := s.choice
	prf, ok := crypto.PRFByID(c.PRF.ID)
	if !ok {
		return fmt.Errorf("PRF %s not implemented", c.PRF)
	}
	s.prf = prf
	suite := crypto.Suite{Encr: c.Encr.ID, EncrKeyBits: c.Encr.KeyBits, PRF: c.PRF.ID, Integ: c.Integ.ID, KE: c.KE.ID}
	keys, err := crypto.DeriveIKEKeys(suite, skeyseed, s.ni, s.nr, s.spii, s.spir)
	if err != nil {
		return err
	}
	s.keys = keys
	if err := s.makeCiphers(); err != nil {
		return err
	}
	if w := s.e.cfg.KeyLog; w != nil {
		row := &wskeys.IKESA{SPIi: s.spii, SPIr: s.spir, SKei: keys.SKei, SKer: keys.SKer, SKai: keys.SKai,
			SKar: keys.SKar, Encr: c.Encr.ID, EncrKeyBits: c.Encr.KeyBits, Integ: c.Integ.ID}
		if err := wskeys.WriteIKE(w, row); err != nil {
			s.log("key export: %v", err)
		}
	}
	return nil
}

// sendError answers a refused IKE_SA_INIT statelessly: with a zero SPIr
// and nothing kept (RFC 7296, Sections 1.2 and 2.6).
func (r *initRequest) sendError(h *wire.Header, ne *NotifyError) {
	out := &wire.Message{Header: wire.Header{SPIi: h.SPIi, MajorVersion: 2, Exchange: wire.IKE_SA_INIT,
		Flags: wire.FlagResponse, MessageID: h.MessageID},
		Payloads: []wire.Payload{&wire.Notify{NotifyType: ne.Type, Data: ne.Data}}}
	raw, err := out.Marshal()
	if err != nil {
		return
	}
	if ne.Type == wire.COOKIE {
		// One per request of a flood: admit's rate-limited line counts them.
		if r.e.debugOn() {
			r.e.debugf("generating %s", out.Summary())
		}
	} else {
		r.e.cfg.Log.Info(fmt.Sprintf("generating %s", out.Summary()))
	}
	r.e.sendRaw(r.p.Local, r.p.Remote, r.p.NATT, [][]byte{raw})
}

func containsHash(list [][]byte, h []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, h) {
			return true
		}
	}
	return false
}

// auditFail records a failed attempt on an SA.
func (s *ikeSA) auditFail(event, notify, reason string) {
	if s.e.cfg.Audit == nil {
		return
	}
	a := *s.audit
	a.Time, a.Event, a.Result, a.Notify, a.Reason = s.e.cfg.now(), event, "failed", notify, reason
	s.e.cfg.Audit(&a)
}

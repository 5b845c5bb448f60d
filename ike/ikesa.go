package ike

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// ikeSA is the responder's state for one IKE SA. Its methods run with mu
// held.
type ikeSA struct {
	e  *Engine
	mu sync.Mutex

	state      sa.State
	spii, spir wire.SPI
	// initiator is set when we are the original initiator of this IKE SA:
	// in the initiator command, and after an IKE SA rekey we started.
	initiator bool
	local     netip.AddrPort
	remote    netip.AddrPort
	natt      bool // talk on 4500 with the non-ESP marker
	natLocal  bool // we are behind a NAT
	natRemote bool // the peer is behind a NAT

	choice   *policy.Choice
	prf      *crypto.PRFAlg
	keys     *crypto.IKEKeys
	in, out  crypto.SKCipher
	ni, nr   []byte
	initReq  []byte // IKE_SA_INIT request as received, signed by the peer
	initResp []byte // our IKE_SA_INIT response as sent, signed by us

	peerFrag   bool
	peerHashes []crypto.HashAlgorithm
	peerID     *wire.ID
	// peerIDString is peerID formatted, once (a DN is parsed to print it).
	peerIDString string
	children     []*sa.Child
	vips         []netip.Addr
	created      time.Time
	lastSeen     time.Time
	audit        *Audit

	// Responder window of size 1 (RFC 7296, Section 2.3).
	nextReqID uint32
	lastResp  [][]byte
	frags     *reassembly

	halfOpenCounted bool
	// busy is one more than the message ID of the request being answered,
	// 0 when none; read without the lock by Engine.Handle.
	busy    atomic.Int64
	eap     *eapState // IKE_AUTH with EAP in progress
	initKey initKey   // where byInit holds this SA

	// Our own requests (DPD, delete, rekey): a window of one, with the
	// rest queued (RFC 7296, Section 2.3).
	myMsgID  uint32
	pending  *request
	queue    []func()
	retries  int
	timer    *time.Timer
	dpdTimer *time.Timer
	// halfOpenUntil is when the engine's reaper removes the SA if
	// IKE_AUTH has not completed by then (reaper.go).
	halfOpenUntil time.Time
	// rekeying tracks child SAs we are rekeying, for collisions;
	// ikeRekeying the IKE SA rekey we started.
	rekeying      map[*sa.Child]*rekeyState
	ikeRekeying   *ikeRekey
	ikeRekeyTimer *time.Timer
}

// mySPI is the SPI this side chose; the engine's table is keyed by it.
func (s *ikeSA) mySPI() wire.SPI {
	if s.initiator {
		return s.spii
	}
	return s.spir
}

// peerSPI is the SPI the peer chose.
func (s *ikeSA) peerSPI() wire.SPI {
	if s.initiator {
		return s.spir
	}
	return s.spii
}

// flags are the header flags of everything this side sends: the Initiator
// flag marks the original initiator (RFC 7296, Section 3.1).
func (s *ikeSA) flags() wire.Flags {
	if s.initiator {
		return wire.FlagInitiator
	}
	return 0
}

// handleRequest applies the message ID window, then decrypts and
// dispatches a request.
func (s *ikeSA) handleRequest(p Packet, h *wire.Header) {
	switch {
	case h.MessageID == s.nextReqID:
	case h.MessageID+1 == s.nextReqID && s.lastResp != nil:
		// RFC 7296, Section 2.1: a retransmitted request gets the same
		// response again. For a fragmented request, only fragment 1
		// triggers it (RFC 7383, Section 2.6.1).
		if m, err := wire.ParseMessage(p.Data); err == nil {
			if f := m.Fragment(); f != nil && f.Number != 1 {
				return
			}
		}
		s.log("received retransmit of request with ID %d, retransmitting response", h.MessageID)
		s.e.sendRaw(s.local, s.remote, s.natt, s.lastResp)
		return
	default:
		s.log("received %s with message ID outside the window (expected %d), dropped", h.Summary(), s.nextReqID)
		return
	}
	m, err := wire.ParseMessage(p.Data)
	if err != nil {
		// Unauthenticated garbage cannot be answered safely
		// (RFC 7296, Section 2.21.2 asks for INVALID_SYNTAX only in an
		// authenticated exchange).
		s.log("dropped malformed %s from %s: %v", h.Summary(), fmtAddr(p.Remote), err)
		return
	}
	inner, complete, err := s.decrypt(m)
	if err != nil {
		s.log("dropped %s from %s: %v", h.Summary(), fmtAddr(p.Remote), err)
		return
	}
	if !complete {
		return
	}
	s.lastSeen = s.e.cfg.now()
	s.updatePeer(p)
	s.logLine(func(b []byte) []byte { return wire.AppendSummaryLine(append(b, "parsed "...), &m.Header, inner) })
	s.busy.Store(int64(m.MessageID) + 1)
	resp, err := s.dispatch(m, inner)
	s.busy.Store(0)
	if err != nil {
		ne := asNotify(err)
		s.log("answering %s with %s: %s", h.Summary(), ne.Type, ne.Reason)
		resp = []wire.Payload{&wire.Notify{NotifyType: ne.Type, Data: ne.Data}}
	}
	s.respond(m.Exchange, m.MessageID, resp)
	if s.state == sa.Deleting {
		s.remove("deleted")
	}
	s.idle()
}

// updatePeer follows the peer to the address and port of an authenticated
// message (RFC 7296, Section 2.23: the NAT mapping may change).
func (s *ikeSA) updatePeer(p Packet) {
	if p.Remote != s.remote || p.NATT != s.natt {
		if s.halfOpenCounted {
			// Keep the per-address count with the address it was made for.
			s.countHalfOpen(-1)
			defer s.countHalfOpen(1)
		}
		s.log("peer moved from %s to %s", fmtAddr(s.remote), fmtAddr(p.Remote))
		s.remote, s.local, s.natt = p.Remote, p.Local, p.NATT
	}
}

// decrypt verifies and decrypts an SK payload, or collects an SKF fragment
// (RFC 7383, Section 2.6): each fragment's integrity is checked before it
// is kept. complete is false while fragments are missing.
func (s *ikeSA) decrypt(m *wire.Message) (inner []wire.Payload, complete bool, err error) {
	in, _, err := s.ciphers()
	if err != nil {
		return nil, false, err
	}
	if e := m.Encrypted(); e != nil {
		inner, err := m.Decrypt(in)
		if err != nil {
			return nil, false, err
		}
		return inner, true, nil
	}
	f := m.Fragment()
	if f == nil {
		return nil, false, fmt.Errorf("no encrypted payload in %s", m.Header.Summary())
	}
	plain, err := in.Open(f.AssociatedData(), f.Body)
	if err != nil {
		return nil, false, fmt.Errorf("fragment %d/%d: %w", f.Number, f.Total, err)
	}
	now := s.e.cfg.now()
	if s.frags == nil || s.frags.msgID != m.MessageID || s.frags.expired(now) {
		s.frags = newReassembly(m.MessageID, now)
	}
	whole, first, done, err := s.frags.add(f, plain)
	if err != nil {
		s.frags = nil
		return nil, false, err
	}
	if !done {
		s.log("received fragment #%d of %d, waiting for complete IKE message", f.Number, f.Total)
		return nil, false, nil
	}
	s.frags = nil
	s.log("received fragment #%d of %d, reassembled fragmented IKE message (%d bytes)", f.Number, f.Total, len(whole))
	inner, err = wire.ParsePayloads(first, whole)
	return inner, err == nil, err
}

// dispatch runs the exchange a request belongs to.
func (s *ikeSA) dispatch(m *wire.Message, inner []wire.Payload) ([]wire.Payload, error) {
	switch {
	case m.Exchange == wire.IKE_AUTH && s.state == sa.HalfOpen && s.eap != nil:
		return s.handleEAP(inner)
	case m.Exchange == wire.IKE_AUTH && s.state == sa.HalfOpen:
		return s.handleAuth(m, inner)
	case m.Exchange == wire.INFORMATIONAL && s.state == sa.Established:
		return s.handleInformational(inner)
	case m.Exchange == wire.INFORMATIONAL && s.state == sa.HalfOpen:
		// RFC 7296, Section 2.21.2: an initiator that refuses our IKE_AUTH
		// answer (or gives up during EAP) may say so in an INFORMATIONAL
		// with AUTHENTICATION_FAILED, or delete the SA; either ends it.
		for _, pl := range inner {
			n, isN := pl.(*wire.Notify)
			d, isD := pl.(*wire.Delete)
			if (isN && n.NotifyType.IsError()) || (isD && d.Protocol == wire.ProtoIKE) {
				reason := "initiator deleted the half-open IKE SA"
				if isN {
					reason = "initiator refused the IKE SA with " + n.NotifyType.String()
				}
				s.auditFail("refused_by_peer", "", reason)
				s.state = sa.Deleting
				return nil, nil
			}
		}
		return nil, nil
	case m.Exchange == wire.CREATE_CHILD_SA && s.state == sa.Established:
		return s.handleCreateChild(inner)
	}
	return nil, notifyErr(wire.INVALID_SYNTAX, nil, "%s not expected in state %s", m.Exchange, s.state)
}

// respond encrypts, fragments if needed, caches and sends a response.
func (s *ikeSA) respond(exch wire.ExchangeType, msgID uint32, payloads []wire.Payload) {
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: exch,
		Flags: wire.FlagResponse | s.flags(), MessageID: msgID}
	s.logLine(func(b []byte) []byte { return wire.AppendSummaryLine(append(b, "generating "...), &h, payloads) })
	msgs, err := s.encode(h, payloads)
	if err != nil {
		s.log("encoding response failed: %v", err)
		return
	}
	s.nextReqID = msgID + 1
	s.lastResp = msgs
	s.e.sendRaw(s.local, s.remote, s.natt, msgs)
}

// encode seals payloads into one message, or into RFC 7383 fragments when
// the peer supports them and the message would exceed FragmentSize.
func (s *ikeSA) encode(h wire.Header, payloads []wire.Payload) ([][]byte, error) {
	_, out, err := s.ciphers()
	if err != nil {
		return nil, err
	}
	sl := sealer{c: out, e: s.e}
	one, err := wire.MarshalEncrypted(h, nil, payloads, sl)
	if err != nil {
		return nil, err
	}
	if !s.peerFrag || len(one) <= s.e.cfg.FragmentSize {
		return [][]byte{one}, nil
	}
	frags, err := wire.MarshalFragments(h, payloads, sl, s.e.cfg.FragmentSize)
	if err != nil {
		return nil, err
	}
	s.log("splitting IKE message (%d bytes) into %d fragments", len(one), len(frags))
	return frags, nil
}

// armDPD schedules the next liveness check (RFC 7296, Section 2.4).
func (s *ikeSA) armDPD() {
	if s.e.cfg.DPDInterval <= 0 {
		return
	}
	// One timer for the SA's life, reset rather than made again: a check
	// that fired while this waited for the lock finds the SA active and
	// sets it once more.
	if s.dpdTimer != nil {
		s.dpdTimer.Reset(s.e.cfg.DPDInterval)
		return
	}
	s.dpdTimer = time.AfterFunc(s.e.cfg.DPDInterval, s.dpd)
}

func (s *ikeSA) dpd() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != sa.Established {
		return
	}
	if idle := s.e.cfg.now().Sub(s.lastSeen); idle < s.e.cfg.DPDInterval {
		s.dpdTimer.Reset(s.e.cfg.DPDInterval - idle)
		return
	}
	if s.pending != nil {
		return
	}
	s.request(wire.INFORMATIONAL, nil, "liveness check", nil, true)
}

// remove forgets the SA and uninstalls its child SAs.
func (s *ikeSA) remove(why string) {
	if s.state == sa.Dead {
		return
	}
	s.state = sa.Dead
	s.countHalfOpen(-1)
	if s.eap != nil {
		s.eap.server.Close()
		s.eap = nil
	}
	for _, t := range []*time.Timer{s.timer, s.dpdTimer, s.ikeRekeyTimer} {
		if t != nil {
			t.Stop()
		}
	}
	for _, c := range s.children {
		c.StopTimer()
	}
	for _, c := range s.children {
		if err := s.e.cfg.Installer.Remove(c); err != nil {
			s.log("removing CHILD_SA %08x failed: %v", c.SPIIn, err)
		}
	}
	s.e.unindexChildren(s, s.children)
	s.children = nil
	s.e.pools.release(s.mySPI())
	s.e.mu.Lock()
	if s.e.bySPI[s.mySPI()] == s {
		delete(s.e.bySPI, s.mySPI())
	}
	if s.e.byInit[s.initKey] == s {
		delete(s.e.byInit, s.initKey)
	}
	s.e.mu.Unlock()
	s.log("IKE_SA %s_i %s_r removed: %s", s.spii, s.spir, why)
}

func (s *ikeSA) status() Status {
	st := Status{SPIi: s.spii.String(), SPIr: s.spir.String(), State: s.state.String(), Initiator: s.initiator,
		Local: s.local.String(), Remote: s.remote.String(), NAT: s.natLocal || s.natRemote, Established: s.created}
	if s.choice != nil {
		st.Proposal = s.choice.Proposal.String()
	}
	if s.peerIDString != "" {
		st.PeerID = s.peerIDString
	} else if s.peerID != nil {
		st.PeerID = s.peerID.String()
	}
	for _, v := range s.vips {
		st.VirtualIPs = append(st.VirtualIPs, v.String())
	}
	for _, c := range s.children {
		cs := ChildStatus{SPIIn: spiString(c.SPIIn), SPIOut: spiString(c.SPIOut), Mode: c.Mode.String(), Encap: c.Encap,
			Encr: wire.TransformName(wire.TransformENCR, c.Encr), Created: c.Created, Rekeyed: c.Rekeyed}
		if c.EncrKeyBits != 0 {
			cs.Encr = fmt.Sprintf("%s_%d", cs.Encr, c.EncrKeyBits)
		}
		if c.Integ != wire.AUTH_NONE {
			cs.Integ = wire.TransformName(wire.TransformINTEG, c.Integ)
		}
		for _, t := range c.LocalTS {
			cs.LocalTS = append(cs.LocalTS, t.String())
		}
		for _, t := range c.RemoteTS {
			cs.RemoteTS = append(cs.RemoteTS, t.String())
		}
		st.Children = append(st.Children, cs)
	}
	return st
}

// auditEnd records the end of an established IKE SA.
func (s *ikeSA) auditEnd(event, reason string) {
	if s.e.cfg.Audit == nil || s.audit == nil {
		return
	}
	a := *s.audit
	a.Time, a.Event, a.Reason = s.e.cfg.now(), event, reason
	a.Result = "ok"
	if event == "dead_peer" {
		a.Result = "failed"
	}
	s.e.cfg.Audit(&a)
}

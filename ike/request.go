package ike

import (
	"fmt"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// request is one of our own requests in flight.
type request struct {
	exch wire.ExchangeType
	kind string
	msgs [][]byte
	// done runs with the response's inner payloads, s.mu held.
	done func(inner []wire.Payload)
}

// request sends one of our own requests, or queues it while another is in
// flight: IKE's window is one request unless SET_WINDOW_SIZE says more
// (RFC 7296, Section 2.3). With retransmit it is resent with back-off
// until answered (Section 2.1); no answer at all means the peer is dead.
func (s *ikeSA) request(exch wire.ExchangeType, payloads []wire.Payload, kind string, done func([]wire.Payload), retransmit bool) {
	if s.state == sa.Dead {
		return
	}
	if s.pending != nil {
		s.queue = append(s.queue, func() { s.request(exch, payloads, kind, done, retransmit) })
		return
	}
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: exch, Flags: s.flags(), MessageID: s.myMsgID}
	s.log("generating %s", wire.SummaryLine(&h, payloads))
	msgs, err := s.encode(h, payloads)
	if err != nil {
		s.log("encoding %s request failed: %v", kind, err)
		return
	}
	s.pending = &request{exch: exch, kind: kind, msgs: msgs, done: done}
	s.retries = 0
	s.e.sendRaw(s.local, s.remote, s.natt, msgs)
	if retransmit {
		s.armRetransmit()
	}
}

func (s *ikeSA) armRetransmit() {
	// Exponential back-off: strongSwan uses timeout * 1.8^n; doubling is
	// the RFC's example and keeps the arithmetic exact.
	d := s.e.cfg.RetransmitTimeout << s.retries
	s.timer = time.AfterFunc(d, s.retransmit)
}

func (s *ikeSA) retransmit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil || s.state == sa.Dead {
		return
	}
	s.retries++
	if s.retries > s.e.cfg.RetransmitTries {
		s.log("giving up after %d retransmits of %s: peer is dead", s.e.cfg.RetransmitTries, s.pending.kind)
		s.auditEnd("dead_peer", fmt.Sprintf("no answer to %s after %d retransmits", s.pending.kind, s.e.cfg.RetransmitTries))
		s.remove("dead peer")
		return
	}
	s.log("retransmit %d of request with message ID %d", s.retries, s.myMsgID)
	s.e.sendRaw(s.local, s.remote, s.natt, s.pending.msgs)
	s.armRetransmit()
}

// handleResponse matches a response to our pending request.
func (s *ikeSA) handleResponse(p Packet, h *wire.Header) {
	if s.pending == nil || h.MessageID != s.myMsgID || h.Exchange != s.pending.exch {
		s.log("received unexpected %s, dropped", h.Summary())
		return
	}
	m, err := wire.ParseMessage(p.Data)
	if err != nil {
		s.log("dropped malformed %s: %v", h.Summary(), err)
		return
	}
	inner, complete, err := s.decrypt(m)
	if err != nil || !complete {
		if err != nil {
			s.log("dropped %s: %v", h.Summary(), err)
		}
		return
	}
	s.log("parsed %s", wire.SummaryLine(&m.Header, inner))
	if s.timer != nil {
		s.timer.Stop()
	}
	req := s.pending
	s.pending = nil
	s.myMsgID++
	s.lastSeen = s.e.cfg.now()
	s.updatePeer(p)
	if req.done != nil {
		req.done(inner)
	}
	if s.state == sa.Deleting {
		s.remove("deleted")
		return
	}
	if len(s.queue) > 0 {
		next := s.queue[0]
		s.queue = s.queue[1:]
		next()
	}
	s.armDPD()
	s.idle()
}

// notifyError returns the first error notification of a response.
func notifyError(inner []wire.Payload) *wire.Notify {
	for _, p := range inner {
		if n, ok := p.(*wire.Notify); ok && n.NotifyType.IsError() {
			return n
		}
	}
	return nil
}

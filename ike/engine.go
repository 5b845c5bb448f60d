// Package ike is ikelab's IKEv2 protocol engine: the responder side of
// IKE_SA_INIT, IKE_AUTH and INFORMATIONAL (RFC 7296), with policy
// selection, certificate trust, NAT detection, RFC 7383 fragmentation and
// dead peer detection. It reaches the network through a Sender and the
// kernel through an sa.Installer, so a whole handshake runs in a unit test.
package ike

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// Packet is one UDP datagram. NATT marks port 4500, where IKE messages
// carry the non-ESP marker; Data never includes it.
type Packet struct {
	Local, Remote netip.AddrPort
	NATT          bool
	Data          []byte
}

// A Sender transmits datagrams; the UDP transport in production, a channel
// in tests.
type Sender interface {
	Send(p Packet) error
}

// Engine is a responder serving many IKE SAs.
type Engine struct {
	cfg  Config
	send Sender

	mu     sync.Mutex
	bySPI  map[wire.SPI]*ikeSA
	byInit map[initKey]*ikeSA
	// byChild finds the IKE SA that holds a child SA, by the child's
	// inbound SPI, for its lifetime timers and the kernel's expire
	// events; a rekey of the IKE SA moves its children (withChild).
	// Inbound SPIs are unique per local address (the installer allocates
	// them), so one entry per SPI serves a responder with one address.
	byChild map[uint32]*ikeSA
	// initBusy holds the IKE_SA_INIT requests being answered, so that a
	// retransmission arriving meanwhile (on another worker) is dropped
	// rather than answered with a second SA (handleInit).
	initBusy map[initKey]struct{}
	reqID    uint32
	closed   bool
	pools    pools
	cookies  cookies
	halfOpen halfOpen
	initRate rateCounter
	// dropLog rate-limits the log lines of a flood.
	dropLog rateLimit
	// localID is cfg.ID formatted once, for the log lines; a DN is
	// parsed to print it.
	localID string
	// certReq is the CERTREQ payload's data, the hashes of the trusted
	// roots' keys, which never change for a Verifier: computed once.
	certReq []byte
	// texts holds the audit record's texts that repeat from SA to SA.
	texts texts
	// reaper removes the SAs whose IKE_AUTH never completed.
	reaper reaper
}

// initKey finds a half-open SA from a retransmitted IKE_SA_INIT, which
// still carries a zero SPIr (RFC 7296, Section 2.1).
type initKey struct {
	spii wire.SPI
	peer netip.Addr
}

// NewEngine returns an engine that answers through send.
func NewEngine(cfg Config, send Sender) (*Engine, error) {
	if cfg.Policy == nil {
		return nil, fmt.Errorf("ike: config has no policy")
	}
	cfg.setDefaults()
	e := &Engine{cfg: cfg, send: send, bySPI: map[wire.SPI]*ikeSA{}, byInit: map[initKey]*ikeSA{},
		byChild: map[uint32]*ikeSA{}, initBusy: map[initKey]struct{}{}}
	e.reaper.fire = e.reapHalfOpen
	if cfg.ID != nil {
		e.localID = cfg.ID.String()
	}
	e.certReq = cfg.certReqHashes()
	return e, nil
}

// Handle processes one received datagram. It is safe for concurrent use;
// messages of one IKE SA are handled one at a time.
func (e *Engine) Handle(p Packet) {
	h, err := wire.ParseHeader(p.Data)
	if err != nil {
		e.cfg.Log.Info(fmt.Sprintf("received %d octets from %s that are not an IKE message: %v", len(p.Data), fmtAddr(p.Remote), err))
		return
	}
	if e.debugOn() {
		e.debugf("received packet: from %s to %s (%d bytes)", fmtAddr(p.Remote), fmtAddr(p.Local), len(p.Data))
	}
	if h.MajorVersion != 2 {
		// RFC 7296, Section 2.5: IKEv1 and unknown versions are dropped;
		// a higher version would get INVALID_MAJOR_VERSION, which no
		// peer we know of sends.
		e.cfg.Log.Info(fmt.Sprintf("received IKEv%d.%d message from %s, dropped: only IKEv2 is spoken", h.MajorVersion, h.MinorVersion, fmtAddr(p.Remote)))
		return
	}
	if h.Exchange == wire.IKE_SA_INIT && !h.IsResponse() && h.SPIr.IsZero() {
		e.handleInit(p, h)
		return
	}
	// Our SPI is SPIr in messages from the original initiator and SPIi in
	// those from the original responder (after an IKE SA rekey that we
	// started, we are the original initiator; RFC 7296, Section 2.18).
	ours, theirs := h.SPIr, h.SPIi
	if !h.IsInitiator() {
		ours, theirs = h.SPIi, h.SPIr
	}
	e.mu.Lock()
	s := e.bySPI[ours]
	e.mu.Unlock()
	if s != nil && s.peerSPI() != theirs {
		s = nil
	}
	if s == nil {
		// RFC 7296, Section 2.21.4: an unknown SPI may get INVALID_IKE_SPI,
		// but answering unauthenticated junk helps attackers; drop it.
		e.cfg.Log.Info(fmt.Sprintf("received %s for unknown IKE SA %s_i %s_r from %s, dropped", h.Summary(), h.SPIi, h.SPIr, fmtAddr(p.Remote)))
		return
	}
	// A retransmission of the request this SA is still answering (a slow
	// CRL fetch or RADIUS round trip) would only wait for the lock and tie
	// up a worker; the answer goes out when it is ready and the peer
	// retransmits again if it is lost (RFC 7296, Section 2.1).
	if !h.IsResponse() && s.busy.Load() == int64(h.MessageID)+1 {
		if e.debugOn() {
			e.debugf("request %d of IKE SA %s is being answered; retransmission dropped", h.MessageID, s.spir)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == sa.Dead {
		return
	}
	if h.IsResponse() {
		s.handleResponse(p, h)
		return
	}
	s.handleRequest(p, h)
}

// Close deletes every IKE SA, telling each established peer, and removes
// their child SAs from the installer.
func (e *Engine) Close() {
	e.reaper.stop()
	e.mu.Lock()
	e.closed = true
	all := make([]*ikeSA, 0, len(e.bySPI))
	for _, s := range e.bySPI {
		all = append(all, s)
	}
	e.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		if s.state == sa.Established {
			// Best effort: one delete, no retransmission (RFC 7296,
			// Section 1.4.1 lets a shutting-down node send it once).
			s.request(wire.INFORMATIONAL, []wire.Payload{&wire.Delete{Protocol: wire.ProtoIKE}}, "delete", nil, false)
		}
		s.remove("responder shutting down")
		s.mu.Unlock()
	}
}

// SAs returns a snapshot of the IKE SAs, for `responder sas` and tests.
func (e *Engine) SAs() []Status {
	e.mu.Lock()
	all := make([]*ikeSA, 0, len(e.bySPI))
	for _, s := range e.bySPI {
		all = append(all, s)
	}
	e.mu.Unlock()
	out := make([]Status, 0, len(all))
	for _, s := range all {
		s.mu.Lock()
		if s.state != sa.Dead {
			out = append(out, s.status())
		}
		s.mu.Unlock()
	}
	return out
}

// Status describes one IKE SA without keys, for `responder sas`.
type Status struct {
	SPIi        string        `json:"spi_i"`
	SPIr        string        `json:"spi_r"`
	State       string        `json:"state"`
	Initiator   bool          `json:"initiator"` // we are the original initiator
	Local       string        `json:"local"`
	Remote      string        `json:"remote"`
	NAT         bool          `json:"nat,omitempty"`
	Proposal    string        `json:"proposal,omitempty"`
	PeerID      string        `json:"peer_id,omitempty"`
	VirtualIPs  []string      `json:"virtual_ips,omitempty"`
	Established time.Time     `json:"established"`
	Children    []ChildStatus `json:"children,omitempty"`
}

// ChildStatus describes one child SA without keys.
type ChildStatus struct {
	SPIIn    string    `json:"spi_in"`
	SPIOut   string    `json:"spi_out"`
	Mode     string    `json:"mode"`
	Encap    bool      `json:"encap,omitempty"`
	Encr     string    `json:"encr"`
	Integ    string    `json:"integ,omitempty"`
	LocalTS  []string  `json:"local_ts"`
	RemoteTS []string  `json:"remote_ts"`
	Created  time.Time `json:"created"`
	Rekeyed  bool      `json:"rekeyed,omitempty"`
	// Counters from the kernel, when child SAs are installed there.
	BytesIn    uint64 `json:"bytes_in,omitempty"`
	PacketsIn  uint64 `json:"packets_in,omitempty"`
	BytesOut   uint64 `json:"bytes_out,omitempty"`
	PacketsOut uint64 `json:"packets_out,omitempty"`
}

// RekeyChild starts a rekey of the child SA with inbound SPI spi, as its
// lifetime would.
func (e *Engine) RekeyChild(spi uint32) error {
	if !e.withChild(spi, func(s *ikeSA, c *sa.Child) { s.initiateChildRekey(c, 0) }) {
		return fmt.Errorf("ike: no CHILD_SA with inbound SPI %08x", spi)
	}
	return nil
}

// RekeyIKE starts a rekey of the IKE SA whose SPI (ours or the peer's) is spi.
func (e *Engine) RekeyIKE(spi wire.SPI) error {
	e.mu.Lock()
	var found *ikeSA
	for _, s := range e.bySPI {
		if s.spii == spi || s.spir == spi {
			found = s
		}
	}
	e.mu.Unlock()
	if found == nil {
		return fmt.Errorf("ike: no IKE_SA with SPI %s", spi)
	}
	found.withLock(func() { found.initiateIKERekey(0) })
	return nil
}

// withChild runs f under the lock of the IKE SA that holds the child SA
// with inbound SPI spi, if that IKE SA is established. It reports whether
// it found the child. It costs two map look-ups whatever the number of
// SAs: every soft and hard lifetime of every child SA comes through here.
func (e *Engine) withChild(spi uint32, f func(*ikeSA, *sa.Child)) bool {
	e.mu.Lock()
	s := e.byChild[spi]
	e.mu.Unlock()
	for s != nil {
		s.mu.Lock()
		if c := s.child(spi); c != nil {
			if s.state == sa.Established {
				f(s, c)
			}
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		// A rekey of the IKE SA moved the child between the look-up and
		// the lock; follow it.
		e.mu.Lock()
		next := e.byChild[spi]
		e.mu.Unlock()
		if next == s {
			return false
		}
		s = next
	}
	return false
}

// indexChildren records owner as the IKE SA that holds cs.
func (e *Engine) indexChildren(owner *ikeSA, cs []*sa.Child) {
	e.mu.Lock()
	for _, c := range cs {
		e.byChild[c.SPIIn] = owner
	}
	e.mu.Unlock()
}

// unindexChildren forgets cs if owner still holds them.
func (e *Engine) unindexChildren(owner *ikeSA, cs []*sa.Child) {
	e.mu.Lock()
	for _, c := range cs {
		if e.byChild[c.SPIIn] == owner {
			delete(e.byChild, c.SPIIn)
		}
	}
	e.mu.Unlock()
}

func (e *Engine) newSPI() (wire.SPI, error) {
	for {
		var spi wire.SPI
		if _, err := e.cfg.rand().Read(spi[:]); err != nil {
			return spi, err
		}
		e.mu.Lock()
		_, used := e.bySPI[spi]
		e.mu.Unlock()
		if !spi.IsZero() && !used {
			return spi, nil
		}
	}
}

func (e *Engine) newReqID() uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reqID++
	return e.reqID
}

// sendRaw transmits datagrams and logs them like charon.
func (e *Engine) sendRaw(local, remote netip.AddrPort, natt bool, msgs [][]byte) {
	for _, m := range msgs {
		if e.debugOn() {
			e.debugf("sending packet: from %s to %s (%d bytes)", fmtAddr(local), fmtAddr(remote), len(m))
		}
		if err := e.send.Send(Packet{Local: local, Remote: remote, NATT: natt, Data: m}); err != nil {
			e.cfg.Log.Info(fmt.Sprintf("sending to %s failed: %v", fmtAddr(remote), err))
		}
	}
}

// debugOn reports whether debug lines are logged. Callers test it before
// calling debugf: the per-datagram lines' arguments (formatted addresses,
// message summaries, the variadic slice itself) cost microseconds and
// allocations per datagram even when the line is then dropped.
func (e *Engine) debugOn() bool {
	return e.cfg.Log.Enabled(context.Background(), slog.LevelDebug)
}

// debugf logs a debug line; see debugOn.
func (e *Engine) debugf(format string, args ...any) {
	e.cfg.Log.Debug(fmt.Sprintf(format, args...))
}

// sealer adapts a crypto.SKCipher to the wire package's framing.
type sealer struct {
	c    crypto.SKCipher
	rand func() []byte
	e    *Engine
}

func (s sealer) BodyLen(n int) int { return s.c.BodyLen(n) }
func (s sealer) Seal(dst, assoc, plain []byte) ([]byte, error) {
	return s.c.Seal(dst, s.e.cfg.rand(), assoc, plain)
}

func spiString(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return hex.EncodeToString(b[:])
}

// spiLabel names a child SA's SPI as charon prints it, in one string:
// eight hex digits and _i (inbound, ours) or _o (outbound, the peer's).
func spiLabel(v uint32, dir byte) string {
	var raw [4]byte
	binary.BigEndian.PutUint32(raw[:], v)
	var b [10]byte
	hex.Encode(b[:8], raw[:])
	b[8], b[9] = '_', dir
	return string(b[:])
}

// trustContext bounds one certificate check by TrustTimeout.
func (e *Engine) trustContext() (context.Context, context.CancelFunc) {
	return newLazyDeadline(time.Now().Add(e.cfg.TrustTimeout))
}

// rateLimit lets one log line a second through, counting the rest, so that
// a flood cannot fill the disk.
type rateLimit struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *rateLimit) log(e *Engine, msg string) {
	r.mu.Lock()
	now := e.cfg.now()
	if now.Sub(r.last) < time.Second {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	if n > 0 {
		msg += fmt.Sprintf(" (%d similar lines suppressed)", n)
	}
	e.cfg.Log.Info(msg)
}

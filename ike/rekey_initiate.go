package ike

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// rekeyState follows both rekeys of one child SA when the peer rekeys it
// while we do (RFC 7296, Section 2.8.1): the SA made with the lowest of
// the four nonces is redundant and its initiator deletes it.
type rekeyState struct {
	oursDone, peersDone bool
	ourNonces           [][]byte
	peerNonces          [][]byte
	ourNew              *sa.Child
}

// childLifetimes are a new child SA's soft and hard lifetimes: rekey at
// the policy's lifetime less up to 10% jitter (so that both ends rarely
// collide), and delete 10% after the lifetime if no rekey happened
// (strongSwan's rekey_time, rand_time and life_time defaults). The kernel
// gets the same values, so its expire events and our timers agree.
func (s *ikeSA) childLifetimes() (soft, hard time.Duration) {
	life := s.e.cfg.Policy.ChildLifetime
	if life <= 0 {
		return 0, 0
	}
	jitter := time.Duration(mrand.Int64N(int64(life)/10 + 1))
	return life - jitter, life + life/10
}

// releaseSPI gives an unused SPI back to an installer that wants it.
func (s *ikeSA) releaseSPI(spi uint32) {
	if r, ok := s.e.cfg.Installer.(sa.SPIReleaser); ok {
		if err := r.ReleaseSPI(s.local.Addr(), s.remote.Addr(), spi); err != nil {
			s.log("releasing SPI %08x: %v", spi, err)
		}
	}
}

// scheduleRekey arms a child SA's lifetime timer: at the soft lifetime it
// rekeys the child and is replaced by the hard lifetime's, which deletes
// the child if the rekey has not replaced it by then. The hard timer is
// made only at the soft lifetime: until then every SA keeps one runtime
// timer and one closure, not two of each. It is called once per child.
func (s *ikeSA) scheduleRekey(c *sa.Child) {
	soft, hard := c.SoftLife, c.HardLife
	if soft <= 0 {
		return
	}
	// The timers find the child by SPI: an IKE SA rekey may have moved it.
	spi, e := c.SPIIn, s.e
	c.SetTimer(time.AfterFunc(soft, func() { e.childTimer(spi, false, hard-soft) }))
}

// childTimer is a child SA's lifetime timer firing: the soft lifetime arms
// the hard one, hardIn later, and rekeys; the hard lifetime deletes.
func (e *Engine) childTimer(spi uint32, hard bool, hardIn time.Duration) {
	e.withChild(spi, func(s *ikeSA, c *sa.Child) {
		if c.Timer() == nil {
			return // the child's timer was stopped while this call waited
		}
		if !hard {
			c.SetTimer(time.AfterFunc(hardIn, func() { e.childTimer(spi, true, 0) }))
		}
		s.lifetimeReached(c, hard)
	})
}

func (s *ikeSA) withLock(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == sa.Established {
		f()
	}
}

// ChildExpired is how the kernel's expire events (XFRM_MSG_EXPIRE) reach
// the engine: a soft expiry rekeys the child SA, a hard one deletes it and
// tells the peer.
func (e *Engine) ChildExpired(spiIn uint32, hard bool) {
	e.withChild(spiIn, func(s *ikeSA, c *sa.Child) { s.lifetimeReached(c, hard) })
}

// lifetimeReached rekeys a child SA at its soft lifetime and deletes it at
// its hard one, whether our timer or the kernel says so.
func (s *ikeSA) lifetimeReached(c *sa.Child, hard bool) {
	if hard {
		s.expireChild(c, "hard lifetime reached")
	} else {
		s.initiateChildRekey(c, 0)
	}
}

// expireChild deletes a child SA whose hard lifetime ran out and tells the
// peer (RFC 7296, Section 1.4.1).
func (s *ikeSA) expireChild(c *sa.Child, why string) {
	if !s.hasChild(c) {
		return
	}
	s.log("CHILD_SA %08x_i expired (%s), deleting", c.SPIIn, why)
	s.deleteChild(c)
}

func (s *ikeSA) hasChild(c *sa.Child) bool {
	for _, x := range s.children {
		if x == c {
			return true
		}
	}
	return false
}

// child returns the child SA with inbound SPI spi, or nil.
func (s *ikeSA) child(spi uint32) *sa.Child {
	for _, c := range s.children {
		if c.SPIIn == spi {
			return c
		}
	}
	return nil
}

// childOut returns the child SA with outbound SPI spi, or nil: the peer
// names a child SA by the SPI it receives on (DELETE, REKEY_SA).
func (s *ikeSA) childOut(spi uint32) *sa.Child {
	for _, c := range s.children {
		if c.SPIOut == spi {
			return c
		}
	}
	return nil
}

// addChild records an installed child SA as this IKE SA's.
func (s *ikeSA) addChild(c *sa.Child) {
	s.children = append(s.children, c)
	s.e.indexChildren(s, []*sa.Child{c})
}

// deleteChild removes a child SA locally and sends the delete.
func (s *ikeSA) deleteChild(c *sa.Child) {
	s.dropChild(c)
	d := &wire.Delete{Protocol: wire.ProtoESP, SPISize: 4, SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, c.SPIIn)}}
	s.request(wire.INFORMATIONAL, []wire.Payload{d}, "delete CHILD_SA", nil, true)
}

// dropChild uninstalls a child SA and forgets it.
func (s *ikeSA) dropChild(c *sa.Child) {
	c.StopTimer()
	for i, x := range s.children {
		if x == c {
			s.children = append(s.children[:i], s.children[i+1:]...)
			s.e.unindexChildren(s, []*sa.Child{c})
			if err := s.e.cfg.Installer.Remove(c); err != nil {
				s.log("removing CHILD_SA %08x_i failed: %v", c.SPIIn, err)
			}
			return
		}
	}
}

// initiateChildRekey rekeys a child SA with CREATE_CHILD_SA (RFC 7296,
// Section 1.3.3), with PFS in the group the policy names: the IKE SA's
// group first when the policy allows it, as Windows expects. group
// overrides it after INVALID_KE_PAYLOAD.
func (s *ikeSA) initiateChildRekey(old *sa.Child, group wire.TransformID) {
	if old.Rekeyed || !s.hasChild(old) {
		return
	}
	if _, busy := s.rekeying[old]; busy && group == 0 {
		return
	}
	ni := make([]byte, NonceLen)
	if _, err := io.ReadFull(s.e.cfg.rand(), ni); err != nil {
		return
	}
	spi, err := s.e.cfg.Installer.AllocSPI(s.local.Addr(), s.remote.Addr())
	if err != nil {
		s.log("rekeying CHILD_SA %08x_i: %v", old.SPIIn, err)
		return
	}
	spiB := binary.BigEndian.AppendUint32(nil, spi)
	var props []wire.Proposal
	for i, p := range s.e.cfg.Policy.ESP {
		props = append(props, p.Wire(uint8(i+1), spiB))
	}
	if group == 0 {
		group = s.pfsGroup()
	}
	payloads := []wire.Payload{
		&wire.Notify{Protocol: wire.ProtoESP, SPI: binary.BigEndian.AppendUint32(nil, old.SPIIn), NotifyType: wire.REKEY_SA},
		&wire.SA{Proposals: props}, &wire.Nonce{Data: ni},
	}
	var priv *crypto.KEPrivate
	if group != wire.KE_NONE {
		g, ok := crypto.KE(group)
		if !ok {
			return
		}
		if priv, err = g.Generate(s.e.cfg.rand()); err != nil {
			return
		}
		payloads = append(payloads, &wire.KE{Group: group, Data: priv.Public()})
	}
	// As the initiator of this exchange, our side is TSi.
	payloads = append(payloads, &wire.TS{Selectors: old.LocalTS}, &wire.TS{Responder: true, Selectors: old.RemoteTS})
	if old.Mode == sa.Transport {
		payloads = append(payloads, wire.NewNotify(wire.USE_TRANSPORT_MODE, nil))
	}
	if s.rekeying == nil {
		s.rekeying = map[*sa.Child]*rekeyState{}
	}
	if s.rekeying[old] == nil {
		s.rekeying[old] = &rekeyState{}
	}
	s.log("rekeying CHILD_SA %08x_i", old.SPIIn)
	s.request(wire.CREATE_CHILD_SA, payloads, "CHILD_SA rekey", func(inner []wire.Payload) {
		s.childRekeyAnswered(old, props, ni, priv, spi, inner)
	}, true)
}

// pfsGroup is the group for a rekey we start: the IKE SA's when some ESP
// proposal accepts it, else the first ESP proposal's first group, else none.
func (s *ikeSA) pfsGroup() wire.TransformID {
	var first wire.TransformID
	for _, p := range s.e.cfg.Policy.ESP {
		for _, k := range p.KE {
			if s.choice != nil && k.ID == s.choice.KE.ID {
				return k.ID
			}
			if first == 0 {
				first = k.ID
			}
		}
	}
	return first
}

// childRekeyAnswered completes a rekey we started.
func (s *ikeSA) childRekeyAnswered(old *sa.Child, props []wire.Proposal, ni []byte, priv *crypto.KEPrivate, spi uint32, inner []wire.Payload) {
	st := s.rekeying[old]
	fail := func(format string, args ...any) {
		s.log("CHILD_SA rekey of %08x_i failed: %s", old.SPIIn, fmt.Sprintf(format, args...))
		delete(s.rekeying, old)
		s.releaseSPI(spi)
	}
	if n := notifyError(inner); n != nil {
		if g, ok := n.KEGroup(); ok && priv != nil && g != priv.Alg().ID {
			s.releaseSPI(spi)
			s.log("peer wants %s for PFS, retrying", wire.TransformName(wire.TransformKE, g))
			s.queue = append(s.queue, func() { s.initiateChildRekey(old, g) })
			return
		}
		fail("peer answered %s", n.NotifyType)
		return
	}
	var saP *wire.SA
	var ke *wire.KE
	var nr []byte
	var tsi, tsr *wire.TS
	for _, p := range inner {
		switch p := p.(type) {
		case *wire.SA:
			saP = p
		case *wire.KE:
			ke = p
		case *wire.Nonce:
			nr = p.Data
		case *wire.TS:
			if p.Responder {
				tsr = p
			} else {
				tsi = p
			}
		}
	}
	if saP == nil || len(saP.Proposals) != 1 || nr == nil || tsi == nil || tsr == nil {
		fail("response lacks SA, Nonce or TS")
		return
	}
	c, err := choiceFromProposal(saP.Proposals[0], props)
	if err != nil || len(saP.Proposals[0].SPI) != 4 {
		fail("bad proposal: %v", err)
		return
	}
	var gir []byte
	if priv != nil {
		if ke == nil || ke.Group != priv.Alg().ID || c.KE.ID != ke.Group {
			fail("KE payload does not match the chosen group")
			return
		}
		if gir, err = priv.SharedSecret(ke.Data); err != nil {
			fail("%v", err)
			return
		}
	}
	keys, err := crypto.DeriveChildKeys(s.prf, s.keys.SKd, gir, ni, nr, c.Encr.ID, c.Encr.KeyBits, c.Integ.ID)
	if err != nil {
		fail("%v", err)
		return
	}
	// We initiated this exchange: the first KEYMAT half is what we send.
	child := &sa.Child{
		ReqID: old.ReqID, Mode: old.Mode, Local: s.local, Remote: s.remote, Encap: old.Encap,
		SPIIn: spi, SPIOut: binary.BigEndian.Uint32(saP.Proposals[0].SPI),
		Encr: c.Encr.ID, EncrKeyBits: c.Encr.KeyBits, Integ: c.Integ.ID, ESN: c.ESN.ID == wire.ESN_YES,
		EncKeyOut: keys.EncrI, IntegKeyOut: keys.IntegI, EncKeyIn: keys.EncrR, IntegKeyIn: keys.IntegR,
		LocalTS: tsi.Selectors, RemoteTS: tsr.Selectors, Created: s.e.cfg.now(),
		HardBytes: old.HardBytes,
	}
	child.SoftLife, child.HardLife = s.childLifetimes()
	if err := s.e.cfg.Installer.Install(child); err != nil {
		fail("installing: %v", err)
		return
	}
	s.addChild(child)
	s.scheduleRekey(child)
	s.exportESPKeys(child)
	old.Rekeyed = true
	s.log("CHILD_SA %08x_i rekeyed by us: new SPIs %08x_i %08x_o", old.SPIIn, child.SPIIn, child.SPIOut)
	if s.e.cfg.Audit != nil {
		a := *s.audit
		a.Time, a.Event, a.Result = s.e.cfg.now(), "child_rekeyed", "ok"
		a.Reason = "rekeyed by the responder (lifetime)"
		a.PFSGroup = wire.TransformName(wire.TransformKE, c.KE.ID)
		a.ChildSPIs = []string{spiLabel(child.SPIIn, 'i'), spiLabel(child.SPIOut, 'o')}
		s.e.cfg.Audit(&a)
	}
	st.oursDone, st.ourNonces, st.ourNew = true, [][]byte{ni, nr}, child
	s.resolveRekey(old)
}

// peerRekeyed notes that the peer rekeyed a child SA we may be rekeying.
func (s *ikeSA) peerRekeyed(old *sa.Child, ni, nr []byte) {
	if st := s.rekeying[old]; st != nil {
		st.peersDone, st.peerNonces = true, [][]byte{ni, nr}
		s.resolveRekey(old)
	}
}

// resolveRekey decides what to delete once our rekey is done: alone, the
// old SA; after a collision, the redundant SA by the nonce rule (RFC 7296,
// Section 2.8.1).
func (s *ikeSA) resolveRekey(old *sa.Child) {
	st := s.rekeying[old]
	if st == nil || !st.oursDone {
		return
	}
	if !st.peersDone {
		delete(s.rekeying, old)
		s.deleteChild(old)
		return
	}
	delete(s.rekeying, old)
	if bytes.Compare(lowestNonce(st.ourNonces), lowestNonce(st.peerNonces)) < 0 {
		// Ours holds the lowest nonce: our new SA is the redundant one and
		// the peer, whose SA survives, deletes the old.
		s.log("CHILD_SA rekey collision: ours has the lowest nonce, deleting our new SA %08x_i", st.ourNew.SPIIn)
		s.deleteChild(st.ourNew)
		return
	}
	s.log("CHILD_SA rekey collision: the peer's SA is redundant; deleting the old SA %08x_i", old.SPIIn)
	s.deleteChild(old)
}

// scheduleIKERekey arms the IKE SA's rekey at the policy's IKE lifetime
// less up to 10% jitter.
func (s *ikeSA) scheduleIKERekey() {
	life := s.e.cfg.Policy.IKELifetime
	if life <= 0 {
		return
	}
	if s.ikeRekeyTimer != nil {
		s.ikeRekeyTimer.Stop()
	}
	jitter := time.Duration(mrand.Int64N(int64(life)/10 + 1))
	s.ikeRekeyTimer = time.AfterFunc(life-jitter, func() { s.withLock(func() { s.initiateIKERekey(0) }) })
}

// ikeRekey follows an IKE SA rekey we started, for collisions (RFC 7296,
// Section 2.8.2).
type ikeRekey struct {
	ourNonces, peerNonces [][]byte
	ourNew, peerNew       *ikeSA
}

// initiateIKERekey rekeys this IKE SA (RFC 7296, Section 1.3.2): we become
// the original initiator of the new SA. The first KE is in the current
// SA's group, which Windows expects on the first try; group overrides it
// after INVALID_KE_PAYLOAD.
func (s *ikeSA) initiateIKERekey(group wire.TransformID) {
	if s.ikeRekeying != nil && group == 0 {
		return
	}
	ni := make([]byte, NonceLen)
	if _, err := io.ReadFull(s.e.cfg.rand(), ni); err != nil {
		return
	}
	spi, err := s.e.newSPI()
	if err != nil {
		return
	}
	var props []wire.Proposal
	for i, p := range s.e.cfg.Policy.IKE {
		props = append(props, p.Wire(uint8(i+1), spi[:]))
	}
	if group == 0 {
		group = s.choice.KE.ID
	}
	g, ok := crypto.KE(group)
	if !ok {
		return
	}
	priv, err := g.Generate(s.e.cfg.rand())
	if err != nil {
		return
	}
	// Reserve our new SPI so that nothing else takes it meanwhile.
	s.e.mu.Lock()
	s.e.bySPI[spi] = &ikeSA{e: s.e, state: sa.Dead}
	s.e.mu.Unlock()
	if s.ikeRekeying == nil {
		s.ikeRekeying = &ikeRekey{}
	}
	s.log("rekeying IKE_SA")
	s.request(wire.CREATE_CHILD_SA, []wire.Payload{&wire.SA{Proposals: props}, &wire.Nonce{Data: ni},
		&wire.KE{Group: group, Data: priv.Public()}}, "IKE_SA rekey", func(inner []wire.Payload) {
		s.ikeRekeyAnswered(props, spi, ni, priv, inner)
	}, true)
}

// ikeRekeyAnswered completes an IKE SA rekey we started.
func (s *ikeSA) ikeRekeyAnswered(props []wire.Proposal, spi wire.SPI, ni []byte, priv *crypto.KEPrivate, inner []wire.Payload) {
	release := func() {
		s.e.mu.Lock()
		if x := s.e.bySPI[spi]; x != nil && x.state == sa.Dead {
			delete(s.e.bySPI, spi)
		}
		s.e.mu.Unlock()
	}
	if n := notifyError(inner); n != nil {
		release()
		if g, ok := n.KEGroup(); ok && g != priv.Alg().ID {
			s.log("peer wants %s for the IKE rekey, retrying", wire.TransformName(wire.TransformKE, g))
			s.queue = append(s.queue, func() { s.initiateIKERekey(g) })
			return
		}
		s.log("IKE_SA rekey refused with %s", n.NotifyType)
		s.ikeRekeying = nil
		return
	}
	var saP *wire.SA
	var ke *wire.KE
	var nr []byte
	for _, p := range inner {
		switch p := p.(type) {
		case *wire.SA:
			saP = p
		case *wire.KE:
			ke = p
		case *wire.Nonce:
			nr = p.Data
		}
	}
	fail := func(why string) {
		release()
		s.ikeRekeying = nil
		s.log("IKE_SA rekey failed: %s", why)
	}
	if saP == nil || len(saP.Proposals) != 1 || ke == nil || nr == nil || len(saP.Proposals[0].SPI) != 8 {
		fail("response lacks SA, KE or Nonce")
		return
	}
	c, err := choiceFromProposal(saP.Proposals[0], props)
	if err != nil || c.KE.ID != ke.Group || ke.Group != priv.Alg().ID {
		fail(fmt.Sprintf("bad proposal: %v", err))
		return
	}
	gir, err := priv.SharedSecret(ke.Data)
	if err != nil {
		fail(err.Error())
		return
	}
	n := s.successor(c, ni, nr)
	n.initiator = true
	n.spii = spi
	copy(n.spir[:], saP.Proposals[0].SPI)
	if err := n.deriveKeysFrom(crypto.RekeySKEYSEED(s.prf, s.keys.SKd, gir, ni, nr)); err != nil {
		fail(err.Error())
		return
	}
	s.adopt(n, "rekeyed by the responder (lifetime)")
	st := s.ikeRekeying
	st.ourNonces, st.ourNew = [][]byte{ni, nr}, n
	s.resolveIKERekey()
}

// successor is a new IKE SA that takes over from s after a rekey.
func (s *ikeSA) successor(c *policy.Choice, ni, nr []byte) *ikeSA {
	n := &ikeSA{e: s.e, state: sa.Established, local: s.local, remote: s.remote, natt: s.natt,
		natLocal: s.natLocal, natRemote: s.natRemote, choice: c, ni: ni, nr: nr,
		peerFrag: s.peerFrag, peerHashes: s.peerHashes, peerID: s.peerID, peerIDString: s.peerIDString,
		created: s.e.cfg.now(), lastSeen: s.e.cfg.now()}
	audit := *s.audit
	n.audit = &audit
	n.audit.IKEChosen = c.Proposal.String()
	return n
}

// adopt registers the successor n, moves the child SAs and leases to it
// and records the rekey.
func (s *ikeSA) adopt(n *ikeSA, reason string) {
	n.audit.SPIi, n.audit.SPIr = n.spii.String(), n.spir.String()
	n.children, s.children = s.children, nil
	s.e.indexChildren(n, n.children)
	n.vips, s.vips = s.vips, nil
	s.e.pools.transfer(s.mySPI(), n.mySPI())
	s.e.mu.Lock()
	s.e.bySPI[n.mySPI()] = n
	s.e.mu.Unlock()
	n.armDPD()
	n.scheduleIKERekey()
	if s.ikeRekeyTimer != nil {
		s.ikeRekeyTimer.Stop()
	}
	s.log("IKE_SA rekeyed: new SPIs %s_i %s_r, %s", n.spii, n.spir, n.choice.Proposal.String())
	if s.e.cfg.Audit != nil {
		a := *n.audit
		a.Time, a.Event, a.Result = s.e.cfg.now(), "ike_rekeyed", "ok"
		a.Reason = fmt.Sprintf("%s; replaces %s_i %s_r", reason, s.spii, s.spir)
		s.e.cfg.Audit(&a)
	}
}

// resolveIKERekey deletes what a rekey we started leaves behind: the old
// IKE SA, or after a collision the redundant new one (RFC 7296, Section
// 2.8.2: the SA made with the lowest nonce goes, deleted by its initiator).
func (s *ikeSA) resolveIKERekey() {
	st := s.ikeRekeying
	if st == nil || st.ourNew == nil {
		return
	}
	s.ikeRekeying = nil
	if st.peerNew != nil && bytes.Compare(lowestNonce(st.ourNonces), lowestNonce(st.peerNonces)) < 0 {
		s.log("IKE_SA rekey collision: ours has the lowest nonce, deleting our new IKE_SA")
		ours := st.ourNew
		s.e.indexChildren(st.peerNew, ours.children)
		ours.children, st.peerNew.children = nil, append(st.peerNew.children, ours.children...)
		ours.state = sa.Deleting
		ours.request(wire.INFORMATIONAL, []wire.Payload{&wire.Delete{Protocol: wire.ProtoIKE}}, "delete redundant IKE_SA", nil, true)
		return
	}
	// The surviving SA's initiator deletes the old one.
	s.state = sa.Deleting
	s.request(wire.INFORMATIONAL, []wire.Payload{&wire.Delete{Protocol: wire.ProtoIKE}}, "delete rekeyed IKE_SA", nil, true)
}

func lowestNonce(ns [][]byte) []byte {
	m := ns[0]
	for _, n := range ns[1:] {
		if bytes.Compare(n, m) < 0 {
			m = n
		}
	}
	return m
}

package ike

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// childRequest is a request for a child SA: in IKE_AUTH (no KE, the IKE
// SA's nonces) or in CREATE_CHILD_SA (fresh nonces, KE for PFS).
type childRequest struct {
	sa        *wire.SA
	tsi, tsr  *wire.TS
	transport bool
	pfs       bool     // CREATE_CHILD_SA: KE transforms count
	ke        *wire.KE // nil without PFS
	ni, nr    []byte
	rekey     *sa.Child // the child SA this one replaces, if any
}

// createChild negotiates the child SA carried by IKE_AUTH (RFC 7296,
// Section 1.2). A failure here leaves the IKE SA up and is reported with
// the notification of Section 1.2's list instead of SA/TS payloads.
func (s *ikeSA) createChild(r *authRequest) []wire.Payload {
	var out []wire.Payload
	// Configuration payload first: the virtual IP narrows TSi.
	if r.cp != nil && r.cp.CFGType == wire.CFG_REQUEST {
		out = append(out, s.configReply(r.cp)...)
	}
	if r.sa == nil || r.tsi == nil || r.tsr == nil {
		// Childless IKE_AUTH (RFC 6023) or a peer that wants none.
		return out
	}
	resp, _, ne := s.negotiateChild(&childRequest{sa: r.sa, tsi: r.tsi, tsr: r.tsr, transport: r.transport, ni: s.ni, nr: s.nr})
	if ne != nil {
		s.log("CHILD_SA not created, answering %s: %s", ne.Type, ne.Reason)
		s.auditFail("child_refused", ne.Type.String(), ne.Reason)
		return append(out, &wire.Notify{NotifyType: ne.Type, Data: ne.Data})
	}
	return append(out, resp...)
}

// negotiateChild selects, keys and installs a child SA and returns the
// SA, KE, TSi and TSr payloads of the answer (the caller adds the nonce).
func (s *ikeSA) negotiateChild(r *childRequest) ([]wire.Payload, *sa.Child, *NotifyError) {
	var text [128]byte
	s.audit.ESPOffered = s.audit.ESPOffered[:0]
	for _, pr := range r.sa.Proposals {
		s.audit.ESPOffered = append(s.audit.ESPOffered, s.e.texts.intern(pr.AppendString(text[:0])))
	}
	keGroup := wire.KE_NONE
	if r.ke != nil {
		keGroup = r.ke.Group
	}
	c, err := s.e.cfg.Policy.SelectESP(r.sa.Proposals, r.pfs, keGroup)
	if err != nil {
		var np *policy.NoProposalError
		if errors.As(err, &np) {
			return nil, nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "%s", np.Reason)
		}
		return nil, nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "%v", err)
	}
	if r.pfs && !s.e.cfg.Policy.CheckKE(c, keGroup) {
		// RFC 7296, Section 1.3: the group we want goes back in
		// INVALID_KE_PAYLOAD.
		ie := c.InvalidKE(keGroup)
		return nil, nil, &NotifyError{Type: ie.Notify(), Data: ie.NotifyData(), Reason: ie.Error()}
	}
	s.audit.ESPChosen = s.e.texts.intern(c.Proposal.AppendString(text[:0]))
	for _, w := range c.Weak() {
		if !slices.Contains(s.audit.Insecure, w) {
			s.audit.Insecure = append(s.audit.Insecure, w)
		}
	}
	if len(c.Proposal.SPI) != 4 {
		return nil, nil, notifyErr(wire.INVALID_SYNTAX, nil, "ESP proposal with a %d-octet SPI", len(c.Proposal.SPI))
	}
	remoteTS := s.remoteTSLimit()
	tsi := narrow(r.tsi.Selectors, remoteTS)
	tsr := narrow(r.tsr.Selectors, s.e.cfg.LocalTS)
	if len(tsi) == 0 || len(tsr) == 0 {
		return nil, nil, notifyErr(wire.TS_UNACCEPTABLE, nil, "peer's TSi %v / TSr %v do not overlap %v / %v", r.tsi.Selectors, r.tsr.Selectors, remoteTS, s.e.cfg.LocalTS)
	}
	var out []wire.Payload
	var gir []byte
	if c.KE.ID != wire.KE_NONE {
		g, ok := crypto.KE(c.KE.ID)
		if !ok {
			return nil, nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, nil, "%s not implemented", c.KE)
		}
		priv, err := g.Generate(s.e.cfg.rand())
		if err != nil {
			return nil, nil, notifyErr(wire.TEMPORARY_FAILURE, err, "key generation failed")
		}
		if gir, err = priv.SharedSecret(r.ke.Data); err != nil {
			return nil, nil, notifyErr(wire.INVALID_SYNTAX, err, "peer's %s public value is invalid", c.KE)
		}
		out = append(out, &wire.KE{Group: c.KE.ID, Data: priv.Public()})
	}
	if r.pfs {
		s.audit.PFSGroup = wire.TransformName(wire.TransformKE, c.KE.ID)
	}
	encrBits := c.Encr.KeyBits
	keys, err := crypto.DeriveChildKeys(s.prf, s.keys.SKd, gir, r.ni, r.nr, c.Encr.ID, encrBits, c.Integ.ID)
	if err != nil {
		return nil, nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "deriving child keys")
	}
	spiIn, err := s.e.cfg.Installer.AllocSPI(s.local.Addr(), s.remote.Addr())
	if err != nil {
		return nil, nil, notifyErr(wire.TEMPORARY_FAILURE, err, "allocating an SPI")
	}
	installed := false
	defer func() {
		if !installed {
			s.releaseSPI(spiIn)
		}
	}()
	mode := sa.Tunnel
	if r.transport {
		mode = sa.Transport
	}
	child := &sa.Child{
		ReqID: s.e.newReqID(), Mode: mode, Local: s.local, Remote: s.remote,
		Encap: s.natLocal || s.natRemote, SPIIn: spiIn, SPIOut: binary.BigEndian.Uint32(c.Proposal.SPI),
		Encr: c.Encr.ID, EncrKeyBits: encrBits, Integ: c.Integ.ID, ESN: c.ESN.ID == wire.ESN_YES,
		// KEYMAT is initiator-to-responder first (RFC 7296, Section 2.17):
		// what the peer sends us comes first.
		EncKeyIn: keys.EncrI, IntegKeyIn: keys.IntegI, EncKeyOut: keys.EncrR, IntegKeyOut: keys.IntegR,
		LocalTS: tsr, RemoteTS: tsi, Created: s.e.cfg.now(),
		HardBytes: s.e.cfg.Policy.ChildLifeBytes,
	}
	child.SoftLife, child.HardLife = s.childLifetimes()
	if r.rekey != nil {
		// The replacement keeps its predecessor's kernel identity so
		// that policies stay in place (RFC 7296, Section 2.8: install the
		// new SA before the old one goes).
		child.ReqID = r.rekey.ReqID
	}
	if err := s.e.cfg.Installer.Install(child); err != nil {
		// strongSwan answers a failed install with NO_PROPOSAL_CHOSEN.
		return nil, nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "installing the CHILD_SA failed: %v", err)
	}
	installed = true
	s.addChild(child)
	s.scheduleRekey(child)
	s.exportESPKeys(child)
	prop := c.Proposal
	prop.SPI = binary.BigEndian.AppendUint32(nil, spiIn)
	in, outSPI := spiLabel(spiIn, 'i'), spiLabel(child.SPIOut, 'o')
	s.audit.ChildSPIs = append(s.audit.ChildSPIs, in, outSPI)
	s.audit.TSi, s.audit.TSr = s.audit.TSi[:0], s.audit.TSr[:0]
	for _, t := range tsi {
		s.audit.TSi = append(s.audit.TSi, t.String())
	}
	for _, t := range tsr {
		s.audit.TSr = append(s.audit.TSr, s.e.texts.intern(t.AppendTo(text[:0])))
	}
	// The audit's strings again, as charon prints them.
	s.logLine(func(b []byte) []byte {
		b = append(append(append(append(b, "CHILD_SA established with SPIs "...), in...), ' '), outSPI...)
		b = appendJoined(append(b, " and TS ["...), s.audit.TSr)
		return append(appendJoined(append(b, "] === ["...), s.audit.TSi), ']')
	})
	// SA first, then the KE if any, then the selectors: one slice.
	res := make([]wire.Payload, 0, len(out)+4)
	res = append(res, &wire.SA{Proposals: []wire.Proposal{prop}})
	res = append(append(res, out...), &wire.TS{Selectors: tsi}, &wire.TS{Responder: true, Selectors: tsr})
	if mode == sa.Transport {
		res = append(res, wire.NewNotify(wire.USE_TRANSPORT_MODE, nil))
	}
	return res, child, nil
}

// remoteTSLimit is what the peer's side may be: its virtual IPs, or its
// own address when it asked for none (strongSwan's "dynamic").
func (s *ikeSA) remoteTSLimit() []netip.Prefix {
	if len(s.vips) > 0 {
		out := make([]netip.Prefix, len(s.vips))
		for i, v := range s.vips {
			out[i] = netip.PrefixFrom(v, v.BitLen())
		}
		return out
	}
	a := s.remote.Addr().Unmap()
	return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
}

// narrow intersects offered selectors with allowed prefixes (RFC 7296,
// Section 2.9: the responder may narrow to a subset).
func narrow(offered []wire.Selector, allowed []netip.Prefix) []wire.Selector {
	var out []wire.Selector
	for _, sel := range offered {
		if sel.TSType != wire.TS_IPV4_ADDR_RANGE && sel.TSType != wire.TS_IPV6_ADDR_RANGE {
			continue
		}
		for _, p := range allowed {
			r := wire.PrefixSelector(p)
			lo, hi := r.Start, r.End
			if lo.Is4() != sel.Start.Is4() {
				continue
			}
			start, end := maxAddr(sel.Start, lo), minAddr(sel.End, hi)
			if end.Less(start) {
				continue
			}
			n := sel
			n.Start, n.End = start, end
			out = append(out, n)
		}
	}
	return out
}

func maxAddr(a, b netip.Addr) netip.Addr {
	if a.Less(b) {
		return b
	}
	return a
}

func minAddr(a, b netip.Addr) netip.Addr {
	if a.Less(b) {
		return a
	}
	return b
}

// configReply answers a CP request (RFC 7296, Section 2.19) from the pools.
func (s *ikeSA) configReply(req *wire.CP) []wire.Payload {
	reply := &wire.CP{CFGType: wire.CFG_REPLY}
	var want4, want6, dns4, dns6, nbns bool
	for _, a := range req.Attributes {
		switch a.Type {
		case wire.INTERNAL_IP4_ADDRESS:
			want4 = true
		case wire.INTERNAL_IP6_ADDRESS:
			want6 = true
		case wire.INTERNAL_IP4_DNS:
			dns4 = true
		case wire.INTERNAL_IP6_DNS:
			dns6 = true
		case wire.INTERNAL_IP4_NBNS:
			nbns = true
		}
		// MS_INTERNAL_IP4/6_SERVER (23456/23457) are ignored, as
		// strongSwan does without its Windows-specific attribute config.
	}
	if want4 && s.e.cfg.Pool4.IsValid() {
		if a, ok := s.e.pools.lease(s.e.cfg.Pool4, s.mySPI()); ok {
			s.vips = append(s.vips, a)
			reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.INTERNAL_IP4_ADDRESS, Value: a.AsSlice()})
		}
	}
	if want6 && s.e.cfg.Pool6.IsValid() {
		if a, ok := s.e.pools.lease(s.e.cfg.Pool6, s.mySPI()); ok {
			s.vips = append(s.vips, a)
			v := append(a.AsSlice(), 128)
			reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.INTERNAL_IP6_ADDRESS, Value: v})
		}
	}
	for _, d := range s.e.cfg.DNS {
		if d.Is4() && dns4 {
			reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.INTERNAL_IP4_DNS, Value: d.AsSlice()})
		} else if d.Is6() && dns6 {
			reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.INTERNAL_IP6_DNS, Value: d.AsSlice()})
		}
	}
	for _, n := range s.e.cfg.NBNS {
		if n.Is4() && nbns {
			reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.INTERNAL_IP4_NBNS, Value: n.AsSlice()})
		}
	}
	for _, v := range s.vips {
		s.audit.AssignedIP = append(s.audit.AssignedIP, v.String())
	}
	if (want4 || want6) && len(s.vips) == 0 {
		s.log("peer asked for a virtual IP; no pool can serve it")
	}
	if len(reply.Attributes) == 0 {
		return nil
	}
	return []wire.Payload{reply}
}

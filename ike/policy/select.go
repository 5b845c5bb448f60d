package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/wire"
)

// Choice is the proposal a responder selected: one transform per type,
// each copied unmodified (attributes included) from the offer, under the
// offer's proposal number (RFC 7296, Section 3.3.6).
//
// Proposal.SPI is the offer's SPI, that is the initiator's: its inbound
// SPI for ESP, its new IKE SPI in a rekey. The response's SA payload
// carries the responder's own SPI in its place (RFC 7296, Section 3.3.1),
// so the engine sets Proposal.SPI before sending; the transforms go out as
// they are.
//
// Integ is the zero Algorithm beside an AEAD cipher (an INTEG transform
// NONE that the offer carried is echoed in Proposal); KE is zero for a
// child SA without PFS; PRF is zero for ESP and ESN for IKE.
type Choice struct {
	Proposal wire.Proposal
	Encr     Algorithm
	Integ    Algorithm
	PRF      Algorithm
	KE       Algorithm
	ESN      Algorithm
}

// String formats the choice like strongSwan's "selected proposal" log
// line: "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048".
func (c *Choice) String() string {
	var b strings.Builder
	b.WriteString(c.Proposal.Protocol.String())
	b.WriteByte(':')
	sep := false
	for _, a := range c.algorithms() {
		if a == (Algorithm{}) {
			continue
		}
		if sep {
			b.WriteByte('/')
		}
		b.WriteString(a.String())
		sep = true
	}
	return b.String()
}

// algorithms returns the choice's algorithms in strongSwan's order, the
// zero ones (not negotiated) included, without allocating.
func (c *Choice) algorithms() [5]Algorithm {
	return [...]Algorithm{c.Encr, c.Integ, c.PRF, c.KE, c.ESN}
}

// Weak lists the weak algorithms (crypto.IsWeak) of the choice, for the
// audit record of an SA negotiated under an insecure policy; nil when
// there are none.
func (c *Choice) Weak() []string {
	var out []string
	for _, a := range c.algorithms() {
		if a != (Algorithm{}) && a.Weak() {
			out = append(out, a.String())
		}
	}
	return out
}

// CheckKE reports whether a KE payload of group keGroup fits the choice:
// its group must be the selected one (RFC 7296, Section 1.2). For a child
// SA, keGroup is KE_NONE when the request carried no KE payload, which fits
// a choice without PFS. When CheckKE is false, the engine answers with
// INVALID_KE_PAYLOAD naming c.KE.ID (see Choice.InvalidKE).
func (p *Policy) CheckKE(c *Choice, keGroup wire.TransformID) bool {
	return c.KE.ID == keGroup
}

// InvalidKE returns the error for a KE payload of group sent that does not
// fit the choice; the engine sends its Notify and NotifyData.
func (c *Choice) InvalidKE(sent wire.TransformID) *InvalidKEError {
	return &InvalidKEError{Sent: sent, Want: c.KE.ID}
}

// SelectIKE selects the IKE SA proposal for IKE_SA_INIT, or for an IKE SA
// rekey in CREATE_CHILD_SA, from the offered proposals. keGroup is the
// group of the request's KE payload: among the acceptable proposals, one
// with that group is preferred (as strongSwan does), so that a client
// whose guess was acceptable is not sent INVALID_KE_PAYLOAD. When the group
// cannot be chosen, the policy's order decides and CheckKE reports the
// mismatch.
//
// Offered transforms are screened first (RFC 7296, Section 3.3.6):
// transforms with unknown IDs or attributes, or with a Key Length attribute
// where none belongs or missing where one is required, are unacceptable
// while the rest of their proposal is still considered; a proposal with a
// transform type that IKE does not use, or with a bad SPI size, is
// unacceptable as a whole. The error for no match is a *NoProposalError.
func (p *Policy) SelectIKE(offered []wire.Proposal, keGroup wire.TransformID) (*Choice, error) {
	return selectSA(wire.ProtoIKE, p.IKE, offered, true, keGroup)
}

// SelectESP selects the child SA proposal from the offered ESP proposals.
//
// pfs is false in IKE_AUTH, where no key exchange happens: KE transforms in
// the offer and in the policy are then ignored (RFC 7296, Section 1.2 says
// the SA payload there carries none; some initiators send them anyway) and
// keGroup is unused. pfs is true in CREATE_CHILD_SA, where keGroup is the
// group of the request's KE payload, or KE_NONE when it had none: a policy
// proposal with KE transforms then requires one of its groups, a policy
// proposal without any requires an offer without PFS (no KE transform, or
// NONE among them), and a choice with the KE payload's group is preferred
// as in SelectIKE. Screening and errors are those of SelectIKE.
func (p *Policy) SelectESP(offered []wire.Proposal, pfs bool, keGroup wire.TransformID) (*Choice, error) {
	return selectSA(wire.ProtoESP, p.ESP, offered, pfs, keGroup)
}

// candidate is a well-formed offered transform and the algorithm it
// names.
type candidate struct {
	alg Algorithm
	// tr is the transform in the offer; only a choice copies it.
	tr *wire.Transform
}

// offer is one received proposal after screening.
type offer struct {
	w *wire.Proposal
	// first and end delimit its candidates in screening.cands. Indices
	// rather than a slice, so that the arrays behind both can live on
	// selectSA's stack.
	first, end int
	// has records which transform types (ENCR 1 .. ESN 5) the proposal
	// carried at all.
	has [wire.TransformESN + 1]bool
}

// screening is the offered proposals that survived RFC 7296, Section 3.3.6.
type screening struct {
	proto  wire.ProtocolID
	offers []offer
	// cands holds every offer's well-formed transforms, in the order
	// offered, whether ikelab implements them or not: a refusal names
	// them all.
	cands []candidate
}

// candidates returns the well-formed transforms of offer o.
func (s *screening) candidates(o *offer) []candidate { return s.cands[o.first:o.end] }

func selectSA(proto wire.ProtocolID, policy []Proposal, offered []wire.Proposal, withKE bool, keGroup wire.TransformID) (*Choice, error) {
	// Room, without allocating, for a Windows client's 12 proposals of 4
	// transforms or strongSwan's default two of 33 and 35.
	var offerBuf [16]offer
	var candBuf [80]candidate
	s := screenAll(offerBuf[:0], candBuf[:0], proto, offered, nil)
	// The responder's order wins: each policy proposal in turn, against
	// every offer in the client's order.
	if withKE {
		for i := range policy {
			for j := range s.offers {
				if c := s.match(&policy[i], &s.offers[j], withKE, &keGroup); c != nil {
					return c, nil
				}
			}
		}
	}
	for i := range policy {
		for j := range s.offers {
			if c := s.match(&policy[i], &s.offers[j], withKE, nil); c != nil {
				return c, nil
			}
		}
	}
	if len(policy) == 0 {
		return nil, &NoProposalError{Protocol: proto, Reason: "the policy has no " + proto.String() + " proposals"}
	}
	// Only a refusal reports what screening left out and why: screen
	// again, writing it down this time, rather than format it for every
	// accepted offer.
	var ignored []string
	s = screenAll(offerBuf[:0], candBuf[:0], proto, offered, &ignored)
	return nil, explain(proto, policy, offered, &s, withKE, ignored)
}

// screenAll screens the offered proposals of protocol proto, appending to
// offers and cands. When ignored is not nil, the reason for each proposal
// or transform left out is appended to it.
func screenAll(offers []offer, cands []candidate, proto wire.ProtocolID, offered []wire.Proposal, ignored *[]string) screening {
	n := 0
	for i := range offered {
		n += len(offered[i].Transforms)
	}
	// Sized once: a bound, exact when every transform is well-formed.
	offers = slices.Grow(offers, len(offered))
	cands = slices.Grow(cands, n)
	bundled := bundledNumbers(offered)
	for i := range offered {
		w := &offered[i]
		if bundled[w.Number] {
			// RFC 4306 let proposals of different protocols share a number
			// to mean "together" (an ESP+AH bundle); RFC 7296, Section
			// 3.3.1 numbers proposals 1, 2, 3 and drops that. A repeated
			// number within one protocol is tolerated: the echoed
			// transforms still tell the initiator which offer was taken.
			if ignored != nil {
				*ignored = append(*ignored, fmt.Sprintf("%s proposal %d: bundled with another protocol under the same number, which is not supported", w.Protocol, w.Number))
			}
			continue
		}
		var o offer
		if o, cands = screen(w, proto, cands, ignored); o.w != nil {
			offers = append(offers, o)
		}
	}
	return screening{proto: proto, offers: offers, cands: cands}
}

// bundledNumbers marks the proposal numbers that several protocols share.
// Numbers are one octet, so arrays do without a map on this hot path.
func bundledNumbers(offered []wire.Proposal) (bundled [256]bool) {
	var seen [256]bool
	var first [256]wire.ProtocolID
	for _, w := range offered {
		switch {
		case !seen[w.Number]:
			seen[w.Number], first[w.Number] = true, w.Protocol
		case first[w.Number] != w.Protocol:
			bundled[w.Number] = true
		}
	}
	return bundled
}

// allowedType reports whether transform type t belongs in proposals of
// protocol proto (RFC 7296, Section 3.3.3).
func allowedType(proto wire.ProtocolID, t wire.TransformType) bool {
	switch t {
	case wire.TransformENCR, wire.TransformINTEG, wire.TransformKE:
		return true
	case wire.TransformPRF:
		return proto == wire.ProtoIKE
	case wire.TransformESN:
		return proto == wire.ProtoESP
	}
	return false
}

// screen applies RFC 7296, Section 3.3.6 to one offered proposal,
// appending its well-formed transforms to cands. It returns an offer with
// a nil w when the proposal as a whole is unacceptable. Reasons for that
// and for each malformed transform are appended to ignored unless it is
// nil.
func screen(w *wire.Proposal, proto wire.ProtocolID, cands []candidate, ignored *[]string) (offer, []candidate) {
	note := func(why string) {
		if ignored != nil {
			*ignored = append(*ignored, fmt.Sprintf("%s proposal %d: %s", w.Protocol, w.Number, why))
		}
	}
	if w.Protocol != proto {
		note("only " + proto.String() + " is negotiated here")
		return offer{}, cands
	}
	// RFC 7296, Section 3.3.1: no SPI in IKE_SA_INIT, 8 octets when
	// rekeying an IKE SA, 4 for ESP.
	if (proto == wire.ProtoIKE && len(w.SPI) != 0 && len(w.SPI) != 8) ||
		(proto == wire.ProtoESP && len(w.SPI) != 4) {
		note(strconv.Itoa(len(w.SPI)) + "-octet SPI")
		return offer{}, cands
	}
	o := offer{w: w, first: len(cands)}
	for i := range w.Transforms {
		t := &w.Transforms[i]
		if !allowedType(proto, t.Type) {
			switch {
			case t.Type >= wire.TransformADDKE1 && t.Type <= wire.TransformADDKE7:
				note("additional key exchange " + t.Type.String() + " (RFC 9370) is not supported")
			case t.Type >= wire.TransformENCR && t.Type <= wire.TransformESN:
				note("transform type " + t.Type.String() + " does not belong in " + proto.String() + " proposals")
			default:
				note("unknown transform type " + strconv.Itoa(int(t.Type)))
			}
			return offer{}, cands[:o.first]
		}
		o.has[t.Type] = true
		a, problem := judge(proto, t)
		if problem != "" {
			note(problem)
			continue
		}
		cands = append(cands, candidate{alg: a, tr: t})
	}
	o.end = len(cands)
	return o, cands
}

// judge returns the algorithm a transform names, or why it is malformed:
// an attribute other than a TV Key Length (RFC 7296, Section 3.3.6), a Key
// Length attribute on a fixed-size cipher or a non-cipher transform, none
// on a cipher that requires one, or a size the cipher does not have
// (Section 3.3.5).
func judge(proto wire.ProtocolID, t *wire.Transform) (Algorithm, string) {
	// Named only for a problem: judge runs for every offered transform.
	name := func() string { return wire.TransformName(t.Type, t.ID) }
	n := 0
	for _, at := range t.Attributes {
		if at.Type != wire.AttrKeyLength || !at.TV {
			return Algorithm{}, fmt.Sprintf("%s with unknown attribute type %d", name(), at.Type)
		}
		n++
	}
	if n > 1 {
		return Algorithm{}, fmt.Sprintf("%s with %d Key Length attributes", name(), n)
	}
	kb := t.KeyLength()
	a := Algorithm{Type: t.Type, ID: t.ID, KeyBits: kb}
	if t.Type != wire.TransformENCR {
		if n > 0 {
			return Algorithm{}, fmt.Sprintf("%s with a Key Length attribute", name())
		}
		if t.Type == wire.TransformKE && t.ID == wire.KE_NONE && proto == wire.ProtoIKE {
			return Algorithm{}, "key exchange NONE for an IKE SA"
		}
		return a, ""
	}
	if e, ok := crypto.Encr(t.ID); ok {
		switch {
		case e.KeyLengthAttr && n == 0:
			return Algorithm{}, name() + " without the Key Length attribute it requires"
		case !e.KeyLengthAttr && n > 0:
			return Algorithm{}, fmt.Sprintf("%s with a Key Length attribute (%d) though its key size is fixed", name(), kb)
		case !e.ValidKeyBits(kb):
			return Algorithm{}, fmt.Sprintf("%s with a %d-bit key", name(), kb)
		}
	}
	return a, ""
}

// usable reports whether ikelab can negotiate a: it implements it, or it
// is KE NONE in an ESP offer ("no PFS is fine").
func usable(proto wire.ProtocolID, a Algorithm) bool {
	if a.Type == wire.TransformKE && a.ID == wire.KE_NONE {
		return proto == wire.ProtoESP
	}
	return a.Supported()
}

// maxChosen bounds the transforms of a choice: one per type.
const maxChosen = 5

// pick returns the first transform of type t in offer o whose algorithm
// comes first in prefs and is usable. only, when set, admits only that ID.
func (s *screening) pick(o *offer, t wire.TransformType, prefs []Algorithm, only *wire.TransformID) (candidate, bool) {
	for _, a := range prefs {
		// An unvalidated policy may list an algorithm under the wrong type.
		if a.Type != t || (only != nil && a.ID != *only) {
			continue
		}
		for _, cd := range s.candidates(o) {
			// Usability is asked of the few algorithms both sides name,
			// not of every offered transform: it costs registry lookups.
			if cd.alg == a && usable(s.proto, a) {
				return cd, true
			}
		}
	}
	return candidate{}, false
}

// match selects from offer o the algorithms of policy proposal pp, in pp's
// order, or returns nil. keOnly, when set, admits only that group (KE_NONE
// for "no PFS"). Most calls fail, so nothing is allocated before the
// choice is complete.
func (s *screening) match(pp *Proposal, o *offer, withKE bool, keOnly *wire.TransformID) *Choice {
	var c Choice
	chosen := make([]*wire.Transform, 0, maxChosen)
	e, ok := s.pick(o, wire.TransformENCR, pp.Encr, nil)
	if !ok {
		return nil
	}
	c.Encr, chosen = e.alg, append(chosen, e.tr)
	if pp.Protocol == wire.ProtoIKE {
		f, ok := s.pick(o, wire.TransformPRF, pp.PRF, nil)
		if !ok {
			return nil
		}
		c.PRF, chosen = f.alg, append(chosen, f.tr)
	}
	if e.alg.AEAD() {
		// RFC 5282, Section 8: beside an AEAD cipher the integrity
		// transform is omitted or NONE; NONE is echoed.
		if o.has[wire.TransformINTEG] {
			n, ok := s.pick(o, wire.TransformINTEG, []Algorithm{integ(wire.AUTH_NONE)}, nil)
			if !ok {
				return nil
			}
			chosen = append(chosen, n.tr)
		}
	} else {
		i, ok := s.pick(o, wire.TransformINTEG, pp.Integ, nil)
		if !ok {
			return nil
		}
		c.Integ, chosen = i.alg, append(chosen, i.tr)
	}
	switch {
	case pp.Protocol == wire.ProtoIKE || (withKE && len(pp.KE) > 0):
		g, ok := s.pick(o, wire.TransformKE, pp.KE, keOnly)
		if !ok {
			return nil
		}
		c.KE, chosen = g.alg, append(chosen, g.tr)
	case withKE:
		// This policy proposal has no PFS: the offer must allow none.
		if keOnly != nil && *keOnly != wire.KE_NONE {
			return nil
		}
		if o.has[wire.TransformKE] {
			n, ok := s.pick(o, wire.TransformKE, []Algorithm{ke(wire.KE_NONE)}, nil)
			if !ok {
				return nil
			}
			chosen = append(chosen, n.tr)
		}
	}
	if pp.Protocol == wire.ProtoESP {
		prefs := pp.ESN
		if len(prefs) == 0 {
			prefs = []Algorithm{esn(wire.ESN_NO)}
		}
		if o.has[wire.TransformESN] {
			x, ok := s.pick(o, wire.TransformESN, prefs, nil)
			if !ok {
				return nil
			}
			c.ESN, chosen = x.alg, append(chosen, x.tr)
		} else {
			// ESN is mandatory in ESP proposals (RFC 7296, Section 3.3.3),
			// but an offer without it can only mean 32-bit sequence
			// numbers, the RFC 4303 default; accept it as NO_EXT_SEQ
			// rather than fail a peer over a missing "no".
			if !slices.Contains(prefs, esn(wire.ESN_NO)) {
				return nil
			}
			c.ESN = esn(wire.ESN_NO)
		}
	}
	return newChoice(c, o.w, chosen)
}

// choiceBlock is a Choice with room for what it copies from the offer, so
// that an accepted selection allocates once: judge admits at most one
// attribute per transform, and screen SPIs of at most 8 octets. The
// choice keeps the block alive, a few hundred octets per SA.
type choiceBlock struct {
	c     Choice
	trs   [maxChosen]wire.Transform
	attrs [maxChosen]wire.Attribute
	spi   [8]byte
}

// newChoice returns c with proposal w's number, protocol and SPI and the
// chosen transforms, all copied, so that the choice shares nothing with
// the offer.
func newChoice(c Choice, w *wire.Proposal, chosen []*wire.Transform) *Choice {
	b := &choiceBlock{c: c}
	attrs := b.attrs[:]
	for i, t := range chosen {
		b.trs[i] = wire.Transform{Type: t.Type, ID: t.ID, Attributes: cloneInto(&attrs, t.Attributes)}
	}
	spi := b.spi[:]
	b.c.Proposal = wire.Proposal{Number: w.Number, Protocol: w.Protocol,
		SPI: cloneInto(&spi, w.SPI), Transforms: b.trs[:len(chosen):len(chosen)]}
	return &b.c
}

// cloneInto returns a copy of src as slices.Clone does (nil stays nil),
// taken from the front of *buf when it fits there. The copy's capacity is
// its length, so appending to it never writes into the rest of *buf.
func cloneInto[E any](buf *[]E, src []E) []E {
	if src == nil || len(src) > len(*buf) {
		return slices.Clone(src)
	}
	n := copy(*buf, src)
	out := (*buf)[:n:n]
	*buf = (*buf)[n:]
	return out
}

package policy

import (
	"fmt"
	"slices"
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
	names := []string{}
	for _, a := range c.algorithms() {
		names = append(names, a.String())
	}
	return c.Proposal.Protocol.String() + ":" + strings.Join(names, "/")
}

func (c *Choice) algorithms() []Algorithm {
	var out []Algorithm
	for _, a := range []Algorithm{c.Encr, c.Integ, c.PRF, c.KE, c.ESN} {
		if a != (Algorithm{}) {
			out = append(out, a)
		}
	}
	return out
}

// Weak lists the weak algorithms (crypto.IsWeak) of the choice, for the
// audit record of an SA negotiated under an insecure policy.
func (c *Choice) Weak() []string {
	var out []string
	for _, a := range c.algorithms() {
		if a.Weak() {
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

// candidate is an acceptable offered transform and the algorithm it names.
type candidate struct {
	alg Algorithm
	tr  wire.Transform
}

// offer is one received proposal after screening. Arrays are indexed by
// transform type (ENCR 1 .. ESN 5).
type offer struct {
	w *wire.Proposal
	// usable holds the transforms that ikelab can negotiate.
	usable [wire.TransformESN + 1][]candidate
	// has records which types the proposal carried at all.
	has [wire.TransformESN + 1]bool
	// seen holds every well-formed transform, implemented or not, for
	// explaining a refusal.
	seen [wire.TransformESN + 1][]Algorithm
}

func selectSA(proto wire.ProtocolID, policy []Proposal, offered []wire.Proposal, withKE bool, keGroup wire.TransformID) (*Choice, error) {
	var ignored []string
	bundled := bundledNumbers(offered)
	offers := make([]*offer, 0, len(offered))
	for i := range offered {
		w := &offered[i]
		if bundled[w.Number] {
			// RFC 4306 let proposals of different protocols share a number
			// to mean "together" (an ESP+AH bundle); RFC 7296, Section
			// 3.3.1 numbers proposals 1, 2, 3 and drops that. A repeated
			// number within one protocol is tolerated: the echoed
			// transforms still tell the initiator which offer was taken.
			ignored = append(ignored, fmt.Sprintf("%s proposal %d: bundled with another protocol under the same number, which is not supported", w.Protocol, w.Number))
			continue
		}
		if o := screen(w, proto, &ignored); o != nil {
			offers = append(offers, o)
		}
	}
	// The responder's order wins: each policy proposal in turn, against
	// every offer in the client's order.
	if withKE {
		for i := range policy {
			for _, o := range offers {
				if c := match(&policy[i], o, withKE, &keGroup); c != nil {
					return c, nil
				}
			}
		}
	}
	for i := range policy {
		for _, o := range offers {
			if c := match(&policy[i], o, withKE, nil); c != nil {
				return c, nil
			}
		}
	}
	if len(policy) == 0 {
		return nil, &NoProposalError{Protocol: proto, Reason: "the policy has no " + proto.String() + " proposals"}
	}
	return nil, explain(proto, policy, offered, offers, withKE, ignored)
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

// screen applies RFC 7296, Section 3.3.6 to one offered proposal. It
// returns nil when the proposal as a whole is unacceptable; reasons for
// that and for each malformed transform are appended to ignored.
func screen(w *wire.Proposal, proto wire.ProtocolID, ignored *[]string) *offer {
	// Formatted only when something is wrong: this runs for every offered
	// proposal of every IKE_SA_INIT.
	label := func() string { return fmt.Sprintf("%s proposal %d", w.Protocol, w.Number) }
	if w.Protocol != proto {
		*ignored = append(*ignored, fmt.Sprintf("%s: only %s is negotiated here", label(), proto))
		return nil
	}
	// RFC 7296, Section 3.3.1: no SPI in IKE_SA_INIT, 8 octets when
	// rekeying an IKE SA, 4 for ESP.
	if (proto == wire.ProtoIKE && len(w.SPI) != 0 && len(w.SPI) != 8) ||
		(proto == wire.ProtoESP && len(w.SPI) != 4) {
		*ignored = append(*ignored, fmt.Sprintf("%s: %d-octet SPI", label(), len(w.SPI)))
		return nil
	}
	o := &offer{w: w}
	for i := range w.Transforms {
		t := &w.Transforms[i]
		if !allowedType(proto, t.Type) {
			var why string
			switch {
			case t.Type >= wire.TransformADDKE1 && t.Type <= wire.TransformADDKE7:
				why = fmt.Sprintf("additional key exchange %s (RFC 9370) is not supported", t.Type)
			case t.Type >= wire.TransformENCR && t.Type <= wire.TransformESN:
				why = fmt.Sprintf("transform type %s does not belong in %s proposals", t.Type, proto)
			default:
				why = fmt.Sprintf("unknown transform type %d", uint8(t.Type))
			}
			*ignored = append(*ignored, label()+": "+why)
			return nil
		}
		o.has[t.Type] = true
		a, problem := judge(proto, t)
		if problem != "" {
			*ignored = append(*ignored, label()+": "+problem)
			continue
		}
		o.seen[t.Type] = appendUnique(o.seen[t.Type], a)
		if usable(proto, a) {
			// A copy, so that the choice shares nothing with the offer.
			tr := wire.Transform{Type: t.Type, ID: t.ID, Attributes: slices.Clone(t.Attributes)}
			o.usable[t.Type] = append(o.usable[t.Type], candidate{alg: a, tr: tr})
		}
	}
	return o
}

// judge returns the algorithm a transform names, or why it is malformed:
// an attribute other than a TV Key Length (RFC 7296, Section 3.3.6), a Key
// Length attribute on a fixed-size cipher or a non-cipher transform, none
// on a cipher that requires one, or a size the cipher does not have
// (Section 3.3.5).
func judge(proto wire.ProtocolID, t *wire.Transform) (Algorithm, string) {
	name := wire.TransformName(t.Type, t.ID)
	n := 0
	for _, at := range t.Attributes {
		if at.Type != wire.AttrKeyLength || !at.TV {
			return Algorithm{}, fmt.Sprintf("%s with unknown attribute type %d", name, at.Type)
		}
		n++
	}
	if n > 1 {
		return Algorithm{}, fmt.Sprintf("%s with %d Key Length attributes", name, n)
	}
	kb := t.KeyLength()
	a := Algorithm{Type: t.Type, ID: t.ID, KeyBits: kb}
	if t.Type != wire.TransformENCR {
		if n > 0 {
			return Algorithm{}, fmt.Sprintf("%s with a Key Length attribute", name)
		}
		if t.Type == wire.TransformKE && t.ID == wire.KE_NONE && proto == wire.ProtoIKE {
			return Algorithm{}, "key exchange NONE for an IKE SA"
		}
		return a, ""
	}
	if e, ok := crypto.Encr(t.ID); ok {
		switch {
		case e.KeyLengthAttr && n == 0:
			return Algorithm{}, name + " without the Key Length attribute it requires"
		case !e.KeyLengthAttr && n > 0:
			return Algorithm{}, fmt.Sprintf("%s with a Key Length attribute (%d) though its key size is fixed", name, kb)
		case !e.ValidKeyBits(kb):
			return Algorithm{}, fmt.Sprintf("%s with a %d-bit key", name, kb)
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

// match selects from offer o the algorithms of policy proposal pp, in pp's
// order, or returns nil. keOnly, when set, admits only that group (KE_NONE
// for "no PFS").
func match(pp *Proposal, o *offer, withKE bool, keOnly *wire.TransformID) *Choice {
	pick := func(t wire.TransformType, prefs []Algorithm, only *wire.TransformID) (candidate, bool) {
		for _, a := range prefs {
			if only != nil && a.ID != *only {
				continue
			}
			for _, cd := range o.usable[t] {
				if cd.alg == a {
					return cd, true
				}
			}
		}
		return candidate{}, false
	}
	c := &Choice{}
	var chosen []wire.Transform
	e, ok := pick(wire.TransformENCR, pp.Encr, nil)
	if !ok {
		return nil
	}
	c.Encr, chosen = e.alg, append(chosen, e.tr)
	if pp.Protocol == wire.ProtoIKE {
		f, ok := pick(wire.TransformPRF, pp.PRF, nil)
		if !ok {
			return nil
		}
		c.PRF, chosen = f.alg, append(chosen, f.tr)
	}
	if e.alg.AEAD() {
		// RFC 5282, Section 8: beside an AEAD cipher the integrity
		// transform is omitted or NONE; NONE is echoed.
		if o.has[wire.TransformINTEG] {
			n, ok := pick(wire.TransformINTEG, []Algorithm{integ(wire.AUTH_NONE)}, nil)
			if !ok {
				return nil
			}
			chosen = append(chosen, n.tr)
		}
	} else {
		i, ok := pick(wire.TransformINTEG, pp.Integ, nil)
		if !ok {
			return nil
		}
		c.Integ, chosen = i.alg, append(chosen, i.tr)
	}
	switch {
	case pp.Protocol == wire.ProtoIKE || (withKE && len(pp.KE) > 0):
		g, ok := pick(wire.TransformKE, pp.KE, keOnly)
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
			n, ok := pick(wire.TransformKE, []Algorithm{ke(wire.KE_NONE)}, nil)
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
			s, ok := pick(wire.TransformESN, prefs, nil)
			if !ok {
				return nil
			}
			c.ESN, chosen = s.alg, append(chosen, s.tr)
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
	c.Proposal = wire.Proposal{Number: o.w.Number, Protocol: o.w.Protocol,
		SPI: slices.Clone(o.w.SPI), Transforms: chosen}
	return c
}

package policy

import (
	"slices"
	"strings"

	"github.com/ikelab/ikelab/ike/wire"
)

// explain builds the refusal for an offer that matched no policy proposal.
// It compares, per transform type, everything the client offered with
// everything the policy accepts, and names the types where the two never
// meet: that is what an administrator has to change on one side.
func explain(proto wire.ProtocolID, policy []Proposal, offered []wire.Proposal, s *screening, withKE bool, ignored []string) *NoProposalError {
	e := &NoProposalError{Protocol: proto, Ignored: ignored}
	for i := range offered {
		e.Offered = append(e.Offered, offered[i].String())
	}
	for _, pp := range policy {
		if proto == wire.ProtoESP && !withKE {
			pp.KE = nil // not negotiated in IKE_AUTH
		}
		e.Required = append(e.Required, pp.String())
	}
	types := []wire.TransformType{wire.TransformENCR, wire.TransformINTEG}
	if proto == wire.ProtoIKE {
		types = append(types, wire.TransformPRF, wire.TransformKE)
	} else {
		if withKE {
			types = append(types, wire.TransformKE)
		}
		types = append(types, wire.TransformESN)
	}
	var blockers []string
	if len(s.offers) > 0 {
		for _, t := range types {
			pol := policySet(proto, policy, t)
			if len(pol) == 0 {
				continue // e.g. INTEG when the policy is all AEAD
			}
			if t == wire.TransformINTEG && !s.offersNonAEAD() {
				continue // integrity does not apply to an all-AEAD offer
			}
			off := s.offeredSet(proto, t)
			if !overlaps(off, pol) {
				blockers = append(blockers, phrase(proto, t, off, pol))
			}
		}
	}
	switch {
	case len(s.offers) == 0:
		e.Reason = "no usable proposal was offered"
	case len(blockers) > 0:
		e.Reason = strings.Join(blockers, "; ")
	default:
		e.Reason = "each transform type has an acceptable algorithm, but no offered proposal combines them as a policy proposal does"
	}
	if len(ignored) > 0 {
		e.Reason += " (ignored: " + strings.Join(ignored, "; ") + ")"
	}
	return e
}

// offeredSet returns what the client offered for transform type t, across
// all its usable proposals, in order of appearance: every well-formed
// transform, implemented or not.
func (s *screening) offeredSet(proto wire.ProtocolID, t wire.TransformType) []Algorithm {
	var out []Algorithm
	for i := range s.offers {
		o := &s.offers[i]
		switch t {
		case wire.TransformINTEG:
			// Only integrity algorithms that can go with a non-AEAD cipher
			// count; NONE is the AEAD placeholder.
			if !s.hasNonAEAD(o) {
				continue
			}
			for _, cd := range s.candidates(o) {
				if cd.alg.Type == t && cd.alg.ID != wire.AUTH_NONE {
					out = appendUnique(out, cd.alg)
				}
			}
			continue
		case wire.TransformKE:
			if proto == wire.ProtoESP && !o.has[t] {
				out = appendUnique(out, ke(wire.KE_NONE))
			}
		case wire.TransformESN:
			if !o.has[t] {
				out = appendUnique(out, esn(wire.ESN_NO))
			}
		}
		for _, cd := range s.candidates(o) {
			if cd.alg.Type == t {
				out = appendUnique(out, cd.alg)
			}
		}
	}
	return out
}

// policySet returns what the policy accepts for transform type t, in
// preference order.
func policySet(proto wire.ProtocolID, policy []Proposal, t wire.TransformType) []Algorithm {
	var out []Algorithm
	for i := range policy {
		pp := &policy[i]
		list := *pp.list(t)
		switch {
		case t == wire.TransformINTEG && len(pp.Encr) > 0 && pp.Encr[0].AEAD():
			continue
		case t == wire.TransformKE && proto == wire.ProtoESP && len(list) == 0:
			list = []Algorithm{ke(wire.KE_NONE)}
		case t == wire.TransformESN && len(list) == 0:
			list = []Algorithm{esn(wire.ESN_NO)}
		}
		for _, a := range list {
			out = appendUnique(out, a)
		}
	}
	return out
}

func (s *screening) offersNonAEAD() bool {
	for i := range s.offers {
		if s.hasNonAEAD(&s.offers[i]) {
			return true
		}
	}
	return false
}

// hasNonAEAD reports whether offer o has a well-formed cipher that is not
// AEAD, implemented or not.
func (s *screening) hasNonAEAD(o *offer) bool {
	for _, cd := range s.candidates(o) {
		if cd.alg.Type == wire.TransformENCR && !cd.alg.AEAD() {
			return true
		}
	}
	return false
}

func overlaps(a, b []Algorithm) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

var typeNoun = map[wire.TransformType]string{
	wire.TransformENCR:  "encryption algorithm",
	wire.TransformINTEG: "integrity algorithm",
	wire.TransformPRF:   "PRF",
	wire.TransformKE:    "key exchange method",
	wire.TransformESN:   "ESN transform",
}

// phrase says, for one transform type, what the client offered and what
// the policy requires: "client offered only MODP_1024; policy requires
// MODP_2048, ECP_256 or ECP_384".
func phrase(proto wire.ProtocolID, t wire.TransformType, off, pol []Algorithm) string {
	var b strings.Builder
	switch len(off) {
	case 0:
		b.WriteString("client offered no " + typeNoun[t])
	case 1:
		b.WriteString("client offered only " + display(proto, off[0]))
	default:
		b.WriteString("client offered " + enumerate(proto, off, "and"))
	}
	b.WriteString("; policy requires " + enumerate(proto, pol, "or"))
	return b.String()
}

// display names an algorithm for a reason; in ESP, KE NONE means no PFS.
func display(proto wire.ProtocolID, a Algorithm) string {
	if proto == wire.ProtoESP && a.Type == wire.TransformKE && a.ID == wire.KE_NONE {
		return "NONE (no PFS)"
	}
	return a.String()
}

// enumerate joins names as "A, B and C" (or "A, B or C").
func enumerate(proto wire.ProtocolID, list []Algorithm, conj string) string {
	names := make([]string, len(list))
	for i, a := range list {
		names[i] = display(proto, a)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

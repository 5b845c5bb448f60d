package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ikelab/ikelab/ike/wire"
)

// Proposal is one strongSwan-style proposal: for each transform type, the
// algorithms acceptable in it, most preferred first (like a charon
// proposal). Any combination of one algorithm per type is acceptable, so
// "aes128-aes256-sha256-modp2048" accepts both ciphers.
//
// IKE proposals carry ENCR, PRF and KE, and INTEG unless the ciphers are
// AEAD. ESP proposals carry ENCR, INTEG unless AEAD, and ESN; KE in an ESP
// proposal means PFS with one of those groups when a child SA is created
// or rekeyed with CREATE_CHILD_SA (RFC 7296, Section 1.3.1).
type Proposal struct {
	Protocol wire.ProtocolID
	Encr     []Algorithm
	Integ    []Algorithm
	PRF      []Algorithm
	KE       []Algorithm
	ESN      []Algorithm
}

// ParseProposal parses one proposal in strongSwan's keyword form, keywords
// joined by '-': "aes128-sha256-modp2048", "aes256gcm16-prfsha384-ecp384",
// "aes128gcm16-ecp256" (ESP with PFS). Keywords are case-insensitive.
//
// As in strongSwan, an IKE proposal without prf* keywords takes the PRFs
// matching its integrity algorithms; with an AEAD cipher such an integrity
// keyword names only the PRF ("aes128gcm16-sha256-ecp256" is
// AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256). An ESP proposal without esn or
// noesn gets NO_EXT_SEQ. Errors are *ParseError: an unknown keyword, or a
// proposal that cannot be negotiated (no cipher, AEAD with an integrity
// algorithm in ESP, a non-AEAD cipher without one, IKE without a PRF or a
// key exchange, AEAD mixed with non-AEAD ciphers, prf* in ESP, esn in IKE).
func ParseProposal(proto wire.ProtocolID, s string) (Proposal, error) {
	p := Proposal{Protocol: proto}
	if proto != wire.ProtoIKE && proto != wire.ProtoESP {
		return p, &ParseError{Input: s, Reason: fmt.Sprintf("protocol %s: only IKE and ESP proposals exist here", proto)}
	}
	if strings.TrimSpace(s) == "" {
		return p, &ParseError{Input: s, Reason: "empty proposal"}
	}
	for _, w := range strings.Split(s, "-") {
		a, ok := byKeyword[strings.ToLower(w)]
		if !ok {
			if w == "" {
				return p, &ParseError{Input: s, Reason: "empty keyword (two '-' in a row, or one at an end)"}
			}
			return p, &ParseError{Input: s, Keyword: w, Reason: "unknown keyword"}
		}
		list := p.list(a.Type)
		*list = appendUnique(*list, a)
	}
	if proto == wire.ProtoIKE && len(p.PRF) == 0 {
		// strongSwan: "a PRF is mandatory in IKE proposals"; without prf*
		// keywords the integrity algorithms name it.
		p.PRF = impliedPRFs(p.Integ)
		if len(p.Encr) > 0 && p.Encr[0].AEAD() {
			p.Integ = nil // they named only the PRF
		}
	}
	if proto == wire.ProtoESP && len(p.ESN) == 0 {
		p.ESN = []Algorithm{esn(wire.ESN_NO)}
	}
	if err := p.check(); err != nil {
		return p, &ParseError{Input: s, Reason: err.Error()}
	}
	return p, nil
}

// ParseProposals parses a list of proposals separated by commas or white
// space, as in swanctl.conf's "proposals = a, b", most preferred first.
func ParseProposals(proto wire.ProtocolID, s string) ([]Proposal, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, &ParseError{Input: s, Reason: "no proposals"}
	}
	out := make([]Proposal, 0, len(fields))
	for _, f := range fields {
		p, err := ParseProposal(proto, f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (p *Proposal) list(t wire.TransformType) *[]Algorithm {
	switch t {
	case wire.TransformENCR:
		return &p.Encr
	case wire.TransformINTEG:
		return &p.Integ
	case wire.TransformPRF:
		return &p.PRF
	case wire.TransformKE:
		return &p.KE
	case wire.TransformESN:
		return &p.ESN
	}
	panic("policy: no list for transform type " + t.String())
}

// check refuses proposals that no peer could negotiate (RFC 7296, Section
// 3.3.3 mandatory types; RFC 5282, Section 8 for AEAD ciphers). The reason
// it returns is a sentence without the package prefix.
func (p *Proposal) check() error {
	for _, t := range []wire.TransformType{wire.TransformENCR, wire.TransformINTEG,
		wire.TransformPRF, wire.TransformKE, wire.TransformESN} {
		for _, a := range *p.list(t) {
			if a.Type != t {
				return fmt.Errorf("%s is listed as a %s transform", a, t)
			}
		}
	}
	if len(p.Encr) == 0 {
		return fmt.Errorf("no encryption algorithm")
	}
	aead := p.Encr[0].AEAD()
	for _, e := range p.Encr[1:] {
		if e.AEAD() != aead {
			// strongSwan refuses this too: the integrity list would apply
			// to only some of the ciphers.
			return fmt.Errorf("AEAD and non-AEAD ciphers mixed (%s, %s): write them as two proposals", p.Encr[0], e)
		}
	}
	switch {
	case aead && len(p.Integ) > 0 && p.Protocol == wire.ProtoESP:
		return fmt.Errorf("AEAD cipher %s takes no integrity algorithm, but %s is given", p.Encr[0], p.Integ[0])
	case aead && len(p.Integ) > 0:
		return fmt.Errorf("AEAD cipher %s takes no integrity algorithm, but %s is given beside a prf keyword", p.Encr[0], p.Integ[0])
	case !aead && len(p.Integ) == 0:
		return fmt.Errorf("cipher %s needs an integrity algorithm", p.Encr[0])
	}
	switch p.Protocol {
	case wire.ProtoIKE:
		if len(p.PRF) == 0 {
			return fmt.Errorf("no PRF: name one with a prf keyword (prfsha256, ...)")
		}
		if len(p.KE) == 0 {
			return fmt.Errorf("no key exchange method: IKE_SA_INIT always carries one (RFC 7296, Section 1.2)")
		}
		if len(p.ESN) > 0 {
			return fmt.Errorf("extended sequence numbers (%s) apply to ESP only", p.ESN[0])
		}
	case wire.ProtoESP:
		if len(p.PRF) > 0 {
			return fmt.Errorf("a PRF (%s) belongs to IKE proposals only", p.PRF[0])
		}
	default:
		return fmt.Errorf("protocol %s: only IKE and ESP proposals exist here", p.Protocol)
	}
	return nil
}

// String formats the proposal like strongSwan's logs:
// "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
// "ESP:AES_GCM_16_128/NO_EXT_SEQ".
func (p Proposal) String() string {
	var names []string
	for _, l := range [][]Algorithm{p.Encr, p.Integ, p.PRF, p.KE, p.ESN} {
		for _, a := range l {
			names = append(names, a.String())
		}
	}
	return p.Protocol.String() + ":" + strings.Join(names, "/")
}

// Keywords returns the proposal in the keyword form ParseProposal reads,
// leaving out what ParseProposal would add by itself (PRFs implied by the
// integrity algorithms, NO_EXT_SEQ in ESP). An algorithm without a keyword
// prints as its strongSwan name, which does not parse back.
func (p Proposal) Keywords() string {
	var words []string
	add := func(l []Algorithm) {
		for _, a := range l {
			if w, ok := keywordOf[a]; ok {
				words = append(words, w)
			} else {
				words = append(words, a.String())
			}
		}
	}
	add(p.Encr)
	add(p.Integ)
	if !(len(p.Integ) > 0 && slices.Equal(p.PRF, impliedPRFs(p.Integ))) {
		add(p.PRF)
	}
	add(p.KE)
	if !slices.Equal(p.ESN, []Algorithm{esn(wire.ESN_NO)}) {
		add(p.ESN)
	}
	return strings.Join(words, "-")
}

// Wire returns the proposal as an initiator would send it, with proposal
// number num and SPI spi (empty in IKE_SA_INIT, 8 octets for an IKE SA
// rekey, 4 for ESP; RFC 7296, Section 3.3.1). Transforms come in type
// order. An ESP proposal's KE transforms are included; an initiator leaves
// them out in IKE_AUTH (RFC 7296, Section 1.2).
func (p Proposal) Wire(num uint8, spi []byte) wire.Proposal {
	w := wire.Proposal{Number: num, Protocol: p.Protocol, SPI: slices.Clone(spi)}
	for _, l := range [][]Algorithm{p.Encr, p.PRF, p.Integ, p.KE, p.ESN} {
		for _, a := range l {
			w.Transforms = append(w.Transforms, a.Transform())
		}
	}
	return w
}

// algorithms returns every algorithm of the proposal.
func (p *Proposal) algorithms() []Algorithm {
	return slices.Concat(p.Encr, p.Integ, p.PRF, p.KE, p.ESN)
}

func (p Proposal) clone() Proposal {
	return Proposal{Protocol: p.Protocol, Encr: slices.Clone(p.Encr), Integ: slices.Clone(p.Integ),
		PRF: slices.Clone(p.PRF), KE: slices.Clone(p.KE), ESN: slices.Clone(p.ESN)}
}

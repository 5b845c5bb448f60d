package policy

import (
	"errors"
	"slices"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// FuzzParseProposal checks that whatever parses is coherent and survives
// the round trip through its keyword form and its wire form.
func FuzzParseProposal(f *testing.F) {
	for _, b := range builtins {
		for _, s := range b.ike {
			f.Add(false, s)
		}
		for _, s := range b.esp {
			f.Add(true, s)
		}
	}
	for _, s := range []string{"aes128gcm16-sha256-ecp256", "aes128-aes256-sha1-sha256-prfsha1-modp2048-esn",
		"chacha20poly1305-x25519-noesn", "AES128--SHA256", "3des-md5_128-modp1024s160", "aes"} {
		f.Add(false, s)
		f.Add(true, s)
	}
	f.Fuzz(func(t *testing.T, esp bool, s string) {
		proto := wire.ProtoIKE
		if esp {
			proto = wire.ProtoESP
		}
		p, err := ParseProposal(proto, s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s {
				t.Fatalf("error %v is not a *ParseError for the input", err)
			}
			return
		}
		if err := p.check(); err != nil {
			t.Fatalf("%q parsed to an incoherent proposal %s: %v", s, p, err)
		}
		back, err := ParseProposal(proto, p.Keywords())
		if err != nil || back.String() != p.String() {
			t.Fatalf("%q: Keywords() = %q gives %v, %v; want %s", s, p.Keywords(), back, err, p)
		}
		if w := p.Wire(1, nil); w.String() != p.String() {
			t.Fatalf("%q: wire form %s, want %s", s, w.String(), p)
		}
	})
}

// fuzzPolicies covers AEAD and non-AEAD, PFS and none, weak and strong.
func fuzzPolicies(f *testing.F) []*Policy {
	var ps []*Policy
	for _, n := range BuiltinNames() {
		ps = append(ps, mustBuiltin(f, n))
	}
	return append(ps, mustPolicy(f,
		[]string{"chacha20poly1305-aes128ccm8-prfaescmac-prfsha1-x25519-modp1024", "aes128ctr-aesxcbc-sha1-ecp521"},
		[]string{"aes128gcm8-chacha20poly1305-esn-noesn", "aes192ctr-3des-md5-sha512-modp3072"}))
}

// FuzzSelect feeds SA payloads to selection and checks RFC 7296, Section
// 3.3.6 on every choice: an offered proposal number and SPI, one
// transform per type, each an offered one, and algorithms the policy
// accepts together.
func FuzzSelect(f *testing.F) {
	seed := func(props []wire.Proposal, ke wire.TransformID, mode uint8) {
		b, _, err := wire.AppendPayloads(nil, []wire.Payload{&wire.SA{Proposals: props}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(ke), mode)
	}
	seed(windowsIKEOffer(f), wire.MODP_1024, 0)
	seed(offerOf(f, wire.ProtoIKE, nil, "aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"), wire.ECP_384, 0)
	seed(windowsESPOffer(f), 0, 1)
	seed(offerOf(f, wire.ProtoESP, []byte{1, 2, 3, 4}, "aes128gcm16-modp2048-ecp256-esn-noesn"), wire.ECP_256, 2)
	seed([]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAESNoKL, tAES128, tSHA256, tPRF256, tMODP2k,
		wire.NewTransform(wire.TransformINTEG, wire.AUTH_NONE, 0))}, wire.MODP_2048, 0)

	policies := fuzzPolicies(f)
	f.Fuzz(func(t *testing.T, b []byte, ke uint16, mode uint8) {
		ps, err := wire.ParsePayloads(wire.PayloadSA, b)
		if err != nil || len(ps) == 0 {
			return
		}
		sa, ok := ps[0].(*wire.SA)
		if !ok {
			return
		}
		keGroup := wire.TransformID(ke)
		for _, p := range policies {
			var c *Choice
			var err error
			switch mode % 3 {
			case 0:
				c, err = p.SelectIKE(sa.Proposals, keGroup)
			case 1:
				c, err = p.SelectESP(sa.Proposals, false, keGroup)
			case 2:
				c, err = p.SelectESP(sa.Proposals, true, keGroup)
			}
			if err != nil {
				var np *NoProposalError
				if !errors.As(err, &np) || np.Reason == "" {
					t.Fatalf("error %v", err)
				}
				continue
			}
			checkFuzzChoice(t, p, c, sa.Proposals, mode%3)
		}
	})
}

func checkFuzzChoice(t *testing.T, p *Policy, c *Choice, offered []wire.Proposal, mode uint8) {
	// Proposal numbers may repeat in a malformed offer: some offered
	// proposal with the choice's number and SPI must hold every chosen
	// transform.
	from := func(src *wire.Proposal) bool {
		if src.Number != c.Proposal.Number || src.Protocol != c.Proposal.Protocol || string(src.SPI) != string(c.Proposal.SPI) {
			return false
		}
		for _, tr := range c.Proposal.Transforms {
			if !slices.ContainsFunc(src.Transforms, func(o wire.Transform) bool {
				return o.Type == tr.Type && o.ID == tr.ID && o.KeyLength() == tr.KeyLength()
			}) {
				return false
			}
		}
		return true
	}
	if !slices.ContainsFunc(offered, func(w wire.Proposal) bool { return from(&w) }) {
		t.Fatalf("choice %s is not from an offered proposal", c.Proposal.String())
	}
	seen := map[wire.TransformType]bool{}
	for _, tr := range c.Proposal.Transforms {
		if seen[tr.Type] {
			t.Fatalf("two %s transforms", tr.Type)
		}
		seen[tr.Type] = true
		if mode == 1 && tr.Type == wire.TransformKE {
			t.Fatal("KE transform chosen in IKE_AUTH")
		}
	}
	// Some policy proposal holds every chosen algorithm.
	list := p.IKE
	if c.Proposal.Protocol == wire.ProtoESP {
		list = p.ESP
	}
	fits := func(l []Algorithm, a Algorithm, absentOK bool) bool {
		if a == (Algorithm{}) {
			return absentOK
		}
		return slices.Contains(l, a)
	}
	for _, pp := range list {
		esns := pp.ESN
		if len(esns) == 0 {
			esns = []Algorithm{esn(wire.ESN_NO)}
		}
		if fits(pp.Encr, c.Encr, false) && fits(pp.Integ, c.Integ, c.Encr.AEAD()) &&
			fits(pp.PRF, c.PRF, pp.Protocol == wire.ProtoESP) &&
			fits(pp.KE, c.KE, mode == 1 || (mode == 2 && len(pp.KE) == 0)) &&
			fits(esns, c.ESN, pp.Protocol == wire.ProtoIKE) {
			return
		}
	}
	t.Fatalf("no policy proposal holds %s", c)
}

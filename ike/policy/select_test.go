package policy

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// offer builds the offered proposals an initiator would send, numbered
// from 1, from strongSwan keyword strings.
func offerOf(t testing.TB, proto wire.ProtocolID, spi []byte, specs ...string) []wire.Proposal {
	t.Helper()
	var out []wire.Proposal
	for i, s := range specs {
		p, err := ParseProposal(proto, s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Wire(uint8(i+1), spi))
	}
	return out
}

// windowsIKEOffer is the IKE_SA_INIT offer of a Windows client left at its
// defaults, in its order (LAB.md; the capture in the corpus has exactly
// these 12 proposals, see TestCorpusWindowsClient).
func windowsIKEOffer(t testing.TB) []wire.Proposal {
	var specs []string
	for _, e := range []string{"3des", "aes128", "aes192", "aes256"} {
		for _, i := range []string{"sha1", "sha256", "sha384"} {
			specs = append(specs, e+"-"+i+"-modp1024")
		}
	}
	return offerOf(t, wire.ProtoIKE, nil, specs...)
}

// windowsESPOffer is the child SA offer of a default Windows client:
// AES-256, AES-128, 3DES, DES and NULL with SHA-1, no PFS (LAB.md).
func windowsESPOffer(t testing.TB) []wire.Proposal {
	return offerOf(t, wire.ProtoESP, []byte{0xc0, 0xff, 0xee, 0x01},
		"aes256-sha1", "aes128-sha1", "3des-sha1", "des-sha1", "null-sha1")
}

func mustBuiltin(t testing.TB, name string) *Policy {
	t.Helper()
	p, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPolicy(t testing.TB, ike, esp []string) *Policy {
	t.Helper()
	p, err := FromConfig(Config{IKE: ike, ESP: esp})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func noProposal(t *testing.T, err error) *NoProposalError {
	t.Helper()
	var np *NoProposalError
	if !errors.As(err, &np) {
		t.Fatalf("error %v, want a *NoProposalError", err)
	}
	if np.Notify() != wire.NO_PROPOSAL_CHOSEN {
		t.Errorf("Notify() = %s", np.Notify())
	}
	return np
}

// checkEcho verifies RFC 7296, Section 3.3.6 for a choice: the offer's
// number and SPI, one transform per type, each equal to an offered one.
func checkEcho(t *testing.T, c *Choice, offered []wire.Proposal) {
	t.Helper()
	var src *wire.Proposal
	for i := range offered {
		if offered[i].Number == c.Proposal.Number && offered[i].Protocol == c.Proposal.Protocol {
			src = &offered[i]
		}
	}
	if src == nil {
		t.Fatalf("choice has proposal number %d, which was not offered", c.Proposal.Number)
	}
	if !bytes.Equal(src.SPI, c.Proposal.SPI) {
		t.Errorf("SPI %x, offered %x", c.Proposal.SPI, src.SPI)
	}
	types := map[wire.TransformType]bool{}
	for _, tr := range c.Proposal.Transforms {
		if types[tr.Type] {
			t.Errorf("two %s transforms in %s", tr.Type, c.Proposal.String())
		}
		types[tr.Type] = true
		found := false
		for _, o := range src.Transforms {
			if o.Type == tr.Type && o.ID == tr.ID && len(o.Attributes) == len(tr.Attributes) &&
				(len(o.Attributes) == 0 || o.KeyLength() == tr.KeyLength()) {
				found = true
			}
		}
		if !found {
			t.Errorf("transform %s was not offered in proposal %d", tr.Name(), src.Number)
		}
	}
}

func TestSelectIKEWindowsDefaultOffer(t *testing.T) {
	t.Run("recommended refuses and says why", func(t *testing.T) {
		_, err := mustBuiltin(t, "recommended").SelectIKE(windowsIKEOffer(t), wire.MODP_1024)
		np := noProposal(t, err)
		const want = "client offered only MODP_1024; policy requires MODP_2048, ECP_256 or ECP_384"
		if np.Reason != want {
			t.Errorf("Reason = %q, want %q", np.Reason, want)
		}
		if np.Protocol != wire.ProtoIKE || len(np.Offered) != 12 || len(np.Required) != 4 || len(np.Ignored) != 0 {
			t.Errorf("error %+v", np)
		}
		if np.Offered[0] != "IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024" ||
			np.Required[0] != "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" {
			t.Errorf("Offered[0] %q, Required[0] %q", np.Offered[0], np.Required[0])
		}
		if got := err.Error(); got != "policy: no acceptable IKE proposal: "+want {
			t.Errorf("Error() = %q", got)
		}
	})
	t.Run("windows-default takes its most preferred combination", func(t *testing.T) {
		p := mustBuiltin(t, "windows-default")
		offered := windowsIKEOffer(t)
		c, err := p.SelectIKE(offered, wire.MODP_1024)
		if err != nil {
			t.Fatal(err)
		}
		// The responder's order wins: AES-256 with SHA-256 is proposal 11
		// of the client's, though the client listed 3DES/SHA-1 first.
		if got := c.String(); got != "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024" {
			t.Errorf("chose %s", got)
		}
		if c.Proposal.Number != 11 {
			t.Errorf("proposal number %d, want 11", c.Proposal.Number)
		}
		checkEcho(t, c, offered)
		if !p.CheckKE(c, wire.MODP_1024) {
			t.Error("CheckKE refuses the client's MODP_1024 KE payload")
		}
		if w := c.Weak(); strings.Join(w, ",") != "MODP_1024" {
			t.Errorf("Weak() = %v", w)
		}
	})
}

func TestSelectIKEPrefersTheKEPayloadGroup(t *testing.T) {
	p := mustBuiltin(t, "recommended")
	offered := offerOf(t, wire.ProtoIKE, nil, "aes256gcm16-prfsha384-ecp384", "aes128gcm16-prfsha256-ecp256",
		"aes128-sha256-modp2048")
	tests := []struct {
		name    string
		keGroup wire.TransformID
		want    string
		keOK    bool
	}{
		// Policy order alone would pick CBC/MODP_2048; the KE payload's
		// group is acceptable, so it wins and no INVALID_KE_PAYLOAD round
		// trip is needed.
		{"ECP_256 sent", wire.ECP_256, "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256", true},
		{"ECP_384 sent", wire.ECP_384, "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", true},
		{"MODP_2048 sent", wire.MODP_2048, "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", true},
		// The client guessed a group the policy refuses: the policy's
		// order decides and the engine must send INVALID_KE_PAYLOAD.
		{"CURVE_25519 sent", wire.CURVE_25519, "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.SelectIKE(offered, tt.keGroup)
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want {
				t.Errorf("chose %s, want %s", c, tt.want)
			}
			if got := p.CheckKE(c, tt.keGroup); got != tt.keOK {
				t.Errorf("CheckKE = %v, want %v", got, tt.keOK)
			}
			checkEcho(t, c, offered)
		})
	}
}

func TestSelectIKEKEMismatch(t *testing.T) {
	p := mustBuiltin(t, "recommended")
	// The client offers MODP_2048 but guessed MODP_1024 for its KE
	// payload (RFC 7296, Section 1.2: the responder names its group).
	offered := offerOf(t, wire.ProtoIKE, nil, "aes128-sha256-modp1024-modp2048")
	c, err := p.SelectIKE(offered, wire.MODP_1024)
	if err != nil {
		t.Fatal(err)
	}
	if p.CheckKE(c, wire.MODP_1024) {
		t.Fatal("CheckKE accepts MODP_1024 for a MODP_2048 choice")
	}
	ik := c.InvalidKE(wire.MODP_1024)
	if ik.Want != wire.MODP_2048 || ik.Notify() != wire.INVALID_KE_PAYLOAD {
		t.Errorf("InvalidKE = %+v", ik)
	}
	if !bytes.Equal(ik.NotifyData(), []byte{0, 14}) {
		t.Errorf("NotifyData = %x, want 000e", ik.NotifyData())
	}
	if got := ik.Error(); got != "policy: KE payload uses MODP_1024, the selected proposal uses MODP_2048" {
		t.Errorf("Error() = %q", got)
	}
}

func TestSelectIKEResponderOrderWins(t *testing.T) {
	p := mustPolicy(t, []string{"aes128-sha256-modp2048", "aes256-sha384-modp2048"}, []string{"aes128-sha256"})
	// With the KE payload's group acceptable (the preference pass) and
	// with a group nobody offered (the plain pass), the policy's order
	// decides, between proposals and within one.
	for _, keGroup := range []wire.TransformID{wire.MODP_2048, wire.CURVE_25519} {
		name := wire.TransformName(wire.TransformKE, keGroup)
		// Both offers are acceptable; the client prefers AES-256.
		offered := offerOf(t, wire.ProtoIKE, nil, "aes256-sha384-modp2048", "aes128-sha256-modp2048")
		c, err := p.SelectIKE(offered, keGroup)
		if err != nil {
			t.Fatal(err)
		}
		if c.Encr.String() != "AES_CBC_128" || c.Proposal.Number != 2 {
			t.Errorf("KE %s: chose %s from proposal %d", name, c, c.Proposal.Number)
		}
		offered = offerOf(t, wire.ProtoIKE, nil, "aes256-aes128-sha384-sha256-modp2048")
		c, err = p.SelectIKE(offered, keGroup)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" {
			t.Errorf("KE %s: chose %s", name, c)
		}
		checkEcho(t, c, offered)
	}
}

func TestSelectIKEAEAD(t *testing.T) {
	p := mustBuiltin(t, "recommended")
	none := wire.NewTransform(wire.TransformINTEG, wire.AUTH_NONE, 0)
	sha := wire.NewTransform(wire.TransformINTEG, wire.AUTH_HMAC_SHA2_256_128, 0)
	gcm := func(integs ...wire.Transform) []wire.Proposal {
		w := offerOf(t, wire.ProtoIKE, nil, "aes128gcm16-prfsha256-ecp256")
		w[0].Transforms = append(w[0].Transforms, integs...)
		return w
	}
	tests := []struct {
		name     string
		offered  []wire.Proposal
		ok       bool
		echoNone bool
	}{
		{"without an integrity transform", gcm(), true, false},
		// RFC 5282, Section 8: NONE is allowed and echoed.
		{"with integrity NONE", gcm(none), true, true},
		{"with NONE among others", gcm(sha, none), true, true},
		// An AEAD cipher with a real integrity algorithm is no valid
		// combination.
		{"with a real integrity algorithm", gcm(sha), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.SelectIKE(tt.offered, wire.ECP_256)
			if !tt.ok {
				noProposal(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256" || c.Integ != (Algorithm{}) {
				t.Errorf("chose %s, Integ %v", c, c.Integ)
			}
			echoed := false
			for _, tr := range c.Proposal.Transforms {
				if tr.Type == wire.TransformINTEG {
					echoed = tr.ID == wire.AUTH_NONE
				}
			}
			if echoed != tt.echoNone {
				t.Errorf("INTEG NONE echoed: %v, want %v", echoed, tt.echoNone)
			}
			checkEcho(t, c, tt.offered)
		})
	}
}

// raw builds a proposal from transforms, for offers no policy could write.
func raw(num uint8, proto wire.ProtocolID, spi []byte, trs ...wire.Transform) wire.Proposal {
	return wire.Proposal{Number: num, Protocol: proto, SPI: spi, Transforms: trs}
}

var (
	tAES128  = wire.NewTransform(wire.TransformENCR, wire.ENCR_AES_CBC, 128)
	tSHA256  = wire.NewTransform(wire.TransformINTEG, wire.AUTH_HMAC_SHA2_256_128, 0)
	tPRF256  = wire.NewTransform(wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 0)
	tMODP2k  = wire.NewTransform(wire.TransformKE, wire.MODP_2048, 0)
	tNoESN   = wire.NewTransform(wire.TransformESN, wire.ESN_NO, 0)
	tAESNoKL = wire.NewTransform(wire.TransformENCR, wire.ENCR_AES_CBC, 0)
)

func TestSelectIKEScreening(t *testing.T) {
	p := mustBuiltin(t, "recommended")
	unknownAttr := tAES128
	unknownAttr.Attributes = append([]wire.Attribute{{Type: 99, TV: true, Short: 1}}, unknownAttr.Attributes...)
	twoKL := tAES128
	twoKL.Attributes = append(twoKL.Attributes, twoKL.Attributes[0])
	tests := []struct {
		name    string
		offered []wire.Proposal
		want    string // the choice, or "" for a refusal
		reason  string // a piece of the refusal's reason
	}{
		{"an unknown cipher ID is skipped, the rest of the proposal is used",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, wire.NewTransform(wire.TransformENCR, 250, 0), tAES128, tSHA256, tPRF256, tMODP2k)},
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", ""},
		{"an unknown group ID is skipped",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, wire.NewTransform(wire.TransformKE, 1000, 0), tMODP2k)},
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", ""},
		{"a proposal with an unknown transform type is skipped",
			[]wire.Proposal{
				raw(1, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, tMODP2k, wire.NewTransform(200, 1, 0)),
				raw(2, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, tMODP2k)},
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", ""},
		{"a proposal with an additional key exchange (RFC 9370) is refused",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, tMODP2k, wire.NewTransform(wire.TransformADDKE1, wire.ML_KEM_768, 0))},
			"", "IKE proposal 1: additional key exchange ADDKE1 (RFC 9370) is not supported"},
		{"ESN does not belong in IKE",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, tMODP2k, tNoESN)},
			"", "transform type ESN does not belong in IKE proposals"},
		{"AES without a Key Length attribute is invalid",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAESNoKL, tSHA256, tPRF256, tMODP2k)},
			"", "client offered no encryption algorithm; policy requires AES_CBC_128, AES_CBC_256, AES_GCM_16_128 or AES_GCM_16_256 (ignored: IKE proposal 1: AES_CBC without the Key Length attribute it requires)"},
		{"3DES with a Key Length attribute is invalid",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, wire.NewTransform(wire.TransformENCR, wire.ENCR_3DES, 192), tSHA256, tPRF256, tMODP2k)},
			"", "3DES_CBC with a Key Length attribute (192) though its key size is fixed"},
		{"AES with a 64-bit key is invalid",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, wire.NewTransform(wire.TransformENCR, wire.ENCR_AES_CBC, 64), tSHA256, tPRF256, tMODP2k)},
			"", "AES_CBC with a 64-bit key"},
		{"a Key Length attribute on a PRF is invalid",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAES128, tSHA256, wire.NewTransform(wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 256), tMODP2k)},
			"", "PRF_HMAC_SHA2_256 with a Key Length attribute"},
		{"a transform with an unknown attribute is skipped",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, unknownAttr, tSHA256, tPRF256, tMODP2k)},
			"", "AES_CBC with unknown attribute type 99"},
		{"two Key Length attributes are invalid",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, twoKL, tSHA256, tPRF256, tMODP2k)},
			"", "AES_CBC with 2 Key Length attributes"},
		{"the valid transform beside a bad one is used",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAESNoKL, tAES128, tSHA256, tPRF256, tMODP2k)},
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", ""},
		{"an IKE proposal with a 4-octet SPI is refused",
			[]wire.Proposal{raw(1, wire.ProtoIKE, []byte{1, 2, 3, 4}, tAES128, tSHA256, tPRF256, tMODP2k)},
			"", "no usable proposal was offered (ignored: IKE proposal 1: 4-octet SPI)"},
		{"an 8-octet SPI is an IKE SA rekey",
			[]wire.Proposal{raw(1, wire.ProtoIKE, []byte{1, 2, 3, 4, 5, 6, 7, 8}, tAES128, tSHA256, tPRF256, tMODP2k)},
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", ""},
		{"an ESP proposal is not an IKE one",
			[]wire.Proposal{raw(1, wire.ProtoESP, []byte{1, 2, 3, 4}, tAES128, tSHA256, tNoESN)},
			"", "ESP proposal 1: only IKE is negotiated here"},
		{"a missing PRF is named",
			[]wire.Proposal{raw(1, wire.ProtoIKE, nil, tAES128, tSHA256, tMODP2k)},
			"", "client offered no PRF; policy requires PRF_HMAC_SHA2_256 or PRF_HMAC_SHA2_384"},
		{"nothing offered",
			nil, "", "no usable proposal was offered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.SelectIKE(tt.offered, wire.MODP_2048)
			if tt.want != "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.String() != tt.want {
					t.Errorf("chose %s, want %s", c, tt.want)
				}
				checkEcho(t, c, tt.offered)
				return
			}
			np := noProposal(t, err)
			if !strings.Contains(np.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", np.Reason, tt.reason)
			}
		})
	}
}

func TestSelectIKEReasons(t *testing.T) {
	p := mustBuiltin(t, "recommended")
	tests := []struct {
		name   string
		offer  []string
		reason string
	}{
		{"every blocking type is named",
			[]string{"3des-sha1-modp1024", "3des-md5-modp1536"},
			"client offered only 3DES_CBC; policy requires AES_CBC_128, AES_CBC_256, AES_GCM_16_128 or AES_GCM_16_256; " +
				"client offered HMAC_SHA1_96 and HMAC_MD5_96; policy requires HMAC_SHA2_256_128; " +
				"client offered PRF_HMAC_SHA1 and PRF_HMAC_MD5; policy requires PRF_HMAC_SHA2_256 or PRF_HMAC_SHA2_384; " +
				"client offered MODP_1024 and MODP_1536; policy requires MODP_2048, ECP_256 or ECP_384"},
		{"algorithms ikelab does not implement are still named",
			[]string{"aes128-sha256-modp768"},
			"client offered only MODP_768; policy requires MODP_2048, ECP_256 or ECP_384"},
		{"integrity is not compared for an all-AEAD offer",
			[]string{"aes128gcm16-prfsha1-ecp256"},
			"client offered only PRF_HMAC_SHA1; policy requires PRF_HMAC_SHA2_256 or PRF_HMAC_SHA2_384"},
		{"each type overlaps, but not in one proposal",
			[]string{"aes128-sha1-modp2048", "3des-sha256-modp2048"},
			"each transform type has an acceptable algorithm, but no offered proposal combines them as a policy proposal does"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.SelectIKE(offerOf(t, wire.ProtoIKE, nil, tt.offer...), wire.MODP_2048)
			if np := noProposal(t, err); np.Reason != tt.reason {
				t.Errorf("Reason =\n%q\nwant\n%q", np.Reason, tt.reason)
			}
		})
	}
}

func TestSelectESPInIKEAuth(t *testing.T) {
	t.Run("windows-default takes AES-256 with SHA-1", func(t *testing.T) {
		offered := windowsESPOffer(t)
		c, err := mustBuiltin(t, "windows-default").SelectESP(offered, false, wire.KE_NONE)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != "ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ" || c.Proposal.Number != 1 {
			t.Errorf("chose %s from %d", c, c.Proposal.Number)
		}
		checkEcho(t, c, offered)
	})
	t.Run("recommended refuses SHA-1", func(t *testing.T) {
		_, err := mustBuiltin(t, "recommended").SelectESP(windowsESPOffer(t), false, wire.KE_NONE)
		np := noProposal(t, err)
		if np.Reason != "client offered only HMAC_SHA1_96; policy requires HMAC_SHA2_256_128" {
			t.Errorf("Reason = %q", np.Reason)
		}
		// KE is not negotiated in IKE_AUTH, so the requirement shown
		// leaves it out.
		if np.Required[0] != "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ" || np.Protocol != wire.ProtoESP {
			t.Errorf("Required[0] = %q", np.Required[0])
		}
	})
	t.Run("KE transforms are ignored on both sides", func(t *testing.T) {
		offered := offerOf(t, wire.ProtoESP, []byte{1, 2, 3, 4}, "aes128-sha256-modp1024")
		c, err := mustBuiltin(t, "recommended").SelectESP(offered, false, wire.KE_NONE)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ" || c.KE != (Algorithm{}) {
			t.Errorf("chose %s", c)
		}
		for _, tr := range c.Proposal.Transforms {
			if tr.Type == wire.TransformKE {
				t.Errorf("KE transform %s echoed in IKE_AUTH (RFC 7296, Section 1.2)", tr.Name())
			}
		}
	})
}

func TestSelectESPWithPFS(t *testing.T) {
	rec, wd := mustBuiltin(t, "recommended"), mustBuiltin(t, "windows-default")
	spi := []byte{0xca, 0xfe, 0, 1}
	noneKE := wire.NewTransform(wire.TransformKE, wire.KE_NONE, 0)
	withNone := offerOf(t, wire.ProtoESP, spi, "aes128-sha1-ecp256")
	withNone[0].Transforms = append(withNone[0].Transforms, noneKE)
	noESN := raw(1, wire.ProtoESP, spi, tAES128, tSHA256, tMODP2k)
	tests := []struct {
		name    string
		p       *Policy
		offered []wire.Proposal
		keGroup wire.TransformID
		want    string
		keOK    bool
		reason  string
	}{
		{"PFS group accepted", rec, offerOf(t, wire.ProtoESP, spi, "aes128-sha256-modp2048"), wire.MODP_2048,
			"ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ", true, ""},
		{"the KE payload's group is preferred", rec, offerOf(t, wire.ProtoESP, spi, "aes128gcm16-modp2048-ecp384"), wire.ECP_384,
			"ESP:AES_GCM_16_128/ECP_384/NO_EXT_SEQ", true, ""},
		{"an unacceptable KE payload group means INVALID_KE_PAYLOAD", rec,
			offerOf(t, wire.ProtoESP, spi, "aes128gcm16-modp1024-ecp256"), wire.MODP_1024,
			"ESP:AES_GCM_16_128/ECP_256/NO_EXT_SEQ", false, ""},
		{"a policy with PFS refuses an offer without", rec, offerOf(t, wire.ProtoESP, spi, "aes128-sha256"), wire.KE_NONE,
			"", false, "client offered only NONE (no PFS); policy requires MODP_2048, ECP_256 or ECP_384"},
		{"a policy without PFS accepts an offer without", wd, offerOf(t, wire.ProtoESP, spi, "aes128-sha1"), wire.KE_NONE,
			"ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ", true, ""},
		{"a policy without PFS refuses an offer that requires it", wd, offerOf(t, wire.ProtoESP, spi, "aes128-sha1-ecp256"), wire.ECP_256,
			"", false, "client offered only ECP_256; policy requires NONE (no PFS)"},
		{"a policy without PFS takes NONE when offered", wd, withNone, wire.KE_NONE,
			"ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ", true, ""},
		{"ESN is required when the client insists", rec, offerOf(t, wire.ProtoESP, spi, "aes128-sha256-modp2048-esn"), wire.MODP_2048,
			"", false, "client offered only EXT_SEQ; policy requires NO_EXT_SEQ"},
		{"an offer without ESN means no ESN", rec, []wire.Proposal{noESN}, wire.MODP_2048,
			"ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ", true, ""},
		{"PRF does not belong in ESP", rec, []wire.Proposal{raw(1, wire.ProtoESP, spi, tAES128, tSHA256, tPRF256, tNoESN)}, wire.KE_NONE,
			"", false, "transform type PRF does not belong in ESP proposals"},
		{"a 2-octet ESP SPI is refused", rec, offerOf(t, wire.ProtoESP, []byte{1, 2}, "aes128-sha256-modp2048"), wire.MODP_2048,
			"", false, "ESP proposal 1: 2-octet SPI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.p.SelectESP(tt.offered, true, tt.keGroup)
			if tt.want == "" {
				np := noProposal(t, err)
				if !strings.Contains(np.Reason, tt.reason) {
					t.Errorf("Reason = %q, want %q in it", np.Reason, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want {
				t.Errorf("chose %s, want %s", c, tt.want)
			}
			if tt.p.CheckKE(c, tt.keGroup) != tt.keOK {
				t.Errorf("CheckKE(%s) = %v", wire.TransformName(wire.TransformKE, tt.keGroup), !tt.keOK)
			}
			checkEcho(t, c, tt.offered)
		})
	}
}

func TestSelectESPSkipsBundles(t *testing.T) {
	// Proposal 1 is ESP and AH together (RFC 7296, Section 3.3.1), which
	// ikelab does not do; proposal 2 is plain ESP.
	esp := offerOf(t, wire.ProtoESP, []byte{1, 2, 3, 4}, "aes128-sha256", "aes128-sha256")
	ah := raw(1, wire.ProtoAH, []byte{5, 6, 7, 8}, tSHA256, tNoESN)
	offered := []wire.Proposal{esp[0], ah, esp[1]}
	c, err := mustBuiltin(t, "recommended").SelectESP(offered, false, wire.KE_NONE)
	if err != nil {
		t.Fatal(err)
	}
	if c.Proposal.Number != 2 {
		t.Errorf("chose proposal %d, want 2", c.Proposal.Number)
	}
	_, err = mustBuiltin(t, "recommended").SelectESP(offered[:2], false, wire.KE_NONE)
	if np := noProposal(t, err); !strings.Contains(np.Reason, "ESP proposal 1: bundled with another protocol") {
		t.Errorf("Reason = %q", np.Reason)
	}
}

func TestChoiceSharesNothingWithTheOffer(t *testing.T) {
	offered := offerOf(t, wire.ProtoESP, []byte{1, 2, 3, 4}, "aes128-sha256")
	c, err := mustBuiltin(t, "recommended").SelectESP(offered, false, wire.KE_NONE)
	if err != nil {
		t.Fatal(err)
	}
	c.Proposal.SPI[0] = 0xff
	c.Proposal.Transforms[0].Attributes[0].Short = 1
	if offered[0].SPI[0] != 1 || offered[0].Transforms[0].KeyLength() != 128 {
		t.Error("modifying the choice modified the offer")
	}
}

func TestSelectToleratesRepeatedNumbersInOneProtocol(t *testing.T) {
	// RFC 7296, Section 3.3.1 numbers proposals 1, 2, 3; a sloppy
	// initiator that numbers them all 1 is still understood, since the
	// echoed transforms identify its offer.
	offered := offerOf(t, wire.ProtoESP, []byte{1, 2, 3, 4}, "3des-sha1", "aes128-sha256")
	offered[1].Number = 1
	c, err := mustBuiltin(t, "recommended").SelectESP(offered, false, wire.KE_NONE)
	if err != nil {
		t.Fatal(err)
	}
	if c.Proposal.Number != 1 || c.String() != "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ" {
		t.Errorf("chose %d %s", c.Proposal.Number, c)
	}
}

func TestSelectWithoutPolicyProposals(t *testing.T) {
	// An unvalidated, empty policy refuses with a reason instead of
	// failing in some other way.
	p := &Policy{Name: "empty"}
	_, err := p.SelectIKE(windowsIKEOffer(t), wire.MODP_1024)
	if np := noProposal(t, err); np.Reason != "the policy has no IKE proposals" {
		t.Errorf("Reason = %q", np.Reason)
	}
	p.ESP = []Proposal{{Protocol: wire.ProtoESP}} // no cipher at all
	_, err = p.SelectESP(windowsESPOffer(t), false, wire.KE_NONE)
	noProposal(t, err)
}

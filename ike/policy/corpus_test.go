package policy

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/capture"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/corpus"
)

// corpusDir returns ../shared/corpus or skips the test.
func corpusDir(t *testing.T) string {
	t.Helper()
	return corpus.Dir(t)
}

// exchange is one IKE_SA_INIT request or response of a capture.
type exchange struct {
	response bool
	props    []wire.Proposal
	keGroup  wire.TransformID
	notify   *wire.Notify
}

func readInits(t *testing.T, file string) []exchange {
	t.Helper()
	ds, err := capture.ReadFile(filepath.Join(corpusDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	var out []exchange
	for _, d := range ds {
		m, err := wire.ParseMessage(d.Data)
		if err != nil {
			t.Fatalf("%s frame %d: %v", file, d.Frame, err)
		}
		if m.Exchange != wire.IKE_SA_INIT {
			continue
		}
		x := exchange{response: m.Flags&wire.FlagResponse != 0}
		for _, p := range m.Payloads {
			switch p := p.(type) {
			case *wire.SA:
				x.props = p.Proposals
			case *wire.KE:
				x.keGroup = p.Group
			case *wire.Notify:
				if x.notify == nil {
					x.notify = p
				}
			}
		}
		out = append(out, x)
	}
	return out
}

// A Windows IKEv2 client (the zeek-spicy-ipsec capture, Windows 8 era) and
// the server that answered it.
func TestCorpusWindowsClient(t *testing.T) {
	x := readInits(t, "zeek-spicy-ipsec/ipsec_client.pcap")
	if len(x) != 2 || x[0].response || !x[1].response {
		t.Fatalf("expected one IKE_SA_INIT request and its response, got %d messages", len(x))
	}
	req, resp := x[0], x[1]
	// The capture is the offer LAB.md describes, which the synthetic
	// offer of the other tests reproduces proposal for proposal.
	synthetic := windowsIKEOffer(t)
	if len(req.props) != len(synthetic) || req.keGroup != wire.MODP_1024 {
		t.Fatalf("%d proposals with KE %d", len(req.props), req.keGroup)
	}
	for i := range synthetic {
		if req.props[i].String() != synthetic[i].String() || req.props[i].Number != synthetic[i].Number {
			t.Errorf("proposal %d: capture %s, synthetic %s", i+1, req.props[i].String(), synthetic[i].String())
		}
	}

	_, err := mustBuiltin(t, "recommended").SelectIKE(req.props, req.keGroup)
	if np := noProposal(t, err); np.Reason != "client offered only MODP_1024; policy requires MODP_2048, ECP_256 or ECP_384" {
		t.Errorf("recommended: %q", np.Reason)
	}
	c, err := mustBuiltin(t, "windows-default").SelectIKE(req.props, req.keGroup)
	if err != nil || c.String() != "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024" {
		t.Errorf("windows-default: %v, %v", c, err)
	}
	// A policy that accepts only what that server chose yields the same
	// response proposal, transform for transform.
	p := mustPolicy(t, []string{"3des-sha1-modp1024"}, []string{"3des-sha1"})
	c, err = p.SelectIKE(req.props, req.keGroup)
	if err != nil {
		t.Fatal(err)
	}
	sameProposal(t, c, resp.props[0])
}

func sameProposal(t *testing.T, c *Choice, want wire.Proposal) {
	t.Helper()
	if c.Proposal.Number != want.Number || c.Proposal.String() != want.String() || !bytes.Equal(c.Proposal.SPI, want.SPI) {
		t.Errorf("chose %d %s, the capture's responder chose %d %s", c.Proposal.Number, c.Proposal.String(), want.Number, want.String())
	}
}

// A strongSwan initiator offering everything, whose first KE guess the
// responder refused with INVALID_KE_PAYLOAD(MODP_3072) (the
// zeek-plugin-ikev2 capture). A policy like that responder's reproduces
// both answers.
func TestCorpusInvalidKERoundTrip(t *testing.T) {
	x := readInits(t, "zeek-plugin-ikev2/ikev2.pcap")
	if len(x) != 4 {
		t.Fatalf("%d IKE_SA_INIT messages, want 4", len(x))
	}
	p := mustPolicy(t, []string{"aes128-sha256-prfaesxcbc-modp3072"}, []string{"aes128-sha256"})

	first, refusal := x[0], x[1]
	c, err := p.SelectIKE(first.props, first.keGroup)
	if err != nil {
		t.Fatal(err)
	}
	if first.keGroup != wire.ECP_256 || p.CheckKE(c, first.keGroup) {
		t.Fatalf("KE %d accepted for choice %s", first.keGroup, c)
	}
	ik := c.InvalidKE(first.keGroup)
	if refusal.notify == nil || refusal.notify.NotifyType != ik.Notify() || !bytes.Equal(refusal.notify.Data, ik.NotifyData()) {
		t.Errorf("we would send %s %x, the capture has %v", ik.Notify(), ik.NotifyData(), refusal.notify)
	}

	retry, resp := x[2], x[3]
	c, err = p.SelectIKE(retry.props, retry.keGroup)
	if err != nil {
		t.Fatal(err)
	}
	if !p.CheckKE(c, retry.keGroup) {
		t.Errorf("retry with %d refused", retry.keGroup)
	}
	sameProposal(t, c, resp.props[0])
}

// More captures: a Cisco FlexVPN pair, a weak single proposal, and
// Openswan test traffic whose AES transforms lack the Key Length attribute.
func TestCorpusOffers(t *testing.T) {
	tests := []struct {
		file     string
		ike      []string // nil: the recommended built-in
		want     string   // the choice, or "" for a refusal
		reason   string
		matchRsp bool // the choice must equal the capture's response
	}{
		{"ndpi/esp.pcapng", nil, "",
			"client offered only HMAC_SHA2_384_192; policy requires HMAC_SHA2_256_128", false},
		{"ndpi/esp.pcapng", []string{"aes256-sha384-ecp384"}, "IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384", "", true},
		{"suricata-verify/IKEv2_SA_INIT_2-8-weak.pcap", nil, "",
			"client offered only MODP_1024; policy requires MODP_2048, ECP_256 or ECP_384", false},
		{"tcpdump/ikev2pI2.pcap", nil, "",
			"client offered only 3DES_CBC; policy requires AES_CBC_128, AES_CBC_256, AES_GCM_16_128 or AES_GCM_16_256; " +
				"client offered only HMAC_SHA1_96; policy requires HMAC_SHA2_256_128; " +
				"client offered PRF_HMAC_SHA1 and PRF_HMAC_MD5; policy requires PRF_HMAC_SHA2_256 or PRF_HMAC_SHA2_384; " +
				"client offered MODP_1536 and MODP_1024; policy requires MODP_2048, ECP_256 or ECP_384 " +
				"(ignored: IKE proposal 1: AES_CBC without the Key Length attribute it requires; " +
				"IKE proposal 2: AES_CBC without the Key Length attribute it requires)", false},
		// The KE payload is MODP_1536; proposal 3 is the first valid one
		// with it.
		{"tcpdump/ikev2pI2.pcap", []string{"3des-sha1-modp1024-modp1536"}, "IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1536", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+strings.Join(tt.ike, ","), func(t *testing.T) {
			x := readInits(t, tt.file)
			p := mustBuiltin(t, "recommended")
			if tt.ike != nil {
				p = mustPolicy(t, tt.ike, []string{"aes128-sha256"})
			}
			c, err := p.SelectIKE(x[0].props, x[0].keGroup)
			if tt.want == "" {
				if np := noProposal(t, err); np.Reason != tt.reason {
					t.Errorf("Reason =\n%q\nwant\n%q", np.Reason, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want || !p.CheckKE(c, x[0].keGroup) {
				t.Errorf("chose %s (KE %d)", c, x[0].keGroup)
			}
			checkEcho(t, c, x[0].props)
			if tt.matchRsp {
				sameProposal(t, c, x[1].props[0])
			}
		})
	}
}

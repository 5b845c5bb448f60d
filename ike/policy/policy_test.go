package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

func TestBuiltins(t *testing.T) {
	if got := strings.Join(BuiltinNames(), " "); got != "recommended windows-default" {
		t.Fatalf("BuiltinNames() = %s", got)
	}
	tests := []struct {
		name     string
		insecure bool
		weak     string
		ike, esp []string
	}{
		{"recommended", false, "",
			[]string{
				"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
				"IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
				"IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256",
				"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
			},
			[]string{
				"ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/ECP_256/ECP_384/NO_EXT_SEQ",
				"ESP:AES_GCM_16_128/ECP_256/ECP_384/MODP_2048/NO_EXT_SEQ",
				"ESP:AES_GCM_16_256/ECP_384/ECP_256/MODP_2048/NO_EXT_SEQ",
			}},
		{"windows-default", true, "MODP_1024,HMAC_SHA1_96,PRF_HMAC_SHA1,3DES_CBC", nil,
			[]string{
				"ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ",
				"ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ",
				"ESP:3DES_CBC/HMAC_SHA1_96/NO_EXT_SEQ",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustBuiltin(t, tt.name)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.name || p.Insecure != tt.insecure || strings.Join(p.Weak(), ",") != tt.weak {
				t.Errorf("Name %q Insecure %v Weak %v", p.Name, p.Insecure, p.Weak())
			}
			if p.IKELifetime != 24*time.Hour || p.ChildLifetime != 8*time.Hour || p.ChildLifeBytes != 1048576000 {
				t.Errorf("lifetimes %v %v %d", p.IKELifetime, p.ChildLifetime, p.ChildLifeBytes)
			}
			str := func(l []Proposal) string {
				var s []string
				for _, pr := range l {
					s = append(s, pr.String())
				}
				return strings.Join(s, "\n")
			}
			if tt.ike != nil && str(p.IKE) != strings.Join(tt.ike, "\n") {
				t.Errorf("IKE:\n%s", str(p.IKE))
			}
			if str(p.ESP) != strings.Join(tt.esp, "\n") {
				t.Errorf("ESP:\n%s", str(p.ESP))
			}
		})
	}
	t.Run("windows-default accepts every default Windows IKE proposal", func(t *testing.T) {
		p := mustBuiltin(t, "windows-default")
		for _, w := range windowsIKEOffer(t) {
			c, err := p.SelectIKE([]wire.Proposal{w}, wire.MODP_1024)
			if err != nil {
				t.Errorf("%s: %v", w.String(), err)
				continue
			}
			if c.String() != w.String() {
				t.Errorf("offered %s, chose %s", w.String(), c)
			}
		}
	})
	t.Run("each call returns a fresh copy", func(t *testing.T) {
		a := mustBuiltin(t, "recommended")
		a.IKE[0].Encr[0] = encr(wire.ENCR_3DES, 0)
		a.ESP = nil
		b := mustBuiltin(t, "recommended")
		if b.IKE[0].Encr[0].String() != "AES_CBC_128" || len(b.ESP) != 3 {
			t.Error("modifying one built-in policy changed the next")
		}
	})
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "built-in: recommended, windows-default") {
		t.Errorf("Builtin(nope) = %v", err)
	}
}

func TestValidate(t *testing.T) {
	good := func() *Policy { return mustBuiltin(t, "recommended") }
	tests := []struct {
		name string
		mod  func(*Policy)
		msg  string
	}{
		{"no IKE proposals", func(p *Policy) { p.IKE = nil }, "no IKE proposals"},
		{"no ESP proposals", func(p *Policy) { p.ESP = nil }, "no ESP proposals"},
		{"an ESP proposal among the IKE ones", func(p *Policy) { p.IKE[1] = p.ESP[0] }, "IKE proposal 2 has protocol ESP"},
		{"an incoherent proposal", func(p *Policy) { p.ESP[0].Integ = nil }, "needs an integrity algorithm"},
		{"an algorithm of the wrong type", func(p *Policy) { p.IKE[0].KE = []Algorithm{prf(wire.PRF_HMAC_SHA1)} }, "PRF_HMAC_SHA1 is listed as a KE transform"},
		{"an unimplemented algorithm", func(p *Policy) { p.IKE[0].KE = []Algorithm{ke(wire.ECP_256_BP)} }, "ECP_256_BP: not implemented by ikelab"},
		{"an invalid key size", func(p *Policy) { p.IKE[0].Encr = []Algorithm{encr(wire.ENCR_AES_CBC, 64)} }, "AES_CBC_64: not implemented"},
		{"weak but not marked", func(p *Policy) { p.IKE[0].KE = append(p.IKE[0].KE, ke(wire.MODP_1024)) },
			`accepts weak algorithms (MODP_1024) but is not marked insecure`},
		{"negative lifetime", func(p *Policy) { p.ChildLifetime = -time.Second }, "negative lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.mod(p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Validate() = %v, want %q in it", err, tt.msg)
			}
		})
	}
	p := good()
	p.IKE[0].KE = []Algorithm{ke(wire.MODP_768)}
	if err := p.Validate(); !errors.Is(err, ErrNotImplemented) || !strings.Contains(err.Error(), "(and insecure)") {
		t.Errorf("MODP_768: %v", err)
	}
}

package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// decode reads a config file's policy section the way the responder's
// loader does.
func decode(t *testing.T, doc string) (Config, error) {
	t.Helper()
	var f struct {
		Policy Config `yaml:"policy"`
	}
	err := yaml.Unmarshal([]byte(doc), &f)
	return f.Policy, err
}

func TestFromConfigForms(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		policy   string
		insecure bool
		ike, esp []string
		child    time.Duration
	}{
		{"empty section: recommended", "policy: {}\n", "recommended", false, nil, nil, DefaultChildLifetime},
		{"builtin", "policy:\n  builtin: windows-default\n", "windows-default", true, nil, nil, DefaultChildLifetime},
		{"proposal lists with a lifetime", `
policy:
  ike:
    - aes128-sha256-modp2048, aes256-sha256-modp2048
    - aes128gcm16-prfsha256-ecp256
  esp: [aes128gcm16-ecp256]
  child_lifetime: 1h
`, "custom", false,
			[]string{"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
				"IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
				"IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256"},
			[]string{"ESP:AES_GCM_16_128/ECP_256/NO_EXT_SEQ"}, time.Hour},
		{"weak proposals make the policy insecure", `
policy:
  ike: [3des-sha1-modp1024]
  esp: [3des-sha1]
`, "custom", true, []string{"IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"},
			[]string{"ESP:3DES_CBC/HMAC_SHA1_96/NO_EXT_SEQ"}, DefaultChildLifetime},
		// Keys as PowerShell prints them, in any case.
		{"windows block", `
policy:
  windows:
    EncryptionMethod: GCMAES256
    integritycheckmethod: SHA384
    DHGroup: ECP384
    CipherTransformConstants: GCMAES256
    AuthenticationTransformConstants: GCMAES256
    PFSgroup: ECP384
    SALifeTimeSeconds: 7200
`, "windows-custom", false, []string{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"},
			[]string{"ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ"}, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decode(t, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			p, err := FromConfig(c)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.policy || p.Insecure != tt.insecure || p.ChildLifetime != tt.child {
				t.Errorf("Name %q Insecure %v ChildLifetime %v", p.Name, p.Insecure, p.ChildLifetime)
			}
			check := func(kind string, got []Proposal, want []string) {
				if want == nil {
					return
				}
				var g []string
				for _, pr := range got {
					g = append(g, pr.String())
				}
				if strings.Join(g, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s:\n%s\nwant\n%s", kind, strings.Join(g, "\n"), strings.Join(want, "\n"))
				}
			}
			check("IKE", p.IKE, tt.ike)
			check("ESP", p.ESP, tt.esp)
			if err := p.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFromConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		fields []string
		msg    string
	}{
		{"unknown builtin", "policy:\n  builtin: strict\n", []string{"builtin"},
			`unknown built-in policy "strict" (built-in: recommended, windows-default)`},
		{"builtin and proposals", "policy:\n  builtin: recommended\n  ike: [aes128-sha256-modp2048]\n", []string{"ike"},
			"conflicts with builtin"},
		{"proposals and windows", "policy:\n  esp: [aes128-sha256]\n  windows: {DHGroup: Group14}\n", []string{"windows"},
			"conflicts with ike"},
		{"ike without esp", "policy:\n  ike: [aes128-sha256-modp2048]\n", []string{"esp"}, "required with ike"},
		{"a bad keyword names its entry", "policy:\n  ike: [aes128-sha256-modp2048, aes128-sha256-dh14]\n  esp: [aes128-sha256, aes128gcm16-sha256]\n",
			[]string{"ike[1]", "esp[1]"}, `unknown keyword "dh14"`},
		{"an unimplemented algorithm names its entry", "policy:\n  ike: [des-sha1-modp1024]\n  esp: [aes128-sha256]\n",
			[]string{"ike[0]"}, "DES_CBC: not implemented by ikelab (and insecure)"},
		{"a Windows value", "policy:\n  windows:\n    EncryptionMethod: AES128\n    IntegrityCheckMethod: SHA256\n    DHGroup: Group15\n" +
			"    CipherTransformConstants: AES128\n    AuthenticationTransformConstants: SHA256128\n    PfsGroup: None\n",
			[]string{"windows.DHGroup"}, `"Group15" is not one of`},
		{"lifetimes belong in the windows block", "policy:\n  windows:\n    EncryptionMethod: AES128\n    IntegrityCheckMethod: SHA256\n    DHGroup: Group14\n" +
			"    CipherTransformConstants: AES128\n    AuthenticationTransformConstants: SHA256128\n    PfsGroup: None\n  child_lifetime: 1h\n",
			[]string{"child_lifetime"}, "set windows.SALifeTimeSeconds instead"},
		{"negative lifetime", "policy:\n  ike_lifetime: -1h\n", []string{"ike_lifetime"}, "negative duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decode(t, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			p, err := FromConfig(c)
			if err == nil || p != nil {
				t.Fatalf("FromConfig accepted it: %v", p)
			}
			var got []string
			list := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				list = j.Unwrap()
			}
			for _, e := range list {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Errorf("fields %v, want %v", got, tt.fields)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "policy: "+tt.fields[0]+": ") {
				t.Errorf("Error() = %q, want %q in it", err, tt.msg)
			}
			if strings.Count(err.Error(), "policy: ") != len(tt.fields) {
				t.Errorf("Error() repeats the package prefix: %q", err)
			}
		})
	}
}

func TestWindowsYAMLErrorsGiveTheLine(t *testing.T) {
	tests := []struct {
		name, doc, field, msg string
	}{
		{"unknown key", "policy:\n  windows:\n    DHGroup: Group14\n    Encryption: AES128\n",
			"windows.Encryption", "line 4: unknown Windows parameter"},
		{"repeated key in another case", "policy:\n  windows:\n    PfsGroup: None\n    PFSgroup: PFS2048\n",
			"windows.PfsGroup", "line 4: set again (first on line 3)"},
		{"not a number", "policy:\n  windows:\n    SALifeTimeSeconds: 8h\n",
			"windows.SALifeTimeSeconds", `line 3: "8h" is not a whole number`},
		{"a list for a value", "policy:\n  windows:\n    DHGroup: [Group14, ECP256]\n",
			"windows.DHGroup", "line 3: want a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.doc)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want %s: %s", err, tt.field, tt.msg)
			}
		})
	}
}

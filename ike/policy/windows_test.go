package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

func TestFromWindows(t *testing.T) {
	tests := []struct {
		name     string
		w        Windows
		ike, esp string
	}{
		{"Microsoft's Always On VPN baseline",
			Windows{EncryptionMethod: "AES128", IntegrityCheckMethod: "SHA256", DHGroup: "Group14",
				CipherTransformConstants: "AES128", AuthenticationTransformConstants: "SHA256128", PfsGroup: "PFS2048"},
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
			"ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ"},
		{"GCM in IKE: the integrity method is the PRF alone",
			Windows{EncryptionMethod: "GCMAES256", IntegrityCheckMethod: "SHA384", DHGroup: "ECP384",
				CipherTransformConstants: "GCMAES256", AuthenticationTransformConstants: "GCMAES256", PfsGroup: "ECP384"},
			"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
			"ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ"},
		{"ProfileXML's GCM spelling, any case",
			Windows{EncryptionMethod: "aes_gcm_128", IntegrityCheckMethod: "sha256", DHGroup: "ecp256",
				CipherTransformConstants: "gcmaes192", AuthenticationTransformConstants: "GcmAes192", PfsGroup: "none"},
			"IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256",
			"ESP:AES_GCM_16_192/NO_EXT_SEQ"},
		{"PFSMM takes the IKE SA's group",
			Windows{EncryptionMethod: "AES256", IntegrityCheckMethod: "SHA384", DHGroup: "ECP256",
				CipherTransformConstants: "AES256", AuthenticationTransformConstants: "SHA256128", PfsGroup: "PFSMM"},
			"IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_256",
			"ESP:AES_CBC_256/HMAC_SHA2_256_128/ECP_256/NO_EXT_SEQ"},
		{"RRAS' own out-of-the-box answer: 3DES, SHA-1, group 2",
			Windows{EncryptionMethod: "DES3", IntegrityCheckMethod: "SHA196", DHGroup: "Group2",
				CipherTransformConstants: "DES3", AuthenticationTransformConstants: "SHA196", PfsGroup: "PFS2"},
			"IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
			"ESP:3DES_CBC/HMAC_SHA1_96/MODP_1024/NO_EXT_SEQ"},
		{"MD5 and group 24",
			Windows{EncryptionMethod: "AES192", IntegrityCheckMethod: "MD5", DHGroup: "Group24",
				CipherTransformConstants: "AES192", AuthenticationTransformConstants: "MD596", PfsGroup: "PFS24"},
			"IKE:AES_CBC_192/HMAC_MD5_96/PRF_HMAC_MD5/MODP_2048_256",
			"ESP:AES_CBC_192/HMAC_MD5_96/MODP_2048_256/NO_EXT_SEQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := FromWindows(tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.IKE) != 1 || len(p.ESP) != 1 {
				t.Fatalf("%d IKE and %d ESP proposals", len(p.IKE), len(p.ESP))
			}
			if p.IKE[0].String() != tt.ike || p.ESP[0].String() != tt.esp {
				t.Errorf("got\n%s\n%s\nwant\n%s\n%s", p.IKE[0], p.ESP[0], tt.ike, tt.esp)
			}
			if p.Insecure != (len(p.Weak()) > 0) || p.Name != "windows-custom" {
				t.Errorf("Name %q, Insecure %v, Weak %v", p.Name, p.Insecure, p.Weak())
			}
			if p.IKELifetime != 86400*time.Second || p.ChildLifetime != 28800*time.Second || p.ChildLifeBytes != 1024000*1024 {
				t.Errorf("default lifetimes %v %v %d", p.IKELifetime, p.ChildLifetime, p.ChildLifeBytes)
			}
			if err := p.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFromWindowsMarksWeakPolicies(t *testing.T) {
	p, err := FromWindows(Windows{EncryptionMethod: "DES3", IntegrityCheckMethod: "SHA196", DHGroup: "Group2",
		CipherTransformConstants: "DES3", AuthenticationTransformConstants: "SHA196", PfsGroup: "None"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Insecure || strings.Join(p.Weak(), ",") != "3DES_CBC,HMAC_SHA1_96,PRF_HMAC_SHA1,MODP_1024" {
		t.Errorf("Insecure %v, Weak %v", p.Insecure, p.Weak())
	}
}

func TestFromWindowsLifetimes(t *testing.T) {
	base := Windows{EncryptionMethod: "AES128", IntegrityCheckMethod: "SHA256", DHGroup: "Group14",
		CipherTransformConstants: "AES128", AuthenticationTransformConstants: "SHA256128", PfsGroup: "None"}
	w := base
	w.SALifeTimeSeconds, w.MMSALifeTimeSeconds, w.SADataSizeForRenegotiationKilobytes = 3600, 28800, 2048
	p, err := FromWindows(w)
	if err != nil {
		t.Fatal(err)
	}
	if p.ChildLifetime != time.Hour || p.IKELifetime != 8*time.Hour || p.ChildLifeBytes != 2048*1024 {
		t.Errorf("lifetimes %v %v %d", p.ChildLifetime, p.IKELifetime, p.ChildLifeBytes)
	}
	for _, tt := range []struct {
		name  string
		mod   func(*Windows)
		field string
	}{
		{"SA lifetime below 300 s", func(w *Windows) { w.SALifeTimeSeconds = 299 }, "SALifeTimeSeconds"},
		{"SA lifetime above 17279999 s", func(w *Windows) { w.SALifeTimeSeconds = 17280000 }, "SALifeTimeSeconds"},
		{"negative main mode lifetime", func(w *Windows) { w.MMSALifeTimeSeconds = -1 }, "MMSALifeTimeSeconds"},
		{"data size below 1024 KB", func(w *Windows) { w.SADataSizeForRenegotiationKilobytes = 1023 }, "SADataSizeForRenegotiationKilobytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := base
			tt.mod(&w)
			_, err := FromWindows(w)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("error %v, want one for %s", err, tt.field)
			}
		})
	}
}

func TestFromWindowsErrors(t *testing.T) {
	good := Windows{EncryptionMethod: "AES128", IntegrityCheckMethod: "SHA256", DHGroup: "Group14",
		CipherTransformConstants: "AES128", AuthenticationTransformConstants: "SHA256128", PfsGroup: "PFS2048"}
	tests := []struct {
		name  string
		mod   func(*Windows)
		field string
		msg   string
	}{
		{"unknown EncryptionMethod lists the allowed values", func(w *Windows) { w.EncryptionMethod = "AES512" },
			"EncryptionMethod", `"AES512" is not one of DES, DES3, AES128, AES192, AES256, GCMAES128, GCMAES256`},
		{"missing IntegrityCheckMethod", func(w *Windows) { w.IntegrityCheckMethod = "" },
			"IntegrityCheckMethod", "required; one of MD5, SHA196, SHA256, SHA384"},
		{"unknown DHGroup", func(w *Windows) { w.DHGroup = "Group5" },
			"DHGroup", "not one of None, Group1, Group2, Group14, ECP256, ECP384, Group24"},
		{"unknown PfsGroup", func(w *Windows) { w.PfsGroup = "PFS14" },
			"PfsGroup", "not one of None, PFS1, PFS2, PFS2048, ECP256, ECP384, PFS24, PFSMM"},
		{"unknown cipher constant", func(w *Windows) { w.CipherTransformConstants = "AES" },
			"CipherTransformConstants", "not one of None, DES, DES3, AES128, AES192, AES256, GCMAES128, GCMAES192, GCMAES256"},
		{"unknown authentication constant", func(w *Windows) { w.AuthenticationTransformConstants = "SHA256" },
			"AuthenticationTransformConstants", "not one of None, MD596, SHA196, SHA256128, GCMAES128, GCMAES192, GCMAES256"},
		{"DHGroup None: IKEv2 always has a key exchange", func(w *Windows) { w.DHGroup = "None" },
			"DHGroup", "an IKEv2 SA always has a key exchange"},
		{"GCM cipher with a non-GCM authentication constant", func(w *Windows) { w.CipherTransformConstants = "GCMAES128" },
			"AuthenticationTransformConstants", "SHA256128 with CipherTransformConstants GCMAES128: Windows requires the matching GCM constant GCMAES128"},
		{"GCM authentication with a CBC cipher", func(w *Windows) { w.AuthenticationTransformConstants = "GCMAES128" },
			"CipherTransformConstants", "AES128 with AuthenticationTransformConstants GCMAES128: Windows requires the matching GCM cipher GCMAES128"},
		{"GCM constants of different key sizes", func(w *Windows) {
			w.CipherTransformConstants, w.AuthenticationTransformConstants = "GCMAES256", "GCMAES128"
		}, "CipherTransformConstants", "requires the matching GCM cipher GCMAES128"},
		{"encryption without integrity", func(w *Windows) { w.AuthenticationTransformConstants = "None" },
			"AuthenticationTransformConstants", "ESP encryption without integrity protection is refused"},
		{"Group1 is MODP_768: insecure and not implemented", func(w *Windows) { w.DHGroup = "Group1" },
			"DHGroup", "Group1 means MODP_768: not implemented by ikelab (and insecure)"},
		{"PFS1 is MODP_768 too", func(w *Windows) { w.PfsGroup = "PFS1" },
			"PfsGroup", "PFS1 means MODP_768: not implemented by ikelab (and insecure)"},
		{"DES for IKE", func(w *Windows) { w.EncryptionMethod = "DES" },
			"EncryptionMethod", "DES means DES_CBC: not implemented by ikelab (and insecure)"},
		{"DES for ESP", func(w *Windows) { w.CipherTransformConstants = "DES" },
			"CipherTransformConstants", "DES means DES_CBC: not implemented by ikelab (and insecure)"},
		{"no ESP encryption (ENCR_NULL)", func(w *Windows) { w.CipherTransformConstants = "None" },
			"CipherTransformConstants", "None means NULL: not implemented by ikelab (and insecure)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := good
			tt.mod(&w)
			p, err := FromWindows(w)
			if p != nil || err == nil {
				t.Fatalf("FromWindows accepted %+v", w)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Error(), tt.msg) {
				t.Errorf("error %q for %s, want %s: ...%s...", fe.Error(), fe.Field, tt.field, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "policy: "+tt.field+": ") {
				t.Errorf("Error() = %q", err.Error())
			}
			if strings.Contains(tt.msg, "not implemented") && !errors.Is(err, ErrNotImplemented) {
				t.Error("error does not wrap ErrNotImplemented")
			}
		})
	}
	t.Run("every wrong field is reported", func(t *testing.T) {
		_, err := FromWindows(Windows{EncryptionMethod: "x", DHGroup: "y"})
		var fields []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			fields = append(fields, e.(*FieldError).Field)
		}
		want := "EncryptionMethod IntegrityCheckMethod DHGroup CipherTransformConstants AuthenticationTransformConstants PfsGroup"
		if strings.Join(fields, " ") != want {
			t.Errorf("fields %v, want %s", fields, want)
		}
	})
}

// The PowerShell names given to FromWindows come back out of the export.
func TestExportRoundTrip(t *testing.T) {
	for _, w := range []Windows{
		{EncryptionMethod: "AES128", IntegrityCheckMethod: "SHA256", DHGroup: "Group14",
			CipherTransformConstants: "AES128", AuthenticationTransformConstants: "SHA256128", PfsGroup: "PFS2048"},
		{EncryptionMethod: "GCMAES256", IntegrityCheckMethod: "SHA384", DHGroup: "ECP384",
			CipherTransformConstants: "GCMAES256", AuthenticationTransformConstants: "GCMAES256", PfsGroup: "ECP384"},
		{EncryptionMethod: "GCMAES128", IntegrityCheckMethod: "SHA256", DHGroup: "ECP256",
			CipherTransformConstants: "GCMAES192", AuthenticationTransformConstants: "GCMAES192", PfsGroup: "None"},
		{EncryptionMethod: "AES192", IntegrityCheckMethod: "SHA196", DHGroup: "Group24",
			CipherTransformConstants: "DES3", AuthenticationTransformConstants: "MD596", PfsGroup: "PFS24"},
		{EncryptionMethod: "DES3", IntegrityCheckMethod: "MD5", DHGroup: "Group2",
			CipherTransformConstants: "AES256", AuthenticationTransformConstants: "SHA196", PfsGroup: "PFS2"},
	} {
		t.Run(w.EncryptionMethod+"-"+w.CipherTransformConstants, func(t *testing.T) {
			w.SALifeTimeSeconds, w.MMSALifeTimeSeconds, w.SADataSizeForRenegotiationKilobytes = 3600, 14400, 4096
			p, err := FromWindows(w)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := p.ToWindows(); err != nil || got != w {
				t.Errorf("ToWindows() = %+v, %v, want %+v", got, err, w)
			}
			ps, err := p.ExportPowerShell("Contoso VPN")
			if err != nil {
				t.Fatal(err)
			}
			cmd := ps[strings.LastIndex(strings.TrimSuffix(ps, "\n"), "\n")+1:]
			want := "Set-VpnConnectionIPsecConfiguration -ConnectionName 'Contoso VPN'" +
				" -AuthenticationTransformConstants " + w.AuthenticationTransformConstants +
				" -CipherTransformConstants " + w.CipherTransformConstants +
				" -EncryptionMethod " + w.EncryptionMethod +
				" -IntegrityCheckMethod " + w.IntegrityCheckMethod +
				" -DHGroup " + w.DHGroup + " -PfsGroup " + w.PfsGroup + " -Force\n"
			if cmd != want {
				t.Errorf("ExportPowerShell =\n%s\nwant\n%s", cmd, want)
			}
			if weak := len(p.Weak()) > 0; weak != strings.HasPrefix(ps, "# warning: these settings use weak algorithms: ") {
				t.Errorf("weak %v, export:\n%s", weak, ps)
			}
			xml, err := p.ExportProfileXML()
			if err != nil {
				t.Fatal(err)
			}
			enc := w.EncryptionMethod
			if strings.HasPrefix(enc, "GCMAES") {
				enc = "AES_GCM_" + strings.TrimPrefix(enc, "GCMAES") // ProfileXML's spelling
			}
			for _, el := range []string{
				"<AuthenticationTransformConstants>" + w.AuthenticationTransformConstants + "</AuthenticationTransformConstants>",
				"<CipherTransformConstants>" + w.CipherTransformConstants + "</CipherTransformConstants>",
				"<EncryptionMethod>" + enc + "</EncryptionMethod>",
				"<IntegrityCheckMethod>" + w.IntegrityCheckMethod + "</IntegrityCheckMethod>",
				"<DHGroup>" + w.DHGroup + "</DHGroup>",
				"<PfsGroup>" + w.PfsGroup + "</PfsGroup>",
			} {
				if !strings.Contains(xml, "  "+el+"\n") {
					t.Errorf("ProfileXML lacks %s:\n%s", el, xml)
				}
			}
			if !strings.Contains(xml, "<CryptographySuite>\n") || !strings.HasSuffix(xml, "</CryptographySuite>\n") {
				t.Errorf("ProfileXML:\n%s", xml)
			}
			// And the exported settings parse back to the same policy.
			back, err := FromWindows(w)
			if err != nil || back.IKE[0].String() != p.IKE[0].String() || back.ESP[0].String() != p.ESP[0].String() {
				t.Errorf("FromWindows(ToWindows()) = %v, %v", back, err)
			}
		})
	}
}

func TestExportPFSMMBecomesTheExplicitGroup(t *testing.T) {
	p, err := FromWindows(Windows{EncryptionMethod: "AES256", IntegrityCheckMethod: "SHA256", DHGroup: "ECP384",
		CipherTransformConstants: "AES256", AuthenticationTransformConstants: "SHA256128", PfsGroup: "PFSMM"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := p.ToWindows()
	if err != nil || w.PfsGroup != "ECP384" {
		t.Errorf("PfsGroup %q, %v", w.PfsGroup, err)
	}
}

func TestExportBuiltins(t *testing.T) {
	tests := []struct {
		name, ps string
		weak     bool
	}{
		{"recommended", "Set-VpnConnectionIPsecConfiguration -ConnectionName 'VPN' -AuthenticationTransformConstants SHA256128" +
			" -CipherTransformConstants AES128 -EncryptionMethod AES128 -IntegrityCheckMethod SHA256 -DHGroup Group14 -PfsGroup PFS2048 -Force\n", false},
		{"windows-default", "# warning: these settings use weak algorithms: HMAC_SHA1_96\n" +
			"Set-VpnConnectionIPsecConfiguration -ConnectionName 'VPN' -AuthenticationTransformConstants SHA196" +
			" -CipherTransformConstants AES256 -EncryptionMethod AES256 -IntegrityCheckMethod SHA256 -DHGroup Group14 -PfsGroup None -Force\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustBuiltin(t, tt.name)
			ps, err := p.ExportPowerShell("VPN")
			if err != nil {
				t.Fatal(err)
			}
			if ps != tt.ps {
				t.Errorf("ExportPowerShell =\n%s\nwant\n%s", ps, tt.ps)
			}
			// What was exported is accepted by the policy it came from.
			w, err := p.ToWindows()
			if err != nil {
				t.Fatal(err)
			}
			client, err := FromWindows(w)
			if err != nil {
				t.Fatal(err)
			}
			ke := client.IKE[0].KE[0].ID
			if _, err := p.SelectIKE([]wire.Proposal{client.IKE[0].Wire(1, nil)}, ke); err != nil {
				t.Errorf("the policy refuses its own export: %v", err)
			}
			// In IKE_AUTH, and in a CREATE_CHILD_SA rekey with the
			// exported PfsGroup.
			espOffer := []wire.Proposal{client.ESP[0].Wire(1, []byte{1, 2, 3, 4})}
			if _, err := p.SelectESP(espOffer, false, wire.KE_NONE); err != nil {
				t.Errorf("the policy refuses its own ESP export in IKE_AUTH: %v", err)
			}
			pfs := wire.KE_NONE
			if len(client.ESP[0].KE) > 0 {
				pfs = client.ESP[0].KE[0].ID
			}
			c, err := p.SelectESP(espOffer, true, pfs)
			if err != nil || !p.CheckKE(c, pfs) {
				t.Errorf("the policy refuses its own ESP export on rekey: %v", err)
			}
		})
	}
}

func TestExportInexpressible(t *testing.T) {
	tests := []struct {
		name     string
		ike, esp []string
		proto    wire.ProtocolID
		reasons  []string
	}{
		{"ChaCha20, Curve25519 and a PRF unlike the integrity algorithm",
			[]string{"chacha20poly1305-prfsha512-x25519", "aes128-sha256-prfsha384-modp3072"}, []string{"aes128-sha256"},
			wire.ProtoIKE, []string{
				"IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_512/CURVE_25519: no EncryptionMethod for CHACHA20_POLY1305, no IntegrityCheckMethod for PRF_HMAC_SHA2_512, no DHGroup for CURVE_25519",
				"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_384/MODP_3072: no IntegrityCheckMethod for HMAC_SHA2_256_128 with PRF_HMAC_SHA2_384, no DHGroup for MODP_3072",
			}},
		{"SHA-512, AES-CTR, ESN",
			[]string{"aes128-sha256-modp2048"}, []string{"aes128ctr-sha512-curve25519", "aes128-sha256-esn"},
			wire.ProtoESP, []string{
				"ESP:AES_CTR_128/HMAC_SHA2_512_256/CURVE_25519/NO_EXT_SEQ: no CipherTransformConstants for AES_CTR_128, no AuthenticationTransformConstants for HMAC_SHA2_512_256, no PfsGroup for CURVE_25519",
				"ESP:AES_CBC_128/HMAC_SHA2_256_128/EXT_SEQ: Windows does not negotiate extended sequence numbers",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t, tt.ike, tt.esp)
			_, err := p.ExportPowerShell("VPN")
			var ee *ExportError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want an *ExportError", err)
			}
			if ee.Protocol != tt.proto || strings.Join(ee.Reasons, "\n") != strings.Join(tt.reasons, "\n") {
				t.Errorf("%s reasons:\n%s\nwant\n%s", ee.Protocol, strings.Join(ee.Reasons, "\n"), strings.Join(tt.reasons, "\n"))
			}
			if _, err := p.ExportProfileXML(); !errors.As(err, &ee) {
				t.Errorf("ExportProfileXML error %v", err)
			}
		})
	}
	t.Run("the first expressible proposal is exported", func(t *testing.T) {
		p := mustPolicy(t, []string{"chacha20poly1305-prfsha256-x25519", "aes256gcm16-prfsha384-ecp384"}, []string{"aes256gcm16-ecp384"})
		w, err := p.ToWindows()
		if err != nil || w.EncryptionMethod != "GCMAES256" || w.IntegrityCheckMethod != "SHA384" || w.PfsGroup != "ECP384" {
			t.Errorf("ToWindows() = %+v, %v", w, err)
		}
	})
}

func TestExportPowerShellQuotesTheName(t *testing.T) {
	p := mustBuiltin(t, "recommended")
	for name, want := range map[string]string{
		"Contoso":            "'Contoso'",
		"Bob's VPN":          "'Bob''s VPN'",
		"$(Remove-Item x)":   "'$(Remove-Item x)'",
		"it\u2019s":          "'it\u2019\u2019s'",
		"\u2018quoted\u2019": "'\u2018\u2018quoted\u2019\u2019'",
	} {
		ps, err := p.ExportPowerShell(name)
		if err != nil || !strings.Contains(ps, "-ConnectionName "+want+" ") {
			t.Errorf("name %q: %v\n%s", name, err, ps)
		}
	}
	for _, bad := range []string{"", "a\nb", "a\x00"} {
		if _, err := p.ExportPowerShell(bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

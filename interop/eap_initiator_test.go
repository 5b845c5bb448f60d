package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/interop/lab"
)

// buildInitiator compiles cmd/initiator.
func buildInitiator(t *testing.T) string { return buildCommand(t, "initiator") }

type initiatorOutcome struct {
	Established  bool   `json:"established"`
	IKE          string `json:"ike"`
	ESP          string `json:"esp"`
	Notify       string `json:"notify"`
	WindowsError int    `json:"windows_error"`
}

func runInitiator(t *testing.T, ns *lab.Netns, bin string, args ...string) (initiatorOutcome, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, append([]string{bin, "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	var o initiatorOutcome
	require.NoError(t, json.Unmarshal(out, &o), "initiator output %q, stderr:\n%s", out, stderr.String())
	return o, stderr.String()
}

// TestWindows10EAPProfile: ikelab's initiator as a Windows 10 user tunnel
// (default proposals, EAP-MSCHAPv2, its address as IDi) against
// strongSwan's responder and against ikelab's.
func TestWindows10EAPProfile(t *testing.T) {
	const password = "carol-password-123"
	t.Run("against_strongSwan", func(t *testing.T) {
		r := newRig(t, "psk: unused-but-required\n")
		r.responder.Stop() // this test's responder is strongSwan
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := r.server.Run(ctx, "ip", "addr", "add", "10.99.1.1/32", "dev", "lo")
		require.NoError(t, err)
		read := func(p string) []byte {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			return b
		}
		f := r.pki.RSA
		conf := fmt.Sprintf(`connections {
	rw {
		local_addrs = %s
		proposals = 3des-sha1-modp1024,aes128-sha1-modp1024,aes256-sha1-modp1024,aes256-sha256-modp1024
		pools = pool
		local {
			auth = pubkey
			certs = server.pem
		}
		remote {
			auth = eap-mschapv2
			eap_id = %%any
		}
		children {
			net {
				local_ts = %s
				esp_proposals = aes256-sha1,aes128-sha1,3des-sha1
			}
		}
	}
}
pools {
	pool {
		addrs = %s
	}
}
secrets {
	eap-carol {
		id = carol
		secret = %q
	}
}
`, serverAddr, serverNet, vipPool, password)
		c := lab.StartCharon(t, r.server, lab.CharonConfig{Name: "responder", SwanctlConf: conf, Files: map[string][]byte{
			"x509/server.pem": read(f.Server.CertPath), "pkcs8/server.key": read(f.Server.KeyPath), "x509ca/root.pem": read(f.Root.CertPath)}})
		require.NoError(t, c.Load())
		bin := buildInitiator(t)
		o, stderr := runInitiator(t, r.client, bin, "--server", serverAddr, "--profile", "windows10-eap",
			"--eap-user", "carol", "--eap-password", password, "--ca", f.Root.CertPath)
		require.True(t, o.Established, "%+v\n%s\n%s", o, stderr, c.Log())
		assert.Contains(t, o.IKE, "MODP_1024")
		assert.NotEmpty(t, o.ESP)
		assert.Contains(t, c.Log(), "EAP method EAP_MSCHAPV2 succeeded")

		o, _ = runInitiator(t, r.client, bin, "--server", serverAddr, "--profile", "windows10-eap",
			"--eap-user", "carol", "--eap-password", "wrong", "--ca", f.Root.CertPath)
		assert.False(t, o.Established)
		assert.Equal(t, 13801, o.WindowsError)
	})
	t.Run("against_ikelab", func(t *testing.T) {
		yaml := strings.Replace(fmt.Sprintf(trustYAML, "rsa"), "builtin: recommended", "builtin: windows-default", 1) +
			fmt.Sprintf("eap:\n  methods: [mschapv2]\n  users:\n    carol: %x\n", eap.NTHash(password))
		r := newRig(t, yaml)
		bin := buildInitiator(t)
		o, stderr := runInitiator(t, r.client, bin, "--server", serverAddr, "--profile", "windows10-eap",
			"--eap-user", "carol", "--eap-password", password, "--ca", r.pki.RSA.Root.CertPath, "--keys-dir", r.keysDir)
		require.True(t, o.Established, "%+v\n%s", o, stderr)
		a := r.waitAudit("established")
		assert.Equal(t, "EAP-MSCHAPV2", a["auth_method"])
		assert.Equal(t, "Windows", a["client_family"])
		r.checkWire(8)
	})
}

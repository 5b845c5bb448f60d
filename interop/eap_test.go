package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/interop/lab"
)

// eapConn is a strongSwan initiator doing what a Windows user tunnel does:
// no IDi of its own (the address is sent), EAP-MSCHAPv2 with an EAP
// identity, the responder authenticated by its certificate.
func eapConn(user string) string {
	return fmt.Sprintf(`connections {
	home {
		local_addrs = %s
		remote_addrs = %s
		proposals = aes128-sha256-modp2048
		vips = 0.0.0.0
		local {
			auth = eap-mschapv2
			eap_id = %s
		}
		remote {
			auth = pubkey
		}
		children {
			net {
				remote_ts = %s
				esp_proposals = aes128-sha256
			}
		}
	}
}
`, clientAddr, serverAddr, user, serverNet)
}

func eapSecrets(user, password string) string {
	return fmt.Sprintf("secrets {\n\teap-%s {\n\t\tid = %s\n\t\tsecret = %q\n\t}\n}\n", user, user, password)
}

// TestStrongSwanEAPMSCHAPv2: RFC 7296, Section 2.16 against strongSwan.
func TestStrongSwanEAPMSCHAPv2(t *testing.T) {
	hash := eap.NTHash("carol-password-123")
	yaml := fmt.Sprintf(trustYAML, "rsa") + fmt.Sprintf("eap:\n  methods: [mschapv2]\n  users:\n    carol: %x\n", hash)
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"right_password", "carol-password-123", true},
		{"wrong_password_refused", "guess", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, yaml)
			files := certFiles(t, r.pki.RSA, r.pki.RSA.Clients[0])
			delete(files, "x509/client.pem")
			delete(files, "pkcs8/client.key")
			c := r.startCharon(eapConn("carol")+eapSecrets("carol", tc.password), files)
			r.initiate(tc.ok)
			if !tc.ok {
				a := r.waitAudit("refused")
				assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
				assert.Contains(t, fmt.Sprint(a["reason"]), "EAP")
				return
			}
			sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			require.Len(t, sa.Children, 1)
			assert.Equal(t, lab.ChildStateInstalled, sa.Children[0].State)
			a := r.waitAudit("established")
			assert.Equal(t, "EAP-MSCHAPV2", a["auth_method"])
			assert.True(t, strings.Contains(fmt.Sprint(a["peer_id"]), "ID_IPV4_ADDR "+clientAddr), "IDi is the client's address, as Windows sends")
			assert.Contains(t, fmt.Sprint(a["peer_id"]), `"carol"`)
			r.checkWire(8)
		})
	}
}

// TestStrongSwanEAPTLS: EAP-TLS with the client's machine certificate,
// judged by the same trust policy as IKE certificates (CRL included).
func TestStrongSwanEAPTLS(t *testing.T) {
	yaml := fmt.Sprintf(trustYAML, "rsa") + "eap:\n  methods: [tls]\n"
	for _, tc := range []struct {
		name    string
		revoked bool
	}{
		{"valid_certificate", false},
		{"revoked_certificate_refused", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, yaml)
			client := r.pki.RSA.Clients[0]
			if tc.revoked {
				client = r.pki.RSA.Revoked
			}
			conn := strings.Replace(certConn("aes128-sha256-modp2048", "aes128-sha256"), "\t\t\tauth = pubkey\n\t\t\tcerts = client.pem", "\t\t\tauth = eap-tls\n\t\t\tcerts = client.pem", 1)
			require.Contains(t, conn, "eap-tls")
			c := r.startCharon(conn, certFiles(t, r.pki.RSA, client))
			r.initiate(!tc.revoked)
			if tc.revoked {
				a := r.waitAudit("refused")
				assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
				cert, _ := a["certificate"].(map[string]any)
				require.NotNil(t, cert, "the EAP-TLS certificate decision is in the audit")
				assert.Equal(t, "revoked", cert["failure"])
				return
			}
			sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			require.Len(t, sa.Children, 1)
			a := r.waitAudit("established")
			assert.Equal(t, "EAP-TLS", a["auth_method"])
			r.checkWire(8)
		})
	}
}

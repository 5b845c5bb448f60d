package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/internal/labpki"
	"github.com/ikelab/ikelab/interop/lab"
)

const (
	clientAddr = "192.0.2.1"
	serverAddr = "192.0.2.2"
	vipPool    = "10.99.200.0/24"
	serverNet  = "10.99.1.0/24"
	labPSK     = "interop-psk-not-a-secret-0123456789"
)

// buildCommand compiles ./cmd/NAME into the test's temporary directory.
func buildCommand(t *testing.T, name string) string {
	t.Helper()
	root, err := lab.RepoRoot()
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/%s:\n%s", name, out)
	return bin
}

// buildResponder compiles cmd/responder.
func buildResponder(t *testing.T) string { return buildCommand(t, "responder") }

// rig is one client netns with strongSwan and one server netns with the
// ikelab responder, joined by a veth pair.
type rig struct {
	t          *testing.T
	veth       *lab.Veth
	capture    *lab.Capture
	keysDir    string
	pki        *labpki.PKI
	client     *lab.Netns
	server     *lab.Netns
	responder  *lab.Process
	auditPath  string
	charon     *lab.Charon
	dir        string
	configPath string
	control    string
	bin        string
}

func newRig(t *testing.T, responderYAML string) *rig {
	t.Helper()
	lab.RequireRoot(t)
	lab.RequireStrongSwan(t)
	pki, err := labpki.Generate(labpki.Options{Dir: filepath.Join(t.TempDir(), "pki"), ServerIPs: []net.IP{net.ParseIP(serverAddr)}})
	require.NoError(t, err)
	return newRigWithPKI(t, pki, responderYAML, nil)
}

// newRigWithPKI is newRig with a given PKI; extra, if set, adds to the
// server's namespace before the responder starts.
func newRigWithPKI(t *testing.T, pki *labpki.PKI, responderYAML string, extra func(server *lab.Netns)) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), pki: pki}
	r.client = lab.NewNetns(t, "ikc")
	r.server = lab.NewNetns(t, "iks")
	r.veth = lab.Link(t, r.client, r.server, clientAddr+"/24", serverAddr+"/24")
	r.auditPath = filepath.Join(r.dir, "audit.json")
	r.configPath = filepath.Join(r.dir, "responder.yaml")
	// Wireshark key tables, so that tshark can check every SK payload.
	r.keysDir = filepath.Join(r.dir, "keys")
	require.NoError(t, os.MkdirAll(r.keysDir, 0o700))
	cfg := fmt.Sprintf("listen: %s\naudit: %s\npool4: %s\nlocal_ts: [%s]\nkey_export:\n  ikev2_decryption_table: %s\n  esp_sa: %s\n",
		serverAddr, r.auditPath, vipPool, serverNet, filepath.Join(r.keysDir, "ikev2_decryption_table"), filepath.Join(r.keysDir, "esp_sa"))
	if !strings.Contains(responderYAML, "dpd:") {
		cfg += "dpd: 0s\n"
	}
	cfg += responderYAML
	r.capture = lab.StartCapture(t, r.server, r.veth.Iface(r.server), filepath.Join(r.dir, "server.pcapng"))
	cfg = strings.ReplaceAll(cfg, "PKI/", r.pki.Dir+"/")
	require.NoError(t, os.WriteFile(r.configPath, []byte(cfg), 0o600))
	if extra != nil {
		extra(r.server)
	}
	bin := buildResponder(t)
	r.bin = bin
	r.control = filepath.Join(r.dir, "control.sock")
	r.responder = lab.StartProcess(t, r.server, "ikelab-responder", bin, "run", "--config", r.configPath, "--debug", "--control", r.control)
	r.responder.WaitOutput(t, "responder listening", 10*time.Second)
	return r
}

// startCharon starts the strongSwan initiator with a connection "home".
func (r *rig) startCharon(conn string, files map[string][]byte) *lab.Charon {
	r.charon = lab.StartCharon(r.t, r.client, lab.CharonConfig{Name: "initiator", SwanctlConf: conn, Files: files})
	require.NoError(r.t, r.charon.Load())
	return r.charon
}

// certFiles are the swanctl files for a client certificate of a family.
func certFiles(t *testing.T, f *labpki.Family, client *labpki.Issued) map[string][]byte {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}
	return map[string][]byte{
		"x509ca/root.pem":  read(f.Root.CertPath),
		"x509/client.pem":  read(client.CertPath),
		"pkcs8/client.key": read(client.KeyPath),
	}
}

// certConn is a strongSwan initiator with the client certificate.
func certConn(proposals, esp string) string {
	return lab.CertInitiatorConn(clientAddr, serverAddr, proposals, esp, serverNet)
}

// audits reads the responder's JSON audit records.
func (r *rig) audits() []map[string]any {
	f, err := os.Open(r.auditPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// waitAudit waits for a record with the given event.
func (r *rig) waitAudit(event string) map[string]any {
	var found map[string]any
	lab.Eventually(r.t, 15*time.Second, "audit record "+event, func() (bool, error) {
		for _, a := range r.audits() {
			if a["event"] == event {
				found = a
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// checkWire stops the capture and has tshark dissect it with the exported
// keys: every IKEv2 message well-formed, every SK payload decrypted with a
// correct integrity check value.
func (r *rig) checkWire(minMessages int) {
	t := r.t
	require.NoError(t, r.capture.Stop())
	rep, err := lab.Dissect(t, r.capture.Path, r.keysDir)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rep.IKEv2Messages, minMessages, "IKEv2 messages on the wire")
	assert.Zero(t, rep.Malformed, "malformed packets")
	assert.Empty(t, rep.ExpertErrors, "error-level expert infos")
	assert.Equal(t, rep.SKPayloads, rep.DecryptedValid, "SK payloads decrypted with a correct ICV (%d decrypted, %d bad)", rep.Decrypted, rep.ChecksumIncorrect)
	assert.Zero(t, rep.ChecksumIncorrect)
}

func (r *rig) initiate(wantOK bool) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := r.charon.Initiate(ctx, "net", "home")
	if wantOK {
		require.NoError(r.t, err, "initiate:\n%s\nresponder:\n%s", out, r.responder.Output())
	} else {
		require.Error(r.t, err, "initiate should fail:\n%s", out)
	}
	return out
}

const trustYAML = `policy:
  builtin: recommended
identity:
  certificate: PKI/%[1]s/server.pem
  key: PKI/%[1]s/server.key
trust:
  root_ca_files: [PKI/rsa/root.pem, PKI/ecdsa/root.pem]
  crl:
    mode: require
    files: [PKI/rsa/root.crl, PKI/ecdsa/root.crl]
`

// TestStrongSwanCertificates brings up IKE and CHILD SAs from a strongSwan
// initiator with machine certificates, for the suites the mission names.
func TestStrongSwanCertificates(t *testing.T) {
	cases := []struct {
		name, family, proposals, esp string
		encr                         string
		keySize                      int
		integ, prf, group            string
		espEncr, espInteg            string
		espKeySize                   int
	}{
		{"AES128-SHA256-MODP2048-RSA", "rsa", "aes128-sha256-modp2048", "aes128-sha256", "AES_CBC", 128, "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "MODP_2048", "AES_CBC", "HMAC_SHA2_256_128", 128},
		{"AESGCM16-ECP256-ECDSA", "ecdsa", "aes128gcm16-prfsha256-ecp256", "aes128gcm16", "AES_GCM_16", 128, "", "PRF_HMAC_SHA2_256", "ECP_256", "AES_GCM_16", "", 128},
		{"AES256GCM16-ECP384-ECDSA", "ecdsa", "aes256gcm16-prfsha384-ecp384", "aes256gcm16", "AES_GCM_16", 256, "", "PRF_HMAC_SHA2_384", "ECP_384", "AES_GCM_16", "", 256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fmt.Sprintf(trustYAML, tc.family))
			f := r.pki.RSA
			if tc.family == "ecdsa" {
				f = r.pki.ECDSA
			}
			c := r.startCharon(certConn(tc.proposals, tc.esp), certFiles(t, f, f.Clients[0]))
			r.initiate(true)
			sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			assert.Equal(t, tc.encr, sa.EncrAlg)
			assert.Equal(t, tc.keySize, sa.EncrKeySize)
			assert.Equal(t, tc.integ, sa.IntegAlg)
			assert.Equal(t, tc.prf, sa.PRFAlg)
			assert.Equal(t, tc.group, sa.DHGroup)
			require.Len(t, sa.Children, 1)
			require.Len(t, sa.LocalVIPs, 1, "virtual IP from the pool")
			child := sa.Children[0]
			assert.Equal(t, lab.ChildStateInstalled, child.State)
			assert.Equal(t, tc.espEncr, child.EncrAlg, "ESP as configured")
			assert.Equal(t, tc.espKeySize, child.EncrKeySize)
			assert.Equal(t, tc.espInteg, child.IntegAlg)
			assert.Equal(t, "TUNNEL", child.Mode)
			assert.Equal(t, []string{serverNet}, child.RemoteTS, "TSr narrowed to local_ts")
			assert.Equal(t, []string{sa.LocalVIPs[0].String() + "/32"}, child.LocalTS, "TSi narrowed to the virtual IP")

			// The responder's own view (responder sas) matches strongSwan's.
			out, err := exec.Command(r.bin, "sas", "--control", r.control, "--json").Output()
			require.NoError(t, err)
			var view []map[string]any
			require.NoError(t, json.Unmarshal(out, &view))
			require.Len(t, view, 1)
			assert.Equal(t, fmt.Sprintf("%016x", sa.ResponderSPI), view[0]["spi_r"])
			kids, _ := view[0]["children"].([]any)
			require.Len(t, kids, 1)
			kid, _ := kids[0].(map[string]any)
			assert.Equal(t, fmt.Sprintf("%08x", child.SPIOut), kid["spi_in"], "our inbound SPI is strongSwan's outbound")
			assert.Equal(t, fmt.Sprintf("%08x", child.SPIIn), kid["spi_out"])

			a := r.waitAudit("established")
			assert.Equal(t, "ok", a["result"])
			assert.Contains(t, a["ike_chosen"], tc.group)
			assert.Equal(t, []any{sa.LocalVIPs[0].String()}, a["assigned_ip"])
			cert, _ := a["certificate"].(map[string]any)
			require.NotNil(t, cert, "audit carries the certificate decision")
			assert.Equal(t, true, cert["accepted"])

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, c.Terminate(ctx, "home"))
			c.WaitNoIKESA(t, "", 10*time.Second)
			r.waitAudit("deleted")
			// IKE_SA_INIT, IKE_AUTH and the delete, both ways.
			r.checkWire(6)
		})
	}
}

// TestStrongSwanWindowsDefault: Windows 10's default proposals connect
// under the windows-default policy, with 3DES/SHA-1/MODP-1024 shown as
// insecure in the audit record.
func TestStrongSwanWindowsDefault(t *testing.T) {
	r := newRig(t, strings.Replace(fmt.Sprintf(trustYAML, "rsa"), "builtin: recommended", "builtin: windows-default", 1))
	c := r.startCharon(certConn("3des-sha1-modp1024,aes128-sha1-modp1024,aes256-sha1-modp1024", "aes256-sha1,aes128-sha1,3des-sha1"),
		certFiles(t, r.pki.RSA, r.pki.RSA.Clients[0]))
	r.initiate(true)
	sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	assert.Equal(t, "MODP_1024", sa.DHGroup)
	a := r.waitAudit("established")
	assert.NotEmpty(t, a["insecure"], "weak algorithms named in the audit")
	r.checkWire(4)
}

// TestStrongSwanDeadPeer: the responder's DPD reaps a peer that went away.
func TestStrongSwanDeadPeer(t *testing.T) {
	r := newRig(t, fmt.Sprintf(trustYAML, "ecdsa")+"dpd: 1s\nretransmit_timeout: 200ms\nretransmit_tries: 2\n")
	c := r.startCharon(certConn("aes128gcm16-prfsha256-ecp256", "aes128gcm16"), certFiles(t, r.pki.ECDSA, r.pki.ECDSA.Clients[0]))
	r.initiate(true)
	c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	r.waitAudit("established")
	// The peer falls silent: its namespace drops everything that comes in,
	// so neither a delete nor an answer to the liveness checks goes out.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.client.Run(ctx, "nft", "add table inet silent; add chain inet silent in { type filter hook input priority 0; policy drop; }")
	require.NoError(t, err, "nft: %s", out)
	a := r.waitAudit("dead_peer")
	assert.Equal(t, "failed", a["result"])
}

// TestStrongSwanRefusals covers what the responder must refuse, each with
// the notification a Windows client would turn into its error code.
func TestStrongSwanRefusals(t *testing.T) {
	t.Run("Windows10DefaultProposalsUnderRecommended", func(t *testing.T) {
		r := newRig(t, fmt.Sprintf(trustYAML, "rsa"))
		r.startCharon(certConn("3des-sha1-modp1024,aes128-sha1-modp1024,aes256-sha1-modp1024,aes128-sha256-modp1024,aes256-sha384-modp1024", "aes256-sha1,aes128-sha1,3des-sha1"),
			certFiles(t, r.pki.RSA, r.pki.RSA.Clients[0]))
		r.initiate(false)
		a := r.waitAudit("ike_sa_init")
		assert.Equal(t, "NO_PROPOSAL_CHOSEN", a["notify"])
		assert.Contains(t, a["reason"], "MODP_1024")
	})
	t.Run("OtherRootRefused", func(t *testing.T) {
		r := newRig(t, fmt.Sprintf(trustYAML, "rsa"))
		files := certFiles(t, r.pki.RSA, r.pki.Other.Clients[0])
		r.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), files)
		r.initiate(false)
		a := r.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
	})
	t.Run("RevokedRefused", func(t *testing.T) {
		r := newRig(t, fmt.Sprintf(trustYAML, "rsa"))
		r.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), certFiles(t, r.pki.RSA, r.pki.RSA.Revoked))
		r.initiate(false)
		a := r.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		assert.Contains(t, strings.ToLower(fmt.Sprint(a["reason"])), "revoked")
	})
}

// TestStrongSwanInvalidKE: the initiator guesses a group the policy does
// not take first; INVALID_KE_PAYLOAD names MODP_2048 and the retry works.
func TestStrongSwanInvalidKE(t *testing.T) {
	r := newRig(t, fmt.Sprintf(trustYAML, "rsa"))
	c := r.startCharon(certConn("aes128-sha256-curve25519-modp2048", "aes128-sha256"), certFiles(t, r.pki.RSA, r.pki.RSA.Clients[0]))
	r.initiate(true)
	sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	assert.Equal(t, "MODP_2048", sa.DHGroup)
	var sawInvalidKE bool
	for _, a := range r.audits() {
		if a["notify"] == "INVALID_KE_PAYLOAD" {
			sawInvalidKE = true
		}
	}
	assert.True(t, sawInvalidKE, "audit records the INVALID_KE_PAYLOAD round")
}

// TestStrongSwanPSK authenticates both sides with a pre-shared key.
func TestStrongSwanPSK(t *testing.T) {
	r := newRig(t, "policy:\n  builtin: recommended\npsk: "+labPSK+"\n")
	conn := pskConn(clientAddr, serverAddr, "aes128-sha256-modp2048")
	c := r.startCharon(conn, nil)
	r.initiate(true)
	sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	assert.Equal(t, "AES_CBC", sa.EncrAlg)
	a := r.waitAudit("established")
	assert.Equal(t, "SHARED_KEY_MIC", a["auth_method"])
}

package interop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/internal/labpki"
	"github.com/ikelab/ikelab/interop/lab"
)

const (
	crlServerAddr = "198.51.100.2"
	crlGatewayNet = "198.51.100.1/24"
)

// crlRig is a rig whose responder fetches CRLs over HTTP from a server in
// a third namespace, reachable only from the responder's namespace.
type crlRig struct {
	*rig
	crlNS    *lab.Netns
	requests atomic.Int64
	down     atomic.Bool
}

// newCRLRig builds the PKI with HTTP CRL distribution points, serves the
// PKI directory with net/http inside the CRL namespace, and starts the
// responder with CRL checking in the given mode.
func newCRLRig(t *testing.T, family, mode string) *crlRig {
	t.Helper()
	lab.RequireRoot(t)
	lab.RequireStrongSwan(t)
	dir := t.TempDir()
	pki, err := labpki.Generate(labpki.Options{Dir: filepath.Join(dir, "pki"), ServerIPs: []net.IP{net.ParseIP(serverAddr)},
		CRLBaseURL: "http://" + crlServerAddr + ":8080"})
	require.NoError(t, err)
	c := &crlRig{}
	yaml := fmt.Sprintf(`policy:
  builtin: recommended
identity:
  certificate: PKI/%[1]s/server.pem
  key: PKI/%[1]s/server.key
trust:
  root_ca_files: [PKI/%[1]s/root.pem]
  crl:
    mode: %[2]s
    budget: 2s
    fetch_timeout: 2s
`, family, mode)
	c.rig = newRigWithPKI(t, pki, yaml, func(server *lab.Netns) {
		c.crlNS = lab.NewNetns(t, "ikcrl")
		lab.Link(t, server, c.crlNS, crlGatewayNet, crlServerAddr+"/24")
		var ln net.Listener
		require.NoError(t, c.crlNS.Do(func() (err error) {
			ln, err = net.Listen("tcp", crlServerAddr+":8080")
			return err
		}))
		files := http.FileServer(http.Dir(pki.Dir))
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.requests.Add(1)
			if c.down.Load() {
				// A dead distribution point: accept, then never answer.
				<-r.Context().Done()
				return
			}
			files.ServeHTTP(w, r)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	})
	return c
}

func (c *crlRig) certificate() map[string]any {
	a := c.waitAnyAudit("established", "refused")
	cert, _ := a["certificate"].(map[string]any)
	require.NotNil(c.t, cert, "audit record carries the certificate decision: %v", a)
	return cert
}

// waitAnyAudit waits for the first record with one of the events.
func (r *rig) waitAnyAudit(events ...string) map[string]any {
	var found map[string]any
	lab.Eventually(r.t, 15*time.Second, "audit record "+strings.Join(events, " or "), func() (bool, error) {
		for _, a := range r.audits() {
			for _, e := range events {
				if a["event"] == e {
					found = a
					return true, nil
				}
			}
		}
		return false, nil
	})
	return found
}

// revocationText gathers what the decision says about revocation.
func revocationText(cert map[string]any) string {
	var b strings.Builder
	fmt.Fprint(&b, cert["reason"])
	checks, _ := cert["checks"].([]any)
	for _, ch := range checks {
		m, _ := ch.(map[string]any)
		if m["name"] == "revocation" {
			fmt.Fprintf(&b, " | %v %v", m["status"], m["detail"])
			if rv, ok := m["revocation"].(map[string]any); ok {
				fmt.Fprintf(&b, " %v %v", rv["method"], rv["source"])
			}
		}
	}
	return b.String()
}

// TestStrongSwanCRLOverHTTP: the responder checks every peer certificate
// against the CRL at its HTTP distribution point, and fails closed.
func TestStrongSwanCRLOverHTTP(t *testing.T) {
	t.Run("valid_certificate_CRL_consulted", func(t *testing.T) {
		c := newCRLRig(t, "rsa", "require")
		f := c.pki.RSA
		c.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), certFiles(t, f, f.Clients[0]))
		c.initiate(true)
		cert := c.certificate()
		assert.Equal(t, true, cert["accepted"])
		text := revocationText(cert)
		assert.Contains(t, text, "http://"+crlServerAddr+":8080/rsa/root.crl")
		assert.Contains(t, text, "not revoked according to CRL from http://")
		assert.Positive(t, c.requests.Load(), "the CRL server was asked")
	})
	t.Run("revoked_certificate_AUTHENTICATION_FAILED", func(t *testing.T) {
		c := newCRLRig(t, "rsa", "require")
		f := c.pki.RSA
		c.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), certFiles(t, f, f.Revoked))
		c.initiate(false)
		a := c.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		cert := c.certificate()
		assert.Equal(t, false, cert["accepted"])
		assert.Equal(t, "revoked", cert["failure"])
		text := revocationText(cert)
		assert.Contains(t, text, "keyCompromise")
		assert.Contains(t, text, "http://"+crlServerAddr+":8080/rsa/root.crl")
	})
	t.Run("CRL_server_down_fails_closed", func(t *testing.T) {
		c := newCRLRig(t, "ecdsa", "require")
		c.down.Store(true)
		f := c.pki.ECDSA
		c.startCharon(certConn("aes128gcm16-prfsha256-ecp256", "aes128gcm16"), certFiles(t, f, f.Clients[0]))
		c.initiate(false)
		a := c.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		assert.Equal(t, "crl-unavailable", c.certificate()["failure"])
	})
	t.Run("CRL_server_down_soft_fail_accepts", func(t *testing.T) {
		c := newCRLRig(t, "ecdsa", "soft-fail")
		c.down.Store(true)
		f := c.pki.ECDSA
		c.startCharon(certConn("aes128gcm16-prfsha256-ecp256", "aes128gcm16"), certFiles(t, f, f.Clients[0]))
		c.initiate(true)
		cert := c.certificate()
		assert.Equal(t, true, cert["accepted"])
	})
	t.Run("other_root_refused_though_its_chain_is_valid", func(t *testing.T) {
		c := newCRLRig(t, "rsa", "require")
		files := certFiles(t, c.pki.RSA, c.pki.Other.Clients[0])
		other, err := os.ReadFile(c.pki.Other.Root.CertPath)
		require.NoError(t, err)
		files["x509ca/other-root.pem"] = other
		c.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), files)
		c.initiate(false)
		assert.Equal(t, "untrusted-root", c.certificate()["failure"])
	})
	t.Run("intermediate_sent_by_client_accepted", func(t *testing.T) {
		c := newCRLRig(t, "rsa", "require")
		f := c.pki.RSA
		files := certFiles(t, f, f.IntermediateClient)
		inter, err := os.ReadFile(f.Intermediate.CertPath)
		require.NoError(t, err)
		// strongSwan sends the intermediate CA certificates it holds.
		files["x509ca/intermediate.pem"] = inter
		c.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), files)
		c.initiate(true)
		cert := c.certificate()
		assert.Equal(t, true, cert["accepted"])
		chain, _ := cert["chain"].([]any)
		assert.Len(t, chain, 3, "root -> intermediate -> client")
		assert.Contains(t, revocationText(cert), "intermediate.crl")
	})
}

// TestCRLReloadOnSIGHUP: a CRL replaced on disk takes effect after SIGHUP,
// without a restart: a certificate accepted before is refused after its
// revocation is published.
func TestCRLReloadOnSIGHUP(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireStrongSwan(t)
	dir := t.TempDir()
	pki, err := labpki.Generate(labpki.Options{Dir: filepath.Join(dir, "pki"), ServerIPs: []net.IP{net.ParseIP(serverAddr)}})
	require.NoError(t, err)
	crlDir := filepath.Join(dir, "crls")
	require.NoError(t, os.MkdirAll(crlDir, 0o755))
	// Start with no CRL at all, in soft-fail, so the client is accepted.
	r := newRigWithPKI(t, pki, fmt.Sprintf(`policy:
  builtin: recommended
identity:
  certificate: PKI/rsa/server.pem
  key: PKI/rsa/server.key
trust:
  root_ca_files: [PKI/rsa/root.pem]
  crl:
    mode: soft-fail
    dir: %s
`, crlDir), nil)
	f := pki.RSA
	c := r.startCharon(certConn("aes128-sha256-modp2048", "aes128-sha256"), certFiles(t, f, f.Revoked))
	r.initiate(true) // no CRL yet: soft-fail accepts the (secretly revoked) certificate
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Terminate(ctx, "home"))
	c.WaitNoIKESA(t, "", 10*time.Second)

	// Publish the root's CRL, which lists it, and tell the responder.
	crl, err := os.ReadFile(f.RootCRL.Path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(crlDir, "root.crl"), crl, 0o644))
	require.NoError(t, r.responder.Signal(syscall.SIGHUP))
	r.responder.WaitOutput(t, "CRLs reloaded", 10*time.Second)
	r.initiate(false)
	a := r.waitAudit("refused")
	assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
	cert, _ := a["certificate"].(map[string]any)
	require.NotNil(t, cert)
	assert.Equal(t, "revoked", cert["failure"])
}

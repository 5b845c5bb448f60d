package interop

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/internal/labpki"
	"github.com/ikelab/ikelab/interop/lab"
	"github.com/ikelab/ikelab/interop/radius"
)

// The RADIUS link: the responder's second interface and FreeRADIUS, in a
// namespace of its own that only the responder's namespace reaches.
const (
	radiusNASAddr    = "203.0.113.1"
	radiusServerAddr = "203.0.113.2"
	radiusSecret     = "interop-radius-secret-0123456789"
	radiusPassword   = "carol-password-123"
)

// radiusSetup is what a case changes in newRADIUSRig; the zero value is
// the working setup.
type radiusSetup struct {
	// nasSecret is the responder's shared secret (default radiusSecret,
	// which FreeRADIUS always has).
	nasSecret string
	// mschapv2SendError: see radius.Config.MSCHAPv2SendError.
	mschapv2SendError bool
}

// radiusRig is a rig whose responder relays EAP (RFC 3579) to FreeRADIUS.
type radiusRig struct {
	*rig
	radius *radius.Server
}

// newRADIUSRig starts FreeRADIUS in a third namespace with carol in its
// users file (as an NT hash) and EAP-TLS with the RSA family's server
// certificate, root and CRL, then the responder with no users and no trust
// roots of its own: every EAP decision is FreeRADIUS's. FreeRADIUS proposes
// EAP-TLS first, so an EAP-MSCHAPv2 client has to Nak it, as Windows does.
// setup changes the defaults.
func newRADIUSRig(t *testing.T, setup radiusSetup) *radiusRig {
	t.Helper()
	lab.RequireRoot(t)
	lab.RequireStrongSwan(t)
	radius.Require(t)
	pki, err := labpki.Generate(labpki.Options{Dir: filepath.Join(t.TempDir(), "pki"), ServerIPs: []net.IP{net.ParseIP(serverAddr)}})
	require.NoError(t, err)
	yaml := fmt.Sprintf(`policy:
  builtin: recommended
identity:
  certificate: PKI/rsa/server.pem
  key: PKI/rsa/server.key
eap:
  radius:
    server: %s:1812
    secret: %s
    timeout: 2s
    retries: 1
`, radiusServerAddr, cmp.Or(setup.nasSecret, radiusSecret))
	c := &radiusRig{}
	c.rig = newRigWithPKI(t, pki, yaml, func(server *lab.Netns) {
		ns := lab.NewNetns(t, "ikrad")
		lab.Link(t, server, ns, radiusNASAddr+"/24", radiusServerAddr+"/24")
		hash := eap.NTHash(radiusPassword)
		began := time.Now()
		c.radius = radius.Start(t, ns, radius.Config{
			Listen: netip.AddrPortFrom(netip.MustParseAddr(radiusServerAddr), radius.DefaultPort),
			// Only the responder's address may ask.
			Clients:           []radius.Client{{Name: "ikelab-responder", Addr: netip.MustParsePrefix(radiusNASAddr + "/32"), Secret: radiusSecret}},
			Users:             []radius.User{{Name: "carol", NTHash: &hash}},
			DefaultEAPType:    "tls",
			MSCHAPv2SendError: setup.mschapv2SendError,
			TLS:               radius.TLSFromFamily(pki.RSA),
		})
		t.Logf("FreeRADIUS ready in %v", time.Since(began).Round(time.Millisecond))
	})
	return c
}

// checkRelayed checks what the relay told FreeRADIUS in the request that
// was answered with ex: the EAP identity as User-Name, the peer's address
// as Calling-Station-Id (RFC 3580, Section 3.20), the NAS's name, and the
// responder's address as the source clients.conf allowed. It returns the
// User-Name.
func checkRelayed(t *testing.T, ex radius.Exchange) string {
	t.Helper()
	user, ok := ex.Request.Get("User-Name")
	assert.True(t, ok, "User-Name in the Access-Request")
	calling, _ := ex.Request.Get("Calling-Station-Id")
	assert.Equal(t, clientAddr, calling, "Calling-Station-Id is the IKE peer's address")
	nas, _ := ex.Request.Get("NAS-Identifier")
	assert.Equal(t, "ikelab", nas)
	_, ok = ex.Request.Get("EAP-Message")
	assert.True(t, ok, "the request carries the EAP response")
	_, ok = ex.Request.Get("Message-Authenticator")
	assert.True(t, ok, "Message-Authenticator, as RFC 3579, Section 3.2 requires with EAP-Message")
	host, _, err := net.SplitHostPort(ex.Request.From)
	assert.NoError(t, err)
	assert.Equal(t, radiusNASAddr, host, "the request came from the responder's RADIUS address")
	return user
}

// checkNoSecretsLogged: the MS-MPPE keys (the MSK halves) of an
// Access-Accept stay out of the debug log that a failed test prints.
func checkNoSecretsLogged(t *testing.T, ex radius.Exchange) {
	t.Helper()
	require.NotNil(t, ex.Reply)
	for _, name := range []string{"MS-MPPE-Recv-Key", "MS-MPPE-Send-Key"} {
		v, ok := ex.Reply.Get(name)
		assert.True(t, ok, "%s in the Access-Accept", name)
		assert.Equal(t, "<<< secret >>>", v, "%s is not printed", name)
	}
}

// TestStrongSwanEAPRADIUS: the cases of TestStrongSwanEAPMSCHAPv2 and
// TestStrongSwanEAPTLS with the responder relaying EAP to FreeRADIUS (RFC
// 3579) instead of deciding itself.
func TestStrongSwanEAPRADIUS(t *testing.T) {
	t.Run("MSCHAPv2_right_password", func(t *testing.T) {
		r := newRADIUSRig(t, radiusSetup{})
		c := r.startCharon(eapConn("carol")+eapSecrets("carol", radiusPassword), rootOnly(t, r.pki.RSA))
		began := time.Now()
		r.initiate(true)
		t.Logf("IKE_SA_INIT to established through FreeRADIUS: %v", time.Since(began).Round(time.Millisecond))
		sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
		require.Len(t, sa.Children, 1)
		assert.Equal(t, lab.ChildStateInstalled, sa.Children[0].State)

		ex := r.radius.WaitReply(t, radius.AccessAccept, 10*time.Second)
		assert.Equal(t, "carol", checkRelayed(t, ex))
		assert.Contains(t, ex.Login, "Login OK")
		checkNoSecretsLogged(t, ex)
		out := r.radius.Output()
		assert.Contains(t, out, "Peer sent packet with method EAP NAK", "the client refused FreeRADIUS's EAP-TLS with a Nak, as Windows does")
		assert.Contains(t, out, "eap_mschapv2", "FreeRADIUS ran EAP-MSCHAPv2")

		a := r.waitAudit("established")
		assert.Equal(t, "EAP-MSCHAPV2", a["auth_method"], "the method FreeRADIUS ran after the Nak")
		assert.Contains(t, fmt.Sprint(a["peer_id"]), "ID_IPV4_ADDR "+clientAddr, "IDi is the client's address, as Windows sends")
		assert.Contains(t, fmt.Sprint(a["peer_id"]), `(EAP identity "carol")`)
		r.checkWire(14)
	})
	t.Run("MSCHAPv2_wrong_password_refused", func(t *testing.T) {
		r := newRADIUSRig(t, radiusSetup{})
		r.startCharon(eapConn("carol")+eapSecrets("carol", "guess"), rootOnly(t, r.pki.RSA))
		began := time.Now()
		r.initiate(false)
		t.Logf("IKE_SA_INIT to refusal through FreeRADIUS: %v", time.Since(began).Round(time.Millisecond))
		r.charon.WaitLog(t, "received EAP_FAILURE, EAP authentication failed", 10*time.Second)

		ex := r.radius.WaitReply(t, radius.AccessReject, 10*time.Second)
		assert.Equal(t, "carol", checkRelayed(t, ex))
		assert.Contains(t, ex.Login, "Login incorrect")
		assertNoAccept(t, r.radius)

		a := r.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		assert.Contains(t, fmt.Sprint(a["reason"]), "Access-Reject")
		assert.Contains(t, fmt.Sprint(a["peer_id"]), `(EAP identity "carol")`)
		assertNoEstablished(t, r.rig)
		r.checkWire(12)
	})
	t.Run("MSCHAPv2_wrong_password_with_error_691_refused", func(t *testing.T) {
		// FreeRADIUS sends the MS-CHAPv2 Failure Request (E=691) that
		// Windows shows as error 691, and waits for its acknowledgement
		// before EAP-Failure.
		r := newRADIUSRig(t, radiusSetup{mschapv2SendError: true})
		r.startCharon(eapConn("carol")+eapSecrets("carol", "guess"), rootOnly(t, r.pki.RSA))
		began := time.Now()
		r.initiate(false)
		t.Logf("IKE_SA_INIT to refusal through FreeRADIUS: %v", time.Since(began).Round(time.Millisecond))

		// strongSwan does not acknowledge the Failure Request (nor does
		// Windows): it gives up and reports AUTHENTICATION_FAILED in an
		// INFORMATIONAL (RFC 7296, Section 2.21.2). The relay must have
		// reported the verdict when it passed the request on.
		r.charon.WaitLog(t, "EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE", 10*time.Second)
		r.radius.WaitOutput(t, "MSCHAP-Error", 5*time.Second)
		assertNoAccept(t, r.radius)

		a := r.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		assert.Equal(t, "EAP-MSCHAPV2", a["auth_method"])
		assert.Contains(t, fmt.Sprint(a["reason"]), "MS-CHAPv2 Failure Request: error 691")
		assert.Contains(t, fmt.Sprint(a["peer_id"]), `(EAP identity "carol")`)
		assertNoEstablished(t, r.rig)
		r.checkWire(10)
	})
	t.Run("TLS_valid_certificate", func(t *testing.T) {
		r := newRADIUSRig(t, radiusSetup{})
		c := r.startCharon(eapTLSConn(t, labpki.DefaultClientName), certFiles(t, r.pki.RSA, r.pki.RSA.Clients[0]))
		began := time.Now()
		r.initiate(true)
		t.Logf("IKE_SA_INIT to established through FreeRADIUS: %v", time.Since(began).Round(time.Millisecond))
		sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
		require.Len(t, sa.Children, 1)
		assert.Equal(t, lab.ChildStateInstalled, sa.Children[0].State)

		ex := r.radius.WaitReply(t, radius.AccessAccept, 10*time.Second)
		user := checkRelayed(t, ex)
		assert.Equal(t, labpki.DefaultClientName, user)
		assert.Contains(t, ex.Login, "Login OK")
		checkNoSecretsLogged(t, ex)
		assert.Contains(t, r.radius.Output(), "eap_tls", "FreeRADIUS ran EAP-TLS")

		a := r.waitAudit("established")
		assert.Equal(t, "EAP-TLS", a["auth_method"])
		assert.Contains(t, fmt.Sprint(a["peer_id"]), fmt.Sprintf("(EAP identity %q)", user), "the audit names the identity FreeRADIUS accepted")
		r.checkWire(20)
	})
	t.Run("TLS_revoked_certificate_refused", func(t *testing.T) {
		r := newRADIUSRig(t, radiusSetup{})
		r.startCharon(eapTLSConn(t, labpki.DefaultRevokedName), certFiles(t, r.pki.RSA, r.pki.RSA.Revoked))
		began := time.Now()
		r.initiate(false)
		t.Logf("IKE_SA_INIT to refusal through FreeRADIUS: %v", time.Since(began).Round(time.Millisecond))
		r.charon.WaitLog(t, "received EAP_FAILURE, EAP authentication failed", 10*time.Second)

		ex := r.radius.WaitReply(t, radius.AccessReject, 10*time.Second)
		user := checkRelayed(t, ex)
		assert.Equal(t, labpki.DefaultRevokedName, user)
		assert.Contains(t, ex.Login, "Login incorrect")
		assertNoAccept(t, r.radius)
		// OpenSSL's verdict, X509_V_ERR_CERT_REVOKED, from the CRL in the
		// CA file (check_crl).
		assert.Contains(t, r.radius.Output(), "certificate revoked")

		a := r.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		assert.Contains(t, fmt.Sprint(a["reason"]), "Access-Reject")
		assert.Contains(t, fmt.Sprint(a["peer_id"]), fmt.Sprintf("(EAP identity %q)", user))
		assertNoEstablished(t, r.rig)
		r.checkWire(17)
	})
	t.Run("wrong_shared_secret_refused", func(t *testing.T) {
		// FreeRADIUS checks the Message-Authenticator (RFC 3579, Section
		// 3.2) and drops what does not verify, without an answer; the
		// relay gives up after Timeout x (Retries + 1) and the peer is
		// refused rather than left waiting.
		r := newRADIUSRig(t, radiusSetup{nasSecret: "not-the-" + radiusSecret})
		r.startCharon(eapConn("carol")+eapSecrets("carol", radiusPassword), rootOnly(t, r.pki.RSA))
		began := time.Now()
		r.initiate(false)
		took := time.Since(began)
		t.Logf("IKE_SA_INIT to refusal with no valid RADIUS answer: %v", took.Round(time.Millisecond))
		// timeout 2s, retries 1: two attempts of 2 s each.
		assert.GreaterOrEqual(t, took, 4*time.Second, "refused before the relay's retransmission was due")
		r.charon.WaitLog(t, "received EAP_FAILURE, EAP authentication failed", 10*time.Second)
		r.radius.WaitOutput(t, "Shared secret is incorrect", 5*time.Second)
		for _, e := range r.radius.Exchanges() {
			assert.Nil(t, e.Reply, "FreeRADIUS answered request (%d) signed with the wrong secret", e.Number)
		}

		a := r.waitAudit("refused")
		assert.Equal(t, "AUTHENTICATION_FAILED", a["notify"])
		assert.Contains(t, fmt.Sprint(a["reason"]), "no valid answer from radius server "+radiusServerAddr+":1812 after 2 attempts")
		assertNoEstablished(t, r.rig)
		r.checkWire(8)
	})
}

// eapTLSConn is certConn with the client authenticating by EAP-TLS under
// the EAP identity name, its certificate's DNS name, as a Windows machine
// sends its name rather than strongSwan's default, the DER of the subject.
func eapTLSConn(t *testing.T, name string) string {
	conn := strings.Replace(certConn("aes128-sha256-modp2048", "aes128-sha256"), "\t\t\tauth = pubkey\n\t\t\tcerts = client.pem",
		"\t\t\tauth = eap-tls\n\t\t\teap_id = "+name+"\n\t\t\tcerts = client.pem", 1)
	require.Contains(t, conn, "eap-tls")
	return conn
}

// rootOnly is the swanctl files of a password client: the root that
// signed the responder's certificate, nothing of its own.
func rootOnly(t *testing.T, f *labpki.Family) map[string][]byte {
	files := certFiles(t, f, f.Clients[0])
	delete(files, "x509/client.pem")
	delete(files, "pkcs8/client.key")
	return files
}

func assertNoAccept(t *testing.T, s *radius.Server) {
	t.Helper()
	for _, e := range s.Exchanges() {
		if e.Reply != nil {
			assert.NotEqual(t, radius.AccessAccept, e.Reply.Code, "request (%d) accepted", e.Number)
		}
	}
}

func assertNoEstablished(t *testing.T, r *rig) {
	t.Helper()
	for _, a := range r.audits() {
		assert.NotEqual(t, "established", a["event"], "an IKE SA was established: %v", a)
	}
}

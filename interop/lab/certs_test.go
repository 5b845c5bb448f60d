package lab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPKI is a throw-away ECDSA P-256 CA with end-entity certificates,
// made fresh per test (nothing secret is ever written to testdata).
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	caPEM []byte
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"ikelab"}, CommonName: "ikelab lab CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testPKI{ca: ca, caKey: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate for dnsName (as SAN and CN) and its PKCS#8
// private key, both PEM.
func (p *testPKI) issue(t *testing.T, serial int64, dnsName string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Organization: []string{"ikelab"}, CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	require.NoError(t, err)
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func certConf(name, localAddrs, remoteAddrs, localID, remoteID, extra, child string) string {
	return fmt.Sprintf(`connections {
	%s {
		local_addrs = %s
		remote_addrs = %s
		proposals = aes256gcm16-prfsha256-ecp256
		%s
		local {
			auth = pubkey
			certs = own.pem
			id = %s
		}
		remote {
			auth = pubkey
			id = %s
		}
		children {
			net {
				%s
				esp_proposals = aes256gcm16
			}
		}
	}
}
`, name, localAddrs, remoteAddrs, extra, localID, remoteID, child)
}

// CharonConfig.Files: certificates and keys placed in x509, x509ca and
// private are loaded by swanctl and used for ECDSA authentication (RFC 7296,
// Section 2.15) with AES-GCM for IKE and ESP over IPv6.
func TestStrongSwanCertificatesIPv6(t *testing.T) {
	RequireStrongSwan(t)
	RequireBinaries(t, "ping")
	pki := newTestPKI(t)
	gwCert, gwKey := pki.issue(t, 2, "gw.lab.example")
	cliCert, cliKey := pki.issue(t, 3, "alice.lab.example")

	a, b := NewNetns(t, "sci"), NewNetns(t, "scr")
	Link(t, a, b, "2001:db8:5::1/64", "2001:db8:5::2/64")
	b.IP(t, "-6", "addr", "add", "2001:db8:99:1::1/128", "dev", "lo")

	rsp := StartCharon(t, b, CharonConfig{
		Name: "responder",
		SwanctlConf: certConf("rw", "2001:db8:5::2", "%any", "gw.lab.example", "alice.lab.example",
			"pools = pool6", "local_ts = 2001:db8:99:1::/64") +
			"pools {\n\tpool6 {\n\t\taddrs = 2001:db8:99:200::/120\n\t}\n}\n",
		Files: map[string][]byte{"x509ca/ca.pem": pki.caPEM, "x509/own.pem": gwCert, "private/own.pem": gwKey},
	})
	ini := StartCharon(t, a, CharonConfig{
		Name: "initiator",
		SwanctlConf: certConf("home", "2001:db8:5::1", "2001:db8:5::2", "alice.lab.example", "gw.lab.example",
			"vips = ::", "remote_ts = 2001:db8:99:1::/64"),
		Files: map[string][]byte{"x509ca/ca.pem": pki.caPEM, "x509/own.pem": cliCert, "private/own.pem": cliKey},
	})
	require.NoError(t, rsp.Load())
	require.NoError(t, ini.Load())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := ini.Initiate(ctx, "net", "home")
	require.NoError(t, err, "initiate:\n%s", out)

	iSA, iChild := ini.WaitChildSA(t, "home", "net", ChildStateInstalled, 5*time.Second)
	_, rChild := rsp.WaitChildSA(t, "rw", "net", ChildStateInstalled, 5*time.Second)
	assert.Equal(t, "AES_GCM_16", iSA.EncrAlg)
	assert.Equal(t, 256, iSA.EncrKeySize)
	assert.Equal(t, "PRF_HMAC_SHA2_256", iSA.PRFAlg)
	assert.Equal(t, "ECP_256", iSA.DHGroup)
	assert.Empty(t, iSA.IntegAlg, "AEAD: no separate integrity algorithm")
	assert.Equal(t, "AES_GCM_16", iChild.EncrAlg)
	assert.Equal(t, iChild.SPIIn, rChild.SPIOut)
	assert.Equal(t, "gw.lab.example", iSA.RemoteID)
	require.Len(t, iSA.LocalVIPs, 1)
	assert.True(t, iSA.LocalVIPs[0].Is6())

	out, err = a.Ping(ctx, "2001:db8:99:1::1", 2)
	require.NoError(t, err, "ping through the IPv6 tunnel")
	assert.Contains(t, out, "2 received")
	assert.Contains(t, ini.Log(), "authentication of 'gw.lab.example' with ECDSA")
}

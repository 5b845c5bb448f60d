package eap

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
)

// pkiNode is a certificate with its key.
type pkiNode struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (n *pkiNode) tlsCert(chain ...*pkiNode) *tls.Certificate {
	c := &tls.Certificate{Certificate: [][]byte{n.cert.Raw}, PrivateKey: n.key, Leaf: n.cert}
	for _, p := range chain {
		c.Certificate = append(c.Certificate, p.cert.Raw)
	}
	return c
}

var serial atomic.Int64

// testPKI is a root, a server certificate, a good client certificate
// (carol) and a revoked one (dave), with a CRL file that lists dave.
type testPKI struct {
	dir                       string
	root, server, carol, dave *pkiNode
	crlFile                   string
}

func issueCert(t testing.TB, parent *pkiNode, tmpl *x509.Certificate) *pkiNode {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(1000 + serial.Add(1))
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, issuer := crypto.Signer(key), tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pkiNode{cert: c, key: key}
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	p.root = issueCert(t, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "ikelab EAP test root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	})
	p.server = issueCert(t, p.root, &x509.Certificate{
		Subject: pkix.Name{CommonName: "vpn.ikelab.test"}, DNSNames: []string{"vpn.ikelab.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	client := func(cn string) *pkiNode {
		return issueCert(t, p.root, &x509.Certificate{
			Subject: pkix.Name{CommonName: cn}, EmailAddresses: []string{cn + "@ikelab.test"},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
	}
	p.carol, p.dave = client("carol"), client("dave")
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: p.dave.cert.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)}},
	}, p.root.cert, p.root.key)
	if err != nil {
		t.Fatal(err)
	}
	p.crlFile = p.write(t, "root.crl", "X509 CRL", crl)
	return p
}

// write stores one PEM block in the PKI directory and returns its path.
func (p *testPKI) write(t testing.TB, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientVerifier judges EAP-TLS client certificates: CRL required.
func (p *testPKI) clientVerifier(t testing.TB) *trust.Verifier {
	t.Helper()
	v, err := trust.NewVerifier(trust.Policy{RootCAs: []*x509.Certificate{p.root.cert},
		CRL: trust.CRLPolicy{Mode: trust.CRLRequire, Files: []string{p.crlFile}, DisableFetch: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// serverVerifier judges the EAP-TLS server certificate on the client.
func (p *testPKI) serverVerifier(t testing.TB) *trust.Verifier {
	t.Helper()
	v, err := trust.NewVerifier(trust.Policy{RootCAs: []*x509.Certificate{p.root.cert}, AcceptedEKUs: []string{"serverAuth"},
		CRL: trust.CRLPolicy{Mode: trust.CRLOff}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// viaWire encodes and decodes a packet as the IKE engine will, so that
// every packet exchanged in a test is valid on the wire.
func viaWire(t testing.TB, p *wire.EAP) *wire.EAP {
	t.Helper()
	b, err := Marshal(p)
	if err != nil {
		t.Fatalf("marshal %s: %v", p.Summary(), err)
	}
	q, err := Parse(b)
	if err != nil {
		t.Fatalf("parse %s: %v", p.Summary(), err)
	}
	return q
}

// conversation is the outcome of one run of a client against a server.
type conversation struct {
	server, client *Result
	trace          []string // packet summaries in order
	rounds         int
	early          *Result // a verdict the server announced before done
}

// converse runs cli against srv until both are done, with every packet
// going through the wire codec.
func converse(t testing.TB, srv Server, cli Client) *conversation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := new(conversation)
	req, err := srv.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for c.rounds = 0; c.rounds < 500; c.rounds++ {
		req = viaWire(t, req)
		c.trace = append(c.trace, req.Summary())
		resp, cdone, cres, err := cli.Next(ctx, req)
		if err != nil {
			t.Fatalf("client Next(%s): %v", req.Summary(), err)
		}
		if cdone {
			c.client = cres
			if req.Code == wire.EAPRequest {
				// The client gave up; the server never hears back.
				srv.Close()
			}
			return c
		}
		resp = viaWire(t, resp)
		c.trace = append(c.trace, resp.Summary())
		next, sdone, sres, err := srv.Next(ctx, resp)
		if err != nil {
			t.Fatalf("server Next(%s): %v", resp.Summary(), err)
		}
		if sres != nil && !sdone {
			c.early = sres
		}
		if sdone {
			c.server = sres
		}
		req = next
	}
	t.Fatalf("no end after %d rounds: %v", c.rounds, c.trace)
	return nil
}

func mustServer(t testing.TB, cfg ServerConfig) Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustClient(t testing.TB, cfg ClientConfig) Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range pkiDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

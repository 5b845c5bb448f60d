package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed time of most tests.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is an injectable clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// RSA key generation is slow under -race; tests share a few keys.
var (
	rsaOnce sync.Once
	rsaKeys []*rsa.PrivateKey
	rsaMu   sync.Mutex
	rsaNext int
)

func newKey(t testing.TB, alg string) crypto.Signer {
	t.Helper()
	switch alg {
	case "rsa":
		rsaOnce.Do(func() {
			for range 6 {
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				rsaKeys = append(rsaKeys, k)
			}
		})
		rsaMu.Lock()
		defer rsaMu.Unlock()
		rsaNext++
		return rsaKeys[rsaNext%len(rsaKeys)]
	default:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// node is a certificate with its key.
type node struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (n *node) der() []byte { return n.cert.Raw }

var serialCounter sync.Mutex
var serialN int64 = 1000

func nextSerial() *big.Int {
	serialCounter.Lock()
	defer serialCounter.Unlock()
	serialN++
	return big.NewInt(serialN)
}

// issue signs tmpl with parent (nil: self-signed) and returns the node. The
// template gets defaults for anything left zero.
func issue(t testing.TB, parent *node, tmpl *x509.Certificate, key crypto.Signer) *node {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = nextSerial()
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = testNow.Add(-24 * time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = testNow.Add(365 * 24 * time.Hour)
	}
	signer, issuerCert := key, tmpl
	if parent != nil {
		signer, issuerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuerCert, key.Public(), signer)
	if err != nil {
		t.Fatalf("create certificate %s: %v", tmpl.Subject.CommonName, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &node{cert: c, key: key}
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"trust test"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func leafTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    []string{cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

func newRoot(t testing.TB, alg, cn string) *node {
	return issue(t, nil, caTemplate(cn), newKey(t, alg))
}

func newIntermediate(t testing.TB, parent *node, alg, cn string, edit ...func(*x509.Certificate)) *node {
	tmpl := caTemplate(cn)
	for _, e := range edit {
		e(tmpl)
	}
	return issue(t, parent, tmpl, newKey(t, alg))
}

func newLeaf(t testing.TB, parent *node, alg, cn string, edit ...func(*x509.Certificate)) *node {
	tmpl := leafTemplate(cn)
	for _, e := range edit {
		e(tmpl)
	}
	return issue(t, parent, tmpl, newKey(t, alg))
}

// revoked names a certificate to list on a CRL.
type revoked struct {
	n      *node
	at     time.Time
	reason int
}

// makeCRL returns a DER CRL by ca (signed with signer, normally ca.key).
func makeCRL(t testing.TB, ca *node, signer crypto.Signer, this, next time.Time, entries []revoked, extra ...func(*x509.RevocationList)) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(this.Unix()),
		ThisUpdate: this,
		NextUpdate: next,
	}
	for _, e := range entries {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: e.n.cert.SerialNumber, RevocationTime: e.at, ReasonCode: e.reason,
		})
	}
	for _, f := range extra {
		f(tmpl)
	}
	if signer == nil {
		signer = ca.key
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, signer)
	if err != nil {
		t.Fatalf("create crl: %v", err)
	}
	return der
}

// testPKI is root -> intermediate -> leaf, with a second leaf that the
// tests revoke.
type testPKI struct {
	root, inter, leaf, other *node
}

func newTestPKI(t testing.TB, alg string, leafEdit ...func(*x509.Certificate)) *testPKI {
	root := newRoot(t, alg, "Test Root "+alg)
	inter := newIntermediate(t, root, alg, "Test Intermediate "+alg)
	return &testPKI{
		root:  root,
		inter: inter,
		leaf:  newLeaf(t, inter, alg, "client1.test", leafEdit...),
		other: newLeaf(t, inter, alg, "client2.test", leafEdit...),
	}
}

func (p *testPKI) policy(now func() time.Time) Policy {
	return Policy{RootCAs: []*x509.Certificate{p.root.cert}, Now: now, CRL: CRLPolicy{Mode: CRLOff}}
}

func mustVerifier(t testing.TB, p Policy) *Verifier {
	t.Helper()
	v, err := NewVerifier(p)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// checkStatus returns the status of the named check (the first one for
// revocation), failing the test if it is absent.
func checkStatus(t testing.TB, d *Decision, name string) Status {
	t.Helper()
	for _, c := range d.Checks {
		if c.Name == name {
			return c.Status
		}
	}
	t.Fatalf("no %s check in decision:\n%s", name, d)
	return ""
}

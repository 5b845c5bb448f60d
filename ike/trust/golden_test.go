package trust

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"flag"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	goldenfile "github.com/ikelab/ikelab/internal/golden"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite "+goldenPath+" from what Verify decides now")

// goldenPath holds every Decision that TestDecisionsGolden produces,
// rendered by String, AppendJSON and Err. It was written by the Verify
// that predates the path cache's precomputed texts, so that any change in
// how a check's text is produced must reproduce it byte for byte.
const goldenPath = "testdata/decisions.golden"

// golden renders decisions with the run's random values (fingerprints,
// serials, temporary directories, server URLs) replaced by names, so that
// the rendering is the same on every run.
type golden struct {
	t       *testing.T
	out     strings.Builder
	names   map[string]string // fingerprint or serial -> name
	strs    []string          // old, new pairs for paths and URLs
	current string
}

func newGolden(t *testing.T) *golden {
	return &golden{t: t, names: map[string]string{}}
}

// name registers the random values of n's certificate under label.
func (g *golden) name(label string, nodes ...*node) {
	for i, n := range nodes {
		l := label
		if len(nodes) > 1 {
			l = fmt.Sprintf("%s%d", label, i+1)
		}
		g.names[certInfo(n.cert).SHA256] = "<sha256 " + l + ">"
		g.names[serialHex(n.cert)] = "<serial " + l + ">"
	}
}

// replace registers a literal (a temporary directory, a server URL).
func (g *golden) replace(old, new string) { g.strs = append(g.strs, old, new) }

func (g *golden) section(name string) {
	g.current = name
	fmt.Fprintf(&g.out, "\n##### %s\n", name)
}

var (
	goldenHex    = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	goldenSerial = regexp.MustCompile(`\b0x[0-9a-f]+\b`)
)

func (g *golden) normalize(s string) string {
	s = strings.NewReplacer(g.strs...).Replace(s)
	f := func(m string) string {
		if n, ok := g.names[m]; ok {
			return n
		}
		return m
	}
	return goldenSerial.ReplaceAllStringFunc(goldenHex.ReplaceAllStringFunc(s, f), f)
}

// record verifies twice: the first call validates the path, the second is
// answered from the path cache; both must decide the same. The decision
// is written to the golden output.
func (g *golden) record(step string, v *Verifier, leaf []byte, others ...[]byte) *Decision {
	g.t.Helper()
	first := v.Verify(context.Background(), leaf, others)
	second := v.Verify(context.Background(), leaf, others)
	if !sameDecision(first, second) {
		g.t.Errorf("%s/%s: repeated Verify differs:\nfirst:\n%s\nsecond:\n%s", g.current, step, first, second)
	}
	g.write(step, first)
	return first
}

// sameDecision compares what two Decisions say, not which path-cache
// entry built them (a chain that is not cached is built afresh each time).
func sameDecision(a, b *Decision) bool {
	x, y := *a, *b
	x.cached, y.cached = nil, nil
	return reflect.DeepEqual(x, y)
}

// once verifies once (typically on a chain already in the path cache).
func (g *golden) once(step string, v *Verifier, leaf []byte, others ...[]byte) *Decision {
	g.t.Helper()
	d := v.Verify(context.Background(), leaf, others)
	g.write(step, d)
	return d
}

func (g *golden) write(step string, d *Decision) {
	errText := "<nil>"
	if d.Err != nil {
		errText = d.Err.Error()
	}
	fmt.Fprintf(&g.out, "=== %s\n%sjson: %s\nerr: %s\n", step, g.normalize(d.String()),
		g.normalize(string(d.AppendJSON(nil))), g.normalize(errText))
}

func (g *golden) check() {
	g.t.Helper()
	goldenfile.Check(g.t, goldenPath, g.out.String(), *updateGolden)
}

// TestDecisionsGolden pins the exact text of every kind of Decision that
// Verify produces after path validation (and a few before it): each
// check's name, status, subject and detail, the reason, the JSON and the
// error, for fresh validations and for path-cache hits, including hits
// after the clock moved or the CRLs were reloaded.
func TestDecisionsGolden(t *testing.T) {
	g := newGolden(t)
	this, next := testNow.Add(-time.Hour), testNow.Add(time.Hour)

	p := newTestPKI(t, "ecdsa")
	g.name("root", p.root)
	g.name("inter", p.inter)
	g.name("leaf", p.leaf)
	g.name("other", p.other)
	leaf, other, inter := p.leaf.der(), p.other.der(), p.inter.der()

	g.section("crl off")
	v := mustVerifier(t, p.policy(fixedNow))
	g.record("accepted", v, leaf, inter)
	g.record("junk extra certificate", v, leaf, inter, []byte("junk"), make([]byte, maxCertificateSize+1))
	g.record("intermediate missing", v, leaf)

	g.section("crl require, local files")
	dir := crlDirPKI(t, p, this, next)
	g.replace(dir, "<crldir>")
	clock := newClock(testNow)
	pol := crlPolicy(p, CRLRequire, dir)
	pol.Now = clock.Now
	v = mustVerifier(t, pol)
	g.record("good", v, leaf, inter)
	g.record("revoked leaf", v, other, inter)
	clock.t = testNow.Add(30 * time.Minute)
	g.once("good, later, from cache", v, leaf, inter)
	clock.t = next.Add(time.Second)
	g.once("crls expired", v, leaf, inter)
	clock.t = this.Add(-crlClockSkew - time.Second)
	g.once("crls not yet valid", v, leaf, inter)
	clock.t = p.leaf.cert.NotAfter.Add(time.Second)
	g.once("leaf expired", v, leaf, inter)
	clock.t = p.leaf.cert.NotBefore.Add(-time.Second)
	g.once("leaf not yet valid", v, leaf, inter)
	clock.t = testNow
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, this.Add(time.Minute), next,
		[]revoked{{p.leaf, testNow.Add(-time.Minute), 4}, {p.other, testNow.Add(-2 * time.Hour), 1}}))
	writeFile(t, filepath.Join(dir, "old-root.crl"), makeCRL(t, p.root, nil, this.Add(-48*time.Hour), this.Add(-24*time.Hour), nil))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	g.once("leaf revoked after reload", v, leaf, inter)
	g.once("intermediate covered by the newer of two root crls", v, other, inter)

	g.section("crl require, problems")
	dir = t.TempDir()
	g.replace(dir, "<crldir2>")
	writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, this, next, nil))
	v = mustVerifier(t, crlPolicy(p, CRLRequire, dir))
	g.record("no crl for the intermediate's certificates", v, leaf, inter)
	vs := mustVerifier(t, crlPolicy(p, CRLSoftFail, dir))
	g.record("soft-fail", vs, leaf, inter)
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, newKey(t, "ecdsa"), this, next, nil))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	g.once("crl with a bad signature", v, leaf, inter)
	if err := vs.Reload(); err != nil {
		t.Fatal(err)
	}
	g.once("soft-fail, crl with a bad signature", vs, leaf, inter)
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, this, next, nil, func(rl *x509.RevocationList) {
		rl.ExtraExtensions = append(rl.ExtraExtensions, idp(t, "http://elsewhere.test/inter.crl", true, false, false))
	}))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	g.once("crl for end entities only is fine for a leaf", v, leaf, inter)
	writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, this, next, nil, func(rl *x509.RevocationList) {
		rl.ExtraExtensions = append(rl.ExtraExtensions, idp(t, "", true, false, false))
	}))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	g.once("root crl for end entities only", v, leaf, inter)

	g.section("trust anchor as end entity")
	anchor := issue(t, nil, func() *x509.Certificate {
		c := caTemplate("Anchor")
		c.KeyUsage |= x509.KeyUsageDigitalSignature
		return c
	}(), newKey(t, "ecdsa"))
	g.name("anchor", anchor)
	for _, mode := range []CRLMode{CRLRequire, CRLOff} {
		v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{anchor.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: mode, DisableFetch: true}})
		g.record(string(mode), v, anchor.der())
	}

	g.section("key usage and eku")
	root := newRoot(t, "ecdsa", "Usage Root")
	g.name("usage-root", root)
	mk := func(cn string, edit func(*x509.Certificate)) *node {
		n := newLeaf(t, root, "ecdsa", cn, edit)
		g.name(cn, n)
		return n
	}
	leaves := []*node{
		mk("enc.test", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment }),
		mk("nonrep.test", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageContentCommitment | x509.KeyUsageKeyAgreement }),
		mk("noku.test", func(c *x509.Certificate) { c.KeyUsage = 0 }),
		mk("server.test", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }),
		mk("ike.test", func(c *x509.Certificate) {
			c.ExtKeyUsage = nil
			c.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDIKEIntermediate, {1, 2, 3, 4}}
		}),
		mk("noeku.test", func(c *x509.Certificate) { c.ExtKeyUsage = nil }),
		mk("any.test", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny} }),
		mk("both.test", func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageIPSECEndSystem}
		}),
	}
	base := Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}}
	variants := []struct {
		name string
		edit func(*Policy)
	}{
		{"default policy", func(*Policy) {}},
		{"non-repudiation allowed", func(p *Policy) { p.AllowNonRepudiation = true }},
		{"eku extension required", func(p *Policy) { p.RequireEKUExtension = true }},
		{"serverAuth and ipsecEndSystem", func(p *Policy) { p.AcceptedEKUs = []string{"ipsecEndSystem", "serverAuth"} }},
		{"any", func(p *Policy) { p.AcceptedEKUs = []string{"any"} }},
		{"dotted oid", func(p *Policy) { p.AcceptedEKUs = []string{"1.2.3.4"} }},
	}
	for _, vr := range variants {
		pol := base
		vr.edit(&pol)
		v := mustVerifier(t, pol)
		for _, l := range leaves {
			g.record(vr.name+": "+l.cert.Subject.CommonName, v, l.der())
		}
	}

	g.section("eku nesting on CAs")
	for _, ca := range []struct {
		name string
		ekus []x509.ExtKeyUsage
	}{
		{"server-only CA", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"client CA", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}},
		{"any CA", []x509.ExtKeyUsage{x509.ExtKeyUsageAny}},
	} {
		ic := newIntermediate(t, root, "ecdsa", ca.name, func(c *x509.Certificate) { c.ExtKeyUsage = ca.ekus })
		l := newLeaf(t, ic, "ecdsa", "under "+ca.name, func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
		})
		g.name(ca.name, ic)
		g.name("under "+ca.name, l)
		for _, vr := range variants[:4] {
			pol := base
			vr.edit(&pol)
			g.record(vr.name+": "+ca.name, mustVerifier(t, pol), l.der(), ic.der())
		}
	}

	g.section("two chains")
	// One intermediate key and name certified by two roots: crypto/x509
	// finds a chain through each. Only the second root's CRL is there, so
	// the first chain fails revocation and the second is accepted.
	rootA, rootB := newRoot(t, "ecdsa", "Root A"), newRoot(t, "ecdsa", "Root B")
	ikey := newKey(t, "ecdsa")
	interA := issue(t, rootA, caTemplate("Cross Inter"), ikey)
	interB := issue(t, rootB, caTemplate("Cross Inter"), ikey)
	crossLeaf := newLeaf(t, interA, "ecdsa", "cross.test")
	g.name("rootA", rootA)
	g.name("rootB", rootB)
	g.name("interA", interA)
	g.name("interB", interB)
	g.name("cross-leaf", crossLeaf)
	dir = t.TempDir()
	g.replace(dir, "<crldir3>")
	writeFile(t, filepath.Join(dir, "b.crl"), makeCRL(t, rootB, nil, this, next, nil))
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, interA, nil, this, next, nil))
	two := Policy{RootCAs: []*x509.Certificate{rootA.cert, rootB.cert}, Now: fixedNow, CRL: CRLPolicy{Dir: dir, DisableFetch: true}}
	v = mustVerifier(t, two)
	d := g.record("second chain accepted", v, crossLeaf.der(), interA.der(), interB.der())
	if d.Accepted && len(v.paths.entries) == 1 {
		for _, e := range v.paths.entries {
			if len(e.chains) != 2 {
				t.Errorf("two-chain scenario found %d chains", len(e.chains))
			}
		}
	}
	two.CRL = CRLPolicy{Mode: CRLSoftFail, DisableFetch: true}
	g.record("soft-fail without crls, first chain", mustVerifier(t, two), crossLeaf.der(), interA.der(), interB.der())
	two.CRL = CRLPolicy{DisableFetch: true}
	g.record("require without crls, first chain's failure", mustVerifier(t, two), crossLeaf.der(), interA.der(), interB.der())

	g.section("http crl")
	srv := newCRLServer(t)
	hp := httpPKI(t, srv, "ecdsa")
	g.replace(srv.URL, "<srv>")
	g.name("http-root", hp.root)
	g.name("http-inter", hp.inter)
	g.name("http-leaf", hp.leaf)
	g.name("http-other", hp.other)
	hp.serveCRLs(t, srv, this, next, hp.other)
	v = mustVerifier(t, httpPolicy(hp, fixedNow, CRLRequire))
	g.record("good", v, hp.leaf.der(), hp.inter.der())
	g.record("revoked", v, hp.other.der(), hp.inter.der())
	fp := httpPolicy(hp, fixedNow, CRLRequire)
	fp.CRL.DisableFetch = true
	g.record("fetch disabled", mustVerifier(t, fp), hp.leaf.der(), hp.inter.der())

	g.section("ocsp")
	oroot := newRoot(t, "ecdsa", "OCSP Root")
	resp := &ocspResponder{issuer: oroot, signer: oroot, status: ocsp.Good}
	osrv := httptest.NewServer(resp)
	defer osrv.Close()
	g.replace(osrv.URL, "<ocsp>")
	oleaf := newLeaf(t, oroot, "ecdsa", "ocsp.test", func(c *x509.Certificate) { c.OCSPServer = []string{osrv.URL} })
	g.name("ocsp-root", oroot)
	g.name("ocsp-leaf", oleaf)
	opol := Policy{RootCAs: []*x509.Certificate{oroot.cert}, Now: fixedNow, CRL: CRLPolicy{OCSP: true}}
	g.record("good", mustVerifier(t, opol), oleaf.der())
	resp.status = ocsp.Revoked
	g.record("revoked", mustVerifier(t, opol), oleaf.der())
	resp.status = ocsp.Unknown
	g.record("unknown", mustVerifier(t, opol), oleaf.der())

	g.check()
}

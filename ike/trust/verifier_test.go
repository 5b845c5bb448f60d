package trust

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixedNow() time.Time { return testNow }

func verify(t testing.TB, v *Verifier, leaf *node, others ...*node) *Decision {
	t.Helper()
	var ders [][]byte
	for _, o := range others {
		ders = append(ders, o.der())
	}
	d := v.Verify(context.Background(), leaf.der(), ders)
	if d == nil {
		t.Fatal("Verify returned nil")
	}
	return d
}

func wantAccepted(t testing.TB, d *Decision) {
	t.Helper()
	if !d.Accepted || d.Err != nil {
		t.Fatalf("want accepted, got:\n%s\nerr: %v", d, d.Err)
	}
}

func wantRefused(t testing.TB, d *Decision, kind error, check string) {
	t.Helper()
	if d.Accepted {
		t.Fatalf("want refused with %v, got accepted:\n%s", kind, d)
	}
	if !errors.Is(d.Err, kind) {
		t.Fatalf("want %v, got %v\n%s", kind, d.Err, d)
	}
	var te *Error
	if !errors.As(d.Err, &te) || te.Check != check {
		t.Fatalf("want failed check %q, got %+v", check, te)
	}
	failed := 0
	for _, c := range d.Checks {
		if c.Status == StatusFailed {
			failed++
			if c.Name != check {
				t.Fatalf("check %s failed, want %s:\n%s", c.Name, check, d)
			}
		}
	}
	if failed == 0 {
		t.Fatalf("check %s not marked failed:\n%s", check, d)
	}
	if d.Reason == "" || strings.Contains(d.Reason, "\n") {
		t.Fatalf("reason must be one non-empty line: %q", d.Reason)
	}
	if d.Failure != failureCode(kind) {
		t.Fatalf("failure code %q, want %q", d.Failure, failureCode(kind))
	}
}

func TestVerifyAcceptsChainWithIntermediateFromPeer(t *testing.T) {
	for _, alg := range []string{"ecdsa", "rsa"} {
		t.Run(alg, func(t *testing.T) {
			p := newTestPKI(t, alg)
			v := mustVerifier(t, p.policy(fixedNow))
			d := verify(t, v, p.leaf, p.inter)
			wantAccepted(t, d)
			if len(d.Chain) != 3 || d.Chain[2] != p.root.cert && !d.Chain[2].Equal(p.root.cert) {
				t.Fatalf("chain = %v", d.ChainInfo)
			}
			var names []string
			for _, c := range d.Checks {
				names = append(names, c.Name+"="+string(c.Status))
			}
			want := "parse=ok validity=ok chain=ok key-usage=ok eku=ok revocation=skipped"
			if got := strings.Join(names, " "); got != want {
				t.Fatalf("checks %s, want %s", got, want)
			}
		})
	}
}

func TestVerifyIntermediatesInAnyOrderAndJunkIgnored(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	i1 := newIntermediate(t, root, "ecdsa", "Inter 1")
	i2 := newIntermediate(t, i1, "ecdsa", "Inter 2")
	leaf := newLeaf(t, i2, "ecdsa", "deep.test")
	unrelated := newRoot(t, "ecdsa", "Unrelated")
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}})
	d := v.Verify(context.Background(), leaf.der(), [][]byte{unrelated.der(), i1.der(), []byte("not a certificate"), i2.der()})
	wantAccepted(t, d)
	if len(d.Chain) != 4 {
		t.Fatalf("chain length %d", len(d.Chain))
	}
	if !strings.Contains(d.Checks[0].Detail, "ignored unparseable: #3") {
		t.Fatalf("parse note does not mention the junk payload: %q", d.Checks[0].Detail)
	}
}

func TestVerifyIntermediateFromConfig(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	pol := p.policy(fixedNow)
	wantRefused(t, verify(t, mustVerifier(t, pol), p.leaf), ErrUntrustedRoot, CheckChain)
	pol.Intermediates = []*x509.Certificate{p.inter.cert}
	wantAccepted(t, verify(t, mustVerifier(t, pol), p.leaf))
}

func TestVerifyRefusesOtherRoot(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	other := newRoot(t, "ecdsa", "Other Root")
	otherLeaf := newLeaf(t, other, "ecdsa", "intruder.test")
	v := mustVerifier(t, p.policy(fixedNow))
	// The peer even sends its root: a self-signed certificate in a CERT
	// payload is never an anchor.
	d := verify(t, v, otherLeaf, other)
	wantRefused(t, d, ErrUntrustedRoot, CheckChain)
	if !strings.Contains(d.Reason, "ends at root CN=Other Root") || !strings.Contains(d.Reason, "Test Root ecdsa") {
		t.Fatalf("reason does not name both roots: %s", d.Reason)
	}
	d = verify(t, v, otherLeaf)
	wantRefused(t, d, ErrUntrustedRoot, CheckChain)
	if !strings.Contains(d.Reason, "neither sent by the peer nor configured") {
		t.Fatalf("reason: %s", d.Reason)
	}
}

func TestVerifyRefusesMissingIntermediate(t *testing.T) {
	p := newTestPKI(t, "rsa")
	d := verify(t, mustVerifier(t, p.policy(fixedNow)), p.leaf)
	wantRefused(t, d, ErrUntrustedRoot, CheckChain)
	if !strings.Contains(d.Reason, "issuer CN=Test Intermediate rsa") {
		t.Fatalf("reason does not name the missing issuer: %s", d.Reason)
	}
}

func TestVerifyRefusesWrongSignature(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	// An impostor CA with the intermediate's name but another key.
	impostor := issue(t, nil, caTemplate("Test Intermediate ecdsa"), newKey(t, "ecdsa"))
	forged := newLeaf(t, impostor, "ecdsa", "forged.test")
	v := mustVerifier(t, p.policy(fixedNow))
	d := verify(t, v, forged, p.inter)
	wantRefused(t, d, ErrBadSignature, CheckChain)

	// Directly under a root whose name matches but whose key does not.
	fakeRoot := issue(t, nil, caTemplate("Test Root ecdsa"), newKey(t, "ecdsa"))
	forged2 := newLeaf(t, fakeRoot, "ecdsa", "forged2.test")
	d = verify(t, v, forged2)
	wantRefused(t, d, ErrBadSignature, CheckChain)
	if !strings.Contains(d.Reason, "accepted root") {
		t.Fatalf("reason: %s", d.Reason)
	}
}

func TestVerifyValidityPeriods(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	inter := newIntermediate(t, root, "ecdsa", "Inter")
	expired := newLeaf(t, inter, "ecdsa", "expired.test", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = testNow.Add(-48*time.Hour), testNow.Add(-time.Hour)
	})
	future := newLeaf(t, inter, "ecdsa", "future.test", func(c *x509.Certificate) {
		c.NotBefore = testNow.Add(time.Hour)
	})
	oldInter := newIntermediate(t, root, "ecdsa", "Old Inter", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = testNow.Add(-48*time.Hour), testNow.Add(-time.Minute)
	})
	underOld := newLeaf(t, oldInter, "ecdsa", "under-old.test")
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}})

	d := verify(t, v, expired, inter)
	wantRefused(t, d, ErrExpired, CheckValidity)
	if !strings.Contains(d.Reason, "expired at "+testNow.Add(-time.Hour).Format(time.RFC3339)) {
		t.Fatalf("reason: %s", d.Reason)
	}
	wantRefused(t, verify(t, v, future, inter), ErrNotYetValid, CheckValidity)
	d = verify(t, v, underOld, oldInter)
	wantRefused(t, d, ErrExpired, CheckValidity)
	if d.Err.(*Error).Subject != oldInter.cert.Subject.String() {
		t.Fatalf("expired intermediate not named: %v", d.Err)
	}
}

func TestVerifyEKU(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	mk := func(cn string, edit func(*x509.Certificate)) *node {
		return newLeaf(t, root, "ecdsa", cn, edit)
	}
	server := mk("server.test", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	ikeOnly := mk("ike.test", func(c *x509.Certificate) {
		c.ExtKeyUsage = nil
		c.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDIKEIntermediate}
	})
	noEKU := mk("noeku.test", func(c *x509.Certificate) { c.ExtKeyUsage = nil })
	anyEKU := mk("any.test", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny} })
	both := mk("both.test", func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	})

	base := Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}}
	v := mustVerifier(t, base)
	d := verify(t, v, server)
	wantRefused(t, d, ErrEKU, CheckEKU)
	if !strings.Contains(d.Reason, "(serverAuth) includes none of the accepted: clientAuth, ikeIntermediate") {
		t.Fatalf("reason: %s", d.Reason)
	}
	wantAccepted(t, verify(t, v, ikeOnly))
	wantAccepted(t, verify(t, v, noEKU))
	wantAccepted(t, verify(t, v, anyEKU))
	wantAccepted(t, verify(t, v, both))

	strict := base
	strict.RequireEKUExtension = true
	wantRefused(t, verify(t, mustVerifier(t, strict), noEKU), ErrEKU, CheckEKU)

	serverPolicy := base
	serverPolicy.AcceptedEKUs = []string{"serverAuth"}
	vs := mustVerifier(t, serverPolicy)
	wantAccepted(t, verify(t, vs, server))
	wantRefused(t, verify(t, vs, ikeOnly), ErrEKU, CheckEKU)

	oidPolicy := base
	oidPolicy.AcceptedEKUs = []string{"1.3.6.1.5.5.8.2.2"}
	wantAccepted(t, verify(t, mustVerifier(t, oidPolicy), ikeOnly))

	anyPolicy := base
	anyPolicy.AcceptedEKUs = []string{"any"}
	wantAccepted(t, verify(t, mustVerifier(t, anyPolicy), server))

	bad := base
	bad.AcceptedEKUs = []string{"clientauthx"}
	if _, err := NewVerifier(bad); err == nil {
		t.Fatal("unknown EKU name accepted")
	}
}

func TestVerifyEKUNestingOnCA(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	serverOnlyCA := newIntermediate(t, root, "ecdsa", "Server-only CA", func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	leaf := newLeaf(t, serverOnlyCA, "ecdsa", "client.test")
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}})
	d := verify(t, v, leaf, serverOnlyCA)
	wantRefused(t, d, ErrEKU, CheckEKU)
	if !strings.Contains(d.Reason, "CA CN=Server-only CA") {
		t.Fatalf("reason: %s", d.Reason)
	}
}

func TestVerifyKeyUsage(t *testing.T) {
	root := newRoot(t, "rsa", "Root")
	encOnly := newLeaf(t, root, "rsa", "enc.test", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
	nonRep := newLeaf(t, root, "rsa", "nonrep.test", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageContentCommitment })
	noKU := newLeaf(t, root, "rsa", "noku.test", func(c *x509.Certificate) { c.KeyUsage = 0 })
	pol := Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}}
	v := mustVerifier(t, pol)
	d := verify(t, v, encOnly)
	wantRefused(t, d, ErrKeyUsage, CheckKeyUsage)
	if !strings.Contains(d.Reason, "keyEncipherment, without digitalSignature") {
		t.Fatalf("reason: %s", d.Reason)
	}
	wantRefused(t, verify(t, v, nonRep), ErrKeyUsage, CheckKeyUsage)
	wantAccepted(t, verify(t, v, noKU))
	pol.AllowNonRepudiation = true
	wantAccepted(t, verify(t, mustVerifier(t, pol), nonRep))
}

func TestVerifyBasicConstraints(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	notCA := newLeaf(t, root, "ecdsa", "notca.test")
	underNotCA := newLeaf(t, notCA, "ecdsa", "victim.test")
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}})
	wantRefused(t, verify(t, v, underNotCA, notCA), ErrBasicConstraints, CheckChain)

	zero := newIntermediate(t, root, "ecdsa", "PathLen0", func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true })
	sub := newIntermediate(t, zero, "ecdsa", "Sub")
	deep := newLeaf(t, sub, "ecdsa", "deep.test")
	wantRefused(t, verify(t, v, deep, sub, zero), ErrBasicConstraints, CheckChain)
}

func TestVerifyNameConstraints(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	inter := newIntermediate(t, root, "ecdsa", "Constrained", func(c *x509.Certificate) {
		c.PermittedDNSDomains = []string{"corp.test"}
		c.PermittedDNSDomainsCritical = true
	})
	good := newLeaf(t, inter, "ecdsa", "pc1.corp.test")
	evil := newLeaf(t, inter, "ecdsa", "pc1.evil.test")
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}})
	wantAccepted(t, verify(t, v, good, inter))
	d := verify(t, v, evil, inter)
	wantRefused(t, d, ErrNameConstraints, CheckChain)
	if !strings.Contains(d.Reason, "pc1.evil.test") {
		t.Fatalf("reason: %s", d.Reason)
	}
}

func TestVerifyMalformedInput(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	v := mustVerifier(t, p.policy(fixedNow))
	cases := []struct {
		name   string
		leaf   []byte
		others [][]byte
	}{
		{"empty", nil, nil},
		{"garbage", []byte{0x30, 0x82, 0xff, 0xff, 0x01}, nil},
		{"truncated", p.leaf.der()[:len(p.leaf.der())/2], nil},
		{"oversized", make([]byte, maxCertificateSize+1), nil},
		{"too many", p.leaf.der(), make([][]byte, maxPeerCertificates+1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := v.Verify(context.Background(), tc.leaf, tc.others)
			wantRefused(t, d, ErrMalformed, CheckParse)
			for _, c := range d.Checks[1:] {
				if c.Status != StatusSkipped {
					t.Fatalf("check %s after parse failure is %s", c.Name, c.Status)
				}
			}
		})
	}
}

func TestRootNameSelectsOneRoot(t *testing.T) {
	a := newTestPKI(t, "ecdsa")
	b := newRoot(t, "ecdsa", "Second Root")
	bLeaf := newLeaf(t, b, "ecdsa", "b.test")
	pol := Policy{RootCAs: []*x509.Certificate{a.root.cert, b.cert}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}}
	wantAccepted(t, verify(t, mustVerifier(t, pol), bLeaf))
	pol.RootName = "Test Root ecdsa"
	v := mustVerifier(t, pol)
	wantAccepted(t, verify(t, v, a.leaf, a.inter))
	wantRefused(t, verify(t, v, bLeaf), ErrUntrustedRoot, CheckChain)
	pol.RootName = "CN=Second Root,O=trust test"
	wantAccepted(t, verify(t, mustVerifier(t, pol), bLeaf))
	pol.RootName = "No Such Root"
	if _, err := NewVerifier(pol); err == nil {
		t.Fatal("RootName matching no root accepted")
	}
	if _, err := NewVerifier(Policy{}); err == nil {
		t.Fatal("policy without roots accepted")
	}
}

func TestRootFilesPEMAndDER(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := t.TempDir()
	pemPath := filepath.Join(dir, "root.pem")
	derPath := filepath.Join(dir, "inter.cer")
	if err := os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.der()}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(derPath, p.inter.der(), 0o644); err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, Policy{RootCAFiles: []string{pemPath}, IntermediateFiles: []string{derPath}, Now: fixedNow, CRL: CRLPolicy{Mode: CRLOff}})
	wantAccepted(t, verify(t, v, p.leaf))

	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	if _, err := NewVerifier(Policy{RootCAFiles: []string{bad}}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad root file: %v", err)
	}
	if _, err := NewVerifier(Policy{RootCAFiles: []string{filepath.Join(dir, "missing.pem")}}); err == nil {
		t.Fatal("missing root file accepted")
	}
}

func TestDecisionJSONAndString(t *testing.T) {
	p := newTestPKI(t, "ecdsa", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	d := verify(t, mustVerifier(t, p.policy(fixedNow)), p.leaf, p.inter)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Accepted bool
		Reason   string
		Failure  string
		Chain    []CertInfo
		Checks   []Check
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Accepted || back.Failure != "eku" || len(back.Chain) != 3 || len(back.Checks) != 6 || back.Reason != d.Reason {
		t.Fatalf("json round trip: %s", b)
	}
	if back.Checks[4].Name != CheckEKU || back.Checks[4].Status != StatusFailed || back.Checks[5].Status != StatusSkipped {
		t.Fatalf("checks: %+v", back.Checks)
	}
	s := d.String()
	for _, want := range []string{"verdict: REFUSED (eku)", "[0] CN=client1.test (end entity)", "(accepted root)", "[failed]  eku:", "[skipped] revocation:"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}

func TestCRLModeText(t *testing.T) {
	for in, want := range map[string]CRLMode{"": CRLRequire, "on": CRLRequire, "Require": CRLRequire, "soft-fail": CRLSoftFail, "softfail": CRLSoftFail, "off": CRLOff} {
		var m CRLMode
		if err := m.UnmarshalText([]byte(in)); err != nil || m != want {
			t.Errorf("%q -> %q, %v; want %q", in, m, err, want)
		}
	}
	var m CRLMode
	if err := m.UnmarshalText([]byte("maybe")); err == nil {
		t.Error("unknown mode accepted")
	}
}

var _ = pkix.Name{}

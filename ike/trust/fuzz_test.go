package trust

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "regenerate testdata/fuzz-pki.pem")

const fixturePath = "testdata/fuzz-pki.pem"

// fixture is a fixed PKI for the fuzz targets, so that a crasher found
// once reproduces: root -> intermediate -> leaf, plus a CRL by each CA
// (the intermediate's revokes a second leaf). Regenerate with -update.
type fixture struct {
	root, inter, leaf, revokedLeaf *x509.Certificate
	rootCRL, interCRL              []byte
}

func TestUpdateFuzzFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate " + fixturePath)
	}
	p := newTestPKI(t, "ecdsa", func(c *x509.Certificate) {
		c.NotAfter = testNow.Add(20 * 365 * 24 * time.Hour)
		c.CRLDistributionPoints = []string{"http://crl.invalid/inter.crl"}
	})
	var out []byte
	for _, n := range []*node{p.root, p.inter, p.leaf, p.other} {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.der()})...)
	}
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: makeCRL(t, p.root, nil, testNow, testNow.Add(time.Hour), nil)})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: makeCRL(t, p.inter, nil, testNow, testNow.Add(time.Hour),
		[]revoked{{p.other, testNow, 1}})})...)
	if err := os.MkdirAll(filepath.Dir(fixturePath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadFixture(tb testing.TB) *fixture {
	tb.Helper()
	data, err := os.ReadFile(fixturePath)
	if err != nil {
		tb.Fatalf("%v (regenerate with go test -run TestUpdateFuzzFixtures -update)", err)
	}
	var certs []*x509.Certificate
	var crls [][]byte
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				tb.Fatal(err)
			}
			certs = append(certs, c)
		case "X509 CRL":
			crls = append(crls, b.Bytes)
		}
	}
	if len(certs) != 4 || len(crls) != 2 {
		tb.Fatalf("%s: %d certificates, %d crls", fixturePath, len(certs), len(crls))
	}
	return &fixture{root: certs[0], inter: certs[1], leaf: certs[2], revokedLeaf: certs[3], rootCRL: crls[0], interCRL: crls[1]}
}

func TestFixtureVerifies(t *testing.T) {
	fx := loadFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "root.crl"), fx.rootCRL)
	writeFile(t, filepath.Join(dir, "inter.crl"), fx.interCRL)
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{fx.root}, Now: fixedNow, CRL: CRLPolicy{Dir: dir, DisableFetch: true}})
	wantAccepted(t, v.Verify(context.Background(), fx.leaf.Raw, [][]byte{fx.inter.Raw}))
	wantRefused(t, v.Verify(context.Background(), fx.revokedLeaf.Raw, [][]byte{fx.inter.Raw}), ErrRevoked, CheckRevocation)
}

// FuzzParseCRL feeds arbitrary bytes to the CRL parser and, when they
// parse, to the validity and lookup code: no panic, and every error wraps
// one of the package's CRL sentinels.
func FuzzParseCRL(f *testing.F) {
	fx := loadFixture(f)
	f.Add(fx.rootCRL)
	f.Add(fx.interCRL)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: fx.interCRL}))
	f.Add(fx.interCRL[:len(fx.interCRL)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		crl, err := ParseCRL(data, "fuzz", 1<<16)
		if err != nil {
			if !errors.Is(err, ErrMalformedCRL) && !errors.Is(err, ErrCRLTooLarge) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		for _, c := range []struct{ cert, issuer *x509.Certificate }{{fx.leaf, fx.inter}, {fx.inter, fx.root}} {
			if err := crl.validFor(c.cert, c.issuer, testNow); err != nil {
				if !errors.Is(err, ErrCRLSignature) && !errors.Is(err, ErrCRLExpired) && !errors.Is(err, ErrCRLUnsupported) {
					t.Fatalf("validFor error without sentinel: %v", err)
				}
			}
			crl.lookup(c.cert)
		}
	})
}

// FuzzIssuingDP exercises the hand-written IssuingDistributionPoint parser.
func FuzzIssuingDP(f *testing.F) {
	f.Add([]byte{0x30, 0x00})
	f.Add(idp(f, "http://crl.test/a.crl", true, false, true).Value)
	f.Add(idp(f, "", false, true, false).Value)
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := parseIssuingDP(data)
		if err == nil && !sc.present {
			t.Fatal("parsed scope not marked present")
		}
	})
}

// FuzzVerify feeds arbitrary end-entity and intermediate certificates to
// Verify with a fixed PKI and a local CRL directory: never a panic or a
// nil decision, a refusal always carries a kind sentinel, and an
// acceptance a chain ending at the configured root.
func FuzzVerify(f *testing.F) {
	fx := loadFixture(f)
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "root.crl"), fx.rootCRL, 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inter.crl"), fx.interCRL, 0o644); err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(Policy{RootCAs: []*x509.Certificate{fx.root}, Now: fixedNow,
		CRL: CRLPolicy{Dir: dir, DisableFetch: true}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { v.Close() })
	f.Add(fx.leaf.Raw, fx.inter.Raw)
	f.Add(fx.revokedLeaf.Raw, fx.inter.Raw)
	f.Add(fx.inter.Raw, fx.leaf.Raw)
	f.Add(fx.root.Raw, []byte{})
	f.Add(fx.leaf.Raw[:100], fx.inter.Raw[10:])
	f.Fuzz(func(t *testing.T, leaf, other []byte) {
		d := v.Verify(context.Background(), leaf, [][]byte{other})
		if d == nil {
			t.Fatal("nil decision")
		}
		if d.Accepted {
			if len(d.Chain) == 0 || !d.Chain[len(d.Chain)-1].Equal(fx.root) {
				t.Fatalf("accepted without a chain to the root:\n%s", d)
			}
			return
		}
		var te *Error
		if !errors.As(d.Err, &te) || failureCode(te.Kind) == "error" {
			t.Fatalf("refusal without kind: %v", d.Err)
		}
		_ = d.String()
	})
}

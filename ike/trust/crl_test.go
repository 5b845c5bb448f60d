package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// crlDirPKI writes the root's CRL (covering the intermediate) and the
// intermediate's CRL (revoking p.other) into a directory.
func crlDirPKI(t *testing.T, p *testPKI, this, next time.Time) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, this, next, nil))
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, this, next,
		[]revoked{{p.other, testNow.Add(-2 * time.Hour), 1}}))
	return dir
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func crlPolicy(p *testPKI, mode CRLMode, dir string) Policy {
	pol := p.policy(fixedNow)
	pol.CRL = CRLPolicy{Mode: mode, Dir: dir, DisableFetch: true}
	return pol
}

func TestLocalCRLGoodAndRevoked(t *testing.T) {
	for _, alg := range []string{"ecdsa", "rsa"} {
		t.Run(alg, func(t *testing.T) {
			p := newTestPKI(t, alg)
			dir := crlDirPKI(t, p, testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
			v := mustVerifier(t, crlPolicy(p, CRLRequire, dir))

			d := verify(t, v, p.leaf, p.inter)
			wantAccepted(t, d)
			var rev []Check
			for _, c := range d.Checks {
				if c.Name == CheckRevocation {
					rev = append(rev, c)
				}
			}
			if len(rev) != 2 || rev[0].Subject != p.leaf.cert.Subject.String() || rev[1].Subject != p.inter.cert.Subject.String() {
				t.Fatalf("want revocation checks for leaf and intermediate, got %+v", rev)
			}
			if rev[0].Revocation.Status != RevocationGood || rev[0].Revocation.Source != filepath.Join(dir, "inter.crl") {
				t.Fatalf("leaf revocation info %+v", rev[0].Revocation)
			}

			d = verify(t, v, p.other, p.inter)
			wantRefused(t, d, ErrRevoked, CheckRevocation)
			for _, want := range []string{
				"revoked at " + testNow.Add(-2*time.Hour).Format(time.RFC3339),
				"with reason keyCompromise",
				"by CRL from " + filepath.Join(dir, "inter.crl"),
				"issued at " + testNow.Add(-time.Hour).Format(time.RFC3339),
			} {
				if !strings.Contains(d.Reason, want) {
					t.Errorf("reason lacks %q: %s", want, d.Reason)
				}
			}
		})
	}
}

func TestRevokedIntermediate(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour),
		[]revoked{{p.inter, testNow.Add(-time.Hour), 2}}))
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
	d := verify(t, mustVerifier(t, crlPolicy(p, CRLRequire, dir)), p.leaf, p.inter)
	wantRefused(t, d, ErrRevoked, CheckRevocation)
	if d.Err.(*Error).Subject != p.inter.cert.Subject.String() || !strings.Contains(d.Reason, "cACompromise") {
		t.Fatalf("reason: %s", d.Reason)
	}
}

func TestCRLUnavailableFailClosedAndSoftFail(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	cases := []struct {
		name  string
		write func(dir string)
		cause error
	}{
		{"expired", func(dir string) {
			writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, testNow.Add(-48*time.Hour), testNow.Add(-time.Hour), nil))
			writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, testNow.Add(-48*time.Hour), testNow.Add(-time.Hour), nil))
		}, ErrCRLExpired},
		{"wrong key", func(dir string) {
			wrong := newKey(t, "ecdsa")
			writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, wrong, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
			writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, wrong, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
		}, ErrCRLSignature},
		{"missing", func(dir string) {}, ErrCRLUnavailable},
		{"delta", func(dir string) {
			delta := func(rl *x509.RevocationList) {
				rl.ExtraExtensions = append(rl.ExtraExtensions, pkix.Extension{Id: oidExtDeltaCRL, Critical: true, Value: []byte{2, 1, 1}})
			}
			writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil, delta))
			writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil, delta))
		}, ErrCRLUnsupported},
		{"unknown critical extension", func(dir string) {
			crit := func(rl *x509.RevocationList) {
				rl.ExtraExtensions = append(rl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})
			}
			writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil, crit))
			writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil, crit))
		}, ErrCRLUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.write(dir)
			d := verify(t, mustVerifier(t, crlPolicy(p, CRLRequire, dir)), p.leaf, p.inter)
			wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
			if !errors.Is(d.Err, tc.cause) {
				t.Fatalf("cause %v not in %v", tc.cause, d.Err)
			}
			d = verify(t, mustVerifier(t, crlPolicy(p, CRLSoftFail, dir)), p.leaf, p.inter)
			wantAccepted(t, d)
			if checkStatus(t, d, CheckRevocation) != StatusSkipped || !strings.Contains(d.Reason, "soft-fail") {
				t.Fatalf("soft-fail not reported:\n%s", d)
			}
		})
	}
}

func TestSoftFailStillRefusesRevoked(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := crlDirPKI(t, p, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	wantRefused(t, verify(t, mustVerifier(t, crlPolicy(p, CRLSoftFail, dir)), p.other, p.inter), ErrRevoked, CheckRevocation)
	// Off means off: the revoked certificate passes.
	d := verify(t, mustVerifier(t, crlPolicy(p, CRLOff, dir)), p.other, p.inter)
	wantAccepted(t, d)
}

func TestCRLReloadFromDir(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
	writeFile(t, filepath.Join(dir, "README.txt"), []byte("ignored"))
	v := mustVerifier(t, crlPolicy(p, CRLRequire, dir))
	wantAccepted(t, verify(t, v, p.leaf, p.inter))

	// A newer CRL revoking the leaf, written as PEM next to the old one.
	newer := makeCRL(t, p.inter, nil, testNow.Add(-time.Minute), testNow.Add(time.Hour), []revoked{{p.leaf, testNow.Add(-time.Minute), 4}})
	writeFile(t, filepath.Join(dir, "inter-2.pem"), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: newer}))
	wantAccepted(t, verify(t, v, p.leaf, p.inter)) // not yet reloaded
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	d := verify(t, v, p.leaf, p.inter)
	wantRefused(t, d, ErrRevoked, CheckRevocation)
	if !strings.Contains(d.Reason, "superseded") || !strings.Contains(d.Reason, "inter-2.pem") {
		t.Fatalf("newest CRL not used: %s", d.Reason)
	}

	// A corrupt file makes Reload fail and keeps the previous CRLs.
	writeFile(t, filepath.Join(dir, "broken.crl"), []byte("garbage"))
	if err := v.Reload(); !errors.Is(err, ErrMalformedCRL) || !strings.Contains(err.Error(), "broken.crl") {
		t.Fatalf("Reload with corrupt file: %v", err)
	}
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrRevoked, CheckRevocation)
	if _, err := NewVerifier(crlPolicy(p, CRLRequire, dir)); !errors.Is(err, ErrMalformedCRL) {
		t.Fatalf("NewVerifier with corrupt crl: %v", err)
	}
}

func TestCRLFiles(t *testing.T) {
	p := newTestPKI(t, "rsa")
	dir := crlDirPKI(t, p, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	pol := p.policy(fixedNow)
	pol.CRL = CRLPolicy{Files: []string{filepath.Join(dir, "root.crl"), filepath.Join(dir, "inter.crl")}, DisableFetch: true}
	v := mustVerifier(t, pol)
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	wantRefused(t, verify(t, v, p.other, p.inter), ErrRevoked, CheckRevocation)

	big := filepath.Join(dir, "big.crl")
	writeFile(t, big, make([]byte, 2048))
	pol.CRL = CRLPolicy{Files: []string{big}, MaxSize: 1024}
	if _, err := NewVerifier(pol); !errors.Is(err, ErrCRLTooLarge) {
		t.Fatalf("oversized crl file: %v", err)
	}
}

// idp encodes an IssuingDistributionPoint (RFC 5280, Section 5.2.5) with
// implicit tags, as a CA would.
func idp(t testing.TB, uri string, onlyUser, onlyCA, someReasons bool) pkix.Extension {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if uri != "" {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // distributionPoint
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // fullName
					b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(uri)) })
				})
			})
		}
		if onlyUser {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
		}
		if onlyCA {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
		}
		if someReasons {
			b.AddASN1(cbasn1.Tag(3).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte{6, 0x40}) })
		}
	})
	return pkix.Extension{Id: oidExtIssuingDP, Critical: true, Value: b.BytesOrPanic()}
}

func TestIssuingDistributionPointScope(t *testing.T) {
	const dp = "http://crl.test/inter.crl"
	p := newTestPKI(t, "ecdsa", func(c *x509.Certificate) { c.CRLDistributionPoints = []string{dp} })
	cases := []struct {
		name string
		ext  pkix.Extension
		ok   bool
	}{
		{"matching dp", idp(t, dp, false, false, false), true},
		{"other dp", idp(t, "http://crl.test/other.crl", false, false, false), false},
		{"only user certs", idp(t, "", true, false, false), true},
		{"only CA certs", idp(t, "", false, true, false), false},
		{"some reasons", idp(t, "", false, false, true), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil,
				func(rl *x509.RevocationList) { rl.ExtraExtensions = []pkix.Extension{tc.ext} })
			crl, err := ParseCRL(raw, "test", 0)
			if err != nil {
				t.Fatal(err)
			}
			if !crl.scope.present {
				t.Fatal("IDP not parsed")
			}
			err = crl.validFor(p.leaf.cert, p.inter.cert, testNow)
			if tc.ok != (err == nil) {
				t.Fatalf("validFor = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrCRLUnsupported) {
				t.Fatalf("scope error does not wrap ErrCRLUnsupported: %v", err)
			}
		})
	}
}

func TestParseCRLRejectsBadInput(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	good := makeCRL(t, p.root, nil, testNow, testNow.Add(time.Hour), nil)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("hello"),
		"truncated": good[:len(good)-10],
		"trailing":  append(append([]byte(nil), good...), 0),
		"pem other": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good}),
		"bad pem":   []byte("-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n"),
	} {
		if _, err := ParseCRL(data, name, 0); !errors.Is(err, ErrMalformedCRL) {
			t.Errorf("%s: err = %v, want ErrMalformedCRL", name, err)
		}
	}
	if _, err := ParseCRL(good, "big", 10); !errors.Is(err, ErrCRLTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	if c, err := ParseCRL(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: good}), "pem", 0); err != nil || c.List.ThisUpdate.IsZero() {
		t.Errorf("pem crl: %v", err)
	}
}

func TestRemoveFromCRLIsNotRevoked(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	raw := makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour),
		[]revoked{{p.leaf, testNow.Add(-time.Hour), 8}, {p.other, testNow.Add(-time.Hour), 6}})
	crl, err := ParseCRL(raw, "hold", 0)
	if err != nil {
		t.Fatal(err)
	}
	if crl.lookup(p.leaf.cert) != nil {
		t.Error("removeFromCRL entry counted as revoked")
	}
	if e := crl.lookup(p.other.cert); e == nil || ReasonString(e.ReasonCode) != "certificateHold" {
		t.Errorf("certificateHold entry: %+v", e)
	}
}

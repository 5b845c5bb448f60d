package labpki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/internal/labpki"
)

var (
	labNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	lab    *labpki.PKI
	labSrv *httptest.Server
)

// TestMain generates one lab PKI for all tests (RSA-3072 key generation is
// slow under -race) and serves its directory on loopback, so that the CRL
// distribution points in the certificates resolve.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "labpki-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	labSrv = httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer labSrv.Close()
	lab, err = labpki.Generate(labpki.Options{
		Dir:         dir,
		ServerNames: []string{"vpn.ikelab.test", "vpn2.ikelab.test"},
		ServerIPs:   []net.IP{net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10")},
		ClientNames: []string{"pc1.ikelab.test", "pc2.ikelab.test"},
		CRLBaseURL:  labSrv.URL + "/",
		Now:         func() time.Time { return labNow },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func verifier(t *testing.T, f *labpki.Family, crl trust.CRLPolicy) *trust.Verifier {
	t.Helper()
	v, err := trust.NewVerifier(trust.Policy{
		RootCAFiles: []string{f.Root.CertPath},
		Now:         func() time.Time { return labNow.Add(time.Hour) },
		CRL:         crl,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func verify(v *trust.Verifier, leaf *labpki.Issued, others ...*labpki.Issued) *trust.Decision {
	var ders [][]byte
	for _, o := range others {
		ders = append(ders, o.Cert.Raw)
	}
	return v.Verify(context.Background(), leaf.Cert.Raw, ders)
}

func TestGeneratedCertsVerify(t *testing.T) {
	for _, f := range lab.Families() {
		for name, crl := range map[string]trust.CRLPolicy{
			"local crl files": {Files: []string{f.RootCRL.Path, f.IntermediateCRL.Path}, DisableFetch: true},
			"http crl":        {},
		} {
			t.Run(f.Name+"/"+name, func(t *testing.T) {
				v := verifier(t, f, crl)
				for _, c := range f.Clients {
					if d := verify(v, c); !d.Accepted {
						t.Errorf("client %s refused:\n%s", c.Cert.Subject, d)
					}
				}
				if d := verify(v, f.IntermediateClient, f.Intermediate); !d.Accepted || len(d.Chain) != 3 {
					t.Errorf("intermediate chain refused:\n%s", d)
				}
				d := verify(v, f.Revoked)
				if d.Accepted || !errors.Is(d.Err, trust.ErrRevoked) {
					t.Errorf("revoked client not refused as revoked:\n%s", d)
				}
				d = verify(v, lab.Other.Clients[0], lab.Other.Root)
				if d.Accepted || !errors.Is(d.Err, trust.ErrUntrustedRoot) {
					t.Errorf("other root's client not refused as untrusted:\n%s", d)
				}
			})
		}
	}
}

func TestServerCertificate(t *testing.T) {
	for _, f := range lab.Families() {
		c := f.Server.Cert
		if c.Subject.CommonName != "vpn.ikelab.test" {
			t.Errorf("%s: CN %q", f.Name, c.Subject.CommonName)
		}
		wantDNS := []string{"vpn.ikelab.test", "vpn2.ikelab.test", "192.0.2.10", "2001:db8::10"}
		if !slices.Equal(c.DNSNames, wantDNS) {
			t.Errorf("%s: dNSName %v, want %v", f.Name, c.DNSNames, wantDNS)
		}
		if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("192.0.2.10")) || !c.IPAddresses[1].Equal(net.ParseIP("2001:db8::10")) {
			t.Errorf("%s: iPAddress %v", f.Name, c.IPAddresses)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
			len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(trust.OIDIKEIntermediate) {
			t.Errorf("%s: EKU %v %v", f.Name, c.ExtKeyUsage, c.UnknownExtKeyUsage)
		}
		if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			t.Errorf("%s: key usage %v", f.Name, c.KeyUsage)
		}
		if err := c.VerifyHostname("192.0.2.10"); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		// A client-side policy (what an initiator checks of the server).
		v, err := trust.NewVerifier(trust.Policy{RootCAs: []*x509.Certificate{f.Root.Cert}, AcceptedEKUs: []string{"serverAuth"},
			Now: func() time.Time { return labNow }, CRL: trust.CRLPolicy{Files: []string{f.RootCRL.Path}, DisableFetch: true}})
		if err != nil {
			t.Fatal(err)
		}
		if d := verify(v, f.Server); !d.Accepted {
			t.Errorf("%s: server refused:\n%s", f.Name, d)
		}
		v.Close()

		for _, cl := range append(f.Clients, f.Revoked, f.IntermediateClient) {
			cc := cl.Cert
			if !slices.Equal(cc.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) ||
				!slices.Equal(cc.DNSNames, []string{cc.Subject.CommonName}) {
				t.Errorf("%s: client %s EKU %v SAN %v", f.Name, cc.Subject, cc.ExtKeyUsage, cc.DNSNames)
			}
		}
	}
}

func TestKeysAndNames(t *testing.T) {
	if k, ok := lab.RSA.Root.Key.(*rsa.PrivateKey); !ok || k.N.BitLen() != 3072 {
		t.Errorf("RSA root key %T", lab.RSA.Root.Key)
	}
	if k, ok := lab.RSA.Clients[0].Key.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("RSA client key %T", lab.RSA.Clients[0].Key)
	}
	if k, ok := lab.ECDSA.Root.Key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("ECDSA root key %T", lab.ECDSA.Root.Key)
	}
	if got := lab.RSA.Root.Cert.Subject.CommonName; got != "ikelab Lab Root CA (RSA)" {
		t.Errorf("RSA root CN %q", got)
	}
	if lab.ECDSA.Server.Cert.NotBefore.After(labNow) || !lab.ECDSA.Server.Cert.NotAfter.After(labNow.Add(365*24*time.Hour)) {
		t.Errorf("validity %v..%v", lab.ECDSA.Server.Cert.NotBefore, lab.ECDSA.Server.Cert.NotAfter)
	}
	if !lab.ECDSA.Intermediate.Cert.MaxPathLenZero || len(lab.ECDSA.Server.Cert.SubjectKeyId) != 20 {
		t.Error("intermediate path length or leaf SKI missing")
	}
	wantCDP := labSrv.URL + "/ecdsa/root.crl"
	if !slices.Equal(lab.ECDSA.Clients[0].Cert.CRLDistributionPoints, []string{wantCDP}) || lab.ECDSA.RootCRL.URL != wantCDP {
		t.Errorf("CDP %v, crl url %q", lab.ECDSA.Clients[0].Cert.CRLDistributionPoints, lab.ECDSA.RootCRL.URL)
	}
}

func TestFilesAndPFX(t *testing.T) {
	for _, f := range append(lab.Families(), lab.Other) {
		all := []*labpki.Issued{f.Root}
		all = append(all, f.Clients...)
		if f.Name != "other" {
			all = append(all, f.Intermediate, f.Server, f.Revoked, f.IntermediateClient)
		}
		for _, is := range all {
			st, err := os.Stat(is.KeyPath)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v mode %v", is.KeyPath, err, st.Mode())
			}
			if is.DERPath != "" {
				der, err := os.ReadFile(is.DERPath)
				if err != nil || !bytes.Equal(der, is.Cert.Raw) {
					t.Errorf("%s: %v", is.DERPath, err)
				}
			}
			if is.PFXPath == "" {
				continue
			}
			data, err := os.ReadFile(is.PFXPath)
			if err != nil {
				t.Fatal(err)
			}
			key, cert, cas, err := pkcs12.DecodeChain(data, labpki.LabPassword)
			if err != nil {
				t.Fatalf("%s: %v", is.PFXPath, err)
			}
			if !cert.Equal(is.Cert) || !is.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.(crypto.Signer).Public()) {
				t.Errorf("%s: certificate or key differ", is.PFXPath)
			}
			if len(cas) == 0 || !cas[len(cas)-1].Equal(f.Root.Cert) {
				t.Errorf("%s: chain does not end at the root", is.PFXPath)
			}
			if _, _, _, err := pkcs12.DecodeChain(data, "wrong"); err == nil {
				t.Errorf("%s: decodes with a wrong password", is.PFXPath)
			}
		}
	}
	if len(lab.ECDSA.IntermediateClient.PFXPath) == 0 {
		t.Fatal("no pfx for the intermediate client")
	}
}

func TestGenerateIsIdempotentAndLoad(t *testing.T) {
	dir := copyDir(t, lab.Dir)
	before := fileTimes(t, dir)
	again, err := labpki.Generate(labpki.Options{Dir: dir, ClientNames: []string{"pc1.ikelab.test", "pc2.ikelab.test"}, Now: func() time.Time { return labNow }})
	if err != nil {
		t.Fatal(err)
	}
	if !again.RSA.Server.Cert.Equal(lab.RSA.Server.Cert) || !again.ECDSA.RootCRL.List.ThisUpdate.Equal(lab.ECDSA.RootCRL.List.ThisUpdate) {
		t.Fatal("Generate replaced existing certificates or CRLs")
	}
	if after := fileTimes(t, dir); !maps.EqualFunc(before, after, time.Time.Equal) {
		t.Fatal("Generate rewrote files")
	}
	loaded, err := labpki.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.ECDSA.Clients) != 2 || !loaded.ECDSA.Clients[1].Cert.Equal(lab.ECDSA.Clients[1].Cert) ||
		loaded.RSA.RootCRL.URL != lab.RSA.RootCRL.URL {
		t.Fatal("Load differs from Generate")
	}
	if _, err := labpki.Load(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Load of a missing directory succeeded")
	}

	// A deleted pfx is recreated; a deleted root makes the kept leaves
	// inconsistent, which is an error rather than a silent mix.
	os.Remove(again.ECDSA.Server.PFXPath)
	if _, err := labpki.Generate(labpki.Options{Dir: dir}); err != nil || !exists(again.ECDSA.Server.PFXPath) {
		t.Fatalf("pfx not recreated: %v", err)
	}
	os.Remove(again.ECDSA.Root.CertPath)
	os.Remove(again.ECDSA.Root.KeyPath)
	if _, err := labpki.Generate(labpki.Options{Dir: dir}); err == nil {
		t.Fatal("Generate accepted leaves of a replaced root")
	}
}

func TestRenewCRLs(t *testing.T) {
	dir := copyDir(t, lab.Dir)
	p, err := labpki.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	oldNumber := p.ECDSA.RootCRL.List.Number
	check := func() *trust.Decision {
		v := verifier(t, p.ECDSA, trust.CRLPolicy{Files: []string{p.ECDSA.RootCRL.Path}, DisableFetch: true})
		return verify(v, p.ECDSA.Clients[0])
	}
	// An expired CRL: unavailable, so refused (fail closed).
	if err := p.RenewCRLs(labNow.Add(-48*time.Hour), labNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d := check(); d.Accepted || !errors.Is(d.Err, trust.ErrCRLExpired) {
		t.Fatalf("expired CRL:\n%s", d)
	}
	if p.ECDSA.RootCRL.List.Number.Cmp(oldNumber) <= 0 || len(p.ECDSA.RootCRL.List.RevokedCertificateEntries) != 1 {
		t.Fatalf("renewed CRL number %v (was %v), entries %d", p.ECDSA.RootCRL.List.Number, oldNumber, len(p.ECDSA.RootCRL.List.RevokedCertificateEntries))
	}
	if err := p.RenewCRLs(labNow, labNow.Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d := check(); !d.Accepted {
		t.Fatalf("fresh CRL:\n%s", d)
	}
	if err := p.RenewCRLs(labNow, labNow); err == nil {
		t.Fatal("nextUpdate == thisUpdate accepted")
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := labpki.Generate(labpki.Options{}); err == nil {
		t.Fatal("empty Dir accepted")
	}
	if _, err := labpki.Generate(labpki.Options{Dir: t.TempDir(), ClientNames: []string{"../evil"}}); err == nil {
		t.Fatal("client name with a path separator accepted")
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func fileTimes(t *testing.T, dir string) map[string]time.Time {
	out := map[string]time.Time{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			out[p] = info.ModTime()
		}
		return nil
	})
	return out
}

func TestP384RootAndInjectedRand(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	stream := mrand.NewChaCha8(seed)
	first := make([]byte, 16)
	mrand.NewChaCha8(seed).Read(first)
	first[0] = first[0]&0x7f | 0x40

	p, err := labpki.Generate(labpki.Options{Dir: t.TempDir(), ECDSARootCurve: elliptic.P384(), Rand: stream,
		Now: func() time.Time { return labNow }})
	if err != nil {
		t.Fatal(err)
	}
	if k := p.ECDSA.Root.Key.(*ecdsa.PrivateKey); k.Curve != elliptic.P384() {
		t.Fatalf("root curve %v", k.Curve.Params().Name)
	}
	if k := p.ECDSA.Clients[0].Key.(*ecdsa.PrivateKey); k.Curve != elliptic.P256() {
		t.Fatalf("leaf curve %v", k.Curve.Params().Name)
	}
	// Key generation ignores Rand (Go 1.26), so the root's serial is the
	// first 16 bytes of the stream.
	if got := p.ECDSA.Root.Cert.SerialNumber.Bytes(); !bytes.Equal(got, first) {
		t.Fatalf("root serial %x, want %x from Options.Rand", got, first)
	}
	if !p.ECDSA.Root.Cert.NotBefore.Equal(labNow.Add(-time.Hour)) {
		t.Fatalf("NotBefore %v does not follow Options.Now", p.ECDSA.Root.Cert.NotBefore)
	}
	v := verifier(t, p.ECDSA, trust.CRLPolicy{Files: []string{p.ECDSA.RootCRL.Path}, DisableFetch: true})
	if d := verify(v, p.ECDSA.Clients[0]); !d.Accepted {
		t.Fatalf("P-384 root chain refused:\n%s", d)
	}
}

package labpki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
)

// gen creates (or, with create false, only loads) the artifacts.
type gen struct {
	o      Options
	create bool
}

// keyKind says which key a certificate gets.
type keyKind int

const (
	keyLeaf keyKind = iota
	keyCA
)

func (g *gen) newKey(family string, kind keyKind) (crypto.Signer, error) {
	switch {
	case family == familyRSA && kind == keyCA:
		return rsa.GenerateKey(g.o.Rand, rsaRootBits)
	case family == familyRSA:
		return rsa.GenerateKey(g.o.Rand, rsaLeafBits)
	case family == familyECDSA && kind == keyCA:
		return ecdsa.GenerateKey(g.o.ECDSARootCurve, g.o.Rand)
	default:
		return ecdsa.GenerateKey(elliptic.P256(), g.o.Rand)
	}
}

// spec describes one certificate to load or create.
type spec struct {
	family   string
	dir      string
	base     string // file name without extension
	kind     keyKind
	tmpl     *x509.Certificate
	parent   *Issued   // nil: self-signed
	chain    []*Issued // issuers up to the root, for the pfx
	validity time.Duration
	pfx, der bool
}

func (g *gen) family(name string) (*Family, error) {
	dir := filepath.Join(g.o.Dir, name)
	if g.create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("labpki: %w", err)
		}
	}
	label := "ECDSA"
	if name == familyRSA {
		label = "RSA"
	}
	f := &Family{Name: name, Dir: dir}
	var err error
	rootCRL, interCRL := g.crlURL(name, "root"), g.crlURL(name, "intermediate")

	if f.Root, err = g.issued(spec{family: name, dir: dir, base: "root", kind: keyCA, der: true,
		tmpl: caTemplate("ikelab Lab Root CA ("+label+")", -1, ""), validity: g.o.CAValidity}); err != nil {
		return nil, err
	}
	root := []*Issued{f.Root}
	if f.Intermediate, err = g.issued(spec{family: name, dir: dir, base: "intermediate", kind: keyCA, parent: f.Root,
		tmpl: caTemplate("ikelab Lab Intermediate CA ("+label+")", 0, rootCRL), validity: g.o.CAValidity}); err != nil {
		return nil, err
	}
	if f.Server, err = g.issued(spec{family: name, dir: dir, base: "server", parent: f.Root, chain: root, pfx: true,
		tmpl: g.serverTemplate(name, rootCRL), validity: g.o.LeafValidity}); err != nil {
		return nil, err
	}
	clients := g.o.ClientNames
	if !g.create {
		if clients, err = clientNames(dir); err != nil {
			return nil, fmt.Errorf("labpki: %w", err)
		}
	}
	for _, c := range clients {
		is, err := g.issued(spec{family: name, dir: dir, base: "client-" + c, parent: f.Root, chain: root, pfx: true,
			tmpl: clientTemplate(name, c, rootCRL), validity: g.o.LeafValidity})
		if err != nil {
			return nil, err
		}
		f.Clients = append(f.Clients, is)
	}
	if f.Revoked, err = g.issued(spec{family: name, dir: dir, base: "revoked", parent: f.Root, chain: root, pfx: true,
		tmpl: clientTemplate(name, g.o.RevokedName, rootCRL), validity: g.o.LeafValidity}); err != nil {
		return nil, err
	}
	if f.IntermediateClient, err = g.issued(spec{family: name, dir: dir, base: "inter-client", parent: f.Intermediate,
		chain: []*Issued{f.Intermediate, f.Root}, pfx: true,
		tmpl: clientTemplate(name, g.o.InterClientName, interCRL), validity: g.o.LeafValidity}); err != nil {
		return nil, err
	}
	// The CRLs' URLs are what the certificates name, which for kept
	// certificates may differ from the current Options.
	rootCRL, interCRL = firstCDP(f.Revoked.Cert), firstCDP(f.IntermediateClient.Cert)
	if f.RootCRL, err = g.crl(filepath.Join(dir, "root.crl"), rootCRL, f.Root, []*Issued{f.Revoked}); err != nil {
		return nil, err
	}
	if f.IntermediateCRL, err = g.crl(filepath.Join(dir, "intermediate.crl"), interCRL, f.Intermediate, nil); err != nil {
		return nil, err
	}
	return f, nil
}

func (g *gen) other() (*Family, error) {
	dir := filepath.Join(g.o.Dir, familyOther)
	if g.create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("labpki: %w", err)
		}
	}
	f := &Family{Name: familyOther, Dir: dir}
	var err error
	if f.Root, err = g.issued(spec{family: familyOther, dir: dir, base: "root", kind: keyCA, der: true,
		tmpl: caTemplate("ikelab Other Root CA (not accepted)", -1, ""), validity: g.o.CAValidity}); err != nil {
		return nil, err
	}
	c, err := g.issued(spec{family: familyOther, dir: dir, base: "client", parent: f.Root, chain: []*Issued{f.Root}, pfx: true,
		tmpl: clientTemplate(familyOther, g.o.OtherClientName, ""), validity: g.o.LeafValidity})
	if err != nil {
		return nil, err
	}
	f.Clients = []*Issued{c}
	return f, nil
}

func firstCDP(c *x509.Certificate) string {
	if len(c.CRLDistributionPoints) == 0 {
		return ""
	}
	return c.CRLDistributionPoints[0]
}

func (g *gen) crlURL(family, ca string) string {
	if g.o.CRLBaseURL == "" {
		return ""
	}
	return g.o.CRLBaseURL + "/" + family + "/" + ca + ".crl"
}

var labSubject = []string{"ikelab lab"}

// caTemplate returns a CA template; maxPathLen -1 means unlimited.
func caTemplate(cn string, maxPathLen int, crlURL string) *x509.Certificate {
	t := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: labSubject},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
	if crlURL != "" {
		t.CRLDistributionPoints = []string{crlURL}
	}
	return t
}

// leafKeyUsage: RSA keys also get keyEncipherment, as Windows' templates
// do; an ECDSA key cannot encipher, so it gets digitalSignature only.
func leafKeyUsage(family string) x509.KeyUsage {
	if family == familyRSA {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}

func (g *gen) serverTemplate(family, crlURL string) *x509.Certificate {
	t := &x509.Certificate{
		Subject:            pkix.Name{CommonName: g.o.ServerNames[0], Organization: labSubject},
		DNSNames:           append([]string(nil), g.o.ServerNames...),
		KeyUsage:           leafKeyUsage(family),
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{trust.OIDIKEIntermediate},
	}
	for _, ip := range g.o.ServerIPs {
		t.IPAddresses = append(t.IPAddresses, ip)
		t.DNSNames = append(t.DNSNames, ip.String())
	}
	if crlURL != "" {
		t.CRLDistributionPoints = []string{crlURL}
	}
	return t
}

func clientTemplate(family, name, crlURL string) *x509.Certificate {
	t := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: labSubject},
		DNSNames:    []string{name},
		KeyUsage:    leafKeyUsage(family),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if crlURL != "" {
		t.CRLDistributionPoints = []string{crlURL}
	}
	return t
}

// issued loads the certificate and key of s if both files exist, checking
// that they belong together and to s.parent, and otherwise creates them.
// Missing derived files (.cer, .pfx) are written either way.
func (g *gen) issued(s spec) (*Issued, error) {
	is := &Issued{
		CertPath: filepath.Join(s.dir, s.base+".pem"),
		KeyPath:  filepath.Join(s.dir, s.base+".key"),
	}
	if s.pfx {
		is.PFXPath = filepath.Join(s.dir, s.base+".pfx")
	}
	if s.der {
		is.DERPath = filepath.Join(s.dir, s.base+".cer")
	}
	cert, key, err := readPair(is.CertPath, is.KeyPath)
	switch {
	case err == nil:
		if err := checkIssued(cert, key, s.parent, is.CertPath); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist) && g.create:
		if exists(is.CertPath) || exists(is.KeyPath) {
			return nil, fmt.Errorf("labpki: only one of %s and %s exists; remove it to regenerate", is.CertPath, is.KeyPath)
		}
		if cert, key, err = g.createCert(s); err != nil {
			return nil, err
		}
		if err := writeCert(is.CertPath, cert); err != nil {
			return nil, err
		}
		if err := writeKey(is.KeyPath, key); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	is.Cert, is.Key = cert, key

	if is.DERPath != "" && !exists(is.DERPath) {
		if !g.create {
			return nil, fmt.Errorf("labpki: %s missing", is.DERPath)
		}
		if err := writeFile(is.DERPath, cert.Raw, 0o644); err != nil {
			return nil, err
		}
	}
	if is.PFXPath != "" && !exists(is.PFXPath) {
		if !g.create {
			return nil, fmt.Errorf("labpki: %s missing", is.PFXPath)
		}
		if err := writePFX(is.PFXPath, is, s.chain, g.o.PFXPassword, g.o.Rand); err != nil {
			return nil, err
		}
	}
	return is, nil
}

func checkIssued(cert *x509.Certificate, key crypto.Signer, parent *Issued, path string) error {
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return fmt.Errorf("labpki: %s and its key do not match; remove both to regenerate", path)
	}
	issuer := cert
	if parent != nil {
		issuer = parent.Cert
	}
	if !bytes.Equal(cert.RawIssuer, issuer.RawSubject) || cert.CheckSignatureFrom(issuer) != nil {
		return fmt.Errorf("labpki: %s was not issued by %s (was the CA regenerated?); remove it to regenerate", path, issuer.Subject)
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func (g *gen) createCert(s spec) (*x509.Certificate, crypto.Signer, error) {
	key, err := g.newKey(s.family, s.kind)
	if err != nil {
		return nil, nil, fmt.Errorf("labpki: generating key for %s: %w", s.base, err)
	}
	serial, err := g.serial()
	if err != nil {
		return nil, nil, err
	}
	now := g.o.Now()
	t := *s.tmpl
	t.SerialNumber = serial
	t.NotBefore = now.Add(-backdate)
	t.NotAfter = now.Add(s.validity)
	if t.SubjectKeyId, err = subjectKeyID(key.Public()); err != nil {
		return nil, nil, err
	}
	parent, signer := &t, key
	if s.parent != nil {
		parent, signer = s.parent.Cert, s.parent.Key
		// A certificate must not outlive its issuer (RFC 5280, Section 6.1.3 (a)(2) would reject the chain after that).
		if t.NotAfter.After(parent.NotAfter) {
			t.NotAfter = parent.NotAfter
		}
	}
	der, err := x509.CreateCertificate(g.o.Rand, &t, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, fmt.Errorf("labpki: creating %s: %w", s.base, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("labpki: parsing %s: %w", s.base, err)
	}
	return cert, key, nil
}

// serial returns a positive 127-bit serial (RFC 5280, Section 4.1.2.2:
// at most 20 octets, positive; CA/B guidance: at least 64 random bits).
func (g *gen) serial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(g.o.Rand, b); err != nil {
		return nil, fmt.Errorf("labpki: reading serial: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never zero, always 16 octets
	return new(big.Int).SetBytes(b), nil
}

// subjectKeyID is the leftmost 160 bits of the SHA-256 of the
// subjectPublicKey bits (RFC 7093, Section 2, method 1).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("labpki: %w", err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("labpki: %w", err)
	}
	sum := sha256.Sum256(info.PublicKey.Bytes)
	return sum[:20], nil
}

package labpki

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// LabPassword protects every .pfx file unless Options.PFXPassword is set.
// It is a lab password, published here on purpose: these keys guard
// nothing but test tunnels.
const LabPassword = "ikelab"

// Defaults for zero Options fields.
const (
	DefaultServerName        = "vpn.ikelab.test"
	DefaultClientName        = "client1.ikelab.test"
	DefaultRevokedName       = "revoked.ikelab.test"
	DefaultInterClientName   = "inter-client.ikelab.test"
	DefaultOtherClientName   = "intruder.ikelab.test"
	DefaultCAValidity        = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity      = 2 * 365 * 24 * time.Hour
	DefaultCRLValidity       = 30 * 24 * time.Hour
	rsaRootBits, rsaLeafBits = 3072, 2048
	familyECDSA, familyRSA   = "ecdsa", "rsa"
	familyOther              = "other"
	backdate                 = time.Hour // NotBefore margin for clock skew
)

// Options configures Generate. Zero fields take the documented defaults.
type Options struct {
	// Dir is where the files go; created if missing. Required.
	Dir string
	// ServerNames are the server's DNS names (default vpn.ikelab.test).
	// The first is also the subject CN.
	ServerNames []string
	// ServerIPs are the server's addresses, put in the SAN both as
	// iPAddress and as dNSName strings (Windows compares the dialled name,
	// an IP literal included, with dNSName entries).
	ServerIPs []net.IP
	// ClientNames are machine FQDNs; one client certificate per name
	// (default client1.ikelab.test).
	ClientNames []string
	// RevokedName, InterClientName and OtherClientName name the revoked
	// client, the client under the intermediate, and the client of the
	// unaccepted root.
	RevokedName     string
	InterClientName string
	OtherClientName string
	// CRLBaseURL, e.g. "http://10.99.0.1:8080", makes every certificate
	// point to its issuer's CRL at <CRLBaseURL>/<family>/<ca>.crl, the
	// path of the file under Dir. Empty: no CRL distribution points.
	CRLBaseURL string
	// ECDSARootCurve is the curve of the ECDSA CAs (default P-256; P-384
	// works too). ECDSA leaves always use P-256.
	ECDSARootCurve elliptic.Curve
	// CAValidity, LeafValidity and CRLValidity (nextUpdate - thisUpdate)
	// default to 10 years, 2 years and 30 days.
	CAValidity   time.Duration
	LeafValidity time.Duration
	CRLValidity  time.Duration
	// PFXPassword protects the .pfx files (default LabPassword).
	PFXPassword string
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Rand supplies serial numbers and pfx salts (default crypto/rand).
	Rand io.Reader
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("labpki: Options.Dir is required")
	}
	if len(o.ServerNames) == 0 {
		o.ServerNames = []string{DefaultServerName}
	}
	if len(o.ClientNames) == 0 {
		o.ClientNames = []string{DefaultClientName}
	}
	for _, n := range o.ClientNames {
		if n == "" || strings.ContainsAny(n, `/\`) {
			return o, fmt.Errorf("labpki: client name %q is not a usable file name", n)
		}
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.RevokedName, DefaultRevokedName)
	def(&o.InterClientName, DefaultInterClientName)
	def(&o.OtherClientName, DefaultOtherClientName)
	def(&o.PFXPassword, LabPassword)
	o.CRLBaseURL = strings.TrimRight(o.CRLBaseURL, "/")
	if o.ECDSARootCurve == nil {
		o.ECDSARootCurve = elliptic.P256()
	}
	if o.CAValidity == 0 {
		o.CAValidity = DefaultCAValidity
	}
	if o.LeafValidity == 0 {
		o.LeafValidity = DefaultLeafValidity
	}
	if o.CRLValidity == 0 {
		o.CRLValidity = DefaultCRLValidity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o, nil
}

// PKI is a generated or loaded lab PKI.
type PKI struct {
	// Dir is the top directory.
	Dir string
	// Password protects the .pfx files.
	Password string
	// ECDSA and RSA are the two accepted families.
	ECDSA, RSA *Family
	// Other is the unaccepted root; only Root and Clients[0] are set.
	Other *Family
}

// Families returns the accepted families, ECDSA first.
func (p *PKI) Families() []*Family { return []*Family{p.ECDSA, p.RSA} }

// Family is one root CA and what it issued.
type Family struct {
	// Name is "ecdsa", "rsa" or "other"; Dir is Dir/Name.
	Name, Dir string
	// Root is the self-signed root CA.
	Root *Issued
	// Intermediate is issued by Root; nil in the "other" family.
	Intermediate *Issued
	// Server is the IKE server certificate, issued by Root.
	Server *Issued
	// Clients are the client machine certificates, issued by Root.
	Clients []*Issued
	// Revoked is a client certificate that RootCRL lists.
	Revoked *Issued
	// IntermediateClient is a client certificate issued by Intermediate.
	IntermediateClient *Issued
	// RootCRL and IntermediateCRL are the CAs' CRLs.
	RootCRL, IntermediateCRL *CRL
}

// Issued is a certificate with its key and files.
type Issued struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CertPath (PEM) and KeyPath (PKCS#8 PEM) always exist; PFXPath for
	// end-entity certificates, DERPath (.cer) for roots.
	CertPath, KeyPath, PFXPath, DERPath string
}

// CRL is a CA's certificate revocation list.
type CRL struct {
	List *x509.RevocationList
	DER  []byte
	Path string
	// URL is the distribution point named in certificates, if any.
	URL string
}

// Generate creates the lab PKI in opts.Dir, keeping files that exist.
func Generate(opts Options) (*PKI, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return build(o, true)
}

// Load reads a lab PKI created by Generate, creating nothing. Every client
// certificate in each family (client-*.pem) is loaded.
func Load(dir string) (*PKI, error) {
	o, err := Options{Dir: dir}.withDefaults()
	if err != nil {
		return nil, err
	}
	o.ClientNames = nil
	return build(o, false)
}

func build(o Options, create bool) (*PKI, error) {
	if create {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("labpki: %w", err)
		}
	} else if _, err := os.Stat(o.Dir); err != nil {
		return nil, fmt.Errorf("labpki: %w", err)
	}
	g := &gen{o: o, create: create}
	p := &PKI{Dir: o.Dir, Password: o.PFXPassword}
	var err error
	if p.ECDSA, err = g.family(familyECDSA); err != nil {
		return nil, err
	}
	if p.RSA, err = g.family(familyRSA); err != nil {
		return nil, err
	}
	if p.Other, err = g.other(); err != nil {
		return nil, err
	}
	return p, nil
}

// clientNames lists the client-NAME.pem files of a family directory.
func clientNames(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "client-*.pem"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "client-"), ".pem"))
	}
	sort.Strings(names)
	return names, nil
}

package trust

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by NewVerifier to zero fields of Policy and CRLPolicy.
const (
	// DefaultBudget bounds how long one Verify waits for revocation data.
	// IKE initiators retransmit after about 0.5-2 s (RFC 7296, Section
	// 2.1 leaves the timers to the implementation; Windows starts near
	// 1 s), so a budget of 2 s answers before the second retransmission.
	DefaultBudget = 2 * time.Second
	// DefaultFetchTimeout bounds one HTTP CRL fetch. It may outlive the
	// budget: the late result fills the cache for the retransmission.
	DefaultFetchTimeout = 15 * time.Second
	// DefaultMaxCRLSize is the largest CRL accepted, from HTTP or a file.
	DefaultMaxCRLSize = 10 << 20
	// DefaultRefreshBefore is how long before nextUpdate a cached CRL is
	// fetched again in the background.
	DefaultRefreshBefore = 15 * time.Minute
	// DefaultRetryAfter is how long a failed or stale fetch is remembered
	// before the same URL is tried again, so that a dead distribution
	// point is not hit by every retransmitted IKE_AUTH.
	DefaultRetryAfter = 30 * time.Second
	// DefaultNoNextUpdateTTL is how long a fetched CRL without nextUpdate
	// is served from cache before it is fetched again.
	DefaultNoNextUpdateTTL = time.Hour
)

// maxPeerCertificates bounds the number of extra CERT payloads considered,
// and maxCertificateSize the size of one; RFC 7296 does not limit them, but
// a real chain has a handful of certificates of a few KiB.
const (
	maxPeerCertificates = 16
	maxCertificateSize  = 64 << 10
)

// CRLMode selects how revocation is enforced.
type CRLMode string

const (
	// CRLRequire checks revocation and refuses the peer when no valid CRL
	// (or OCSP response) can be obtained: fail closed. It is the zero
	// value's meaning and corresponds to RRAS CertAuthFlags = 4.
	CRLRequire CRLMode = "require"
	// CRLSoftFail checks revocation and refuses revoked certificates, but
	// accepts a certificate whose status cannot be obtained.
	CRLSoftFail CRLMode = "soft-fail"
	// CRLOff does not check revocation at all.
	CRLOff CRLMode = "off"
)

// UnmarshalText accepts the mode names case-insensitively, plus the
// aliases "on"/"hard-fail" for require and "softfail" for soft-fail.
func (m *CRLMode) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "", "require", "on", "hard-fail", "hardfail":
		*m = CRLRequire
	case "soft-fail", "softfail", "soft":
		*m = CRLSoftFail
	case "off", "none", "disabled":
		*m = CRLOff
	default:
		return fmt.Errorf("trust: unknown crl mode %q (want require, soft-fail or off)", b)
	}
	return nil
}

func (m CRLMode) normalize() (CRLMode, error) {
	var out CRLMode
	err := out.UnmarshalText([]byte(m))
	return out, err
}

// Policy is the peer-certificate trust configuration. The zero value is not
// usable: at least one root is required. Zero fields take the defaults
// documented on each field.
type Policy struct {
	// RootCAFiles are PEM (one or more CERTIFICATE blocks) or DER files
	// holding the accepted root CAs. The system trust store is never used.
	RootCAFiles []string `yaml:"root_ca_files"`
	// RootCAs are accepted root CAs given programmatically, in addition
	// to RootCAFiles.
	RootCAs []*x509.Certificate `yaml:"-"`
	// RootName, when set, keeps only the configured root whose subject
	// common name or full RFC 4514 DN equals it; like RRAS
	// RootCertificateNameToAccept. NewVerifier fails if none matches.
	RootName string `yaml:"root_name"`
	// IntermediateFiles are PEM or DER files with intermediate CAs that
	// may complete a chain when the peer does not send them. They are
	// never trust anchors.
	IntermediateFiles []string `yaml:"intermediate_files"`
	// Intermediates are intermediate CAs given programmatically.
	Intermediates []*x509.Certificate `yaml:"-"`
	// AcceptedEKUs lists the extended key usages of which the end-entity
	// certificate must carry at least one: names (serverAuth, clientAuth,
	// ipsecIKE, ikeIntermediate, ipsecEndSystem, ipsecTunnel, ipsecUser,
	// any) or dotted OIDs. Empty means clientAuth and ikeIntermediate
	// (1.3.6.1.5.5.8.2.2), what Windows RRAS accepts from clients. "any"
	// disables the requirement. A CA in the chain that has an EKU
	// extension must allow the purpose too (EKU nesting, as Windows does).
	AcceptedEKUs []string `yaml:"accepted_ekus"`
	// RequireEKUExtension refuses an end-entity certificate that has no
	// EKU extension. By default such a certificate counts as valid for any
	// purpose (RFC 5280, Section 4.2.1.12), as Windows and strongSwan do.
	RequireEKUExtension bool `yaml:"require_eku_extension"`
	// AllowNonRepudiation accepts an end-entity KeyUsage extension that
	// has nonRepudiation but not digitalSignature, which RFC 4945, Section
	// 5.1.3.2, permits. By default digitalSignature is required.
	AllowNonRepudiation bool `yaml:"allow_non_repudiation"`
	// CRL configures revocation checking.
	CRL CRLPolicy `yaml:"crl"`

	// Now returns the current time; nil means time.Now. Used for
	// certificate and CRL validity and for the CRL cache.
	Now func() time.Time `yaml:"-"`
	// HTTPClient fetches CRLs and OCSP responses; nil means a client with
	// Go's default transport that follows at most three redirects, all to
	// http URLs. Timeouts come from CRLPolicy, not from the client.
	HTTPClient *http.Client `yaml:"-"`
}

// CRLPolicy configures revocation checking.
type CRLPolicy struct {
	// Mode is require (the default: fail closed), soft-fail or off.
	Mode CRLMode `yaml:"mode"`
	// Files are CRL files (DER, or PEM with one or more "X509 CRL"
	// blocks) read at start and on Reload.
	Files []string `yaml:"files"`
	// Dir is a directory whose *.crl, *.der and *.pem files are read as
	// CRLs at start and on Reload. Other files are ignored.
	Dir string `yaml:"dir"`
	// DisableFetch turns off fetching from the http:// CRL distribution
	// points of certificates; only Files and Dir are used then.
	DisableFetch bool `yaml:"disable_fetch"`
	// Budget is the total time one Verify waits for revocation data
	// (default 2 s). Past it the status is unavailable; fetches continue
	// in the background and fill the cache.
	Budget time.Duration `yaml:"budget"`
	// FetchTimeout bounds one HTTP fetch including the body (default 15 s).
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// MaxSize is the largest CRL accepted, in bytes (default 10 MiB).
	MaxSize int64 `yaml:"max_size"`
	// RefreshBefore is how long before nextUpdate a cached CRL is fetched
	// again in the background (default 15 min; at most half of the CRL's
	// remaining lifetime).
	RefreshBefore time.Duration `yaml:"refresh_before"`
	// RetryAfter is how long a failed fetch (or one that returned a stale
	// CRL) is remembered before that URL is tried again (default 30 s).
	RetryAfter time.Duration `yaml:"retry_after"`
	// NoNextUpdateTTL is how long a fetched CRL without nextUpdate is
	// cached (default 1 h). Such a CRL never counts as expired.
	NoNextUpdateTTL time.Duration `yaml:"no_next_update_ttl"`
	// OCSP asks the http:// OCSP responders named in a certificate's
	// Authority Information Access extension when no valid CRL was found.
	OCSP bool `yaml:"ocsp"`
}

// withDefaults returns a copy of c with zero fields set to the defaults.
func (c CRLPolicy) withDefaults() (CRLPolicy, error) {
	var err error
	if c.Mode, err = c.Mode.normalize(); err != nil {
		return c, err
	}
	if c.Budget < 0 || c.FetchTimeout < 0 || c.MaxSize < 0 || c.RefreshBefore < 0 ||
		c.RetryAfter < 0 || c.NoNextUpdateTTL < 0 {
		return c, fmt.Errorf("trust: negative crl durations or sizes are not allowed")
	}
	if c.Budget == 0 {
		c.Budget = DefaultBudget
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = DefaultFetchTimeout
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxCRLSize
	}
	if c.RefreshBefore == 0 {
		c.RefreshBefore = DefaultRefreshBefore
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.NoNextUpdateTTL == 0 {
		c.NoNextUpdateTTL = DefaultNoNextUpdateTTL
	}
	return c, nil
}

// Extended key usage OIDs.
var (
	oidEKUAny             = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
	oidEKUServerAuth      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidEKUClientAuth      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	oidEKUIPSecEndSystem  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 5}
	oidEKUIPSecTunnel     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 6}
	oidEKUIPSecUser       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 7}
	oidEKUIPSecIKE        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 17} // RFC 4945, Section 5.1.3.12
	oidEKUIKEIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}  // Microsoft's "IP security IKE intermediate"
)

// OIDIKEIntermediate is the "IP security IKE intermediate" EKU
// (1.3.6.1.5.5.8.2.2) that Windows puts on IKE certificates. Go's x509
// package does not know it.
var OIDIKEIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}

var ekuNames = []struct {
	name string
	oid  asn1.ObjectIdentifier
}{
	{"any", oidEKUAny},
	{"serverAuth", oidEKUServerAuth},
	{"clientAuth", oidEKUClientAuth},
	{"ipsecEndSystem", oidEKUIPSecEndSystem},
	{"ipsecTunnel", oidEKUIPSecTunnel},
	{"ipsecUser", oidEKUIPSecUser},
	{"ipsecIKE", oidEKUIPSecIKE},
	{"ikeIntermediate", oidEKUIKEIntermediate},
	{"codeSigning", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}},
	{"emailProtection", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}},
	{"timeStamping", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}},
	{"OCSPSigning", asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}},
}

// ekuName returns the friendly name of an EKU OID, or its dotted form.
func ekuName(oid asn1.ObjectIdentifier) string {
	for _, e := range ekuNames {
		if e.oid.Equal(oid) {
			return e.name
		}
	}
	return oid.String()
}

// parseEKU turns a name (case-insensitive) or a dotted OID into an OID.
func parseEKU(s string) (asn1.ObjectIdentifier, error) {
	s = strings.TrimSpace(s)
	for _, e := range ekuNames {
		if strings.EqualFold(e.name, s) {
			return e.oid, nil
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("trust: unknown extended key usage %q", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("trust: unknown extended key usage %q", s)
		}
		oid[i] = n
	}
	return oid, nil
}

// defaultEKUs is what RRAS accepts from IKEv2 machine-certificate clients.
var defaultEKUs = []string{"clientAuth", "ikeIntermediate"}

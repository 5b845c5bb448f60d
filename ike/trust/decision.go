package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Check names, in the order Verify runs them.
const (
	CheckParse      = "parse"
	CheckValidity   = "validity"
	CheckChain      = "chain"
	CheckKeyUsage   = "key-usage"
	CheckEKU        = "eku"
	CheckRevocation = "revocation"
)

// Status is the outcome of one check.
type Status string

const (
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
)

// Check is one named step of a Decision.
type Check struct {
	// Name is one of the Check* constants.
	Name string `json:"name"`
	// Status is ok, failed or skipped.
	Status Status `json:"status"`
	// Subject is the certificate the check is about, when it concerns one
	// certificate of the chain (revocation checks do).
	Subject string `json:"subject,omitempty"`
	// Detail is a sentence for a person.
	Detail string `json:"detail"`
	// Revocation is the revocation status found, for revocation checks.
	Revocation *RevocationInfo `json:"revocation,omitempty"`
}

// RevocationInfo is the revocation status of one certificate.
type RevocationInfo struct {
	// Status is "good", "revoked", "unavailable" or "not-checked".
	Status string `json:"status"`
	// Serial is the certificate serial number in hex.
	Serial string `json:"serial"`
	// Method is "crl" or "ocsp" when a source decided.
	Method string `json:"method,omitempty"`
	// Source is the URL or file the deciding CRL or response came from.
	Source string `json:"source,omitempty"`
	// ThisUpdate and NextUpdate are those of the deciding CRL/response.
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	// RevokedAt and Reason are set for revoked certificates.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// Problems lists why other sources could not be used.
	Problems []string `json:"problems,omitempty"`
}

// CertInfo identifies one certificate of the chain in a Decision.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// SHA256 is the fingerprint of the DER certificate, in hex.
	SHA256 string `json:"sha256"`
}

func certInfo(c *x509.Certificate) CertInfo {
	sum := sha256.Sum256(c.Raw)
	return CertInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Serial:    serialHex(c),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		SHA256:    hex.EncodeToString(sum[:]),
	}
}

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return "0x" + c.SerialNumber.Text(16)
}

// Decision is the outcome of Verify: the verdict, the chain, and every
// check with its result, for the IKE engine's audit record and the CLI.
type Decision struct {
	// Accepted is the verdict.
	Accepted bool `json:"accepted"`
	// Reason is one line for the audit record: why accepted or refused.
	Reason string `json:"reason"`
	// Failure is a short code for the failed check's kind ("revoked",
	// "untrusted-root", "crl-unavailable", ...), empty when accepted.
	Failure string `json:"failure,omitempty"`
	// Time is the verification time (Policy.Now).
	Time time.Time `json:"time"`
	// Subject is the end-entity certificate's subject, if it parsed.
	Subject string `json:"subject,omitempty"`
	// ChainInfo describes Chain, end entity first, root last. Like Leaf
	// and Chain it may be shared with other Decisions and with the
	// Verifier's path cache, and must not be modified.
	ChainInfo []CertInfo `json:"chain,omitempty"`
	// Checks are the named checks in the order they ran; checks after a
	// failure are reported as skipped.
	Checks []Check `json:"checks"`

	// Err is nil when accepted, else an *Error that wraps the kind
	// sentinel (ErrRevoked, ...) and the cause.
	Err error `json:"-"`
	// Leaf is the parsed end-entity certificate (nil if it did not parse).
	Leaf *x509.Certificate `json:"-"`
	// Chain is the validated chain, end entity first and the accepted root
	// last; for a refusal after path validation it is the chain examined.
	Chain []*x509.Certificate `json:"-"`

	// cached is the path cache's chain that ChainInfo came from, whose
	// encoded infos AppendJSON reuses while ChainInfo is still that
	// chain's.
	cached *cachedChain
}

func (d *Decision) add(c Check) { d.Checks = append(d.Checks, c) }

func (d *Decision) ok(name, detail string) {
	d.add(Check{Name: name, Status: StatusOK, Detail: detail})
}

// refuse records the failed check, marks every later check as skipped and
// sets the verdict.
func (d *Decision) refuse(e *Error, later ...string) *Decision {
	d.add(Check{Name: e.Check, Status: StatusFailed, Subject: e.Subject, Detail: e.Detail})
	for _, name := range later {
		d.add(Check{Name: name, Status: StatusSkipped, Detail: "not evaluated: " + e.Check + " check failed"})
	}
	return d.setRefused(e)
}

// setRefused sets the verdict from e without adding a check.
func (d *Decision) setRefused(e *Error) *Decision {
	d.Accepted = false
	d.Err = e
	d.Failure = failureCode(e.Kind)
	d.Reason = e.Error()
	return d
}

// String is the multi-line explanation printed by the CLI.
func (d *Decision) String() string {
	var b strings.Builder
	if d.Accepted {
		fmt.Fprintf(&b, "verdict: ACCEPTED\n")
	} else {
		fmt.Fprintf(&b, "verdict: REFUSED (%s)\n", d.Failure)
	}
	fmt.Fprintf(&b, "reason:  %s\n", d.Reason)
	fmt.Fprintf(&b, "time:    %s\n", d.Time.UTC().Format(time.RFC3339))
	if len(d.ChainInfo) > 0 {
		b.WriteString("chain:\n")
		for i, ci := range d.ChainInfo {
			role := "intermediate"
			switch {
			case i == 0:
				role = "end entity"
			case i == len(d.ChainInfo)-1 && d.Chain != nil && len(d.Chain) == len(d.ChainInfo):
				role = "accepted root"
			}
			fmt.Fprintf(&b, "  [%d] %s (%s)\n", i, ci.Subject, role)
			fmt.Fprintf(&b, "      issuer %s, serial %s\n", ci.Issuer, ci.Serial)
			fmt.Fprintf(&b, "      valid %s to %s, sha256 %s\n",
				ci.NotBefore.Format(time.RFC3339), ci.NotAfter.Format(time.RFC3339), ci.SHA256)
		}
	} else if d.Subject != "" {
		fmt.Fprintf(&b, "subject: %s\n", d.Subject)
	}
	b.WriteString("checks:\n")
	for _, c := range d.Checks {
		name := c.Name
		if c.Subject != "" && c.Name == CheckRevocation {
			name += " of " + c.Subject
		}
		fmt.Fprintf(&b, "  %-9s %s: %s\n", "["+string(c.Status)+"]", name, c.Detail)
		if r := c.Revocation; r != nil {
			for _, p := range r.Problems {
				fmt.Fprintf(&b, "            - %s\n", p)
			}
		}
	}
	return b.String()
}

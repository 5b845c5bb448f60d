package trust

import (
	"errors"
	"fmt"
)

// Sentinel errors. A refusal's Decision.Err wraps exactly one of the "kind"
// sentinels below (test with errors.Is) plus, where there is one, the
// underlying cause.
var (
	// ErrMalformed: the end-entity certificate, or the set of CERT
	// payloads as a whole, could not be parsed or exceeds the size limits.
	ErrMalformed = errors.New("trust: malformed certificate")
	// ErrUntrustedRoot: no path leads from the certificate to an accepted
	// root: the chain ends at another root or an issuer is missing.
	ErrUntrustedRoot = errors.New("trust: chain does not end at an accepted root")
	// ErrBadSignature: an issuer with the right name was found, but its key
	// does not verify the signature of the certificate below it.
	ErrBadSignature = errors.New("trust: certificate signature does not verify")
	// ErrBasicConstraints: an issuer is not a CA, lacks keyCertSign, or a
	// path length constraint is exceeded (RFC 5280, Section 4.2.1.9).
	ErrBasicConstraints = errors.New("trust: issuer not authorised to sign certificates")
	// ErrNameConstraints: a CA's name constraints exclude a name in the
	// chain (RFC 5280, Section 4.2.1.10).
	ErrNameConstraints = errors.New("trust: name constraints violated")
	// ErrChain: the certification path is invalid for another reason (an
	// unhandled critical extension, an unsupported algorithm, ...).
	ErrChain = errors.New("trust: certification path invalid")
	// ErrExpired: a certificate in the chain is past its notAfter.
	ErrExpired = errors.New("trust: certificate expired")
	// ErrNotYetValid: a certificate in the chain is before its notBefore.
	ErrNotYetValid = errors.New("trust: certificate not yet valid")
	// ErrKeyUsage: the end-entity certificate has a KeyUsage extension
	// without digitalSignature (RFC 4945, Section 5.1.3.2).
	ErrKeyUsage = errors.New("trust: key usage does not allow signatures")
	// ErrEKU: the chain's extended key usages do not include an accepted
	// purpose.
	ErrEKU = errors.New("trust: extended key usage not accepted")
	// ErrRevoked: a certificate in the chain is listed on a valid CRL (or an
	// OCSP response says revoked).
	ErrRevoked = errors.New("trust: certificate revoked")
	// ErrCRLUnavailable: revocation checking is required and no valid,
	// correctly signed, current CRL (or OCSP response) could be obtained.
	ErrCRLUnavailable = errors.New("trust: revocation status unavailable")
)

// Causes carried next to ErrCRLUnavailable (and returned by ParseCRL) that
// say why one revocation source could not be used.
var (
	// ErrMalformedCRL: the bytes are not a DER or PEM encoded CRL.
	ErrMalformedCRL = errors.New("trust: malformed crl")
	// ErrCRLTooLarge: the CRL exceeds the configured size limit.
	ErrCRLTooLarge = errors.New("trust: crl exceeds size limit")
	// ErrCRLSignature: the CRL is not signed by the certificate's issuer.
	ErrCRLSignature = errors.New("trust: crl signature does not verify")
	// ErrCRLExpired: the CRL's nextUpdate has passed (RFC 5280, Section
	// 6.3.3 (a)(2)); an expired CRL counts as unavailable.
	ErrCRLExpired = errors.New("trust: crl expired")
	// ErrCRLUnsupported: the CRL carries a critical extension or a scope
	// this package does not process (delta, indirect, partial-reason CRLs);
	// RFC 5280, Section 5.2, forbids using it.
	ErrCRLUnsupported = errors.New("trust: crl unsupported")
	// ErrFetch: an HTTP fetch failed (connection, status, timeout).
	ErrFetch = errors.New("trust: fetch failed")
	// ErrBudget: the per-Verify time budget ran out while a fetch was in
	// flight; the fetch continues in the background to fill the cache.
	ErrBudget = errors.New("trust: revocation time budget exhausted")
)

// failureCodes gives each kind sentinel a short stable code for audit
// records (Decision.Failure).
var failureCodes = []struct {
	err  error
	code string
}{
	{ErrMalformed, "malformed"},
	{ErrUntrustedRoot, "untrusted-root"},
	{ErrBadSignature, "bad-signature"},
	{ErrBasicConstraints, "basic-constraints"},
	{ErrNameConstraints, "name-constraints"},
	{ErrChain, "invalid-chain"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not-yet-valid"},
	{ErrKeyUsage, "key-usage"},
	{ErrEKU, "eku"},
	{ErrRevoked, "revoked"},
	{ErrCRLUnavailable, "crl-unavailable"},
}

func failureCode(kind error) string {
	for _, f := range failureCodes {
		if f.err == kind {
			return f.code
		}
	}
	return "error"
}

// Error is the refusal reason of a Decision. It names the check that failed
// and wraps both the kind sentinel (Kind) and the underlying cause (Err).
type Error struct {
	// Check is the name of the failed check ("chain", "revocation", ...).
	Check string
	// Kind is one of the sentinel errors of this package (ErrRevoked, ...).
	Kind error
	// Subject is the subject DN of the certificate the failure concerns.
	Subject string
	// Detail is a sentence that explains the failure to a person.
	Detail string
	// Err is the underlying cause, if any (an x509 error, a fetch error).
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("trust: %s: %s", e.Check, e.Detail)
}

// Unwrap lets errors.Is match both the kind sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Package trust decides whether an IKEv2 peer's certificate is acceptable,
// as a Windows RRAS server configured with RootCertificateNameToAccept and
// CertAuthFlags = 4 (CRL checking) does, and explains every decision.
//
// A Verifier is built from a Policy:
//
//   - Trust anchors are only the configured roots (Policy.RootCAFiles,
//     Policy.RootCAs, optionally narrowed by Policy.RootName); the system
//     trust store is never used. Intermediates come from the peer's further
//     CERT payloads, in any order (RFC 7296, Section 3.6), or from config.
//   - Path validation (RFC 5280, Section 6.1) is crypto/x509's: signatures,
//     validity periods, basic constraints, path length and name constraints.
//     The EKU rule is applied here rather than by x509, which does not know
//     the IKE intermediate OID 1.3.6.1.5.5.8.2.2: the end entity must carry
//     one of Policy.AcceptedEKUs (clientAuth or IKE intermediate by default);
//     a certificate without EKU extension counts as any-purpose, as in
//     Windows and strongSwan; CAs with an EKU extension must allow the
//     purpose too. A KeyUsage extension on the end entity must include
//     digitalSignature (RFC 4945, Section 5.1.3.2).
//   - Revocation (CRLPolicy) is require (fail closed, the default),
//     soft-fail or off. Every certificate below the root is checked. CRLs
//     come from local files or a directory (re-read by Reload) and from the
//     certificate's http CRL distribution points; OCSP (RFC 6960) from the
//     Authority Information Access extension is an optional second source.
//     A CRL is used only if issued and signed by the certificate's issuer,
//     current (thisUpdate <= now < nextUpdate; an expired CRL counts as
//     unavailable), and in scope (RFC 5280, Sections 5.2 and 6.3.3).
//
// Fetching never stalls an IKE exchange: one Verify waits at most
// CRLPolicy.Budget for all its fetches together; a fetch outliving the
// budget continues in the background and fills the cache, so the
// retransmitted IKE_AUTH finds the CRL. There is at most one fetch per URL
// in flight: concurrent Verify calls wait on the same fetch. Fetched CRLs
// are cached until nextUpdate and refreshed in the background before then;
// failures are remembered for CRLPolicy.RetryAfter. Bodies are limited to
// CRLPolicy.MaxSize. Only certificates that already chain to an accepted
// root cause fetches, so a peer cannot make the responder fetch arbitrary
// URLs.
//
// Verify returns a Decision: the verdict, the chain, each named check
// (parse, validity, chain, key-usage, eku, revocation per certificate) with
// ok/failed/skipped and a sentence, a one-line Reason for the audit record,
// and Err, an *Error wrapping one of the sentinels (ErrUntrustedRoot,
// ErrRevoked, ErrCRLUnavailable, ErrEKU, ErrExpired, ...) for errors.Is.
// The IKE engine answers a refusal with AUTHENTICATION_FAILED (RFC 7296,
// Section 2.21.2). Decision.String is the CLI's multi-line explanation.
package trust

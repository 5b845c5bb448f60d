package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// maxOCSPResponseSize bounds an OCSP response body; real ones are a few KiB.
const maxOCSPResponseSize = 1 << 20

// ocspStatus asks the certificate's http OCSP responders (Authority
// Information Access, RFC 5280, Section 4.2.2.1) for its status.
func (v *Verifier) ocspStatus(ctx context.Context, st *revState, now time.Time) {
	for _, u := range st.cert.OCSPServer {
		if !fetchableURL(u) {
			st.problem(fmt.Errorf("%w: ocsp responder %s not used: only http URLs are fetched", ErrCRLUnavailable, u))
			continue
		}
		reqDER, err := ocsp.CreateRequest(st.cert, st.issuer, nil)
		if err != nil {
			st.problem(fmt.Errorf("%w: building ocsp request: %w", ErrCRLUnavailable, err))
			return
		}
		sum := sha256.Sum256(reqDER)
		key := "ocsp " + u + " " + hex.EncodeToString(sum[:])
		cert, issuer := st.cert, st.issuer
		val, err := v.cache.get(ctx, key, func(ctx context.Context) (any, time.Time, error) {
			return v.fetchOCSP(ctx, u, reqDER, cert, issuer)
		})
		if resp, ok := val.(*ocsp.Response); ok && v.fromOCSP(st, resp, u, now) {
			return
		}
		if err != nil {
			st.problem(err)
		}
	}
}

// fetchOCSP posts one request (RFC 6960, Appendix A.1) and parses and
// authenticates the response.
func (v *Verifier) fetchOCSP(ctx context.Context, u string, reqDER []byte, cert, issuer *x509.Certificate) (any, time.Time, error) {
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(reqDER))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %s: %w", ErrFetch, u, err)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	body, err := httpFetch(ctx, v.client, req, maxOCSPResponseSize)
	if err != nil {
		return nil, time.Time{}, err
	}
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: ocsp response from %s: %w", ErrCRLSignature, u, err)
	}
	// x/crypto/ocsp checks that an embedded responder certificate is
	// signed by the issuer, but not that the issuer delegated OCSP signing
	// to it: RFC 6960, Section 4.2.2.2, requires id-kp-OCSPSigning. Without
	// this check any certificate of the CA, a revoked peer's own included,
	// could vouch for itself.
	if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) {
		delegated := false
		for _, eku := range rc.ExtKeyUsage {
			if eku == x509.ExtKeyUsageOCSPSigning {
				delegated = true
			}
		}
		if !delegated {
			return nil, time.Time{}, fmt.Errorf("%w: ocsp response from %s is signed by %s, which lacks the OCSPSigning extended key usage",
				ErrCRLSignature, u, rc.Subject)
		}
		now := v.now()
		if now.Before(rc.NotBefore) || now.After(rc.NotAfter) {
			return nil, time.Time{}, fmt.Errorf("%w: ocsp responder certificate %s is outside its validity period", ErrCRLSignature, rc.Subject)
		}
	}
	return resp, resp.NextUpdate, nil
}

// fromOCSP decides st from a response that is current (RFC 6960, Section
// 3.2, items 5 and 6) and definite.
func (v *Verifier) fromOCSP(st *revState, resp *ocsp.Response, u string, now time.Time) bool {
	if resp.ThisUpdate.After(now.Add(crlClockSkew)) {
		st.problem(fmt.Errorf("%w: ocsp response from %s is dated in the future (%s)", ErrCRLExpired, u, resp.ThisUpdate.UTC().Format(time.RFC3339)))
		return false
	}
	if !resp.NextUpdate.IsZero() && !now.Before(resp.NextUpdate) {
		st.problem(fmt.Errorf("%w: ocsp response from %s expired at %s", ErrCRLExpired, u, resp.NextUpdate.UTC().Format(time.RFC3339)))
		return false
	}
	switch resp.Status {
	case ocsp.Good:
		st.info.Status = RevocationGood
	case ocsp.Revoked:
		st.info.Status = RevocationRevoked
		st.info.RevokedAt = resp.RevokedAt.UTC()
		st.info.Reason = ReasonString(resp.RevocationReason)
	default:
		st.problem(fmt.Errorf("%w: ocsp responder %s does not know %s", ErrCRLUnavailable, u, st.cert.Subject))
		return false
	}
	st.info.Method = "ocsp"
	st.info.Source = u
	st.info.ThisUpdate = resp.ThisUpdate.UTC()
	st.info.NextUpdate = resp.NextUpdate.UTC()
	return true
}

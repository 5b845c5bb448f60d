package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Revocation status values of RevocationInfo.Status.
const (
	RevocationGood        = "good"
	RevocationRevoked     = "revoked"
	RevocationUnavailable = "unavailable"
)

// revState collects what is learnt about one certificate's status.
type revState struct {
	cert, issuer *x509.Certificate
	info         *RevocationInfo
	errs         []error
}

func (s *revState) problem(err error) {
	s.errs = append(s.errs, err)
	s.info.Problems = append(s.info.Problems, err.Error())
}

func (s *revState) decided() bool { return s.info.Status != "" }

// checkRevocation determines the status of every certificate of the chain
// except the root (a trust anchor is not checked; RFC 5280, Section 6.1)
// and records one check per certificate. Local CRLs are consulted first;
// HTTP fetches for all undecided certificates start at once and are waited
// for until ctx, which carries the Verify's budget, is done.
func (v *Verifier) checkRevocation(ctx context.Context, d *Decision, chain []*x509.Certificate, now time.Time) (string, *Error) {
	p := v.policy.CRL
	targets := chain[:len(chain)-1]
	if p.Mode == CRLOff {
		d.add(Check{Name: CheckRevocation, Status: StatusSkipped, Detail: "revocation checking is off by policy"})
		return "revocation not checked (off by policy)", nil
	}
	if len(targets) == 0 {
		d.ok(CheckRevocation, "the end entity is itself an accepted root; a trust anchor has no revocation status")
		return "no revocation check for a trust anchor", nil
	}

	states := make([]*revState, len(targets))
	var pending []*revState
	for i, c := range targets {
		st := &revState{cert: c, issuer: chain[i+1], info: &RevocationInfo{Serial: serialHex(c)}}
		states[i] = st
		local := v.store.lookup(st.issuer.RawSubject)
		if v.fromCRLs(st, local, now) {
			continue
		}
		if len(local) == 0 && (p.Files != nil || p.Dir != "") {
			st.problem(fmt.Errorf("%w: no configured crl file is issued by %s", ErrCRLUnavailable, st.issuer.Subject))
		}
		pending = append(pending, st)
		if !p.DisableFetch {
			for _, u := range c.CRLDistributionPoints {
				if fetchableURL(u) {
					v.cache.prefetch(crlKey(u), v.crlFetch(u))
				}
			}
		}
	}
	// ctx carries the Verify's revocation budget.
	for _, st := range pending {
		v.fetchStatus(ctx, st, now)
	}

	var refusal *Error
	var soft []string
	for i, st := range states {
		// evaluateChain put the formatted subjects in d.ChainInfo.
		subject := ""
		if len(d.ChainInfo) == len(chain) {
			subject = d.ChainInfo[i].Subject
		} else {
			subject = st.cert.Subject.String()
		}
		c := Check{Name: CheckRevocation, Subject: subject, Revocation: st.info}
		switch st.info.Status {
		case RevocationGood:
			c.Status = StatusOK
			c.Detail = fmt.Sprintf("not revoked according to %s", describeSource(st.info))
		case RevocationRevoked:
			c.Status = StatusFailed
			c.Detail = fmt.Sprintf("certificate %s (serial %s) was revoked at %s with reason %s by %s",
				subject, st.info.Serial, st.info.RevokedAt.UTC().Format(time.RFC3339), st.info.Reason, describeSource(st.info))
			if refusal == nil || !errors.Is(refusal.Kind, ErrRevoked) {
				refusal = &Error{Check: CheckRevocation, Kind: ErrRevoked, Subject: subject, Detail: c.Detail}
			}
		default:
			st.info.Status = RevocationUnavailable
			why := "no source available"
			if len(st.info.Problems) > 0 {
				why = strings.Join(st.info.Problems, "; ")
			}
			if p.Mode == CRLSoftFail {
				c.Status = StatusSkipped
				c.Detail = fmt.Sprintf("revocation status of %s unavailable (%s); accepted because crl mode is soft-fail", subject, why)
				soft = append(soft, subject)
			} else {
				c.Status = StatusFailed
				c.Detail = fmt.Sprintf("no valid CRL for %s (serial %s) and crl mode is require: %s", subject, st.info.Serial, why)
				if refusal == nil {
					refusal = &Error{Check: CheckRevocation, Kind: ErrCRLUnavailable, Subject: subject, Detail: c.Detail, Err: errors.Join(st.errs...)}
				}
			}
		}
		d.add(c)
	}
	if refusal != nil {
		return "", refusal
	}
	if len(soft) > 0 {
		return fmt.Sprintf("revocation status unavailable for %s (soft-fail)", strings.Join(soft, ", ")), nil
	}
	return fmt.Sprintf("not revoked (%d certificate(s) checked)", len(states)), nil
}

func describeSource(info *RevocationInfo) string {
	kind := "CRL"
	if info.Method == "ocsp" {
		kind = "OCSP response"
	}
	s := fmt.Sprintf("%s from %s issued at %s", kind, info.Source, info.ThisUpdate.UTC().Format(time.RFC3339))
	if !info.NextUpdate.IsZero() {
		s += fmt.Sprintf(" (next update %s)", info.NextUpdate.UTC().Format(time.RFC3339))
	}
	return s
}

// fromCRLs decides st from the first CRL in crls that is valid for the
// certificate; unusable CRLs are recorded as problems.
func (v *Verifier) fromCRLs(st *revState, crls []*CRL, now time.Time) bool {
	for _, crl := range crls {
		if err := crl.validFor(st.cert, st.issuer, now); err != nil {
			st.problem(err)
			continue
		}
		st.info.Method = "crl"
		st.info.Source = crl.Source
		st.info.ThisUpdate = crl.List.ThisUpdate.UTC()
		st.info.NextUpdate = crl.List.NextUpdate.UTC()
		if e := crl.lookup(st.cert); e != nil {
			st.info.Status = RevocationRevoked
			st.info.RevokedAt = e.RevocationTime.UTC()
			st.info.Reason = ReasonString(e.ReasonCode)
		} else {
			st.info.Status = RevocationGood
		}
		return true
	}
	return false
}

func crlKey(u string) string { return "crl " + u }

// crlFetch returns the fetch function for one distribution point URL.
func (v *Verifier) crlFetch(u string) fetchFunc {
	return func(ctx context.Context) (any, time.Time, error) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: %s: %w", ErrFetch, u, err)
		}
		body, err := httpFetch(ctx, v.client, req, v.policy.CRL.MaxSize)
		if err != nil {
			return nil, time.Time{}, err
		}
		crl, err := ParseCRL(body, u, v.policy.CRL.MaxSize)
		if err != nil {
			return nil, time.Time{}, err
		}
		return crl, crl.List.NextUpdate, nil
	}
}

// fetchStatus tries the certificate's http CRL distribution points in
// order, then, if enabled, its OCSP responders.
func (v *Verifier) fetchStatus(ctx context.Context, st *revState, now time.Time) {
	p := v.policy.CRL
	var tried bool
	for _, u := range st.cert.CRLDistributionPoints {
		if !fetchableURL(u) {
			st.problem(fmt.Errorf("%w: distribution point %s not used: only http URLs are fetched", ErrCRLUnavailable, u))
			continue
		}
		if p.DisableFetch {
			st.problem(fmt.Errorf("%w: distribution point %s not fetched: fetching is disabled", ErrCRLUnavailable, u))
			continue
		}
		tried = true
		val, err := v.cache.get(ctx, crlKey(u), v.crlFetch(u))
		if crl, ok := val.(*CRL); ok && v.fromCRLs(st, []*CRL{crl}, now) {
			return
		}
		if err != nil {
			st.problem(err)
		}
	}
	if !tried && len(st.cert.CRLDistributionPoints) == 0 {
		st.problem(fmt.Errorf("%w: %s names no CRL distribution point", ErrCRLUnavailable, st.cert.Subject))
	}
	if p.OCSP {
		v.ocspStatus(ctx, st, now)
	}
}

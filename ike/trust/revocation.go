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

// Summaries of the revocation outcome in an acceptance reason.
const (
	summaryOff    = "revocation not checked (off by policy)"
	summaryAnchor = "no revocation check for a trust anchor"
)

// revState collects what is learnt about one certificate's status.
type revState struct {
	cert, issuer *x509.Certificate
	info         *RevocationInfo
	errs         []error
	// detail is the check's text when a CRL found the certificate good.
	detail  string
	pending bool // to be fetched
}

func (s *revState) problem(err error) {
	s.errs = append(s.errs, err)
	s.info.Problems = append(s.info.Problems, err.Error())
}

func (s *revState) decided() bool { return s.info.Status != "" }

// maxInlineTargets is the number of certificates whose revocation state
// checkRevocation keeps on the stack: chains are rarely longer.
const maxInlineTargets = 4

// checkRevocation determines the status of every certificate of the chain
// c except the root (a trust anchor is not checked; RFC 5280, Section 6.1)
// and records one check per certificate. Local CRLs are consulted first;
// HTTP fetches for all undecided certificates start at once and are waited
// for until the budget b is spent. On acceptance it returns "" when every
// certificate was checked good (or revocation does not apply), else the
// soft-fail summary.
func (v *Verifier) checkRevocation(b *budget, d *Decision, c *cachedChain, now time.Time) (string, *Error) {
	p := v.policy.CRL
	chain := c.certs
	targets := chain[:len(chain)-1]
	if p.Mode == CRLOff {
		d.add(Check{Name: CheckRevocation, Status: StatusSkipped, Detail: "revocation checking is off by policy"})
		return "", nil
	}
	if len(targets) == 0 {
		d.ok(CheckRevocation, "the end entity is itself an accepted root; a trust anchor has no revocation status")
		return "", nil
	}

	var inline [maxInlineTargets]revState
	states := inline[:0]
	if len(targets) > len(inline) {
		states = make([]revState, 0, len(targets))
	}
	// One allocation for what the Decision keeps of every certificate.
	infos := make([]RevocationInfo, len(targets))
	var pending bool
	for i, cert := range targets {
		infos[i].Serial = c.infos[i].Serial
		states = append(states, revState{cert: cert, issuer: chain[i+1], info: &infos[i]})
		st := &states[i]
		local := v.store.lookup(st.issuer.RawSubject)
		if v.fromCRLs(st, local, now) {
			continue
		}
		if len(local) == 0 && (p.Files != nil || p.Dir != "") {
			st.problem(fmt.Errorf("%w: no configured crl file is issued by %s", ErrCRLUnavailable, st.issuer.Subject))
		}
		st.pending, pending = true, true
		if !p.DisableFetch {
			for _, u := range cert.CRLDistributionPoints {
				if fetchableURL(u) {
					v.cache.prefetch(crlKey(u), v.crlFetch(u))
				}
			}
		}
	}
	if pending {
		ctx := b.context()
		for i := range states {
			if states[i].pending {
				v.fetchStatus(ctx, &states[i], now)
			}
		}
	}

	var refusal *Error
	var soft []string
	for i := range states {
		st := &states[i]
		subject := c.infos[i].Subject
		check := Check{Name: CheckRevocation, Subject: subject, Revocation: st.info}
		switch st.info.Status {
		case RevocationGood:
			check.Status = StatusOK
			check.Detail = st.detail
			if check.Detail == "" {
				check.Detail = "not revoked according to " + describeSource(st.info)
			}
		case RevocationRevoked:
			check.Status = StatusFailed
			check.Detail = fmt.Sprintf("certificate %s (serial %s) was revoked at %s with reason %s by %s",
				subject, st.info.Serial, st.info.RevokedAt.UTC().Format(time.RFC3339), st.info.Reason, describeSource(st.info))
			if refusal == nil || !errors.Is(refusal.Kind, ErrRevoked) {
				refusal = &Error{Check: CheckRevocation, Kind: ErrRevoked, Subject: subject, Detail: check.Detail}
			}
		default:
			st.info.Status = RevocationUnavailable
			why := "no source available"
			if len(st.info.Problems) > 0 {
				why = strings.Join(st.info.Problems, "; ")
			}
			if p.Mode == CRLSoftFail {
				check.Status = StatusSkipped
				check.Detail = fmt.Sprintf("revocation status of %s unavailable (%s); accepted because crl mode is soft-fail", subject, why)
				soft = append(soft, subject)
			} else {
				check.Status = StatusFailed
				check.Detail = fmt.Sprintf("no valid CRL for %s (serial %s) and crl mode is require: %s", subject, st.info.Serial, why)
				if refusal == nil {
					refusal = &Error{Check: CheckRevocation, Kind: ErrCRLUnavailable, Subject: subject, Detail: check.Detail, Err: errors.Join(st.errs...)}
				}
			}
		}
		d.add(check)
	}
	if refusal != nil {
		return "", refusal
	}
	if len(soft) > 0 {
		return fmt.Sprintf("revocation status unavailable for %s (soft-fail)", strings.Join(soft, ", ")), nil
	}
	return "", nil
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
		if v.fromCRL(st, crl, now) {
			return true
		}
	}
	return false
}

// fromCRL decides st from crl if it is valid for the certificate, and
// otherwise records why it is not.
func (v *Verifier) fromCRL(st *revState, crl *CRL, now time.Time) bool {
	if err := crl.validFor(st.cert, st.issuer, now); err != nil {
		st.problem(err)
		return false
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
		st.detail = crl.notRevoked
	}
	return true
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
		if crl, ok := val.(*CRL); ok && v.fromCRL(st, crl, now) {
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

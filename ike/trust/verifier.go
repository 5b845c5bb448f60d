package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

var (
	oidExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// Verifier checks IKE peer certificates against a Policy. It is safe for
// concurrent use. Close stops its background CRL refreshes.
type Verifier struct {
	policy       Policy // with defaults applied
	now          func() time.Time
	client       *http.Client
	roots        []*x509.Certificate
	rootPool     *x509.CertPool
	intermediate []*x509.Certificate
	accepted     ekuSet
	acceptedText string
	store        *crlStore
	cache        *fetchCache
	paths        pathCache
}

// NewVerifier builds a Verifier: it loads the roots, intermediates and
// local CRL files named by p. Errors name the offending file or field.
func NewVerifier(p Policy) (*Verifier, error) {
	crl, err := p.CRL.withDefaults()
	if err != nil {
		return nil, err
	}
	p.CRL = crl
	v := &Verifier{policy: p, now: p.Now, client: p.HTTPClient}
	if v.now == nil {
		v.now = time.Now
	}
	if v.client == nil {
		v.client = defaultHTTPClient()
	}

	roots, err := loadAll(p.RootCAFiles, p.RootCAs)
	if err != nil {
		return nil, fmt.Errorf("trust: loading roots: %w", err)
	}
	if p.RootName != "" {
		var keep []*x509.Certificate
		for _, r := range roots {
			if r.Subject.CommonName == p.RootName || r.Subject.String() == p.RootName {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("trust: no configured root matches root_name %q", p.RootName)
		}
		roots = keep
	}
	if len(roots) == 0 {
		return nil, errors.New("trust: no root CA configured")
	}
	v.roots = roots
	v.rootPool = x509.NewCertPool()
	for _, r := range roots {
		v.rootPool.AddCert(r)
	}
	if v.intermediate, err = loadAll(p.IntermediateFiles, p.Intermediates); err != nil {
		return nil, fmt.Errorf("trust: loading intermediates: %w", err)
	}

	names := p.AcceptedEKUs
	if len(names) == 0 {
		names = defaultEKUs
	}
	for _, n := range names {
		oid, err := parseEKU(n)
		if err != nil {
			return nil, err
		}
		v.accepted = v.accepted.add(oid)
	}
	v.acceptedText = v.accepted.String()

	v.store = newCRLStore(p.CRL.Files, p.CRL.Dir, p.CRL.MaxSize)
	if p.CRL.Mode != CRLOff {
		if err := v.store.load(); err != nil {
			return nil, err
		}
	}
	v.cache = newFetchCache(v.now, p.CRL)
	return v, nil
}

// Reload re-reads the configured CRL files and directory. On error the
// previously loaded CRLs stay in force and the error names the bad files.
func (v *Verifier) Reload() error {
	return v.store.load()
}

// Close stops background refreshes and cancels fetches in flight.
func (v *Verifier) Close() error {
	v.cache.close()
	return nil
}

// Roots returns the accepted root certificates.
func (v *Verifier) Roots() []*x509.Certificate {
	return append([]*x509.Certificate(nil), v.roots...)
}

// FetchesStarted returns how many HTTP fetches (CRL and OCSP) this
// Verifier has started; for metrics and tests.
func (v *Verifier) FetchesStarted() int64 { return v.cache.started.Load() }

// Verify decides whether the peer's end-entity certificate leafDER is
// acceptable. otherDER are the peer's further CERT payloads (intermediates,
// in any order; RFC 7296, Section 3.6). ctx bounds the whole call in
// addition to the policy's revocation budget. Verify never returns nil.
//
// The Decision's Leaf, Chain and ChainInfo may be shared with other
// Decisions and the Verifier's path cache: they are read-only.
func (v *Verifier) Verify(ctx context.Context, leafDER []byte, otherDER [][]byte) *Decision {
	now := v.now()
	key := pathKey(leafDER, otherDER)
	if e := v.paths.get(key, leafDER, otherDER); e != nil && e.validAt(now) {
		return v.evaluateChains(ctx, e, now)
	}

	// d records a refusal before the chain checks: parse, validity, chain,
	// key usage, EKU and revocation, one of them failed and the later ones
	// skipped. An accepted path gets its Decision from evaluateChains.
	d := &Decision{Time: now, Checks: make([]Check, 0, 6)}
	ders, cacheable := copyDERs(leafDER, otherDER)
	leaf, others, note, perr := parsePeer(ders[0], ders[1:])
	if perr != nil {
		return d.refuse(perr, CheckValidity, CheckChain, CheckKeyUsage, CheckEKU, CheckRevocation)
	}
	d.Leaf = leaf
	d.Subject = leaf.Subject.String()
	d.ChainInfo = []CertInfo{certInfo(leaf)}
	d.ok(CheckParse, note)

	if e := checkValidity(leaf, now); e != nil {
		return d.refuse(e, CheckChain, CheckKeyUsage, CheckEKU, CheckRevocation)
	}
	validity := fmt.Sprintf("end entity valid from %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))

	pool := x509.NewCertPool()
	for _, c := range v.intermediate {
		pool.AddCert(c)
	}
	for _, c := range others {
		pool.AddCert(c)
	}
	// Path validation (RFC 5280, Section 6.1) by crypto/x509: signatures,
	// validity of every certificate, basic constraints, path length, name
	// constraints. Any EKU is allowed here because x509 does not know the
	// IKE intermediate OID; the EKU rule is applied below.
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.rootPool,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		ve := v.explainChainError(err, leaf, others, now)
		if errors.Is(ve.Kind, ErrExpired) || errors.Is(ve.Kind, ErrNotYetValid) {
			ve.Check = CheckValidity
			return d.refuse(ve, CheckChain, CheckKeyUsage, CheckEKU, CheckRevocation)
		}
		d.ok(CheckValidity, validity)
		return d.refuse(ve, CheckKeyUsage, CheckEKU, CheckRevocation)
	}

	if len(chains) > maxChains {
		chains = chains[:maxChains] // bounded work; real peers have one chain
	}
	e := v.newPathEntry(ders, leaf, note, chains)
	if cacheable {
		v.paths.put(key, e)
	}
	return v.evaluateChains(ctx, e, now)
}

// maxChains bounds the chains evaluated for one certificate.
const maxChains = 4

// copyDERs copies the peer's certificates into one new buffer, so that
// neither the path cache nor a Decision keeps (or sees changes to) the
// caller's message buffers. A certificate over maxCertificateSize is not
// copied (parsePeer ignores or refuses it) and makes the set uncacheable.
func copyDERs(leafDER []byte, otherDER [][]byte) (ders [][]byte, cacheable bool) {
	ders = make([][]byte, 1+len(otherDER))
	ders[0] = leafDER
	copy(ders[1:], otherDER)
	if len(ders) > 1+maxPeerCertificates {
		return ders, false // parsePeer refuses the set
	}
	total := 0
	cacheable = true
	for _, der := range ders {
		if len(der) > maxCertificateSize {
			cacheable = false
			continue
		}
		total += len(der)
	}
	buf := make([]byte, 0, total)
	for i, der := range ders {
		if len(der) > maxCertificateSize {
			continue
		}
		buf = append(buf, der...)
		ders[i] = buf[len(buf)-len(der) : len(buf) : len(buf)]
	}
	return ders, cacheable
}

// evaluateChains runs the per-chain checks on the validated chains of e;
// several chains may exist (cross-certificates, two roots with one name).
// It accepts on the first chain that passes every check and otherwise
// reports the first chain's failure. One revocation budget covers them
// all.
func (v *Verifier) evaluateChains(ctx context.Context, e *pathEntry, now time.Time) *Decision {
	b := budget{parent: ctx}
	if v.policy.CRL.Mode != CRLOff {
		b.deadline = time.Now().Add(v.policy.CRL.Budget)
	}
	defer b.stop()
	var first *Decision
	for _, c := range e.chains {
		d := v.evaluateChain(&b, e, c, now)
		if d.Accepted {
			return d
		}
		if first == nil {
			first = d
		}
	}
	return first
}

// budget is the revocation time budget of one Verify (CRLPolicy.Budget,
// within the caller's context), shared by all its chains. Its context is
// made on first use: most calls are decided by local CRLs, or do not check
// revocation, and never wait.
type budget struct {
	parent   context.Context
	deadline time.Time // the policy's budget from the start of the checks
	ctx      context.Context
	cancel   context.CancelFunc
}

func (b *budget) context() context.Context {
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithDeadline(b.parent, b.deadline)
	}
	return b.ctx
}

func (b *budget) stop() {
	if b.cancel != nil {
		b.cancel()
	}
}

// parsePeer parses the CERT payloads. An extra certificate that does not
// parse is ignored (it cannot help build a chain) but noted; a bad
// end-entity certificate, too many certificates or oversized ones refuse.
func parsePeer(leafDER []byte, otherDER [][]byte) (*x509.Certificate, []*x509.Certificate, string, *Error) {
	fail := func(detail string, err error) *Error {
		return &Error{Check: CheckParse, Kind: ErrMalformed, Detail: detail, Err: err}
	}
	if len(leafDER) == 0 {
		return nil, nil, "", fail("no end-entity certificate", nil)
	}
	if len(leafDER) > maxCertificateSize {
		return nil, nil, "", fail(fmt.Sprintf("end-entity certificate is %d bytes, limit %d", len(leafDER), maxCertificateSize), nil)
	}
	if len(otherDER) > maxPeerCertificates {
		return nil, nil, "", fail(fmt.Sprintf("%d further certificates sent, limit %d", len(otherDER), maxPeerCertificates), nil)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, nil, "", fail("end-entity certificate does not parse: "+err.Error(), err)
	}
	var others []*x509.Certificate
	var bad []string
	for i, der := range otherDER {
		if len(der) > maxCertificateSize {
			bad = append(bad, fmt.Sprintf("#%d: %d bytes, limit %d", i+1, len(der), maxCertificateSize))
			continue
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			bad = append(bad, fmt.Sprintf("#%d: %v", i+1, err))
			continue
		}
		others = append(others, c)
	}
	note := fmt.Sprintf("end-entity certificate %s (serial %s) and %d further certificate(s) parsed", leaf.Subject, serialHex(leaf), len(others))
	if len(bad) > 0 {
		note += "; ignored unparseable: " + strings.Join(bad, "; ")
	}
	return leaf, others, note, nil
}

func checkValidity(c *x509.Certificate, now time.Time) *Error {
	switch {
	case now.Before(c.NotBefore):
		return &Error{Check: CheckValidity, Kind: ErrNotYetValid, Subject: c.Subject.String(),
			Detail: fmt.Sprintf("certificate %s is not valid before %s (now %s)", c.Subject, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	case now.After(c.NotAfter):
		return &Error{Check: CheckValidity, Kind: ErrExpired, Subject: c.Subject.String(),
			Detail: fmt.Sprintf("certificate %s expired at %s (now %s)", c.Subject, c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	}
	return nil
}

// explainChainError turns an x509 verification error into a kind and a
// sentence. For an unknown authority it walks the presented issuers itself
// to say where the chain ends.
func (v *Verifier) explainChainError(err error, leaf *x509.Certificate, others []*x509.Certificate, now time.Time) *Error {
	e := &Error{Check: CheckChain, Kind: ErrChain, Subject: leaf.Subject.String(), Err: err,
		Detail: "path validation failed: " + err.Error()}
	var cie x509.CertificateInvalidError
	var uae x509.UnknownAuthorityError
	var uce x509.UnhandledCriticalExtension
	switch {
	case errors.As(err, &cie):
		subject := leaf.Subject.String()
		if cie.Cert != nil {
			subject = cie.Cert.Subject.String()
		}
		e.Subject = subject
		switch cie.Reason {
		case x509.Expired:
			if cie.Cert != nil {
				if ve := checkValidity(cie.Cert, now); ve != nil {
					ve.Err = err
					return ve
				}
			}
			e.Kind = ErrExpired
			e.Detail = fmt.Sprintf("certificate %s is outside its validity period: %s", subject, cie.Detail)
		case x509.NotAuthorizedToSign:
			e.Kind = ErrBasicConstraints
			e.Detail = fmt.Sprintf("%s signed a certificate but is not a CA with keyCertSign (RFC 5280, Section 4.2.1.9)", subject)
		case x509.TooManyIntermediates:
			e.Kind = ErrBasicConstraints
			e.Detail = fmt.Sprintf("the path length constraint of %s is exceeded (RFC 5280, Section 4.2.1.9)", subject)
		case x509.CANotAuthorizedForThisName, x509.NameConstraintsWithoutSANs, x509.UnconstrainedName, x509.TooManyConstraints:
			e.Kind = ErrNameConstraints
			e.Detail = fmt.Sprintf("name constraints of the chain reject %s: %s", subject, cie.Detail)
			if cie.Detail == "" {
				e.Detail = fmt.Sprintf("name constraints of the chain reject %s: %v", subject, err)
			}
		default:
			e.Detail = fmt.Sprintf("certificate %s is invalid: %v", subject, err)
		}
	case errors.As(err, &uae):
		return v.explainUnknownAuthority(leaf, others, err)
	case errors.As(err, &uce):
		e.Detail = "a certificate in the chain has an unhandled critical extension"
	}
	return e
}

// explainUnknownAuthority walks up from leaf through the presented and
// configured intermediates by issuer name and signature, and says why no
// accepted root was reached: a signature that does not verify, a missing
// issuer, or a chain that ends at another root.
func (v *Verifier) explainUnknownAuthority(leaf *x509.Certificate, others []*x509.Certificate, err error) *Error {
	cands := append(append([]*x509.Certificate(nil), others...), v.intermediate...)
	cur := leaf
	var path []string
	for depth := 0; depth < 10; depth++ {
		path = append(path, cur.Subject.String())
		for _, r := range v.roots {
			if !bytes.Equal(r.RawSubject, cur.RawIssuer) {
				continue
			}
			if serr := cur.CheckSignatureFrom(r); serr != nil {
				return issuerError(cur, r, "accepted root", errors.Join(err, serr), serr)
			}
		}
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) && cur.CheckSignatureFrom(cur) == nil {
			return &Error{Check: CheckChain, Kind: ErrUntrustedRoot, Subject: leaf.Subject.String(), Err: err,
				Detail: fmt.Sprintf("chain %s ends at root %s, which is not an accepted root (accepted: %s)",
					strings.Join(path, " <- "), cur.Subject, v.rootNames())}
		}
		var next, sigIssuer *x509.Certificate
		var sigErr error
		for _, c := range cands {
			if c == cur || !bytes.Equal(c.RawSubject, cur.RawIssuer) {
				continue
			}
			if serr := cur.CheckSignatureFrom(c); serr != nil {
				sigErr, sigIssuer = serr, c
				continue
			}
			next = c
			break
		}
		if next == nil {
			if sigErr != nil {
				return issuerError(cur, sigIssuer, "presented issuer", errors.Join(err, sigErr), sigErr)
			}
			return &Error{Check: CheckChain, Kind: ErrUntrustedRoot, Subject: leaf.Subject.String(), Err: err,
				Detail: fmt.Sprintf("issuer %s of %s was neither sent by the peer nor configured, so the chain %s does not reach an accepted root (accepted: %s)",
					cur.Issuer, cur.Subject, strings.Join(path, " <- "), v.rootNames())}
		}
		cur = next
	}
	return &Error{Check: CheckChain, Kind: ErrUntrustedRoot, Subject: leaf.Subject.String(), Err: err,
		Detail: fmt.Sprintf("no path from %s to an accepted root (accepted: %s): %v", leaf.Subject, v.rootNames(), err)}
}

// issuerError explains why issuer, found by name, cannot have issued cert:
// it is no CA (basic constraints, key usage) or its key does not verify.
func issuerError(cert, issuer *x509.Certificate, role string, all, cause error) *Error {
	var cve x509.ConstraintViolationError
	if errors.As(cause, &cve) {
		return &Error{Check: CheckChain, Kind: ErrBasicConstraints, Subject: issuer.Subject.String(), Err: all,
			Detail: fmt.Sprintf("%s %s signed %s but is not a CA with keyCertSign (RFC 5280, Section 4.2.1.9)", role, issuer.Subject, cert.Subject)}
	}
	return &Error{Check: CheckChain, Kind: ErrBadSignature, Subject: cert.Subject.String(), Err: all,
		Detail: fmt.Sprintf("the signature on %s does not verify with the key of the %s %s: %v", cert.Subject, role, issuer.Subject, cause)}
}

func (v *Verifier) rootNames() string {
	names := make([]string, len(v.roots))
	for i, r := range v.roots {
		names[i] = r.Subject.String()
	}
	return strings.Join(names, "; ")
}

// evaluateChain runs the checks that depend on the chosen chain c of e
// and returns their Decision.
func (v *Verifier) evaluateChain(b *budget, e *pathEntry, c *cachedChain, now time.Time) *Decision {
	d := &Decision{Time: now, Subject: e.subject, Leaf: e.leaf, Chain: c.certs, ChainInfo: c.infos,
		Checks: make([]Check, 0, c.checks), cached: c}
	d.ok(CheckParse, e.note)
	d.ok(CheckValidity, c.validityDetail(now))
	d.ok(CheckChain, c.chainDetail)

	detail, err := v.keyUsage(c)
	if err != nil {
		return d.refuse(err, CheckEKU, CheckRevocation)
	}
	d.ok(CheckKeyUsage, detail)
	detail, err = v.eku(c)
	if err != nil {
		return d.refuse(err, CheckRevocation)
	}
	d.ok(CheckEKU, detail)
	soft, err := v.checkRevocation(b, d, c, now)
	if err != nil {
		return d.setRefused(err) // checkRevocation recorded the per-certificate checks
	}
	d.Accepted = true
	d.Reason = c.reasonAccepted
	if soft != "" {
		d.Reason = c.reasonPrefix + soft
	}
	return d
}

// keyUsageAllows applies RFC 4945, Section 5.1.3.2: if the end-entity
// certificate has a KeyUsage extension, it must allow signatures, since IKE
// authenticates with a signature over the exchange (RFC 7296, Section 2.15).
func (v *Verifier) keyUsageAllows(leaf *x509.Certificate) bool {
	return !hasExtension(leaf, oidExtKeyUsage) ||
		leaf.KeyUsage&x509.KeyUsageDigitalSignature != 0 ||
		(v.policy.AllowNonRepudiation && leaf.KeyUsage&x509.KeyUsageContentCommitment != 0)
}

// checkKeyUsage applies keyUsageAllows and explains the outcome.
func (v *Verifier) checkKeyUsage(leaf *x509.Certificate) (string, *Error) {
	if !hasExtension(leaf, oidExtKeyUsage) {
		return "end entity has no key usage extension, so any usage is allowed", nil
	}
	if v.keyUsageAllows(leaf) {
		return "end-entity key usage (" + keyUsageString(leaf.KeyUsage) + ") allows signatures", nil
	}
	want := "digitalSignature"
	if v.policy.AllowNonRepudiation {
		want += " or nonRepudiation"
	}
	return "", &Error{Check: CheckKeyUsage, Kind: ErrKeyUsage, Subject: leaf.Subject.String(),
		Detail: fmt.Sprintf("key usage of %s is %s, without %s (RFC 4945, Section 5.1.3.2)", leaf.Subject, keyUsageString(leaf.KeyUsage), want)}
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}

var keyUsageNames = []string{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
	"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}

func keyUsageString(ku x509.KeyUsage) string {
	var names []string
	for i, n := range keyUsageNames {
		if ku&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "empty"
	}
	return strings.Join(names, ", ")
}

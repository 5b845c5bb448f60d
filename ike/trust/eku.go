package trust

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
)

// ekuSet is a set of extended key usages; any stands for every purpose
// (anyExtendedKeyUsage, or no EKU extension at all).
type ekuSet struct {
	any  bool
	oids []asn1.ObjectIdentifier
}

func (s ekuSet) add(oid asn1.ObjectIdentifier) ekuSet {
	if oid.Equal(oidEKUAny) {
		return ekuSet{any: true}
	}
	if s.any || s.has(oid) {
		return s
	}
	s.oids = append(append([]asn1.ObjectIdentifier(nil), s.oids...), oid)
	return s
}

func (s ekuSet) has(oid asn1.ObjectIdentifier) bool {
	for _, o := range s.oids {
		if o.Equal(oid) {
			return true
		}
	}
	return false
}

func (s ekuSet) empty() bool { return !s.any && len(s.oids) == 0 }

// intersect returns the OIDs of s that t has, in s's order. Sets are
// never modified in place (add copies), so when the result is a run of s
// it shares s's array, which keeps the EKU check free of allocations for
// the usual certificates.
func (s ekuSet) intersect(t ekuSet) ekuSet {
	switch {
	case s.any:
		return t
	case t.any:
		return s
	}
	lo, hi := -1, -1
	for i, o := range s.oids {
		if !t.has(o) {
			continue
		}
		if lo >= 0 && hi != i {
			return s.intersectCopy(t) // not a run
		}
		if lo < 0 {
			lo = i
		}
		hi = i + 1
	}
	if lo < 0 {
		return ekuSet{}
	}
	return ekuSet{oids: s.oids[lo:hi:hi]}
}

func (s ekuSet) intersectCopy(t ekuSet) ekuSet {
	var out ekuSet
	for _, o := range s.oids {
		if t.has(o) {
			out.oids = append(out.oids, o)
		}
	}
	return out
}

func (s ekuSet) String() string {
	if s.any {
		return "any"
	}
	names := make([]string, len(s.oids))
	for i, o := range s.oids {
		names[i] = ekuName(o)
	}
	return strings.Join(names, ", ")
}

// certEKU is the extended key usage extension of one certificate.
type certEKU struct {
	set     ekuSet
	present bool  // false: no EKU extension (set is then any)
	err     error // the extension does not parse
}

// parseCertEKU reads the EKUs of c from the raw extension (x509 drops OIDs
// it does not know into UnknownExtKeyUsage; reading the extension keeps
// the order and the exact OIDs).
func parseCertEKU(c *x509.Certificate) certEKU {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidExtExtKeyUsage) {
			continue
		}
		var oids []asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(e.Value, &oids)
		if err != nil || len(rest) != 0 {
			return certEKU{present: true, err: fmt.Errorf("malformed extended key usage extension in %s", c.Subject)}
		}
		var set ekuSet
		for _, o := range oids {
			set = set.add(o)
		}
		return certEKU{set: set, present: true}
	}
	return certEKU{set: ekuSet{any: true}}
}

// parseChainEKUs parses the EKU extension of every certificate of chain.
func parseChainEKUs(chain []*x509.Certificate) []certEKU {
	ekus := make([]certEKU, len(chain))
	for i, c := range chain {
		ekus[i] = parseCertEKU(c)
	}
	return ekus
}

// applyEKU applies the policy's EKU rule to the end entity, then requires
// every CA in the chain that has an EKU extension to allow one of the
// remaining purposes (EKU nesting, as Windows CryptoAPI and crypto/x509
// apply it; RFC 5280 itself leaves CA EKUs undefined). ekus are the
// chain's parsed extensions, end entity first. It returns the index of the
// certificate that fails the rule, or -1, and the purposes that remain
// (on failure at a CA, those that CA excludes).
func (v *Verifier) applyEKU(ekus []certEKU) (fail int, usable ekuSet) {
	leaf := ekus[0]
	if leaf.err != nil || (!leaf.present && v.policy.RequireEKUExtension) {
		return 0, ekuSet{}
	}
	usable = v.accepted.intersect(leaf.set)
	if usable.empty() {
		return 0, usable
	}
	for i, ca := range ekus[1:] {
		if ca.err != nil {
			return i + 1, usable
		}
		if !ca.present {
			continue
		}
		next := usable.intersect(ca.set)
		if next.empty() {
			return i + 1, usable
		}
		usable = next
	}
	return -1, usable
}

// checkEKU applies the EKU rule (applyEKU) to chain, whose parsed EKU
// extensions are ekus, and explains the outcome.
func (v *Verifier) checkEKU(chain []*x509.Certificate, ekus []certEKU) (string, *Error) {
	fail := func(c *x509.Certificate, detail string) *Error {
		return &Error{Check: CheckEKU, Kind: ErrEKU, Subject: c.Subject.String(), Detail: detail}
	}
	leaf, set := chain[0], ekus[0].set
	at, usable := v.applyEKU(ekus)
	switch {
	case at < 0:
	case ekus[at].err != nil:
		return "", fail(chain[at], ekus[at].err.Error())
	case at == 0 && !ekus[0].present && v.policy.RequireEKUExtension:
		return "", fail(leaf, fmt.Sprintf("%s has no extended key usage extension and the policy requires one of: %s", leaf.Subject, v.acceptedText))
	case at == 0:
		return "", fail(leaf, fmt.Sprintf("extended key usage of %s (%s) includes none of the accepted: %s", leaf.Subject, set.String(), v.acceptedText))
	default:
		ca := chain[at]
		return "", fail(ca, fmt.Sprintf("CA %s restricts extended key usage to %s, which excludes %s of %s",
			ca.Subject, ekus[at].set.String(), usable.String(), leaf.Subject))
	}
	detail := "end-entity extended key usage: " + set.String()
	if !ekus[0].present {
		detail = "end entity has no extended key usage extension and counts as valid for any purpose"
	}
	return fmt.Sprintf("%s; accepted for %s (policy: %s)", detail, usable.String(), v.acceptedText), nil
}

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

func (s ekuSet) intersect(t ekuSet) ekuSet {
	switch {
	case s.any:
		return t
	case t.any:
		return s
	}
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

// certEKUs returns the EKUs of c from the raw extension (x509 drops OIDs it
// does not know into UnknownExtKeyUsage; reading the extension keeps the
// order and the exact OIDs). present is false if c has no EKU extension.
func certEKUs(c *x509.Certificate) (set ekuSet, present bool, err error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidExtExtKeyUsage) {
			continue
		}
		var oids []asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(e.Value, &oids)
		if err != nil || len(rest) != 0 {
			return ekuSet{}, true, fmt.Errorf("malformed extended key usage extension in %s", c.Subject)
		}
		for _, o := range oids {
			set = set.add(o)
		}
		return set, true, nil
	}
	return ekuSet{any: true}, false, nil
}

// checkEKU applies the policy's EKU rule to the end entity, then requires
// every CA in the chain that has an EKU extension to allow one of the
// remaining purposes (EKU nesting, as Windows CryptoAPI and crypto/x509
// apply it; RFC 5280 itself leaves CA EKUs undefined).
func (v *Verifier) checkEKU(chain []*x509.Certificate) (string, *Error) {
	leaf := chain[0]
	fail := func(c *x509.Certificate, detail string) *Error {
		return &Error{Check: CheckEKU, Kind: ErrEKU, Subject: c.Subject.String(), Detail: detail}
	}
	set, present, err := certEKUs(leaf)
	if err != nil {
		return "", fail(leaf, err.Error())
	}
	var detail string
	switch {
	case !present && v.policy.RequireEKUExtension:
		return "", fail(leaf, fmt.Sprintf("%s has no extended key usage extension and the policy requires one of: %s", leaf.Subject, v.acceptedText))
	case !present:
		detail = "end entity has no extended key usage extension and counts as valid for any purpose"
	default:
		detail = "end-entity extended key usage: " + set.String()
	}
	usable := v.accepted.intersect(set)
	if usable.empty() {
		return "", fail(leaf, fmt.Sprintf("extended key usage of %s (%s) includes none of the accepted: %s", leaf.Subject, set.String(), v.acceptedText))
	}
	for _, ca := range chain[1:] {
		caSet, caPresent, err := certEKUs(ca)
		if err != nil {
			return "", fail(ca, err.Error())
		}
		if !caPresent {
			continue
		}
		next := usable.intersect(caSet)
		if next.empty() {
			return "", fail(ca, fmt.Sprintf("CA %s restricts extended key usage to %s, which excludes %s of %s",
				ca.Subject, caSet.String(), usable.String(), leaf.Subject))
		}
		usable = next
	}
	return fmt.Sprintf("%s; accepted for %s (policy: %s)", detail, usable.String(), v.acceptedText), nil
}

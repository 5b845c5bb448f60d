package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRL extension OIDs (RFC 5280, Sections 5.2 and 5.3).
var (
	oidExtAuthorityKeyID  = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtIssuerAltName   = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExtCRLNumber       = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidExtDeltaCRL        = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidExtIssuingDP       = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidExtFreshestCRL     = asn1.ObjectIdentifier{2, 5, 29, 46}
	oidExtAuthorityInfo   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidExtReasonCode      = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidExtInvalidityDate  = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidExtCertificateIssu = asn1.ObjectIdentifier{2, 5, 29, 29}
)

// crlClockSkew tolerates a CRL whose thisUpdate is slightly ahead of our
// clock, as happens when the CA's clock runs a little fast.
const crlClockSkew = 5 * time.Minute

// reasonNames are the CRLReason values of RFC 5280, Section 5.3.1.
var reasonNames = map[int]string{
	0:  "unspecified",
	1:  "keyCompromise",
	2:  "cACompromise",
	3:  "affiliationChanged",
	4:  "superseded",
	5:  "cessationOfOperation",
	6:  "certificateHold",
	8:  "removeFromCRL",
	9:  "privilegeWithdrawn",
	10: "aACompromise",
}

// ReasonString names a CRLReason code (RFC 5280, Section 5.3.1).
func ReasonString(code int) string {
	if n, ok := reasonNames[code]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", code)
}

// crlScope is the parsed Issuing Distribution Point extension (RFC 5280,
// Section 5.2.5).
type crlScope struct {
	present       bool
	dpURIs        []string
	relativeName  bool
	onlyUser      bool
	onlyCA        bool
	someReasons   bool
	indirect      bool
	onlyAttribute bool
}

// CRL is a parsed certificate revocation list with the indexes needed to
// answer status queries. It is immutable after ParseCRL.
type CRL struct {
	// List is the parsed CRL.
	List *x509.RevocationList
	// Source is where it came from: an http URL or a file path.
	Source string

	revoked map[string]*x509.RevocationListEntry
	scope   crlScope
	// unusable is set when RFC 5280 forbids using this CRL at all
	// (unknown critical extension, delta CRL, indirect entries).
	unusable error
	// notRevoked is the revocation check's detail for a certificate
	// that this CRL shows not revoked.
	notRevoked string

	// sigOK remembers issuers (by DER) whose signature check passed: the
	// CRL is immutable, so each Verify need not repeat it. A map indexed
	// with string(issuer.Raw) is read without copying the certificate.
	sigMu sync.RWMutex
	sigOK map[string]struct{}
}

// ParseCRL parses a DER or PEM ("X509 CRL") encoded CRL of at most maxSize
// bytes (0: DefaultMaxCRLSize). It checks the encoding only; signature and
// freshness are checked against a certificate's issuer when used. Errors
// wrap ErrMalformedCRL or ErrCRLTooLarge.
func ParseCRL(data []byte, source string, maxSize int64) (*CRL, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxCRLSize
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrCRLTooLarge, source, len(data), maxSize)
	}
	der := data
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN")) {
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "X509 CRL" {
			return nil, fmt.Errorf("%w: %s: no \"X509 CRL\" PEM block", ErrMalformedCRL, source)
		}
		der = block.Bytes
	}
	return parseCRLDER(der, source)
}

func parseCRLDER(der []byte, source string) (*CRL, error) {
	// x509.ParseRevocationList ignores bytes after the CertificateList;
	// refuse them, as a sign of a corrupted or concatenated file.
	in := cryptobyte.String(der)
	var outer cryptobyte.String
	if !in.ReadASN1Element(&outer, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: %s: not a single DER CertificateList", ErrMalformedCRL, source)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedCRL, source, err)
	}
	c := &CRL{List: rl, Source: source, revoked: make(map[string]*x509.RevocationListEntry, len(rl.RevokedCertificateEntries))}
	c.notRevoked = "not revoked according to " + describeSource(&RevocationInfo{Method: "crl", Source: source,
		ThisUpdate: rl.ThisUpdate.UTC(), NextUpdate: rl.NextUpdate.UTC()})
	for _, ext := range rl.Extensions {
		switch {
		case ext.Id.Equal(oidExtIssuingDP):
			sc, err := parseIssuingDP(ext.Value)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrMalformedCRL, source, err)
			}
			c.scope = sc
		case ext.Id.Equal(oidExtDeltaCRL):
			// A delta CRL only makes sense together with its base CRL;
			// this package does not combine them (RFC 5280, Section 5.2.4).
			c.unusable = fmt.Errorf("%w: %s is a delta crl", ErrCRLUnsupported, source)
		case ext.Id.Equal(oidExtAuthorityKeyID), ext.Id.Equal(oidExtCRLNumber),
			ext.Id.Equal(oidExtIssuerAltName), ext.Id.Equal(oidExtFreshestCRL),
			ext.Id.Equal(oidExtAuthorityInfo):
		default:
			if ext.Critical {
				// RFC 5280, Section 5.2: a CRL with a critical extension we
				// cannot process MUST NOT be used.
				c.unusable = fmt.Errorf("%w: %s has unhandled critical extension %v", ErrCRLUnsupported, source, ext.Id)
			}
		}
	}
	for i := range rl.RevokedCertificateEntries {
		e := &rl.RevokedCertificateEntries[i]
		if e.SerialNumber == nil {
			return nil, fmt.Errorf("%w: %s: entry without serial number", ErrMalformedCRL, source)
		}
		for _, ext := range e.Extensions {
			switch {
			case ext.Id.Equal(oidExtReasonCode), ext.Id.Equal(oidExtInvalidityDate):
			case ext.Id.Equal(oidExtCertificateIssu):
				// Entries about another issuer's certificates: an indirect
				// CRL (RFC 5280, Section 5.3.3), not supported.
				c.unusable = fmt.Errorf("%w: %s is an indirect crl", ErrCRLUnsupported, source)
			default:
				if ext.Critical {
					c.unusable = fmt.Errorf("%w: %s has an entry with unhandled critical extension %v", ErrCRLUnsupported, source, ext.Id)
				}
			}
		}
		c.revoked[serialKey(e.SerialNumber)] = e
	}
	if c.scope.indirect {
		c.unusable = fmt.Errorf("%w: %s is an indirect crl", ErrCRLUnsupported, source)
	}
	return c, nil
}

func serialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return string(n.Bytes())
}

// parseIssuingDP decodes IssuingDistributionPoint (RFC 5280, Section 5.2.5).
// The module uses implicit tags; DistributionPointName is a CHOICE and so
// its [0] tag is explicit (constructed).
func parseIssuingDP(der []byte) (crlScope, error) {
	sc := crlScope{present: true}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return sc, errors.New("malformed issuing distribution point")
	}
	var dp cryptobyte.String
	var hasDP bool
	if !seq.ReadOptionalASN1(&dp, &hasDP, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return sc, errors.New("malformed issuing distribution point name")
	}
	if hasDP {
		var full cryptobyte.String
		var hasFull bool
		if !dp.ReadOptionalASN1(&full, &hasFull, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return sc, errors.New("malformed issuing distribution point full name")
		}
		if hasFull {
			for !full.Empty() {
				var name cryptobyte.String
				var tag cbasn1.Tag
				if !full.ReadAnyASN1(&name, &tag) {
					return sc, errors.New("malformed general name in issuing distribution point")
				}
				if tag == cbasn1.Tag(6).ContextSpecific() { // uniformResourceIdentifier
					sc.dpURIs = append(sc.dpURIs, string(name))
				}
			}
		} else {
			var rel cryptobyte.String
			if !dp.ReadASN1(&rel, cbasn1.Tag(1).Constructed().ContextSpecific()) {
				return sc, errors.New("malformed issuing distribution point name")
			}
			sc.relativeName = true
		}
		if !dp.Empty() {
			return sc, errors.New("trailing data in issuing distribution point name")
		}
	}
	readBool := func(tag uint8, out *bool) error {
		var v cryptobyte.String
		var present bool
		if !seq.ReadOptionalASN1(&v, &present, cbasn1.Tag(tag).ContextSpecific()) {
			return errors.New("malformed issuing distribution point flag")
		}
		if present {
			if len(v) != 1 {
				return errors.New("malformed issuing distribution point boolean")
			}
			*out = v[0] != 0
		}
		return nil
	}
	if err := readBool(1, &sc.onlyUser); err != nil {
		return sc, err
	}
	if err := readBool(2, &sc.onlyCA); err != nil {
		return sc, err
	}
	var reasons cryptobyte.String
	if !seq.ReadOptionalASN1(&reasons, &sc.someReasons, cbasn1.Tag(3).ContextSpecific()) {
		return sc, errors.New("malformed issuing distribution point reasons")
	}
	if err := readBool(4, &sc.indirect); err != nil {
		return sc, err
	}
	if err := readBool(5, &sc.onlyAttribute); err != nil {
		return sc, err
	}
	if !seq.Empty() {
		return sc, errors.New("trailing data in issuing distribution point")
	}
	return sc, nil
}

// covers reports whether the CRL's scope includes cert (RFC 5280, Section
// 6.3.3 (b)(2)); a nil error means it does. A CRL partitioned by reasons
// cannot on its own prove a certificate good, so it is refused too.
func (c *CRL) covers(cert *x509.Certificate) error {
	if c.unusable != nil {
		return c.unusable
	}
	sc := c.scope
	if !sc.present {
		return nil
	}
	switch {
	case sc.onlyAttribute:
		return fmt.Errorf("%w: %s only covers attribute certificates", ErrCRLUnsupported, c.Source)
	case sc.onlyUser && cert.IsCA:
		return fmt.Errorf("%w: %s only covers end-entity certificates", ErrCRLUnsupported, c.Source)
	case sc.onlyCA && !cert.IsCA:
		return fmt.Errorf("%w: %s only covers CA certificates", ErrCRLUnsupported, c.Source)
	case sc.someReasons:
		return fmt.Errorf("%w: %s only covers some revocation reasons", ErrCRLUnsupported, c.Source)
	case sc.relativeName:
		return fmt.Errorf("%w: %s names its distribution point relative to the issuer", ErrCRLUnsupported, c.Source)
	}
	// When both the CRL and the certificate name a distribution point they
	// must share one, or the CRL is a partition that excludes this
	// certificate. A certificate without distribution points (checked
	// against a locally configured CRL) is not held to this.
	if len(sc.dpURIs) > 0 && len(cert.CRLDistributionPoints) > 0 {
		for _, a := range sc.dpURIs {
			for _, b := range cert.CRLDistributionPoints {
				if a == b {
					return nil
				}
			}
		}
		return fmt.Errorf("%w: %s is a partition for %v, not for the certificate's %v",
			ErrCRLUnsupported, c.Source, sc.dpURIs, cert.CRLDistributionPoints)
	}
	return nil
}

// validFor checks that the CRL can decide cert's status at now: it is
// issued by issuer (name and signature), current, and in scope.
func (c *CRL) validFor(cert, issuer *x509.Certificate, now time.Time) error {
	if !bytes.Equal(c.List.RawIssuer, issuer.RawSubject) {
		return fmt.Errorf("%w: %s is issued by %q, not by %q", ErrCRLSignature, c.Source, c.List.Issuer, issuer.Subject)
	}
	// CheckSignatureFrom also requires the issuer to be a CA with cRLSign
	// if it has a KeyUsage extension (RFC 5280, Section 6.3.3 (f)).
	c.sigMu.RLock()
	_, ok := c.sigOK[string(issuer.Raw)]
	c.sigMu.RUnlock()
	if !ok {
		if err := c.List.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("%w: %s is not signed by %q: %w", ErrCRLSignature, c.Source, issuer.Subject, err)
		}
		c.sigMu.Lock()
		if c.sigOK == nil {
			c.sigOK = map[string]struct{}{}
		}
		c.sigOK[string(issuer.Raw)] = struct{}{}
		c.sigMu.Unlock()
	}
	if c.List.ThisUpdate.After(now.Add(crlClockSkew)) {
		return fmt.Errorf("%w: %s is not valid before %s", ErrCRLExpired, c.Source, c.List.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if !c.List.NextUpdate.IsZero() && !now.Before(c.List.NextUpdate) {
		return fmt.Errorf("%w: %s expired at %s (nextUpdate)", ErrCRLExpired, c.Source, c.List.NextUpdate.UTC().Format(time.RFC3339))
	}
	return c.covers(cert)
}

// lookup returns the CRL entry for cert, or nil if it is not listed. An
// entry with reason removeFromCRL releases a certificate from hold (RFC
// 5280, Section 5.3.1) and so does not count as revoked.
func (c *CRL) lookup(cert *x509.Certificate) *x509.RevocationListEntry {
	var e *x509.RevocationListEntry
	// serialKey's encoding, built on the stack for any serial of up to 32
	// octets (RFC 5280, Section 4.1.2.2 allows 20), so that the usual
	// lookup does not allocate.
	n := cert.SerialNumber
	var buf [1 + 32]byte
	if size := (n.BitLen() + 7) / 8; size < len(buf) {
		key := buf[:1+size]
		n.FillBytes(key[1:])
		if n.Sign() >= 0 {
			key = key[1:]
		} else {
			key[0] = '-'
		}
		e = c.revoked[string(key)]
	} else {
		e = c.revoked[serialKey(n)]
	}
	if e == nil || e.ReasonCode == 8 {
		return nil
	}
	return e
}

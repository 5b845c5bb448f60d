package labpki

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"time"
)

// crlBackdate puts thisUpdate a little in the past so that a verifier whose
// clock lags still accepts a fresh CRL.
const crlBackdate = 5 * time.Minute

// reasonKeyCompromise is CRLReason keyCompromise (RFC 5280, Section 5.3.1).
const reasonKeyCompromise = 1

// crl loads the CRL at path, checking it is signed by ca and lists every
// certificate of revoked, or creates it. In create mode a CRL that lacks a
// revoked certificate (re-created since) is re-issued with the entry added.
func (g *gen) crl(path, url string, ca *Issued, revoked []*Issued) (*CRL, error) {
	c, err := readCRL(path, url, ca)
	if errors.Is(err, fs.ErrNotExist) && g.create {
		now := g.o.Now()
		var entries []x509.RevocationListEntry
		for _, r := range revoked {
			entries = append(entries, x509.RevocationListEntry{
				SerialNumber: r.Cert.SerialNumber, RevocationTime: now.Add(-crlBackdate).UTC(), ReasonCode: reasonKeyCompromise,
			})
		}
		return signCRL(path, url, ca, entries, big.NewInt(1), now.Add(-crlBackdate), now.Add(g.o.CRLValidity), g.o.Rand)
	}
	if err != nil {
		return nil, err
	}
	var missing []x509.RevocationListEntry
	for _, r := range revoked {
		if !listed(c.List, r.Cert) {
			missing = append(missing, x509.RevocationListEntry{
				SerialNumber: r.Cert.SerialNumber, RevocationTime: g.o.Now().Add(-crlBackdate).UTC(), ReasonCode: reasonKeyCompromise,
			})
		}
	}
	if len(missing) == 0 {
		return c, nil
	}
	if !g.create {
		return nil, fmt.Errorf("labpki: %s does not list %s", path, missing[0].SerialNumber)
	}
	now := g.o.Now()
	entries := append(append([]x509.RevocationListEntry(nil), c.List.RevokedCertificateEntries...), missing...)
	return signCRL(path, url, ca, entries, nextNumber(c.List), now.Add(-crlBackdate), now.Add(g.o.CRLValidity), g.o.Rand)
}

func listed(rl *x509.RevocationList, c *x509.Certificate) bool {
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

func nextNumber(rl *x509.RevocationList) *big.Int {
	if rl.Number == nil {
		return big.NewInt(1)
	}
	return new(big.Int).Add(rl.Number, big.NewInt(1))
}

func readCRL(path, url string, ca *Issued) (*CRL, error) {
	der, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labpki: %w", err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("labpki: %s: %w", path, err)
	}
	if err := rl.CheckSignatureFrom(ca.Cert); err != nil {
		return nil, fmt.Errorf("labpki: %s is not signed by %s (was the CA regenerated?); remove it to regenerate: %w", path, ca.Cert.Subject, err)
	}
	return &CRL{List: rl, DER: der, Path: path, URL: url}, nil
}

func signCRL(path, url string, ca *Issued, entries []x509.RevocationListEntry, number *big.Int, this, next time.Time, rnd io.Reader) (*CRL, error) {
	tmpl := &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    number,
		ThisUpdate:                this.UTC(),
		NextUpdate:                next.UTC(),
	}
	der, err := x509.CreateRevocationList(rnd, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("labpki: signing %s: %w", path, err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("labpki: parsing %s: %w", path, err)
	}
	if err := writeFile(path, der, 0o644); err != nil {
		return nil, err
	}
	return &CRL{List: rl, DER: der, Path: path, URL: url}, nil
}

// RenewCRLs re-signs every CRL of the accepted families with the given
// thisUpdate and nextUpdate, keeping their entries and incrementing their
// CRL numbers (RFC 5280, Section 5.2.3). A nextUpdate in the past makes an
// expired CRL for tests.
func (p *PKI) RenewCRLs(thisUpdate, nextUpdate time.Time) error {
	if !nextUpdate.After(thisUpdate) {
		return fmt.Errorf("labpki: nextUpdate %s is not after thisUpdate %s", nextUpdate, thisUpdate)
	}
	for _, f := range p.Families() {
		for _, pair := range []struct {
			crl **CRL
			ca  *Issued
		}{{&f.RootCRL, f.Root}, {&f.IntermediateCRL, f.Intermediate}} {
			old := *pair.crl
			c, err := signCRL(old.Path, old.URL, pair.ca, old.List.RevokedCertificateEntries, nextNumber(old.List), thisUpdate, nextUpdate, rand.Reader)
			if err != nil {
				return err
			}
			*pair.crl = c
		}
	}
	return nil
}

package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikelab/ikelab/internal/jsonw"
)

// maxPathCache bounds the path cache. Only certificate sets that chain to
// an accepted root get in, so a peer cannot fill it with junk; a full cache
// forgets an arbitrary entry.
const maxPathCache = 1024

// pathCache remembers what parsing and path validation (RFC 5280, Section
// 6.1, by crypto/x509) found for certificate sets that passed it: the
// parsed certificates and the verified chains. A road-warrior responder
// sees the same few client certificates over and over, and the signature
// check on each certificate of the chain cost as much as the peer's AUTH
// signature itself (an eighth of the responder's CPU per handshake with
// ECDSA P-256).
//
// A hit is exact: an entry keeps a copy of every certificate the peer sent
// and is used only if the new set is byte for byte the same (the map key,
// a keyed hash of the set, merely finds the candidate). The roots and
// configured intermediates never change for a Verifier, so the signatures,
// basic and name constraints of a cached chain are what crypto/x509
// verified. What can change is checked on every Verify regardless: each
// certificate's validity period (a chain with one certificate outside it
// is not used, and the full validation runs and explains), and revocation
// against the CRLs loaded at that moment. Key usage and EKU depend only on
// the certificates and the policy, and are re-applied on every Verify too,
// from the extensions parsed once. strongSwan keeps the same kind of cache
// of verified issuer signatures (libstrongswan's cert_cache).
//
// An entry also keeps the texts of the checks that do not depend on the
// time or the CRLs (subjects, the chain sentence, the key usage and EKU
// findings, the acceptance reason), so that a hit formats almost nothing
// and the Decisions of many IKE SAs share those strings.
type pathCache struct {
	mu      sync.Mutex
	entries map[uint64]*pathEntry
}

// pathSeed keys pathKey, so that a peer cannot choose certificate sets
// that collide in the map (a collision would only evict, never match).
var pathSeed = maphash.MakeSeed()

// pathEntry is what Verify needs from a successful path validation. Apart
// from the validity texts that cachedChain memoises, it is never modified
// once stored.
type pathEntry struct {
	ders    [][]byte // the certificates as sent, end entity first (copies)
	leaf    *x509.Certificate
	note    string // the parse check's detail
	subject string
	chains  []*cachedChain
	// notBefore and notAfter bound the period in which every certificate
	// of every chain is valid.
	notBefore, notAfter time.Time
}

// cachedChain is one verified chain with the parts of its checks that do
// not depend on the time or on the CRLs.
type cachedChain struct {
	certs []*x509.Certificate
	// infos describes certs. Decisions share it (and the certificates):
	// both are read-only.
	infos []CertInfo
	// infosJSON is infos as the audit record's "chain" array, encoded
	// once: the dates in it cost more to format than the rest of the
	// record (nil if an info could not be encoded).
	infosJSON []byte
	ekus      []certEKU // the parsed EKU extension of each certificate

	validityPrefix string // "all N certificates are ... at "
	validity       atomic.Pointer[stampedText]
	chainDetail    string

	// The key usage and EKU checks' outcomes for this chain under the
	// Verifier's policy, as checkKeyUsage and checkEKU report them.
	kuDetail  string
	kuErr     *Error
	ekuFail   int // index of the certificate failing the EKU rule, or -1
	ekuDetail string
	ekuErr    *Error

	// reasonPrefix starts the reason of an acceptance; reasonAccepted is
	// the whole reason when revocation is off, not applicable (a trust
	// anchor) or good for every certificate.
	reasonPrefix   string
	reasonAccepted string
	// checks is the number of checks of an accepted Decision.
	checks int
}

// stampedText is a text that is the same throughout one second of time.
type stampedText struct {
	unix int64
	text string
}

// pathKey hashes the certificates as sent, each prefixed by its length so
// that no two different sets collide by concatenation.
func pathKey(leafDER []byte, otherDER [][]byte) uint64 {
	var h maphash.Hash
	h.SetSeed(pathSeed)
	writeDER(&h, leafDER)
	for _, der := range otherDER {
		writeDER(&h, der)
	}
	return h.Sum64()
}

func writeDER(h *maphash.Hash, der []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(der)))
	h.Write(n[:])
	h.Write(der)
}

// get returns the entry for exactly this certificate set, or nil.
func (c *pathCache) get(k uint64, leafDER []byte, otherDER [][]byte) *pathEntry {
	c.mu.Lock()
	e := c.entries[k]
	c.mu.Unlock()
	if e == nil || !e.matches(leafDER, otherDER) {
		return nil
	}
	return e
}

func (c *pathCache) put(k uint64, e *pathEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[uint64]*pathEntry{}
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= maxPathCache {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = e
}

// matches reports whether the set is the one e was made from.
func (e *pathEntry) matches(leafDER []byte, otherDER [][]byte) bool {
	if len(e.ders) != 1+len(otherDER) || !bytes.Equal(e.ders[0], leafDER) {
		return false
	}
	for i, der := range otherDER {
		if !bytes.Equal(e.ders[i+1], der) {
			return false
		}
	}
	return true
}

// validAt reports whether every certificate of every cached chain is
// within its validity period at now, as path validation requires (RFC
// 5280, Section 6.1.3 (a)(2)).
func (e *pathEntry) validAt(now time.Time) bool {
	return !now.Before(e.notBefore) && !now.After(e.notAfter)
}

// newPathEntry records a successful path validation of the set ders
// (copies that the entry may keep), with the texts that v's policy gives
// each chain's checks.
func (v *Verifier) newPathEntry(ders [][]byte, leaf *x509.Certificate, note string, chains [][]*x509.Certificate) *pathEntry {
	e := &pathEntry{ders: ders, leaf: leaf, note: note, subject: leaf.Subject.String(),
		notBefore: leaf.NotBefore, notAfter: leaf.NotAfter}
	for _, chain := range chains {
		for _, c := range chain {
			if c.NotBefore.After(e.notBefore) {
				e.notBefore = c.NotBefore
			}
			if c.NotAfter.Before(e.notAfter) {
				e.notAfter = c.NotAfter
			}
		}
		e.chains = append(e.chains, v.newCachedChain(chain))
	}
	return e
}

func (v *Verifier) newCachedChain(chain []*x509.Certificate) *cachedChain {
	n := len(chain)
	c := &cachedChain{certs: chain[:n:n], infos: make([]CertInfo, n), ekus: parseChainEKUs(chain)}
	for i, cert := range chain {
		c.infos[i] = certInfo(cert)
	}
	if js, ok := jsonw.AppendArray(nil, c.infos); ok {
		c.infosJSON = js
	}
	c.validityPrefix = fmt.Sprintf("all %d certificates are within their validity periods at ", n)
	// The subjects come formatted from infos (pkix.Name.String is not
	// cheap).
	root := c.infos[n-1].Subject
	c.chainDetail = "signatures, basic constraints and name constraints verified up to accepted root " + root
	c.kuDetail, c.kuErr = v.checkKeyUsage(chain[0])
	c.ekuFail, _ = v.applyEKU(c.ekus)
	c.ekuDetail, c.ekuErr = v.checkEKU(chain, c.ekus)

	c.reasonPrefix = "accepted " + c.infos[0].Subject + ": chains to accepted root " + root + "; "
	revocationChecks := n - 1
	switch {
	case v.policy.CRL.Mode == CRLOff:
		c.reasonAccepted = c.reasonPrefix + summaryOff
		revocationChecks = 1
	case n == 1:
		c.reasonAccepted = c.reasonPrefix + summaryAnchor
		revocationChecks = 1
	default:
		c.reasonAccepted = c.reasonPrefix + fmt.Sprintf("not revoked (%d certificate(s) checked)", n-1)
	}
	// parse, validity, chain, key-usage, eku, and the revocation checks.
	c.checks = 5 + revocationChecks
	return c
}

// validityDetail returns the validity check's detail at now. The text
// changes once a second, so the last one is kept: a busy responder formats
// it about once a second per client rather than once per handshake.
func (c *cachedChain) validityDetail(now time.Time) string {
	// Format(time.RFC3339) of a UTC time depends only on its Unix second.
	sec := now.Unix()
	if m := c.validity.Load(); m != nil && m.unix == sec {
		return m.text
	}
	b := make([]byte, 0, len(c.validityPrefix)+len(time.RFC3339)+8)
	b = append(b, c.validityPrefix...)
	b = now.UTC().AppendFormat(b, time.RFC3339)
	text := string(b)
	c.validity.Store(&stampedText{unix: sec, text: text})
	return text
}

// keyUsage applies the key usage rule to c's end entity (checkKeyUsage),
// taking the check's text from c when the outcome is the one it was
// written for.
func (v *Verifier) keyUsage(c *cachedChain) (string, *Error) {
	if v.keyUsageAllows(c.certs[0]) == (c.kuErr == nil) {
		return c.kuDetail, c.kuErr.clone()
	}
	return v.checkKeyUsage(c.certs[0])
}

// eku applies the EKU rule to c (checkEKU), taking the check's text from
// c when the outcome is the one it was written for.
func (v *Verifier) eku(c *cachedChain) (string, *Error) {
	if fail, _ := v.applyEKU(c.ekus); fail == c.ekuFail {
		return c.ekuDetail, c.ekuErr.clone()
	}
	return v.checkEKU(c.certs, c.ekus)
}

// clone returns a copy of e (nil for nil), so that each Decision has its
// own refusal.
func (e *Error) clone() *Error {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

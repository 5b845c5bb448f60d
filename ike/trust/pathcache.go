package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
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
// A hit is exact: the key is SHA-256 over the DER octets of every
// certificate the peer sent, and the roots and configured intermediates
// never change for a Verifier, so the signatures, basic and name
// constraints of a cached chain are what crypto/x509 verified. What can
// change is checked on every Verify regardless: each certificate's
// validity period (a chain with one certificate outside it is not used,
// and the full validation runs and explains), key usage, EKU and
// revocation. strongSwan keeps the same kind of cache of verified issuer
// signatures (libstrongswan's cert_cache).
type pathCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]*pathEntry
}

// pathEntry is what Verify needs from a successful path validation. It
// is never modified once stored.
type pathEntry struct {
	leaf     *x509.Certificate
	note     string // the parse check's detail
	subject  string
	leafInfo CertInfo
	chains   [][]*x509.Certificate
	infos    [][]CertInfo // certInfo of each certificate of each chain
}

// pathKey hashes the certificates as sent, each prefixed by its length so
// that no two different sets collide by concatenation.
func pathKey(leafDER []byte, otherDER [][]byte) [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	for _, der := range append([][]byte{leafDER}, otherDER...) {
		binary.BigEndian.PutUint32(n[:], uint32(len(der)))
		h.Write(n[:])
		h.Write(der)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (c *pathCache) get(k [sha256.Size]byte) *pathEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[k]
}

func (c *pathCache) put(k [sha256.Size]byte, e *pathEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[[sha256.Size]byte]*pathEntry{}
	}
	if len(c.entries) >= maxPathCache {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = e
}

// validAt reports whether every certificate of every cached chain is
// within its validity period at now, as path validation requires (RFC
// 5280, Section 6.1.3 (a)(2)).
func (e *pathEntry) validAt(now time.Time) bool {
	for _, chain := range e.chains {
		for _, c := range chain {
			if now.Before(c.NotBefore) || now.After(c.NotAfter) {
				return false
			}
		}
	}
	return true
}

func newPathEntry(leaf *x509.Certificate, note string, leafInfo CertInfo, chains [][]*x509.Certificate) *pathEntry {
	e := &pathEntry{leaf: leaf, note: note, subject: leaf.Subject.String(), leafInfo: leafInfo, chains: chains}
	for _, chain := range chains {
		infos := make([]CertInfo, len(chain))
		for i, c := range chain {
			infos[i] = certInfo(c)
		}
		e.infos = append(e.infos, infos)
	}
	return e
}

package crypto

import (
	"crypto/hmac"
	"fmt"
	"hash"
)

// integMAC wraps a keyed MAC so that Sum returns the ICV, truncated to the
// transform's length (RFC 2404, RFC 4868 Section 2.3: the leftmost bits).
type integMAC struct {
	hash.Hash
	icvSize int
}

func (m integMAC) Sum(b []byte) []byte {
	full := m.Hash.Sum(nil)
	return append(b, full[:m.icvSize]...)
}

func (a *IntegAlg) keyed(key []byte) (integMAC, error) {
	if len(key) != a.KeySize {
		return integMAC{}, fmt.Errorf("crypto: %s key is %d octets, want %d: %w",
			a.Name, len(key), a.KeySize, ErrKeyLength)
	}
	return integMAC{Hash: a.macs.get(key), icvSize: a.ICVSize}, nil
}

// release gives a keyed MAC back when its caller is done with it.
func (a *IntegAlg) release(m integMAC) { a.macs.put(m.Hash) }

// MAC returns the integrity check value of data under key, truncated to
// ICVSize octets.
func (a *IntegAlg) MAC(key, data []byte) ([]byte, error) {
	m, err := a.keyed(key)
	if err != nil {
		return nil, err
	}
	defer a.release(m)
	m.Write(data)
	return m.Sum(nil), nil
}

// Verify reports whether icv is the integrity check value of data under
// key. The comparison takes time independent of where the values differ.
func (a *IntegAlg) Verify(key, data, icv []byte) bool {
	want, err := a.MAC(key, data)
	if err != nil {
		return false
	}
	return hmac.Equal(want, icv)
}

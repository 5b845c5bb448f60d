package crypto

import (
	"fmt"
)

// Compute returns prf(key, data). HMAC PRFs take a key of any length (RFC
// 2104); the AES-based PRFs adapt a key that is not 16 octets long as RFC
// 4434 and RFC 4615 prescribe.
func (p *PRFAlg) Compute(key, data []byte) []byte {
	m := p.macs.get(key)
	defer p.macs.put(m)
	m.Write(data)
	return m.Sum(nil)
}

// PRFPlus returns the first n octets of prf+(key, seed) (RFC 7296, Section
// 2.13):
//
//	prf+ (K,S) = T1 | T2 | T3 | T4 | ...
//	T1 = prf (K, S | 0x01)
//	T2 = prf (K, T1 | S | 0x02)
//
// The counter is one octet, so at most 255 blocks can be produced; asking for
// more is an error, as the RFC requires.
func PRFPlus(p *PRFAlg, key, seed []byte, n int) ([]byte, error) {
	if n < 0 || n > 255*p.Size {
		return nil, fmt.Errorf("crypto: %s: %d octets requested, at most %d: %w",
			p.Name, n, 255*p.Size, ErrOutputTooLong)
	}
	out := make([]byte, 0, n+p.Size)
	m := p.macs.get(key)
	defer p.macs.put(m)
	var prev []byte
	for i := 1; len(out) < n; i++ {
		m.Reset()
		m.Write(prev)
		m.Write(seed)
		m.Write([]byte{byte(i)})
		start := len(out)
		out = m.Sum(out)
		prev = out[start:]
	}
	return out[:n:n], nil
}

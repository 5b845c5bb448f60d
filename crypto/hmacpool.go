package crypto

import (
	"crypto/hmac"
	"encoding"
	"hash"
	"sync"
)

// A macSource makes keyed MACs and takes them back when the caller is done.
type macSource interface {
	get(key []byte) hash.Hash
	put(hash.Hash)
}

// macFunc is a macSource whose MACs are garbage after use: the AES-based
// PRFs and integrity transforms.
type macFunc func(key []byte) hash.Hash

func (f macFunc) get(key []byte) hash.Hash { return f(key) }
func (macFunc) put(hash.Hash)              {}

// hmacPool is HMAC (RFC 2104) over a hash whose states can be saved, with
// its digests reused from key to key. crypto/hmac.New allocates two
// digests and two saved states for every key, about 0.7 KB, and a
// handshake keys the PRF five times (SKEYSEED, SK_*, both AUTH payloads'
// prf(SK_p, ID'), KEYMAT); a CBC suite's integrity transform once per
// message. The output is crypto/hmac's, which the tests check.
type hmacPool struct {
	h    func() hash.Hash
	pool sync.Pool
}

// hmacOf returns the HMAC source for h, or crypto/hmac itself if h's
// digests cannot save their state.
func hmacOf(h func() hash.Hash) macSource {
	d := h()
	_, ok1 := d.(encoding.BinaryAppender)
	_, ok2 := d.(encoding.BinaryUnmarshaler)
	if !ok1 || !ok2 {
		return macFunc(func(key []byte) hash.Hash { return hmac.New(h, key) })
	}
	return &hmacPool{h: h}
}

func (p *hmacPool) get(key []byte) hash.Hash {
	m, _ := p.pool.Get().(*hmacHash)
	if m == nil {
		m = &hmacHash{inner: p.h(), outer: p.h()}
	}
	m.setKey(key)
	return m
}

// put takes m back, wiping the keyed states: they are as good as the key.
func (p *hmacPool) put(h hash.Hash) {
	m, ok := h.(*hmacHash)
	if !ok {
		return
	}
	clear(m.istate)
	clear(m.ostate)
	clear(m.sum[:])
	m.inner.Reset()
	m.outer.Reset()
	p.pool.Put(m)
}

// hmacHash is one keyed HMAC. istate and ostate are the inner and outer
// digests' states after the key's ipad and opad blocks, so that Reset and
// Sum need not hash them again, as crypto/hmac does.
type hmacHash struct {
	inner, outer   hash.Hash
	istate, ostate []byte
	sum            [64]byte  // the inner digest, the largest is SHA-512's
	pad            [128]byte // the largest block, SHA-384's and SHA-512's
}

func (m *hmacHash) setKey(key []byte) {
	bs, pad := m.inner.BlockSize(), m.pad[:]
	if len(key) > bs {
		m.inner.Reset()
		m.inner.Write(key)
		key = m.inner.Sum(m.sum[:0])
	}
	copy(pad, key)
	for i := range pad[:bs] {
		pad[i] ^= 0x36
	}
	m.inner.Reset()
	m.inner.Write(pad[:bs])
	for i := range pad[:bs] {
		pad[i] ^= 0x36 ^ 0x5c
	}
	m.outer.Reset()
	m.outer.Write(pad[:bs])
	clear(pad)
	m.istate = saveState(m.inner, m.istate[:0])
	m.ostate = saveState(m.outer, m.ostate[:0])
}

func saveState(h hash.Hash, b []byte) []byte {
	b, err := h.(encoding.BinaryAppender).AppendBinary(b)
	if err != nil {
		panic("crypto: saving a digest's state: " + err.Error()) // hmacOf checked the type
	}
	return b
}

func loadState(h hash.Hash, b []byte) {
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		panic("crypto: restoring a digest's state: " + err.Error()) // saved by saveState
	}
}

func (m *hmacHash) Write(p []byte) (int, error) { return m.inner.Write(p) }
func (m *hmacHash) Size() int                   { return m.outer.Size() }
func (m *hmacHash) BlockSize() int              { return m.inner.BlockSize() }
func (m *hmacHash) Reset()                      { loadState(m.inner, m.istate) }

// Sum appends HMAC(key, what was written) to b without changing the
// running state, as hash.Hash requires.
func (m *hmacHash) Sum(b []byte) []byte {
	in := m.inner.Sum(m.sum[:0])
	loadState(m.outer, m.ostate)
	m.outer.Write(in)
	return m.outer.Sum(b)
}

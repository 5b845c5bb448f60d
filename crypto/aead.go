package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

var errOpen = errors.New("crypto: message authentication failed")

// newGCM returns AES-GCM with a 12-octet nonce and a tagSize-octet tag.
// crypto/cipher allows tags of 12 to 16 octets; ENCR_AES_GCM_8 needs 8
// (RFC 4106, RFC 5282), which shortGCM supplies.
func newGCM(key []byte, tagSize int) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if tagSize >= 12 {
		return cipher.NewGCMWithTagSize(b, tagSize)
	}
	full, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &shortGCM{full: full, block: b, tagSize: tagSize}, nil
}

// shortGCM is GCM with a tag shorter than crypto/cipher allows. A t-octet GCM
// tag is the leftmost t octets of the full tag (NIST SP 800-38D, Section
// 7.1), so sealing truncates the standard output. Opening recovers the
// plaintext with the GCM keystream (counter blocks from J0+1 = nonce |
// 00000002 for a 96-bit nonce, SP 800-38D Section 7.2), re-seals it to get
// the full tag over the received ciphertext, and compares the truncated tag
// in constant time before releasing anything.
type shortGCM struct {
	full    cipher.AEAD
	block   cipher.Block
	tagSize int
}

func (g *shortGCM) NonceSize() int { return g.full.NonceSize() }
func (g *shortGCM) Overhead() int  { return g.tagSize }

func (g *shortGCM) Seal(dst, nonce, plaintext, ad []byte) []byte {
	sealed := g.full.Seal(nil, nonce, plaintext, ad)
	ret, out := sliceForAppend(dst, len(plaintext)+g.tagSize)
	copy(out, sealed[:len(plaintext)+g.tagSize])
	return ret
}

func (g *shortGCM) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != g.NonceSize() || len(ciphertext) < g.tagSize {
		return nil, errOpen
	}
	ct, tag := ciphertext[:len(ciphertext)-g.tagSize], ciphertext[len(ciphertext)-g.tagSize:]
	var cb [aes.BlockSize]byte
	copy(cb[:], nonce)
	binary.BigEndian.PutUint32(cb[12:], 2)
	pt := make([]byte, len(ct))
	cipher.NewCTR(g.block, cb[:]).XORKeyStream(pt, ct)
	resealed := g.full.Seal(nil, nonce, pt, ad)
	if subtle.ConstantTimeCompare(resealed[len(ct):len(ct)+g.tagSize], tag) != 1 {
		clear(pt)
		return nil, errOpen
	}
	return append(dst, pt...), nil
}

// ccm is AES-CCM (RFC 3610; NIST SP 800-38C) as IKEv2 and ESP use it: an
// 11-octet nonce (3-octet salt | 8-octet IV, RFC 4309 Section 4), so a 4-octet
// length field, and tags of 8, 12 or 16 octets (RFC 5282).
// Nothing in the standard library or x/crypto implements it.
type ccm struct {
	block     cipher.Block
	tagSize   int
	nonceSize int
}

func newCCM(key []byte, tagSize, nonceSize int) (cipher.AEAD, error) {
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 || nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("crypto: invalid ccm parameters")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &ccm{block: b, tagSize: tagSize, nonceSize: nonceSize}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// maxLen is the longest message the length field of L = 15 - nonceSize
// octets can describe, capped so that int arithmetic never overflows.
func (c *ccm) maxLen() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return 1<<62 - 1
	}
	return 1<<(8*uint(l)) - 1
}

// mac computes the CBC-MAC T over B0 | encoded AAD | message (RFC 3610,
// Section 2.2).
func (c *ccm) mac(nonce, msg, ad []byte) [aes.BlockSize]byte {
	var x, blk [aes.BlockSize]byte
	l := 15 - c.nonceSize
	x[0] = byte((c.tagSize-2)/2)<<3 | byte(l-1)
	if len(ad) > 0 {
		x[0] |= 0x40
	}
	copy(x[1:], nonce)
	var ml [8]byte
	binary.BigEndian.PutUint64(ml[:], uint64(len(msg)))
	copy(x[1+c.nonceSize:], ml[8-l:])
	c.block.Encrypt(x[:], x[:])

	chain := func(data []byte) {
		for len(data) > 0 {
			clear(blk[:])
			n := copy(blk[:], data)
			data = data[n:]
			subtle.XORBytes(x[:], x[:], blk[:])
			c.block.Encrypt(x[:], x[:])
		}
	}
	if len(ad) > 0 {
		// The AAD length prefix: two octets below 2^16-2^8, otherwise
		// 0xfffe and four octets (IKE messages never need the 8-octet form).
		var hdr []byte
		if len(ad) < 0xff00 {
			hdr = binary.BigEndian.AppendUint16(nil, uint16(len(ad)))
		} else {
			hdr = binary.BigEndian.AppendUint32([]byte{0xff, 0xfe}, uint32(len(ad)))
		}
		// The prefix and the AAD are one string padded to whole blocks.
		first := append(hdr, ad[:min(len(ad), aes.BlockSize-len(hdr))]...)
		chain(first)
		chain(ad[len(first)-len(hdr):])
	}
	chain(msg)
	return x
}

// ctr returns the CTR keystream starting at counter block A_i
// (flags = L-1, nonce, counter i).
func (c *ccm) ctr(nonce []byte, i uint32) cipher.Stream {
	var a [aes.BlockSize]byte
	l := 15 - c.nonceSize
	a[0] = byte(l - 1)
	copy(a[1:], nonce)
	var cnt [8]byte
	binary.BigEndian.PutUint64(cnt[:], uint64(i))
	copy(a[1+c.nonceSize:], cnt[8-l:])
	return cipher.NewCTR(c.block, a[:])
}

func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("crypto: ccm: incorrect nonce length")
	}
	if uint64(len(plaintext)) > c.maxLen() || uint64(len(ad)) > 1<<32-1 {
		panic("crypto: ccm: message too long")
	}
	t := c.mac(nonce, plaintext, ad)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	c.ctr(nonce, 1).XORKeyStream(out[:len(plaintext)], plaintext)
	var s0 [aes.BlockSize]byte
	c.ctr(nonce, 0).XORKeyStream(s0[:], s0[:])
	subtle.XORBytes(out[len(plaintext):], t[:c.tagSize], s0[:c.tagSize])
	return ret
}

func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize || len(ciphertext) < c.tagSize {
		return nil, errOpen
	}
	n := len(ciphertext) - c.tagSize
	if uint64(n) > c.maxLen() || uint64(len(ad)) > 1<<32-1 {
		return nil, errOpen
	}
	pt := make([]byte, n)
	c.ctr(nonce, 1).XORKeyStream(pt, ciphertext[:n])
	t := c.mac(nonce, pt, ad)
	var s0 [aes.BlockSize]byte
	c.ctr(nonce, 0).XORKeyStream(s0[:], s0[:])
	subtle.XORBytes(t[:c.tagSize], t[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(t[:c.tagSize], ciphertext[n:]) != 1 {
		clear(pt)
		return nil, errOpen
	}
	return append(dst, pt...), nil
}

// sliceForAppend extends in by n octets, reallocating if needed, and returns
// the whole slice and the new tail (the idiom crypto/cipher uses).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

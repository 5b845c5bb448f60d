package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"hash"
)

// AES-XCBC-MAC (RFC 3566) and AES-CMAC (RFC 4493), the two AES-based MACs
// IKEv2 uses as PRF (RFC 4434, RFC 4615) and as integrity transform (RFC 3566,
// RFC 4494). Both are exposed as hash.Hash so that prf+ and the SK payload
// code treat them like HMAC. The input is buffered and the MAC computed in
// Sum: IKE messages are small and this keeps the block logic in one place.

const aesBlock = aes.BlockSize

type blockMAC struct {
	k1     cipher.Block      // the CBC-MAC key
	final  [2][aesBlock]byte // XORed into a complete / padded last block
	buf    []byte
	outLen int
}

func (m *blockMAC) Write(p []byte) (int, error) { m.buf = append(m.buf, p...); return len(p), nil }
func (m *blockMAC) Reset()                      { m.buf = m.buf[:0] }
func (m *blockMAC) Size() int                   { return m.outLen }
func (m *blockMAC) BlockSize() int              { return aesBlock }

// Sum runs the CBC-MAC shared by both RFCs: every block but the last is
// chained as is; the last is XORed with final[0] when complete and non-empty,
// or padded with 10* and XORed with final[1] otherwise.
func (m *blockMAC) Sum(b []byte) []byte {
	var e, last [aesBlock]byte
	msg := m.buf
	n := (len(msg) + aesBlock - 1) / aesBlock
	if n == 0 {
		n = 1
	}
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(e[:], e[:], msg[i*aesBlock:(i+1)*aesBlock])
		m.k1.Encrypt(e[:], e[:])
	}
	rest := msg[(n-1)*aesBlock:]
	copy(last[:], rest)
	if len(rest) == aesBlock {
		subtle.XORBytes(last[:], last[:], m.final[0][:])
	} else {
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:], last[:], m.final[1][:])
	}
	subtle.XORBytes(e[:], e[:], last[:])
	m.k1.Encrypt(e[:], e[:])
	return append(b, e[:m.outLen]...)
}

// newXCBC derives the three RFC 3566 subkeys from a 16-octet key:
// K1 = E(K, 0x01...), K2 = E(K, 0x02...), K3 = E(K, 0x03...).
func newXCBC(key []byte, outLen int) *blockMAC {
	k, err := aes.NewCipher(key)
	if err != nil {
		panic("crypto: xcbc key must be 16 octets") // callers fix the length
	}
	var k1 [aesBlock]byte
	m := &blockMAC{outLen: outLen}
	for i, dst := range [][]byte{k1[:], m.final[0][:], m.final[1][:]} {
		var c [aesBlock]byte
		for j := range c {
			c[j] = byte(i + 1)
		}
		k.Encrypt(dst, c[:])
	}
	m.k1, _ = aes.NewCipher(k1[:])
	return m
}

// newCMAC derives the RFC 4493 subkeys: L = E(K, 0), K1 = dbl(L),
// K2 = dbl(K1), and keeps K itself for the chaining.
func newCMAC(key []byte, outLen int) *blockMAC {
	k, err := aes.NewCipher(key)
	if err != nil {
		panic("crypto: cmac key must be 16 octets") // callers fix the length
	}
	m := &blockMAC{k1: k, outLen: outLen}
	var l [aesBlock]byte
	k.Encrypt(l[:], l[:])
	m.final[0] = gfDouble(l)
	m.final[1] = gfDouble(m.final[0])
	return m
}

// gfDouble multiplies by x in GF(2^128) with the polynomial x^128+x^7+x^2+x+1,
// in constant time (RFC 4493, Section 2.3).
func gfDouble(in [aesBlock]byte) [aesBlock]byte {
	var out [aesBlock]byte
	msb := in[0] >> 7
	for i := 0; i < aesBlock-1; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[aesBlock-1] = in[aesBlock-1]<<1 ^ (0x87 & -msb)
	return out
}

// newXCBCPRF is AES-XCBC-PRF-128 (RFC 4434, Section 2): a shorter key is
// padded with zero octets, a longer one replaced by its XCBC MAC under the
// all-zero key.
func newXCBCPRF(key []byte) hash.Hash {
	var k [aesBlock]byte
	switch {
	case len(key) <= aesBlock:
		copy(k[:], key)
	default:
		z := newXCBC(make([]byte, aesBlock), aesBlock)
		z.Write(key)
		copy(k[:], z.Sum(nil))
	}
	return newXCBC(k[:], aesBlock)
}

// newCMACPRF is AES-CMAC-PRF-128 (RFC 4615, Section 3): any key that is not
// 16 octets long is replaced by its CMAC under the all-zero key.
func newCMACPRF(key []byte) hash.Hash {
	if len(key) != aesBlock {
		z := newCMAC(make([]byte, aesBlock), aesBlock)
		z.Write(key)
		key = z.Sum(nil)
	}
	return newCMAC(key, aesBlock)
}

// newXCBCMAC and newCMACMAC are the 96-bit integrity transforms. Their key is
// always 16 octets; NewSKCipher checks it before getting here.
func newXCBCMAC(key []byte) hash.Hash { return newXCBC(key, 12) }
func newCMACMAC(key []byte) hash.Hash { return newCMAC(key, 12) }

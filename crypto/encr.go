package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/ikelab/ikelab/ike/wire"
	"golang.org/x/crypto/chacha20poly1305"
)

// SKCipher protects the body of Encrypted (SK, RFC 7296 Section 3.14) and
// Encrypted Fragment (SKF, RFC 7383 Section 2.5) payloads in one direction:
// one SKCipher per SK_e/SK_a pair, so an IKE SA has two.
//
// assoc is every octet of the IKE message before the IV: the IKE header, all
// payloads before the SK payload, and the SK (or SKF) payload's own header,
// with every length field already holding its final value. For integrity
// transforms the ICV covers assoc | IV | ciphertext (RFC 7296, Section 3.14);
// for AEAD ciphers assoc is the additional authenticated data (RFC 5282,
// Section 5; RFC 7634, Section 3).
//
// body is IV | ciphertext | ICV, where the ciphertext encrypts the inner
// payloads, the padding and the Pad Length octet.
//
// An SKCipher holds no per-message state and is safe for concurrent use.
type SKCipher interface {
	// BodyLen returns the length of the body that Seal produces for
	// plainLen octets of inner payloads, so the caller can fill in the SK
	// payload and IKE header lengths before sealing.
	BodyLen(plainLen int) int
	// Seal encrypts and authenticates plain, taking the IV from rand (nil
	// means crypto/rand.Reader), appends the BodyLen(len(plain)) octets of
	// the body to dst and returns the extended slice, like cipher.AEAD.
	// assoc may be dst itself: the message is sealed into its own buffer,
	// after the header and SK payload header it authenticates.
	Seal(dst []byte, rand io.Reader, assoc, plain []byte) ([]byte, error)
	// Open checks the ICV in constant time, decrypts, and returns the inner
	// payload octets without padding. Failures wrap ErrAuthentication or
	// ErrDecrypt; no input makes it panic.
	Open(assoc, body []byte) ([]byte, error)
}

type skCipherFactory func(a *EncrAlg, keyBits int, key []byte, integ *IntegAlg, integKey []byte) (SKCipher, error)

// NewSKCipher returns the SK payload protection for encryption transform
// encr with Key Length attribute keyBits (0 for fixed-size ciphers) and
// integrity transform integ, which must be AUTH_NONE for AEAD ciphers.
//
// encKey is SK_ei or SK_er as the key schedule produced it: for AEAD and CTR
// ciphers it ends with the salt or nonce (RFC 5282 Section 7.1: key | salt;
// RFC 5930 Section 2: key | nonce), which is also how Wireshark's IKEv2
// decryption table lists the keys. integKey is SK_ai or SK_ar, empty for AEAD.
func NewSKCipher(encr wire.TransformID, keyBits int, integ wire.TransformID, encKey, integKey []byte) (SKCipher, error) {
	a, ok := Encr(encr)
	if !ok {
		return nil, unsupported(wire.TransformENCR, encr)
	}
	n, err := a.KeyLen(keyBits)
	if err != nil {
		return nil, err
	}
	if len(encKey) != n {
		return nil, fmt.Errorf("crypto: %s key is %d octets, want %d: %w", a.Name, len(encKey), n, ErrKeyLength)
	}
	if keyBits == 0 {
		keyBits = a.KeyBits[0]
	}
	if a.AEAD {
		if integ != wire.AUTH_NONE || len(integKey) != 0 {
			return nil, fmt.Errorf("crypto: %s is a combined-mode cipher and takes no integrity transform (RFC 7296, Section 3.3): %w",
				a.Name, ErrUnsupported)
		}
		return a.newCipher(a, keyBits, encKey, nil, nil)
	}
	ia, ok := Integ(integ)
	if !ok {
		return nil, unsupported(wire.TransformINTEG, integ)
	}
	if len(integKey) != ia.KeySize {
		return nil, fmt.Errorf("crypto: %s key is %d octets, want %d: %w", ia.Name, len(integKey), ia.KeySize, ErrKeyLength)
	}
	return a.newCipher(a, keyBits, encKey, ia, integKey)
}

// padLen returns the Pad Length for plainLen octets of inner payloads: the
// least padding that makes payloads | padding | pad length a multiple of the
// block size (RFC 7296, Section 3.14). Counter and AEAD modes have block
// size 1 and need none (RFC 5282 Section 3; RFC 7634 Section 3). The padding
// octets are zero; receivers must accept any value.
func padLen(plainLen, blockSize int) int {
	return (blockSize - (plainLen+1)%blockSize) % blockSize
}

// stripPadding removes the padding and Pad Length octet from a decrypted
// body. A pad length that reaches past the start is an error, not a panic.
func stripPadding(a *EncrAlg, pt []byte) ([]byte, error) {
	if len(pt) == 0 {
		return nil, fmt.Errorf("crypto: %s: empty plaintext: %w", a.Name, ErrDecrypt)
	}
	n := int(pt[len(pt)-1])
	if n+1 > len(pt) {
		return nil, fmt.Errorf("crypto: %s: pad length %d exceeds %d-octet plaintext: %w", a.Name, n, len(pt), ErrDecrypt)
	}
	return pt[: len(pt)-1-n : len(pt)-1-n], nil
}

// grow extends dst by n octets, reallocating if its capacity is short, and
// returns the whole and the new octets, capped at n: the MAC of the
// non-AEAD modes is appended into the tail's last octets (macSK.sum).
func grow(dst []byte, n int) (whole, tail []byte) {
	whole = slices.Grow(dst, n)[:len(dst)+n]
	return whole, whole[len(dst):len(whole):len(whole)]
}

// layout fills the plaintext region of a fresh body: inner payloads, zero
// padding, Pad Length.
func layout(dst, plain []byte) {
	copy(dst, plain)
	clear(dst[len(plain):])
	dst[len(dst)-1] = byte(len(dst) - 1 - len(plain))
}

// macSK is the integrity half of the non-AEAD modes (encrypt-then-MAC,
// RFC 7296 Section 3.14).
type macSK struct {
	integ *IntegAlg
	key   []byte
}

func (m macSK) sum(dst, assoc, signed []byte) []byte {
	h, _ := m.integ.keyed(m.key) // length checked in NewSKCipher
	defer m.integ.release(h)
	h.Write(assoc)
	h.Write(signed)
	return h.Sum(dst)
}

func (m macSK) verify(a *EncrAlg, assoc, body []byte) error {
	icv := m.integ.ICVSize
	want := m.sum(make([]byte, 0, icv), assoc, body[:len(body)-icv])
	if !hmac.Equal(want, body[len(body)-icv:]) {
		return fmt.Errorf("crypto: %s/%s: %w", a.Name, m.integ.Name, ErrAuthentication)
	}
	return nil
}

// cbcSK is AES-CBC (RFC 3602) or 3DES-CBC (RFC 2451) with an integrity
// transform. The IV is a full block, random and unpredictable, as CBC
// requires (RFC 7296, Section 3.14).
type cbcSK struct {
	alg   *EncrAlg
	block cipher.Block
	mac   macSK
}

func newCBCCipher(a *EncrAlg, keyBits int, key []byte, integ *IntegAlg, integKey []byte) (SKCipher, error) {
	var b cipher.Block
	var err error
	if a.ID == wire.ENCR_3DES {
		b, err = des.NewTripleDESCipher(key)
	} else {
		b, err = aes.NewCipher(key)
	}
	if err != nil {
		return nil, fmt.Errorf("crypto: %s: %v: %w", a.Name, err, ErrKeyLength)
	}
	return &cbcSK{alg: a, block: b, mac: macSK{integ, append([]byte(nil), integKey...)}}, nil
}

func (c *cbcSK) BodyLen(plainLen int) int {
	bs := c.alg.BlockSize
	return c.alg.IVSize + plainLen + padLen(plainLen, bs) + 1 + c.mac.integ.ICVSize
}

func (c *cbcSK) Seal(dst []byte, rand io.Reader, assoc, plain []byte) ([]byte, error) {
	n := c.BodyLen(len(plain))
	icv := c.mac.integ.ICVSize
	ret, out := grow(dst, n)
	iv := out[:c.alg.IVSize]
	if _, err := io.ReadFull(randOr(rand), iv); err != nil {
		return nil, fmt.Errorf("crypto: %s: reading IV: %w", c.alg.Name, err)
	}
	ct := out[c.alg.IVSize : n-icv]
	layout(ct, plain)
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(ct, ct)
	c.mac.sum(out[:n-icv], assoc, out[:n-icv])
	return ret, nil
}

func (c *cbcSK) Open(assoc, body []byte) ([]byte, error) {
	bs, iv, icv := c.alg.BlockSize, c.alg.IVSize, c.mac.integ.ICVSize
	ctLen := len(body) - iv - icv
	if ctLen < bs || ctLen%bs != 0 {
		return nil, fmt.Errorf("crypto: %s: %d-octet body is not IV | whole blocks | %d-octet ICV: %w",
			c.alg.Name, len(body), icv, ErrDecrypt)
	}
	if err := c.mac.verify(c.alg, assoc, body); err != nil {
		return nil, err
	}
	pt := make([]byte, ctLen)
	cipher.NewCBCDecrypter(c.block, body[:iv]).CryptBlocks(pt, body[iv:iv+ctLen])
	return stripPadding(c.alg, pt)
}

// ctrSK is AES-CTR (RFC 5930, which applies RFC 3686 to IKEv2) with an
// integrity transform. The counter block is nonce | IV | 00000001, the nonce
// being the last four octets of the key material.
type ctrSK struct {
	alg   *EncrAlg
	block cipher.Block
	nonce [4]byte
	mac   macSK
}

func newCTRCipher(a *EncrAlg, keyBits int, key []byte, integ *IntegAlg, integKey []byte) (SKCipher, error) {
	b, err := aes.NewCipher(key[:keyBits/8])
	if err != nil {
		return nil, fmt.Errorf("crypto: %s: %v: %w", a.Name, err, ErrKeyLength)
	}
	c := &ctrSK{alg: a, block: b, mac: macSK{integ, append([]byte(nil), integKey...)}}
	copy(c.nonce[:], key[keyBits/8:])
	return c, nil
}

func (c *ctrSK) BodyLen(plainLen int) int {
	return c.alg.IVSize + plainLen + 1 + c.mac.integ.ICVSize
}

func (c *ctrSK) stream(iv []byte) cipher.Stream {
	var cb [aes.BlockSize]byte
	copy(cb[:4], c.nonce[:])
	copy(cb[4:12], iv)
	binary.BigEndian.PutUint32(cb[12:], 1)
	return cipher.NewCTR(c.block, cb[:])
}

func (c *ctrSK) Seal(dst []byte, rand io.Reader, assoc, plain []byte) ([]byte, error) {
	n := c.BodyLen(len(plain))
	icv := c.mac.integ.ICVSize
	ret, out := grow(dst, n)
	iv := out[:c.alg.IVSize]
	if _, err := io.ReadFull(randOr(rand), iv); err != nil {
		return nil, fmt.Errorf("crypto: %s: reading IV: %w", c.alg.Name, err)
	}
	ct := out[c.alg.IVSize : n-icv]
	layout(ct, plain)
	c.stream(iv).XORKeyStream(ct, ct)
	c.mac.sum(out[:n-icv], assoc, out[:n-icv])
	return ret, nil
}

func (c *ctrSK) Open(assoc, body []byte) ([]byte, error) {
	iv, icv := c.alg.IVSize, c.mac.integ.ICVSize
	ctLen := len(body) - iv - icv
	if ctLen < 1 {
		return nil, fmt.Errorf("crypto: %s: %d-octet body too short: %w", c.alg.Name, len(body), ErrDecrypt)
	}
	if err := c.mac.verify(c.alg, assoc, body); err != nil {
		return nil, err
	}
	pt := make([]byte, ctLen)
	c.stream(body[:iv]).XORKeyStream(pt, body[iv:iv+ctLen])
	return stripPadding(c.alg, pt)
}

// aeadSK is a combined-mode cipher: AES-GCM and AES-CCM (RFC 5282) or
// ChaCha20-Poly1305 (RFC 7634). The nonce is salt | IV with the 8-octet IV
// sent in the payload, and the AAD is assoc.
//
// The IV is random. RFC 5282 only demands that an IV never repeat under one
// key; a counter would do that too, but would break if a caller ever built
// two SKCiphers over the same key, while 64 random bits stay collision-free
// far beyond the number of messages one IKE SA carries.
type aeadSK struct {
	alg  *EncrAlg
	aead cipher.AEAD
	salt []byte
}

func newAEADCipher(a *EncrAlg, keyBits int, key []byte, _ *IntegAlg, _ []byte) (SKCipher, error) {
	k, salt := key[:keyBits/8], key[keyBits/8:]
	var aead cipher.AEAD
	var err error
	switch a.ID {
	case wire.ENCR_CHACHA20_POLY1305:
		aead, err = chacha20poly1305.New(k)
	case wire.ENCR_AES_GCM_8, wire.ENCR_AES_GCM_12, wire.ENCR_AES_GCM_16:
		aead, err = newGCM(k, a.ICVSize)
	case wire.ENCR_AES_CCM_8, wire.ENCR_AES_CCM_12, wire.ENCR_AES_CCM_16:
		aead, err = newCCM(k, a.ICVSize, a.SaltSize+a.IVSize)
	default:
		return nil, unsupported(wire.TransformENCR, a.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("crypto: %s: %v: %w", a.Name, err, ErrKeyLength)
	}
	return &aeadSK{alg: a, aead: aead, salt: append([]byte(nil), salt...)}, nil
}

func (c *aeadSK) BodyLen(plainLen int) int {
	return c.alg.IVSize + plainLen + 1 + c.alg.ICVSize
}

func (c *aeadSK) nonce(buf *[16]byte, iv []byte) []byte {
	n := copy(buf[:], c.salt)
	n += copy(buf[n:], iv)
	return buf[:n]
}

func (c *aeadSK) Seal(dst []byte, rand io.Reader, assoc, plain []byte) ([]byte, error) {
	n := c.BodyLen(len(plain))
	ret, out := grow(dst, n)
	iv := out[:c.alg.IVSize]
	if _, err := io.ReadFull(randOr(rand), iv); err != nil {
		return nil, fmt.Errorf("crypto: %s: reading IV: %w", c.alg.Name, err)
	}
	pt := out[c.alg.IVSize : n-c.alg.ICVSize]
	layout(pt, plain)
	var nb [16]byte
	c.aead.Seal(pt[:0], c.nonce(&nb, iv), pt, assoc)
	return ret, nil
}

func (c *aeadSK) Open(assoc, body []byte) ([]byte, error) {
	iv, icv := c.alg.IVSize, c.alg.ICVSize
	if len(body) < iv+1+icv {
		return nil, fmt.Errorf("crypto: %s: %d-octet body too short: %w", c.alg.Name, len(body), ErrDecrypt)
	}
	var nb [16]byte
	pt, err := c.aead.Open(nil, c.nonce(&nb, body[:iv]), body[iv:], assoc)
	if err != nil {
		return nil, fmt.Errorf("crypto: %s: %w", c.alg.Name, ErrAuthentication)
	}
	return stripPadding(c.alg, pt)
}

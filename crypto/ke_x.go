package crypto

import (
	"crypto/ecdh"
	"errors"
	"io"

	"github.com/cloudflare/circl/dh/x448"
	"github.com/ikelab/ikelab/ike/wire"
)

// Curve25519 and Curve448 (RFC 8031). The KE payload carries the
// u-coordinate as RFC 7748 encodes it, and the shared secret is the X25519
// or X448 output. RFC 8031, Section 2.3: a receiver MUST reject an all-zero
// result, which is what a low-order peer point produces.

type x25519Method struct{}

func (x25519Method) generate(rand io.Reader) (keSecret, error) {
	k := make([]byte, 32)
	if _, err := io.ReadFull(rand, k); err != nil {
		return nil, err
	}
	return x25519Method{}.fromScalar(k)
}

func (x25519Method) fromScalar(k []byte) (keSecret, error) {
	priv, err := ecdh.X25519().NewPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return x25519Secret{priv}, nil
}

type x25519Secret struct{ k *ecdh.PrivateKey }

func (s x25519Secret) public() []byte { return s.k.PublicKey().Bytes() }

func (s x25519Secret) shared(peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, invalidPublic(wire.CURVE_25519, "not 32 octets")
	}
	// crypto/ecdh returns an error exactly when the output is all zeros.
	z, err := s.k.ECDH(pub)
	if err != nil || isZero(z) {
		return nil, invalidPublic(wire.CURVE_25519, "low-order point, all-zero shared secret")
	}
	return z, nil
}

type x448Method struct{}

func (x448Method) generate(rand io.Reader) (keSecret, error) {
	k := make([]byte, x448.Size)
	if _, err := io.ReadFull(rand, k); err != nil {
		return nil, err
	}
	return x448Method{}.fromScalar(k)
}

func (x448Method) fromScalar(k []byte) (keSecret, error) {
	if len(k) != x448.Size {
		return nil, errors.New("x448 scalar must be 56 octets")
	}
	s := &x448Secret{}
	copy(s.k[:], k)
	x448.KeyGen(&s.pub, &s.k)
	return s, nil
}

type x448Secret struct{ k, pub x448.Key }

func (s *x448Secret) public() []byte { return s.pub[:] }

func (s *x448Secret) shared(peer []byte) ([]byte, error) {
	var pub, z x448.Key
	copy(pub[:], peer) // length checked by SharedSecret
	if !x448.Shared(&z, &s.k, &pub) || isZero(z[:]) {
		return nil, invalidPublic(wire.CURVE_448, "low-order point, all-zero shared secret")
	}
	return z[:], nil
}

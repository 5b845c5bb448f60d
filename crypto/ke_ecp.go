package crypto

import (
	"crypto/ecdh"
	"errors"
	"io"

	"github.com/ikelab/ikelab/ike/wire"
)

// ecpMethod is a NIST prime curve group (RFC 5903). The KE payload carries
// x | y, each coordinate zero-padded to the field size, without the SEC 1
// 0x04 prefix (RFC 5903, Section 7), and the shared secret is the x
// coordinate of the product alone (RFC 5903, Section 9 as corrected by
// errata 9; RFC 7296 Section 2.14).
type ecpMethod struct {
	id    wire.TransformID
	curve ecdh.Curve
	size  int  // octets per coordinate and per scalar
	mask  byte // mask for the scalar's top octet (P-521 has 521 bits)
}

var (
	ecp256 = ecpMethod{id: wire.ECP_256, curve: ecdh.P256(), size: 32, mask: 0xff}
	ecp384 = ecpMethod{id: wire.ECP_384, curve: ecdh.P384(), size: 48, mask: 0xff}
	ecp521 = ecpMethod{id: wire.ECP_521, curve: ecdh.P521(), size: 66, mask: 0x01}
)

// generate draws the scalar from rand itself instead of calling
// Curve.GenerateKey, which ignores its reader since Go 1.26: an injected
// reader must fix every secret of a recorded handshake. Values of zero or
// not below the group order are rejected and drawn again (SEC 1 Section
// 3.2.1 by rejection sampling, as crypto/ecdh does internally).
func (e ecpMethod) generate(rand io.Reader) (keSecret, error) {
	d := make([]byte, e.size)
	for range maxScalarTries {
		if _, err := io.ReadFull(rand, d); err != nil {
			return nil, err
		}
		d[0] &= e.mask
		if s, err := e.fromScalar(d); err == nil {
			return s, nil
		}
	}
	return nil, errors.New("random source produced no valid scalar")
}

func (e ecpMethod) fromScalar(d []byte) (keSecret, error) {
	k, err := e.curve.NewPrivateKey(d)
	if err != nil {
		return nil, err
	}
	return ecpSecret{m: e, k: k}, nil
}

type ecpSecret struct {
	m ecpMethod
	k *ecdh.PrivateKey
}

func (s ecpSecret) public() []byte { return s.k.PublicKey().Bytes()[1:] }

// shared checks the peer point as RFC 6989 Section 2.3 requires (both
// coordinates below p, on the curve, not the point at infinity, which x | y
// cannot even encode): crypto/ecdh.NewPublicKey rejects all of these.
func (s ecpSecret) shared(peer []byte) ([]byte, error) {
	enc := make([]byte, 1+len(peer))
	enc[0] = 4
	copy(enc[1:], peer)
	pub, err := s.m.curve.NewPublicKey(enc)
	if err != nil {
		return nil, invalidPublic(s.m.id, "not a point on the curve")
	}
	z, err := s.k.ECDH(pub)
	if err != nil {
		return nil, invalidPublic(s.m.id, "shared point is the point at infinity")
	}
	return z, nil
}

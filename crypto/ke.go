package crypto

import (
	"fmt"
	"io"

	"github.com/ikelab/ikelab/ike/wire"
)

// KEAlg describes a key exchange method (Transform Type 4).
type KEAlg struct {
	ID   wire.TransformID
	Name string
	// PublicSize is the exact length of the Key Exchange Data in a KE
	// payload (RFC 7296, Section 3.4): the modulus length for MODP groups,
	// x | y for ECP groups (RFC 5903, Section 7), the u-coordinate for
	// Curve25519/448 (RFC 8031, Section 2).
	PublicSize int
	// SharedSize is the length of g^ir as it enters SKEYSEED.
	SharedSize int
	// SecurityBits is the estimated strength (NIST SP 800-57 Part 1 Rev. 5,
	// Table 2; SP 800-56B Rev. 2 Appendix D for the MODP sizes it omits).
	SecurityBits int
	// Weak marks groups that policy refuses unless told otherwise: MODP
	// groups under 2048 bits and the RFC 5114 groups 22-24.
	Weak bool

	impl keMethod
}

type keMethod interface {
	generate(rand io.Reader) (keSecret, error)
	// fromScalar builds the secret from a given private value, for
	// generate and for the known-answer tests.
	fromScalar(x []byte) (keSecret, error)
}

type keSecret interface {
	public() []byte
	// shared computes g^ir from a peer value of the right length, after
	// the method's own validity checks.
	shared(peer []byte) ([]byte, error)
}

// KEPrivate is one side's ephemeral key exchange secret. It is used for
// exactly one exchange and then dropped.
type KEPrivate struct {
	alg *KEAlg
	s   keSecret
}

var keAlgs = map[wire.TransformID]*KEAlg{
	wire.MODP_1024:     {PublicSize: 128, SharedSize: 128, SecurityBits: 80, Weak: true, impl: modp1024},
	wire.MODP_1536:     {PublicSize: 192, SharedSize: 192, SecurityBits: 96, Weak: true, impl: modp1536},
	wire.MODP_2048:     {PublicSize: 256, SharedSize: 256, SecurityBits: 112, impl: modp2048},
	wire.MODP_3072:     {PublicSize: 384, SharedSize: 384, SecurityBits: 128, impl: modp3072},
	wire.MODP_4096:     {PublicSize: 512, SharedSize: 512, SecurityBits: 152, impl: modp4096},
	wire.MODP_6144:     {PublicSize: 768, SharedSize: 768, SecurityBits: 176, impl: modp6144},
	wire.MODP_8192:     {PublicSize: 1024, SharedSize: 1024, SecurityBits: 200, impl: modp8192},
	wire.MODP_1024_160: {PublicSize: 128, SharedSize: 128, SecurityBits: 80, Weak: true, impl: modp22},
	wire.MODP_2048_224: {PublicSize: 256, SharedSize: 256, SecurityBits: 112, Weak: true, impl: modp23},
	wire.MODP_2048_256: {PublicSize: 256, SharedSize: 256, SecurityBits: 112, Weak: true, impl: modp24},
	wire.ECP_256:       {PublicSize: 64, SharedSize: 32, SecurityBits: 128, impl: ecp256},
	wire.ECP_384:       {PublicSize: 96, SharedSize: 48, SecurityBits: 192, impl: ecp384},
	wire.ECP_521:       {PublicSize: 132, SharedSize: 66, SecurityBits: 256, impl: ecp521},
	wire.CURVE_25519:   {PublicSize: 32, SharedSize: 32, SecurityBits: 128, impl: x25519Method{}},
	wire.CURVE_448:     {PublicSize: 56, SharedSize: 56, SecurityBits: 224, impl: x448Method{}},
}

// Generate creates an ephemeral secret, reading randomness only from rand
// (nil means crypto/rand.Reader) so that a test with a fixed reader replays
// an exchange byte for byte.
func (g *KEAlg) Generate(rand io.Reader) (*KEPrivate, error) {
	s, err := g.impl.generate(randOr(rand))
	if err != nil {
		return nil, fmt.Errorf("crypto: %s key generation: %w", g.Name, err)
	}
	return &KEPrivate{alg: g, s: s}, nil
}

// Alg returns the method the secret belongs to.
func (k *KEPrivate) Alg() *KEAlg { return k.alg }

// Public returns the Key Exchange Data for this side's KE payload, exactly
// PublicSize octets.
func (k *KEPrivate) Public() []byte { return append([]byte(nil), k.s.public()...) }

// SharedSecret returns g^ir from the peer's Key Exchange Data. The peer value
// is validated first (RFC 7296 Section 3.4 length; RFC 6989 range and
// subgroup checks for MODP, on-curve and not-infinity for ECP, non-zero
// result for Curve25519/448); a bad one yields an *InvalidPublicError, which
// matches ErrInvalidPublic.
func (k *KEPrivate) SharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != k.alg.PublicSize {
		return nil, invalidPublic(k.alg.ID, fmt.Sprintf("%d octets, want %d", len(peer), k.alg.PublicSize))
	}
	z, err := k.s.shared(peer)
	if err != nil {
		return nil, err
	}
	return z, nil
}

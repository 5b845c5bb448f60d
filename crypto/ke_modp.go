package crypto

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/bigmod"
	"github.com/ikelab/ikelab/ike/wire"
)

// modpGroup is a finite-field Diffie-Hellman group (RFC 7296 Section 3.4,
// RFC 3526, RFC 5114). All arithmetic on secrets goes through
// filippo.io/bigmod, whose exponentiation is constant time.
//
// Private exponents. For the safe-prime groups the exponent is expBits
// random bits, twice the group's security strength (NIST SP 800-56A Rev. 3,
// Section 5.6.1.1.1 allows a short exponent of at least 2x the strength;
// strongSwan also uses short exponents). That makes MODP-2048 eight times
// cheaper than a full-length exponent at no loss of strength:
//
//	group   strength  exponent
//	1024    80        160
//	1536    96        192
//	2048    112       256 (>= 224)
//	3072    128       256
//	4096    152       320 (>= 304)
//	6144    176       352
//	8192    200       400
//
// For the RFC 5114 groups 22-24 the exponent is uniform in [1, q-1] (RFC
// 5114, Section 2; SP 800-56A Section 5.6.1.1).
type modpGroup struct {
	id      wire.TransformID
	pHex    string
	gHex    string
	qHex    string // empty for safe primes
	expBits int    // safe-prime groups only

	once  sync.Once
	p     *bigmod.Modulus
	g     *bigmod.Nat
	q     *bigmod.Modulus // nil for safe primes
	qBits []byte
	err   error
}

var (
	modp1024 = &modpGroup{id: wire.MODP_1024, pHex: modp1024P, gHex: "02", expBits: 160}
	modp1536 = &modpGroup{id: wire.MODP_1536, pHex: modp1536P, gHex: "02", expBits: 192}
	modp2048 = &modpGroup{id: wire.MODP_2048, pHex: modp2048P, gHex: "02", expBits: 256}
	modp3072 = &modpGroup{id: wire.MODP_3072, pHex: modp3072P, gHex: "02", expBits: 256}
	modp4096 = &modpGroup{id: wire.MODP_4096, pHex: modp4096P, gHex: "02", expBits: 320}
	modp6144 = &modpGroup{id: wire.MODP_6144, pHex: modp6144P, gHex: "02", expBits: 352}
	modp8192 = &modpGroup{id: wire.MODP_8192, pHex: modp8192P, gHex: "02", expBits: 400}
	modp22   = &modpGroup{id: wire.MODP_1024_160, pHex: modp22P, gHex: modp22G, qHex: modp22Q}
	modp23   = &modpGroup{id: wire.MODP_2048_224, pHex: modp23P, gHex: modp23G, qHex: modp23Q}
	modp24   = &modpGroup{id: wire.MODP_2048_256, pHex: modp24P, gHex: modp24G, qHex: modp24Q}
)

// params parses the group constants on first use.
func (m *modpGroup) params() error {
	m.once.Do(func() {
		p, err1 := hex.DecodeString(m.pHex)
		g, err2 := hex.DecodeString(m.gHex)
		if err := errors.Join(err1, err2); err != nil {
			m.err = err
			return
		}
		if m.p, m.err = bigmod.NewModulus(p); m.err != nil {
			return
		}
		if m.g, m.err = bigmod.NewNat().SetBytes(g, m.p); m.err != nil {
			return
		}
		if m.qHex != "" {
			if m.qBits, m.err = hex.DecodeString(m.qHex); m.err != nil {
				return
			}
			m.q, m.err = bigmod.NewModulus(m.qBits)
		}
	})
	return m.err
}

// maxScalarTries bounds rejection sampling, so that a broken random source
// (say, one returning only zeros) fails instead of looping forever. A good
// source needs more than one try with probability below 2^-32.
const maxScalarTries = 64

func (m *modpGroup) generate(rand io.Reader) (keSecret, error) {
	if err := m.params(); err != nil {
		return nil, err
	}
	var x []byte
	if m.q == nil {
		x = make([]byte, m.expBits/8)
	} else {
		x = make([]byte, m.q.Size())
	}
	for range maxScalarTries {
		if _, err := io.ReadFull(rand, x); err != nil {
			return nil, err
		}
		if m.q != nil {
			// Mask to the bit length of q; values >= q are rejected by
			// fromScalar, keeping the result uniform in [1, q-1].
			x[0] &= 0xff >> (8*len(x) - m.q.BitLen())
		}
		if s, err := m.fromScalar(x); err == nil {
			return s, nil
		}
	}
	return nil, errors.New("random source produced no valid exponent")
}

func (m *modpGroup) fromScalar(x []byte) (keSecret, error) {
	if err := m.params(); err != nil {
		return nil, err
	}
	if isZero(x) {
		return nil, errors.New("zero exponent")
	}
	if m.q != nil {
		if _, err := bigmod.NewNat().SetBytes(x, m.q); err != nil {
			return nil, fmt.Errorf("exponent not below q: %w", err)
		}
	}
	y := bigmod.NewNat().Exp(m.g, x, m.p)
	return &modpSecret{group: m, x: append([]byte(nil), x...), pub: y.Bytes(m.p)}, nil
}

type modpSecret struct {
	group *modpGroup
	x     []byte
	pub   []byte
}

func (s *modpSecret) public() []byte { return s.pub }

// shared validates the peer value y as RFC 6989 requires and returns
// y^x mod p, left-padded to the length of p (RFC 7296, Section 2.14).
func (s *modpSecret) shared(peer []byte) ([]byte, error) {
	m := s.group
	y, err := bigmod.NewNat().SetBytes(peer, m.p)
	if err != nil {
		return nil, invalidPublic(m.id, "not less than the prime p")
	}
	// RFC 6989, Section 2.1: 1 < y < p-1. For safe primes this is all that
	// is needed: y = 0, 1 or p-1 would force the shared secret into a
	// subgroup of order at most 2.
	if y.IsZero()|y.IsOne()|y.IsMinusOne(m.p) == 1 {
		return nil, invalidPublic(m.id, "0, 1 or p-1")
	}
	// RFC 6989, Section 2.2: for groups with a small prime-order subgroup,
	// y^q = 1 mod p, else a peer could learn x mod small factors of p-1.
	if m.q != nil && bigmod.NewNat().Exp(y, m.qBits, m.p).IsOne() != 1 {
		return nil, invalidPublic(m.id, "not in the prime-order subgroup (y^q != 1 mod p)")
	}
	z := bigmod.NewNat().Exp(y, s.x, m.p)
	if z.IsOne() == 1 {
		// Unreachable after the checks above; kept so that no future edit
		// can let a degenerate secret through.
		return nil, invalidPublic(m.id, "shared secret is 1")
	}
	return z.Bytes(m.p), nil
}

// isZero reports whether b is all zeros, in time that depends only on len(b).
func isZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}

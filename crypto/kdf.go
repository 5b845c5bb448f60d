package crypto

import (
	"fmt"

	"github.com/ikelab/ikelab/ike/wire"
)

// Suite is the set of transforms chosen for an IKE SA (or, with PRF and KE
// unused, for a child SA).
type Suite struct {
	Encr wire.TransformID
	// EncrKeyBits is the Key Length attribute, 0 for fixed-size ciphers.
	EncrKeyBits int
	PRF         wire.TransformID
	// Integ is AUTH_NONE with an AEAD cipher.
	Integ wire.TransformID
	KE    wire.TransformID
}

// IKEKeys holds the seven secrets of an IKE SA (RFC 7296, Section 2.14).
// SKei and SKer include the salt or nonce for AEAD and CTR ciphers.
type IKEKeys struct {
	SKd, SKai, SKar, SKei, SKer, SKpi, SKpr []byte
}

// usesNonceHalves reports whether p is one of the fixed-key AES PRFs for which
// RFC 7296 Section 2.14 keys SKEYSEED with the first 64 bits of Ni and of Nr
// instead of the whole nonces (RFC 4434 Section 4; RFC 4615 Section 4 for
// CMAC).
func usesNonceHalves(p *PRFAlg) bool {
	return p.ID == wire.PRF_AES128_XCBC || p.ID == wire.PRF_AES128_CMAC
}

// SKEYSEED returns prf(Ni | Nr, g^ir) (RFC 7296, Section 2.14). For
// AES-XCBC and AES-CMAC the key is the first eight octets of each nonce.
// Nonces are at least 16 octets (RFC 7296, Section 3.9); the wire layer
// enforces that before this is called.
func SKEYSEED(p *PRFAlg, ni, nr, gir []byte) []byte {
	key := make([]byte, 0, len(ni)+len(nr))
	if usesNonceHalves(p) {
		key = append(append(key, ni[:min(8, len(ni))]...), nr[:min(8, len(nr))]...)
	} else {
		key = append(append(key, ni...), nr...)
	}
	return p.Compute(key, gir)
}

// RekeySKEYSEED returns the SKEYSEED of an IKE SA created by rekeying
// (RFC 7296, Section 2.18): prf(SK_d (old), g^ir (new) | Ni | Nr), where
// the nonces are those of the CREATE_CHILD_SA exchange and p is the new
// SA's PRF.
func RekeySKEYSEED(p *PRFAlg, oldSKd, gir, ni, nr []byte) []byte {
	seed := make([]byte, 0, len(gir)+len(ni)+len(nr))
	seed = append(append(append(seed, gir...), ni...), nr...)
	return p.Compute(oldSKd, seed)
}

// DeriveIKEKeys splits prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) into
// SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr (RFC 7296, Section
// 2.14). SK_d, SK_pi and SK_pr take the PRF's preferred key length (Section
// 2.13); SK_a* the integrity key length (none with AEAD); SK_e* the cipher's
// key plus salt (RFC 5282, Section 7.1).
func DeriveIKEKeys(s Suite, skeyseed, ni, nr []byte, spii, spir [8]byte) (*IKEKeys, error) {
	p, ok := PRFByID(s.PRF)
	if !ok {
		return nil, unsupported(wire.TransformPRF, s.PRF)
	}
	encLen, integLen, err := ESPKeyLengths(s.Encr, s.EncrKeyBits, s.Integ)
	if err != nil {
		return nil, err
	}
	seed := make([]byte, 0, len(ni)+len(nr)+16)
	seed = append(append(append(append(seed, ni...), nr...), spii[:]...), spir[:]...)
	lens := []int{p.KeySize, integLen, integLen, encLen, encLen, p.KeySize, p.KeySize}
	total := 0
	for _, n := range lens {
		total += n
	}
	km, err := PRFPlus(p, skeyseed, seed, total)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, len(lens))
	for i, n := range lens {
		keys[i], km = km[:n:n], km[n:]
	}
	return &IKEKeys{SKd: keys[0], SKai: keys[1], SKar: keys[2], SKei: keys[3], SKer: keys[4],
		SKpi: keys[5], SKpr: keys[6]}, nil
}

// ChildKeymat returns n octets of KEYMAT for a child SA (RFC 7296, Section
// 2.17): prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr) when the
// CREATE_CHILD_SA exchange carried KE payloads (PFS); pass gir nil without.
// Ni and Nr are the nonces of the exchange that creates the child SA
// (IKE_SA_INIT's for the first one).
func ChildKeymat(p *PRFAlg, skd, gir, ni, nr []byte, n int) ([]byte, error) {
	seed := make([]byte, 0, len(gir)+len(ni)+len(nr))
	seed = append(append(append(seed, gir...), ni...), nr...)
	return PRFPlus(p, skd, seed, n)
}

// ChildKeys are the four keys of a child SA pair. "I" keys protect traffic
// from the initiator of the exchange to the responder, "R" keys the reverse;
// the responder installs the I keys inbound and the R keys outbound.
// Encryption keys include the salt or nonce for AEAD and CTR ciphers; the
// integrity keys are empty for AEAD.
type ChildKeys struct {
	EncrI, IntegI, EncrR, IntegR []byte
}

// SplitChildKeymat cuts KEYMAT in RFC 7296 Section 2.17 order: all keys for
// the initiator-to-responder SA first, then those for the other direction;
// within each, the encryption key before the integrity key.
func SplitChildKeymat(keymat []byte, encLen, integLen int) (*ChildKeys, error) {
	if encLen < 0 || integLen < 0 || len(keymat) != 2*(encLen+integLen) {
		return nil, fmt.Errorf("crypto: %d octets of KEYMAT for two %d+%d-octet key pairs: %w",
			len(keymat), encLen, integLen, ErrKeyLength)
	}
	cut := func(n int) []byte {
		k := keymat[:n:n]
		keymat = keymat[n:]
		return k
	}
	c := &ChildKeys{}
	c.EncrI, c.IntegI = cut(encLen), cut(integLen)
	c.EncrR, c.IntegR = cut(encLen), cut(integLen)
	return c, nil
}

// DeriveChildKeys computes and splits KEYMAT for an ESP SA pair with
// encryption transform encr (key length keyBits) and integrity transform
// integ (AUTH_NONE for AEAD). gir is nil without PFS.
func DeriveChildKeys(p *PRFAlg, skd, gir, ni, nr []byte, encr wire.TransformID, keyBits int, integ wire.TransformID) (*ChildKeys, error) {
	encLen, integLen, err := ESPKeyLengths(encr, keyBits, integ)
	if err != nil {
		return nil, err
	}
	km, err := ChildKeymat(p, skd, gir, ni, nr, 2*(encLen+integLen))
	if err != nil {
		return nil, err
	}
	return SplitChildKeymat(km, encLen, integLen)
}

package crypto

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// Known-answer tests over the GPL-licensed vector files in the shared corpus
// (strongSwan's and libreswan's self-test tables and the NIST CAVP IKEv2 KDF
// vector). Each test runs every vector of its file whose algorithm this
// package implements, and fails if a vector is skipped that is not on the
// explicit list of unimplemented ones, so a silently ignored vector cannot
// pass for a proven one.

// transformByName finds the transform of type t whose strongSwan/IANA name
// is name (with or without the ENCR_/AUTH_ prefix strongSwan's tables use).
func transformByName(t wire.TransformType, name string) (wire.TransformID, bool) {
	name = strings.TrimPrefix(name, "AUTH_")
	name = strings.TrimPrefix(name, "ENCR_")
	if t == wire.TransformENCR && name == "3DES" {
		return wire.ENCR_3DES, true // IANA's name; wire spells it strongSwan's way, 3DES_CBC
	}
	for id := range wire.TransformID(1024) {
		if wire.TransformName(t, id) == name {
			return id, true
		}
	}
	return 0, false
}

// coverage tracks tested and skipped vectors of one file.
type coverage struct {
	t              *testing.T
	file           string
	tested         int
	skipped        []string
	expectedToSkip []string
}

func (c *coverage) skip(name string) { c.skipped = append(c.skipped, name) }

func (c *coverage) done() {
	c.t.Helper()
	for _, s := range c.skipped {
		if !slices.Contains(c.expectedToSkip, s) {
			c.t.Errorf("%s: vector %s was skipped but its algorithm should be implemented", c.file, s)
		}
	}
	for _, s := range c.expectedToSkip {
		if !slices.Contains(c.skipped, s) {
			c.t.Errorf("%s: vector %s expected to be unimplemented, but was not seen as such", c.file, s)
		}
	}
	if c.tested == 0 {
		c.t.Errorf("%s: no vector tested", c.file)
	}
	c.t.Logf("%s: %d vectors tested, skipped (unimplemented): %v", c.file, c.tested, c.skipped)
}

func truncated(t *testing.T, s section, field, lenField string) []byte {
	b := []byte{}
	if s.has(field) && s.f[field] != "" {
		b = s.hex(t, field)
	}
	if s.has(lenField) {
		b = b[:s.int(t, lenField)]
	}
	return b
}

func strongswan(t *testing.T, file string) (string, []section) {
	p := filepath.Join(corpusDir(t), "vectors", "strongswan", file)
	return file, loadSections(t, p)
}

// RFC 2202 and RFC 4868 Section 2.7 PRF and truncated-ICV cases, and the
// RFC 3566/4434 (XCBC) and RFC 4493/4494/4615 (CMAC) cases.
func TestVectorsStrongSwanPRFAndIntegrity(t *testing.T) {
	for _, f := range []struct {
		file string
		skip []string
	}{
		{"sha1_hmac.txt", []string{"sha1_hmac_s2", "sha1_hmac_s5"}}, // AUTH_HMAC_SHA1_128 is not an IKEv2 transform
		{"sha2_hmac.txt", nil},
		{"aes_xcbc.txt", nil},
		{"aes_cmac.txt", nil},
	} {
		file, secs := strongswan(t, f.file)
		cov := &coverage{t: t, file: file, expectedToSkip: f.skip}
		for _, s := range secs {
			switch s.f["struct"] {
			case "prf_test_vector_t":
				id, ok := transformByName(wire.TransformPRF, s.f["alg"])
				p, ok2 := PRFByID(id)
				if !ok || !ok2 {
					cov.skip(s.name)
					continue
				}
				key := s.hex(t, "key")[:s.int(t, "key_size")]
				got := p.Compute(key, truncated(t, s, "seed", "len"))
				if want := s.hex(t, "out"); !bytes.Equal(got, want) {
					t.Errorf("%s [%s]: prf = %x, want %x", file, s.name, got, want)
				}
				cov.tested++
			case "signer_test_vector_t":
				id, ok := transformByName(wire.TransformINTEG, s.f["alg"])
				a, ok2 := Integ(id)
				if !ok || !ok2 {
					cov.skip(s.name)
					continue
				}
				key, data := s.hex(t, "key"), truncated(t, s, "data", "len")
				want := s.hex(t, "mac")[:a.ICVSize]
				got, err := a.MAC(key, data)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s [%s]: mac = %x, %v; want %x", file, s.name, got, err, want)
				}
				if !a.Verify(key, data, want) {
					t.Errorf("%s [%s]: Verify rejects the published ICV", file, s.name)
				}
				cov.tested++
			default:
				t.Fatalf("%s [%s]: unexpected struct %q", file, s.name, s.f["struct"])
			}
		}
		cov.done()
	}
}

// CAVP SP 800-135 SKEYSEED (kdf_prf) and prf+ (kdf_prf_plus) vectors.
func TestVectorsStrongSwanKDF(t *testing.T) {
	for _, file := range []string{"kdf_prf.txt", "kdf_prf_plus.txt"} {
		file, secs := strongswan(t, file)
		cov := &coverage{t: t, file: file}
		for _, s := range secs {
			id, _ := transformByName(wire.TransformPRF, s.f["arg.prf"])
			p, ok := PRFByID(id)
			if !ok {
				cov.skip(s.name)
				continue
			}
			key, salt, want := s.hex(t, "key"), s.hex(t, "salt"), s.hex(t, "out")
			var got []byte
			if s.f["alg"] == "KDF_PRF" {
				// key = g^ir, salt = Ni | Nr; HMAC keys with the
				// concatenation, so the split point does not matter.
				got = SKEYSEED(p, salt, nil, key)
			} else {
				var err error
				if got, err = PRFPlus(p, key, salt, len(want)); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s [%s]: got %x, want %x", file, s.name, got, want)
			}
			cov.tested++
		}
		cov.done()
	}
}

// RFC 3602 / SP 800-38A (CBC), NIST 3DES MMT, RFC 3686 (CTR): the SK cipher
// must produce the published ciphertext for the published key and IV. The
// vectors' plaintexts are whole blocks, so the SK padding lands in a block
// of its own after them.
func TestVectorsStrongSwanCrypters(t *testing.T) {
	for _, file := range []string{"aes_cbc.txt", "3des_cbc.txt", "aes_ctr.txt"} {
		file, secs := strongswan(t, file)
		cov := &coverage{t: t, file: file}
		for _, s := range secs {
			id, _ := transformByName(wire.TransformENCR, s.f["alg"])
			a, ok := Encr(id)
			if !ok {
				cov.skip(s.name)
				continue
			}
			keySize := s.int(t, "key_size")
			key := s.hex(t, "key")[:keySize+a.SaltSize]
			keyBits := keySize * 8
			if !a.KeyLengthAttr {
				keyBits = 0
			}
			checkCrypter(t, file+" ["+s.name+"]", id, keyBits, key, s.hex(t, "iv"),
				truncated(t, s, "plain", "len"), s.hex(t, "cipher"))
			cov.tested++
		}
		cov.done()
	}
}

func checkCrypter(t *testing.T, name string, id wire.TransformID, keyBits int, key, iv, plain, want []byte) {
	t.Helper()
	ia, _ := Integ(wire.AUTH_HMAC_SHA2_256_128)
	ikey := make([]byte, ia.KeySize)
	sk, err := NewSKCipher(id, keyBits, ia.ID, key, ikey)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	assoc := []byte("header")
	body, err := sk.Seal(nil, &fixedReader{append([]byte(nil), iv...)}, assoc, plain)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(body[:len(iv)], iv) {
		t.Errorf("%s: IV not taken from the reader", name)
	}
	if got := body[len(iv) : len(iv)+len(want)]; !bytes.Equal(got, want) {
		t.Errorf("%s: ciphertext %x, want %x", name, got, want)
	}
	got, err := sk.Open(assoc, body)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("%s: Open = %x, %v; want %x", name, got, err, plain)
	}
}

// McGrew-Viega GCM (RFC 4106 salt | IV form), RFC 4309-style CCM, RFC 7539
// and RFC 7634 ChaCha20-Poly1305: the AEAD behind the SK cipher, with the
// nonce built as salt | IV, must produce ciphertext | ICV exactly.
func TestVectorsStrongSwanAEAD(t *testing.T) {
	for _, file := range []string{"aes_gcm.txt", "aes_ccm.txt", "chacha20poly1305.txt"} {
		file, secs := strongswan(t, file)
		cov := &coverage{t: t, file: file}
		for _, s := range secs {
			name := strings.Replace(s.f["alg"], "_ICV", "_", 1)
			id, _ := transformByName(wire.TransformENCR, name)
			a, ok := Encr(id)
			if !ok {
				cov.skip(s.name)
				continue
			}
			keySize, saltSize := s.int(t, "key_size"), s.int(t, "salt_size")
			if saltSize != a.SaltSize {
				t.Fatalf("%s [%s]: salt size %d, registry says %d", file, s.name, saltSize, a.SaltSize)
			}
			key := s.hex(t, "key")[:keySize+saltSize]
			checkAEAD(t, file+" ["+s.name+"]", id, keySize*8, key, s.hex(t, "iv"),
				truncated(t, s, "adata", "alen"), truncated(t, s, "plain", "len"), s.hex(t, "cipher"))
			cov.tested++
		}
		cov.done()
	}
}

func checkAEAD(t *testing.T, name string, id wire.TransformID, keyBits int, key, iv, ad, plain, want []byte) {
	t.Helper()
	a, _ := Encr(id)
	if !a.KeyLengthAttr {
		keyBits = 0
	}
	sk, err := NewSKCipher(id, keyBits, wire.AUTH_NONE, key, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c := sk.(*aeadSK)
	var nb [16]byte
	nonce := c.nonce(&nb, iv)
	if got := c.aead.Seal(nil, nonce, plain, ad); !bytes.Equal(got, want) {
		t.Errorf("%s: seal = %x, want %x", name, got, want)
	}
	got, err := c.aead.Open(nil, nonce, want, ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("%s: open = %x, %v; want %x", name, got, err, plain)
	}
	bad := append([]byte(nil), want...)
	bad[len(bad)-1] ^= 1
	if _, err := c.aead.Open(nil, nonce, bad, ad); err == nil {
		t.Errorf("%s: open accepted a modified ICV", name)
	}
}

// RFC 5114 (modpsub, ecp), strongSwan-generated MODP, RFC 7748 / RFC 8031
// (curve25519, curve448): both public values from the private seeds and the
// shared secret computed from each side.
func TestVectorsStrongSwanKeyExchange(t *testing.T) {
	for _, f := range []struct {
		file string
		skip []string
	}{
		{"modp.txt", []string{"modp768"}}, // group 1: RFC 8247 MUST NOT
		{"modpsub.txt", nil},
		{"ecp.txt", []string{"ecp192", "ecp224"}},
		{"curve25519.txt", nil},
		{"curve448.txt", nil},
	} {
		file, secs := strongswan(t, f.file)
		cov := &coverage{t: t, file: file, expectedToSkip: f.skip}
		for _, s := range secs {
			id, _ := transformByName(wire.TransformKE, strings.TrimSuffix(s.f["method"], "_BIT"))
			g, ok := KE(id)
			if !ok {
				cov.skip(s.name)
				continue
			}
			checkKEVector(t, file+" ["+s.name+"]", g, s.hex(t, "seed[0]"), s.hex(t, "seed[1]"),
				s.hex(t, "pub_i"), s.hex(t, "pub_r"), s.hex(t, "shared"))
			cov.tested++
		}
		cov.done()
	}
}

func checkKEVector(t *testing.T, name string, g *KEAlg, xi, xr, pubI, pubR, shared []byte) {
	t.Helper()
	si, err := g.impl.fromScalar(xi)
	if err != nil {
		t.Fatalf("%s: initiator scalar: %v", name, err)
	}
	sr, err := g.impl.fromScalar(xr)
	if err != nil {
		t.Fatalf("%s: responder scalar: %v", name, err)
	}
	ki, kr := &KEPrivate{alg: g, s: si}, &KEPrivate{alg: g, s: sr}
	if got := ki.Public(); !bytes.Equal(got, pubI) {
		t.Errorf("%s: initiator public %x, want %x", name, got, pubI)
	}
	if got := kr.Public(); !bytes.Equal(got, pubR) {
		t.Errorf("%s: responder public %x, want %x", name, got, pubR)
	}
	for side, k := range map[string]struct {
		priv *KEPrivate
		peer []byte
	}{"initiator": {ki, pubR}, "responder": {kr, pubI}} {
		z, err := k.priv.SharedSecret(k.peer)
		if err != nil || !bytes.Equal(z, shared) {
			t.Errorf("%s: %s shared secret %x, %v; want %x", name, side, z, err, shared)
		}
		if len(z) != g.SharedSize {
			t.Errorf("%s: shared secret %d octets, SharedSize %d", name, len(z), g.SharedSize)
		}
	}
}

// libreswan's self-test tables: AES-CBC (RFC 3602), AES-CTR (RFC 3686 with
// the full counter block), AES-GCM (NIST CAVP with 12-octet salted IVs),
// AES-XCBC-PRF (RFC 3566/4434), HMAC-MD5 (RFC 2104) and the CAVP IKEv2
// HMAC-SHA1 KDF vector.
func TestVectorsLibreswan(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "vectors", "libreswan")

	cov := &coverage{t: t, file: "cbc.txt", expectedToSkip: []string{
		"camellia_cbc_test_vectors.0", "camellia_cbc_test_vectors.1",
		"camellia_cbc_test_vectors.2", "camellia_cbc_test_vectors.3"}}
	for _, s := range loadSections(t, filepath.Join(dir, "cbc.txt")) {
		if strings.HasPrefix(s.name, "camellia") {
			cov.skip(s.name)
			continue
		}
		key := s.hex(t, "key")
		checkCrypter(t, "cbc.txt ["+s.name+"]", wire.ENCR_AES_CBC, len(key)*8, key, s.hex(t, "iv"),
			s.hex(t, "plaintext"), s.hex(t, "ciphertext"))
		cov.tested++
	}
	cov.done()

	cov = &coverage{t: t, file: "ctr.txt"}
	for _, s := range loadSections(t, filepath.Join(dir, "ctr.txt")) {
		key, cb := s.hex(t, "key"), s.hex(t, "cb")
		if !bytes.Equal(cb[12:], []byte{0, 0, 0, 1}) {
			t.Fatalf("ctr.txt [%s]: counter block does not start at 1", s.name)
		}
		// RFC 3686: counter block = nonce | IV | counter; the nonce is the
		// last four octets of the IKE/ESP key material.
		checkCrypter(t, "ctr.txt ["+s.name+"]", wire.ENCR_AES_CTR, len(key)*8, append(key, cb[:4]...),
			cb[4:12], s.hex(t, "plaintext"), s.hex(t, "ciphertext"))
		cov.tested++
	}
	cov.done()

	cov = &coverage{t: t, file: "gcm.txt"}
	for _, s := range loadSections(t, filepath.Join(dir, "gcm.txt")) {
		key, salted := s.hex(t, "key"), s.hex(t, "salted_iv")
		ct := append(truncated(t, s, "ciphertext", ""), s.hex(t, "tag")...)
		checkAEAD(t, "gcm.txt ["+s.name+"]", wire.ENCR_AES_GCM_16, len(key)*8, append(key, salted[:4]...),
			salted[4:], truncated(t, s, "aad", ""), truncated(t, s, "plaintext", ""), ct)
		cov.tested++
	}
	cov.done()

	cov = &coverage{t: t, file: "prf.txt"}
	for _, s := range loadSections(t, filepath.Join(dir, "prf.txt")) {
		switch {
		case strings.HasPrefix(s.name, "aes_xcbc"), strings.HasPrefix(s.name, "hmac_md5"):
			id := wire.PRF_AES128_XCBC
			if strings.HasPrefix(s.name, "hmac_md5") {
				id = wire.PRF_HMAC_MD5
			}
			p, _ := PRFByID(id)
			msg := truncated(t, s, "message", "")
			if s.has("message_size") {
				msg = make([]byte, s.int(t, "message_size"))
			}
			if got, want := p.Compute(s.hex(t, "key"), msg), s.hex(t, "prf_output"); !bytes.Equal(got, want) {
				t.Errorf("prf.txt [%s]: %x, want %x", s.name, got, want)
			}
		case strings.HasPrefix(s.name, "hmac_sha1_kdf"):
			checkCAVPKDF(t, "prf.txt ["+s.name+"]", s.hex(t, "ni"), s.hex(t, "nr"), s.hex(t, "gir"),
				s.hex(t, "gir_new"), s.hex(t, "spii"), s.hex(t, "spir"), s.hex(t, "skeyseed"),
				s.hex(t, "dkm"), nil, nil, s.hex(t, "skeyseed_rekey"))
		default:
			t.Fatalf("prf.txt: unknown vector %s", s.name)
		}
		cov.tested++
	}
	cov.done()
}

// NIST CAVP SP 800-135 IKEv2 KDF, SHA-1, COUNT 0: SKEYSEED, the IKE SA
// DKM, the child SA DKM without and with PFS, and the rekeyed SKEYSEED.
func TestVectorsCAVPIKEv2KDF(t *testing.T) {
	secs := loadSections(t, filepath.Join(corpusDir(t), "vectors", "ikev2-kdf-cavp-sha1.txt"))
	s := secs[len(secs)-1]
	checkCAVPKDF(t, "ikev2-kdf-cavp-sha1.txt", s.hex(t, "Ni"), s.hex(t, "Nr"), s.hex(t, "g^ir"),
		s.hex(t, "g^ir (new)"), s.hex(t, "SPIi"), s.hex(t, "SPIr"), s.hex(t, "SKEYSEED"), s.hex(t, "DKM"),
		s.hex(t, "DKM(Child SA)"), s.hex(t, "DKM(Child SA D-H)"), s.hex(t, "SKEYSEED(Rekey)"))
}

func checkCAVPKDF(t *testing.T, name string, ni, nr, gir, girNew, spii, spir, skeyseed, dkm, childDKM, childDHDKM, rekey []byte) {
	t.Helper()
	p, _ := PRFByID(wire.PRF_HMAC_SHA1)
	if got := SKEYSEED(p, ni, nr, gir); !bytes.Equal(got, skeyseed) {
		t.Errorf("%s: SKEYSEED %x, want %x", name, got, skeyseed)
	}
	seed := slices.Concat(ni, nr, spii, spir)
	got, err := PRFPlus(p, skeyseed, seed, len(dkm))
	if err != nil || !bytes.Equal(got, dkm) {
		t.Errorf("%s: DKM %x, %v; want %x", name, got, err, dkm)
	}
	skd := dkm[:p.KeySize] // SK_d is the first key cut from the DKM
	if childDKM != nil {
		got, err := ChildKeymat(p, skd, nil, ni, nr, len(childDKM))
		if err != nil || !bytes.Equal(got, childDKM) {
			t.Errorf("%s: child DKM %x, %v; want %x", name, got, err, childDKM)
		}
	}
	if childDHDKM != nil {
		got, err := ChildKeymat(p, skd, girNew, ni, nr, len(childDHDKM))
		if err != nil || !bytes.Equal(got, childDHDKM) {
			t.Errorf("%s: child DKM with PFS %x, %v; want %x", name, got, err, childDHDKM)
		}
	}
	if got := RekeySKEYSEED(p, skd, girNew, ni, nr); !bytes.Equal(got, rekey) {
		t.Errorf("%s: rekey SKEYSEED %x, want %x", name, got, rekey)
	}
}

package policy

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/select*.golden from the current selection code")

// The golden files pin everything selection returns, choices and refusals
// alike, so that work on the selection code (which runs in every
// IKE_SA_INIT and IKE_AUTH) can be shown to change no result: the chosen
// transforms and their attributes, the SPI, the Choice fields, String and
// Weak, and every field of a NoProposalError, nil slices included.
// Regenerate with `go test -run Golden -update` only when a change of
// behaviour is intended, and review the diff.

// goldenPolicies are the built-in policies, a validated custom one with
// AEAD, ESN and PFS, one with AEAD only, an unvalidated one whose lists hold algorithms of the
// wrong type and proposals of the wrong protocol (Policy's fields are
// public, so selection must cope), and an empty one.
func goldenPolicies(t testing.TB) []*Policy {
	ps := []*Policy{mustBuiltin(t, "recommended"), mustBuiltin(t, "windows-default"),
		mustPolicy(t,
			[]string{"chacha20poly1305-aes128ccm8-prfaescmac-prfsha1-x25519-modp1024", "aes128ctr-aesxcbc-sha1-ecp521"},
			[]string{"aes128gcm8-chacha20poly1305-esn-noesn", "aes192ctr-3des-md5-sha512-modp3072"})}
	ps[2].Name = "custom-aead"
	ps = append(ps, mustPolicy(t, []string{"aes256gcm16-prfsha384-ecp384"}, []string{"aes128gcm16-aes256gcm16"}))
	ps[3].Name = "aead-only"
	aes128, gcm128 := encr(wire.ENCR_AES_CBC, 128), encr(wire.ENCR_AES_GCM_16, 128)
	sha256, p256 := integ(wire.AUTH_HMAC_SHA2_256_128), prf(wire.PRF_HMAC_SHA2_256)
	return append(ps, &Policy{Name: "unvalidated",
		IKE: []Proposal{
			{Protocol: wire.ProtoIKE, Encr: []Algorithm{sha256, aes128}, Integ: []Algorithm{p256, sha256},
				PRF: []Algorithm{ke(wire.MODP_2048), p256}, KE: []Algorithm{p256, ke(wire.MODP_2048), ke(wire.ECP_256)},
				ESN: []Algorithm{esn(wire.ESN_NO)}},
			{Protocol: wire.ProtoESP, Encr: []Algorithm{gcm128, aes128}, Integ: []Algorithm{integ(wire.AUTH_NONE)},
				PRF: []Algorithm{p256}, KE: []Algorithm{ke(wire.KE_NONE), ke(wire.MODP_1024)}},
		},
		ESP: []Proposal{
			{Protocol: wire.ProtoIKE, Encr: []Algorithm{gcm128}, PRF: []Algorithm{p256}, KE: []Algorithm{ke(wire.ECP_256)}},
			{Protocol: wire.ProtoESP, Encr: []Algorithm{gcm128, aes128}, Integ: []Algorithm{integ(wire.AUTH_NONE), sha256},
				KE: []Algorithm{ke(wire.KE_NONE), ke(wire.ECP_384)}, ESN: []Algorithm{esn(wire.ESN_YES), ke(wire.ECP_256)}},
			{Protocol: wire.ProtoESP, Encr: []Algorithm{encr(wire.ENCR_3DES, 0)}, Integ: []Algorithm{integ(wire.AUTH_HMAC_SHA1_96)}},
		}},
		&Policy{Name: "empty"})
}

// selectCall is one call of the selection API as the engine makes it.
type selectCall struct {
	mode    int // 0 SelectIKE, 1 SelectESP in IKE_AUTH, 2 SelectESP with PFS
	offered []wire.Proposal
	keGroup wire.TransformID
}

func (sc selectCall) run(p *Policy) (*Choice, error) {
	switch sc.mode {
	case 0:
		return p.SelectIKE(sc.offered, sc.keGroup)
	case 1:
		return p.SelectESP(sc.offered, false, sc.keGroup)
	}
	return p.SelectESP(sc.offered, true, sc.keGroup)
}

// nilOr shows whether a slice is nil, which callers could observe.
func nilOr[T any](s []T) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprintf("%d", len(s))
}

// writeResult formats a selection's result in full.
func writeResult(b *strings.Builder, c *Choice, err error) {
	if err != nil {
		var np *NoProposalError
		if !errors.As(err, &np) {
			fmt.Fprintf(b, "  error %T: %v\n", err, err)
			return
		}
		fmt.Fprintf(b, "  refused %s: %v\n", np.Protocol, err)
		fmt.Fprintf(b, "  offered %s, required %s, ignored %s\n", nilOr(np.Offered), nilOr(np.Required), nilOr(np.Ignored))
		for _, l := range []struct {
			what string
			list []string
		}{{"offered", np.Offered}, {"required", np.Required}, {"ignored", np.Ignored}} {
			for _, s := range l.list {
				fmt.Fprintf(b, "    %s: %s\n", l.what, s)
			}
		}
		return
	}
	w := &c.Proposal
	fmt.Fprintf(b, "  chose %s (%s)\n", c, w.String())
	fmt.Fprintf(b, "  number %d, protocol %s, SPI %x (%s), %s transforms\n", w.Number, w.Protocol, w.SPI, nilOr(w.SPI), nilOr(w.Transforms))
	for _, tr := range w.Transforms {
		fmt.Fprintf(b, "    %s %d attributes %s %+v\n", tr.Type, tr.ID, nilOr(tr.Attributes), tr.Attributes)
	}
	fmt.Fprintf(b, "  encr %+v integ %+v prf %+v ke %+v esn %+v\n", c.Encr, c.Integ, c.PRF, c.KE, c.ESN)
	fmt.Fprintf(b, "  weak %q (%s)\n", c.Weak(), nilOr(c.Weak()))
}

// goldenCalls are the offers the tests and benchmarks use, with the KE
// groups and modes an engine would pass.
func goldenCalls(t testing.TB) map[string]selectCall {
	spi := []byte{1, 2, 3, 4}
	unknownAttr := tAES128
	unknownAttr.Attributes = append([]wire.Attribute{{Type: 99, TV: true, Short: 1}}, unknownAttr.Attributes...)
	tlvKL := wire.Transform{Type: wire.TransformENCR, ID: wire.ENCR_AES_CBC,
		Attributes: []wire.Attribute{{Type: wire.AttrKeyLength, Value: []byte{0, 128}}}}
	noneKE := wire.NewTransform(wire.TransformKE, wire.KE_NONE, 0)
	noneInteg := wire.NewTransform(wire.TransformINTEG, wire.AUTH_NONE, 0)
	gcm := wire.NewTransform(wire.TransformENCR, wire.ENCR_AES_GCM_16, 128)
	ah := raw(1, wire.ProtoAH, []byte{5, 6, 7, 8}, tSHA256, tNoESN)
	esp := offerOf(t, wire.ProtoESP, spi, "aes128-sha256", "aes128-sha256")
	return map[string]selectCall{
		"ike/windows":           {0, windowsIKEOffer(t), wire.MODP_1024},
		"ike/windows-ecp256-ke": {0, windowsIKEOffer(t), wire.ECP_256},
		"ike/strongswan":        {0, strongSwanOffer(t), wire.ECP_256},
		"ike/strongswan-modp":   {0, strongSwanOffer(t), wire.MODP_2048},
		"ike/mixed": {0, offerOf(t, wire.ProtoIKE, nil, "aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048",
			"3des-sha1-modp1024", "chacha20poly1305-prfaescmac-x25519-modp1024"), wire.ECP_384},
		"ike/rekey-spi": {0, offerOf(t, wire.ProtoIKE, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "aes128-sha256-modp2048"), wire.MODP_2048},
		"ike/bad-spi":   {0, offerOf(t, wire.ProtoIKE, spi, "aes128-sha256-modp2048"), wire.MODP_2048},
		"ike/malformed": {0, []wire.Proposal{
			raw(1, wire.ProtoIKE, nil, tAESNoKL, unknownAttr, tlvKL, tSHA256, tPRF256, tMODP2k, wire.NewTransform(wire.TransformKE, 1000, 0)),
			raw(2, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, tMODP2k, wire.NewTransform(wire.TransformADDKE1, wire.ML_KEM_768, 0)),
			raw(3, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, tMODP2k, tNoESN),
			raw(4, wire.ProtoIKE, nil, tAES128, tSHA256, tPRF256, noneKE, wire.NewTransform(200, 1, 0)),
			raw(5, wire.ProtoESP, spi, tAES128, tSHA256, tNoESN),
			raw(6, wire.ProtoIKE, nil, tAES128, tSHA256, wire.NewTransform(wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 256), tMODP2k),
			raw(7, wire.ProtoIKE, nil, wire.NewTransform(wire.TransformENCR, wire.ENCR_3DES, 192), tAESNoKL, tAES128, tSHA256, tPRF256, tMODP2k),
		}, wire.MODP_2048},
		"ike/aead-none-integ": {0, []wire.Proposal{raw(1, wire.ProtoIKE, nil, gcm, noneInteg, tPRF256, tMODP2k,
			wire.NewTransform(wire.TransformKE, wire.ECP_256, 0))}, wire.ECP_256},
		"ike/empty":                 {0, nil, wire.MODP_2048},
		"esp/windows":               {1, windowsESPOffer(t), wire.KE_NONE},
		"esp/windows-pfs":           {2, windowsESPOffer(t), wire.KE_NONE},
		"esp/pfs-group":             {2, offerOf(t, wire.ProtoESP, spi, "aes128-sha256-modp2048", "aes128gcm16-modp2048-ecp384-esn-noesn"), wire.ECP_384},
		"esp/pfs-wrong-group":       {2, offerOf(t, wire.ProtoESP, spi, "aes128gcm16-modp1024-ecp256"), wire.MODP_1024},
		"esp/ike-auth-ke-ignored":   {1, offerOf(t, wire.ProtoESP, spi, "aes128-sha256-modp1024"), wire.KE_NONE},
		"esp/esn-only":              {2, offerOf(t, wire.ProtoESP, spi, "aes128-sha256-modp2048-esn"), wire.MODP_2048},
		"esp/no-esn":                {2, []wire.Proposal{raw(1, wire.ProtoESP, spi, tAES128, tSHA256, tMODP2k)}, wire.MODP_2048},
		"esp/none-ke":               {2, []wire.Proposal{raw(1, wire.ProtoESP, spi, tAES128, wire.NewTransform(wire.TransformINTEG, wire.AUTH_HMAC_SHA1_96, 0), noneKE, tNoESN)}, wire.KE_NONE},
		"esp/prf":                   {1, []wire.Proposal{raw(1, wire.ProtoESP, spi, tAES128, tSHA256, tPRF256, tNoESN)}, wire.KE_NONE},
		"esp/bundle":                {1, []wire.Proposal{esp[0], ah, esp[1]}, wire.KE_NONE},
		"esp/bundle-only":           {1, []wire.Proposal{esp[0], ah}, wire.KE_NONE},
		"esp/repeated-number":       {1, []wire.Proposal{esp[0], esp[0]}, wire.KE_NONE},
		"esp/aead-none-integ":       {2, []wire.Proposal{raw(1, wire.ProtoESP, spi, gcm, noneInteg, noneKE, tNoESN)}, wire.KE_NONE},
		"esp/short-spi":             {2, offerOf(t, wire.ProtoESP, []byte{1, 2}, "aes128-sha256-modp2048"), wire.MODP_2048},
		"esp/strongswan":            {1, offerOf(t, wire.ProtoESP, spi, "aes128gcm16-aes256gcm16-chacha20poly1305-noesn", "aes128-aes256-sha256-sha384-sha512-noesn"), wire.KE_NONE},
		"esp/strongswan-pfs":        {2, offerOf(t, wire.ProtoESP, spi, "aes128gcm16-aes256gcm16-chacha20poly1305-ecp256-ecp384-modp2048-noesn", "aes128-aes256-sha256-sha384-sha512-ecp256-ecp384-modp2048-noesn"), wire.ECP_256},
		"esp/strongswan-pfs-x25519": {2, offerOf(t, wire.ProtoESP, spi, "chacha20poly1305-x25519-esn-noesn", "aes192ctr-3des-md5-sha512-modp3072"), wire.CURVE_25519},
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", name) }

// checkGolden compares got with the golden file, or rewrites it under
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, goldenPath(name), got, *update)
}

func TestSelectGolden(t *testing.T) {
	calls := goldenCalls(t)
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, p := range goldenPolicies(t) {
		for _, n := range names {
			sc := calls[n]
			fmt.Fprintf(&b, "%s %s mode %d KE %s\n", p.Name, n, sc.mode, wire.TransformName(wire.TransformKE, sc.keGroup))
			c, err := sc.run(p)
			writeResult(&b, c, err)
		}
	}
	checkGolden(t, "select.golden", b.String())
}

// randomTransform draws a transform, valid or not, from what initiators
// send and what they get wrong (RFC 7296, Section 3.3.6).
func randomTransform(r *rand.Rand, proto wire.ProtocolID) wire.Transform {
	nt := wire.NewTransform
	pick := func(list ...wire.Transform) wire.Transform { return list[r.IntN(len(list))] }
	switch r.IntN(12) {
	case 0, 1:
		return pick(nt(wire.TransformENCR, wire.ENCR_AES_CBC, 128), nt(wire.TransformENCR, wire.ENCR_AES_CBC, 256),
			nt(wire.TransformENCR, wire.ENCR_AES_CBC, 192), nt(wire.TransformENCR, wire.ENCR_3DES, 0),
			nt(wire.TransformENCR, wire.ENCR_AES_GCM_16, 128), nt(wire.TransformENCR, wire.ENCR_AES_GCM_16, 256),
			nt(wire.TransformENCR, wire.ENCR_AES_CCM_8, 128), nt(wire.TransformENCR, wire.ENCR_CHACHA20_POLY1305, 0),
			nt(wire.TransformENCR, wire.ENCR_AES_CTR, 192), nt(wire.TransformENCR, wire.ENCR_DES, 0),
			nt(wire.TransformENCR, wire.ENCR_NULL, 0), nt(wire.TransformENCR, wire.ENCR_CAMELLIA_CBC, 128))
	case 2, 3:
		return pick(nt(wire.TransformINTEG, wire.AUTH_HMAC_SHA2_256_128, 0), nt(wire.TransformINTEG, wire.AUTH_HMAC_SHA1_96, 0),
			nt(wire.TransformINTEG, wire.AUTH_HMAC_SHA2_384_192, 0), nt(wire.TransformINTEG, wire.AUTH_HMAC_MD5_96, 0),
			nt(wire.TransformINTEG, wire.AUTH_NONE, 0), nt(wire.TransformINTEG, wire.AUTH_AES_XCBC_96, 0),
			nt(wire.TransformINTEG, wire.AUTH_HMAC_SHA2_512_256, 0))
	case 4, 5:
		if proto == wire.ProtoESP && r.IntN(3) > 0 {
			return pick(nt(wire.TransformESN, wire.ESN_NO, 0), nt(wire.TransformESN, wire.ESN_YES, 0))
		}
		return pick(nt(wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 0), nt(wire.TransformPRF, wire.PRF_HMAC_SHA1, 0),
			nt(wire.TransformPRF, wire.PRF_HMAC_SHA2_384, 0), nt(wire.TransformPRF, wire.PRF_AES128_CMAC, 0))
	case 6, 7:
		return pick(nt(wire.TransformKE, wire.MODP_2048, 0), nt(wire.TransformKE, wire.MODP_1024, 0),
			nt(wire.TransformKE, wire.ECP_256, 0), nt(wire.TransformKE, wire.ECP_384, 0),
			nt(wire.TransformKE, wire.CURVE_25519, 0), nt(wire.TransformKE, wire.KE_NONE, 0),
			nt(wire.TransformKE, wire.MODP_768, 0), nt(wire.TransformKE, wire.MODP_3072, 0))
	case 8:
		return pick(nt(wire.TransformESN, wire.ESN_NO, 0), nt(wire.TransformESN, 7, 0),
			nt(wire.TransformPRF, wire.PRF_HMAC_SHA2_512, 0), nt(wire.TransformKE, wire.ECP_521, 0))
	case 9:
		// Unknown IDs, and Key Length attributes where none belong or of
		// a size the cipher does not have.
		return pick(nt(wire.TransformENCR, 250, 0), nt(wire.TransformKE, 1000, 0), nt(wire.TransformINTEG, 99, 0),
			nt(wire.TransformENCR, wire.ENCR_AES_CBC, 0), nt(wire.TransformENCR, wire.ENCR_AES_CBC, 64),
			nt(wire.TransformENCR, wire.ENCR_3DES, 192), nt(wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 256),
			nt(wire.TransformINTEG, wire.AUTH_HMAC_SHA2_256_128, 128), nt(wire.TransformENCR, 250, 128))
	case 10:
		// Attributes that are not one TV Key Length.
		tr := nt(wire.TransformENCR, wire.ENCR_AES_CBC, 128)
		switch r.IntN(3) {
		case 0:
			tr.Attributes = append(tr.Attributes, tr.Attributes[0])
		case 1:
			tr.Attributes = append(tr.Attributes, wire.Attribute{Type: 99, TV: true, Short: 1})
		default:
			tr.Attributes = []wire.Attribute{{Type: wire.AttrKeyLength, Value: []byte{0, 128}}}
		}
		return tr
	}
	// Types that make the whole proposal unacceptable, kept rare.
	if r.IntN(4) > 0 {
		return nt(wire.TransformENCR, wire.ENCR_AES_CBC, 128)
	}
	return pick(nt(wire.TransformADDKE1, wire.ML_KEM_768, 0), nt(200, 1, 0), nt(wire.TransformESN, wire.ESN_NO, 0),
		nt(wire.TransformPRF, wire.PRF_HMAC_SHA2_256, 0))
}

// ikeSpecs and espSpecs are proposals of common initiators (strongSwan,
// Windows, Apple, Android), the starting points of random offers.
var (
	ikeSpecs = []string{"aes128-sha256-modp2048", "aes256-sha256-modp2048-modp1024", "3des-sha1-modp1024",
		"aes128-aes256-sha1-sha256-prfsha1-prfsha256-ecp256-modp2048", "aes256gcm16-prfsha384-ecp384",
		"aes128gcm16-aes256gcm16-prfsha256-ecp256-x25519", "chacha20poly1305-prfsha256-x25519-modp1024",
		"aes128ctr-aesxcbc-sha1-ecp521", "aes256-sha384-ecp384-modp2048"}
	espSpecs = []string{"aes128-sha256-modp2048", "aes256-sha1", "3des-sha1", "aes128gcm16-ecp256-ecp384-noesn",
		"aes128gcm16-aes256gcm16-esn-noesn", "chacha20poly1305-x25519-esn", "aes192ctr-3des-md5-sha512-modp3072",
		"aes128-aes256-sha256-sha384-noesn", "aes128gcm8-modp1024"}
)

// randomCall draws an offer of one to four proposals for mode. Most are of
// the mode's protocol with the right SPI size; some are bundled, misnumbered
// or of the wrong protocol.
func randomCall(r *rand.Rand, mode int) selectCall {
	proto, spi := wire.ProtoIKE, []byte(nil)
	if mode > 0 {
		proto, spi = wire.ProtoESP, []byte{0xc0, 0xff, 0xee, byte(r.IntN(256))}
	}
	sc := selectCall{mode: mode}
	for i := range 1 + r.IntN(4) {
		w := wire.Proposal{Number: uint8(i + 1), Protocol: proto, SPI: spi}
		switch r.IntN(20) {
		case 0:
			w.Number = uint8(1 + r.IntN(2))
		case 1:
			w.Protocol = []wire.ProtocolID{wire.ProtoAH, wire.ProtoIKE, wire.ProtoESP}[r.IntN(3)]
		case 2:
			w.SPI = make([]byte, []int{0, 2, 4, 8}[r.IntN(4)])
		}
		if r.IntN(2) == 0 {
			// A real initiator's proposal, then a few changes to it.
			specs := ikeSpecs
			if proto == wire.ProtoESP {
				specs = espSpecs
			}
			pr, err := ParseProposal(proto, specs[r.IntN(len(specs))])
			if err != nil {
				panic(err)
			}
			w.Transforms = pr.Wire(1, nil).Transforms
			for range r.IntN(3) {
				if j := r.IntN(len(w.Transforms) + 1); j < len(w.Transforms) && r.IntN(2) == 0 {
					w.Transforms = slices.Delete(w.Transforms, j, j+1)
				} else {
					w.Transforms = slices.Insert(w.Transforms, j, randomTransform(r, proto))
				}
			}
		} else {
			for range 2 + r.IntN(9) {
				w.Transforms = append(w.Transforms, randomTransform(r, proto))
			}
		}
		sc.offered = append(sc.offered, w)
	}
	groups := []wire.TransformID{wire.KE_NONE, wire.MODP_1024, wire.MODP_2048, wire.ECP_256, wire.ECP_384, wire.CURVE_25519}
	sc.keGroup = groups[r.IntN(len(groups))]
	return sc
}

// TestSelectGoldenRandom pins the results for thousands of random offers
// through a digest per mode: the transcripts are too long to commit, and
// TestSelectGolden shows the readable form of each kind of result.
func TestSelectGoldenRandom(t *testing.T) {
	const perMode = 1500
	policies := goldenPolicies(t)
	var out strings.Builder
	for mode := range 3 {
		r := rand.New(rand.NewPCG(7296, uint64(mode)))
		h := sha256.New()
		chosen, refused := 0, 0
		for i := range perMode {
			sc := randomCall(r, mode)
			for _, p := range policies {
				var b strings.Builder
				fmt.Fprintf(&b, "%d %s\n", i, p.Name)
				c, err := sc.run(p)
				writeResult(&b, c, err)
				h.Write([]byte(b.String()))
				if err == nil {
					chosen++
				} else {
					refused++
				}
			}
		}
		// The draw must exercise both outcomes, or the digest proves
		// little.
		if chosen < perMode/10 || refused < perMode/10 {
			t.Errorf("mode %d: %d choices and %d refusals", mode, chosen, refused)
		}
		fmt.Fprintf(&out, "mode %d: %d choices, %d refusals, sha256 %x\n", mode, chosen, refused, h.Sum(nil))
	}
	checkGolden(t, "select-random.golden", out.String())
}

package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

func names2(list []Algorithm) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return out
}

// The expected names are strongSwan's, written out by hand rather than
// derived from the keyword table.
func TestParseProposalKeywords(t *testing.T) {
	type kw struct{ word, want string }
	encrs := []kw{
		{"null", "NULL"}, {"des", "DES_CBC"}, {"3des", "3DES_CBC"},
		{"aes", "AES_CBC_128"}, {"aes128", "AES_CBC_128"}, {"aes192", "AES_CBC_192"}, {"aes256", "AES_CBC_256"},
		{"camellia", "CAMELLIA_CBC_128"}, {"camellia128", "CAMELLIA_CBC_128"},
		{"camellia192", "CAMELLIA_CBC_192"}, {"camellia256", "CAMELLIA_CBC_256"},
		{"chacha20poly1305", "CHACHA20_POLY1305"},
	}
	for _, b := range []int{128, 192, 256} {
		encrs = append(encrs, kw{fmt.Sprintf("aes%dctr", b), fmt.Sprintf("AES_CTR_%d", b)})
		for _, mode := range []string{"gcm", "ccm"} {
			up := strings.ToUpper(mode)
			for _, icv := range []struct{ suffix, name string }{
				{"", "16"}, {"16", "16"}, {"128", "16"}, {"12", "12"}, {"96", "12"}, {"8", "8"}, {"64", "8"},
			} {
				encrs = append(encrs, kw{fmt.Sprintf("aes%d%s%s", b, mode, icv.suffix),
					fmt.Sprintf("AES_%s_%s_%d", up, icv.name, b)})
			}
		}
	}
	integs := []kw{
		{"md5", "HMAC_MD5_96"}, {"md5_128", "HMAC_MD5_128"}, {"sha", "HMAC_SHA1_96"}, {"sha1", "HMAC_SHA1_96"},
		{"sha1_160", "HMAC_SHA1_160"}, {"sha256", "HMAC_SHA2_256_128"}, {"sha2_256", "HMAC_SHA2_256_128"},
		{"sha384", "HMAC_SHA2_384_192"}, {"sha2_384", "HMAC_SHA2_384_192"},
		{"sha512", "HMAC_SHA2_512_256"}, {"sha2_512", "HMAC_SHA2_512_256"},
		{"aesxcbc", "AES_XCBC_96"}, {"aescmac", "AES_CMAC_96"},
	}
	prfs := []kw{
		{"prfmd5", "PRF_HMAC_MD5"}, {"prfsha1", "PRF_HMAC_SHA1"}, {"prfsha256", "PRF_HMAC_SHA2_256"},
		{"prfsha384", "PRF_HMAC_SHA2_384"}, {"prfsha512", "PRF_HMAC_SHA2_512"},
		{"prfaesxcbc", "PRF_AES128_XCBC"}, {"prfaescmac", "PRF_AES128_CMAC"},
	}
	kes := []kw{
		{"modp768", "MODP_768"}, {"modp1024", "MODP_1024"}, {"modp1536", "MODP_1536"}, {"modp2048", "MODP_2048"},
		{"modp3072", "MODP_3072"}, {"modp4096", "MODP_4096"}, {"modp6144", "MODP_6144"}, {"modp8192", "MODP_8192"},
		{"modp1024s160", "MODP_1024_160"}, {"modp2048s224", "MODP_2048_224"}, {"modp2048s256", "MODP_2048_256"},
		{"ecp192", "ECP_192"}, {"ecp224", "ECP_224"}, {"ecp256", "ECP_256"}, {"ecp384", "ECP_384"}, {"ecp521", "ECP_521"},
		{"ecp224bp", "ECP_224_BP"}, {"ecp256bp", "ECP_256_BP"}, {"ecp384bp", "ECP_384_BP"}, {"ecp512bp", "ECP_512_BP"},
		{"curve25519", "CURVE_25519"}, {"x25519", "CURVE_25519"}, {"curve448", "CURVE_448"}, {"x448", "CURVE_448"},
		{"mlkem512", "ML_KEM_512"}, {"mlkem768", "ML_KEM_768"}, {"mlkem1024", "ML_KEM_1024"},
	}
	esns := []kw{{"esn", "EXT_SEQ"}, {"noesn", "NO_EXT_SEQ"}}

	check := func(t *testing.T, proto wire.ProtocolID, s string, got func(Proposal) []Algorithm, want string) {
		t.Helper()
		p, err := ParseProposal(proto, s)
		if err != nil {
			t.Fatalf("ParseProposal(%s, %q): %v", proto, s, err)
		}
		if g := names2(got(p)); len(g) != 1 || g[0] != want {
			t.Errorf("ParseProposal(%s, %q) gives %v, want [%s]", proto, s, g, want)
		}
	}
	seen := 0
	for _, k := range encrs {
		s := k.word + "-sha256"
		if wire.IsAEAD(byKeyword[k.word].ID) {
			s = k.word
		}
		check(t, wire.ProtoESP, s, func(p Proposal) []Algorithm { return p.Encr }, k.want)
		// Upper case works too.
		check(t, wire.ProtoESP, strings.ToUpper(s), func(p Proposal) []Algorithm { return p.Encr }, k.want)
		seen++
	}
	for _, k := range integs {
		check(t, wire.ProtoESP, "aes128-"+k.word, func(p Proposal) []Algorithm { return p.Integ }, k.want)
		seen++
	}
	for _, k := range prfs {
		check(t, wire.ProtoIKE, "aes128-sha256-"+k.word+"-modp2048", func(p Proposal) []Algorithm { return p.PRF }, k.want)
		seen++
	}
	for _, k := range kes {
		check(t, wire.ProtoIKE, "aes128-sha256-"+k.word, func(p Proposal) []Algorithm { return p.KE }, k.want)
		check(t, wire.ProtoESP, "aes128-sha256-"+k.word, func(p Proposal) []Algorithm { return p.KE }, k.want)
		seen++
	}
	for _, k := range esns {
		check(t, wire.ProtoESP, "aes128-sha256-"+k.word, func(p Proposal) []Algorithm { return p.ESN }, k.want)
		seen++
	}
	// Every keyword of the table is covered above, and nothing more.
	if seen != len(keywords) {
		t.Errorf("tested %d keywords, the table has %d", seen, len(keywords))
	}
}

func TestParseProposalForms(t *testing.T) {
	tests := []struct {
		name  string
		proto wire.ProtocolID
		in    string
		want  string
	}{
		{"integrity implies the PRF in IKE", wire.ProtoIKE, "aes128-sha256-modp2048",
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"},
		{"each integrity algorithm implies its PRF, in order", wire.ProtoIKE, "aes128-sha384-sha1-sha1_160-modp2048",
			"IKE:AES_CBC_128/HMAC_SHA2_384_192/HMAC_SHA1_96/HMAC_SHA1_160/PRF_HMAC_SHA2_384/PRF_HMAC_SHA1/MODP_2048"},
		{"an explicit PRF replaces the implied ones", wire.ProtoIKE, "aes128-sha256-prfsha384-modp2048",
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_384/MODP_2048"},
		{"AEAD in IKE with an explicit PRF", wire.ProtoIKE, "aes128gcm16-prfsha256-ecp256",
			"IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256"},
		{"AEAD in IKE: the integrity keyword names only the PRF", wire.ProtoIKE, "aes256gcm16-sha384-ecp384",
			"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"},
		{"aes128gcm means the 16-octet ICV", wire.ProtoIKE, "aes128gcm-prfsha256-x25519",
			"IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519"},
		{"several algorithms per type", wire.ProtoIKE, "aes128-aes256-sha256-modp2048-ecp256",
			"IKE:AES_CBC_128/AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/ECP_256"},
		{"repeated keywords count once", wire.ProtoIKE, "aes128-aes-sha256-sha2_256-modp2048",
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"},
		{"ESP gets NO_EXT_SEQ by default", wire.ProtoESP, "aes128-sha256",
			"ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ"},
		{"ESP with PFS and ESN", wire.ProtoESP, "aes256gcm16-ecp384-esn-noesn",
			"ESP:AES_GCM_16_256/ECP_384/EXT_SEQ/NO_EXT_SEQ"},
		{"3DES takes no key size", wire.ProtoESP, "3des-sha1", "ESP:3DES_CBC/HMAC_SHA1_96/NO_EXT_SEQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProposal(tt.proto, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			// The keyword form parses back to the same proposal.
			back, err := ParseProposal(tt.proto, p.Keywords())
			if err != nil {
				t.Fatalf("Keywords() = %q does not parse: %v", p.Keywords(), err)
			}
			if back.String() != p.String() {
				t.Errorf("Keywords() = %q parses to %s, want %s", p.Keywords(), back, p)
			}
		})
	}
}

func TestParseProposalErrors(t *testing.T) {
	tests := []struct {
		name    string
		proto   wire.ProtocolID
		in      string
		keyword string // the keyword the error must name, if any
		reason  string // a piece of the reason
	}{
		{"unknown keyword", wire.ProtoIKE, "aes129-sha256-modp2048", "aes129", "unknown keyword"},
		{"misspelt group", wire.ProtoIKE, "aes128-sha256-modp2049", "modp2049", "unknown keyword"},
		{"empty", wire.ProtoIKE, "", "", "empty proposal"},
		{"empty keyword", wire.ProtoIKE, "aes128--sha256-modp2048", "", "empty keyword"},
		{"trailing dash", wire.ProtoESP, "aes128-sha256-", "", "empty keyword"},
		{"no cipher", wire.ProtoESP, "sha256", "", "no encryption algorithm"},
		{"AEAD with integrity in ESP", wire.ProtoESP, "aes128gcm16-sha256", "", "AEAD cipher AES_GCM_16_128 takes no integrity algorithm"},
		{"AEAD with integrity and PRF in IKE", wire.ProtoIKE, "aes128gcm16-sha256-prfsha256-ecp256", "", "takes no integrity algorithm"},
		{"non-AEAD without integrity in ESP", wire.ProtoESP, "aes128", "", "cipher AES_CBC_128 needs an integrity algorithm"},
		{"non-AEAD without integrity in IKE", wire.ProtoIKE, "aes128-prfsha256-modp2048", "", "needs an integrity algorithm"},
		{"IKE without key exchange", wire.ProtoIKE, "aes128-sha256", "", "no key exchange method"},
		{"IKE AEAD without PRF", wire.ProtoIKE, "aes128gcm16-ecp256", "", "no PRF"},
		{"AEAD mixed with CBC", wire.ProtoESP, "aes128gcm16-aes128-sha256", "", "AEAD and non-AEAD ciphers mixed"},
		{"PRF in ESP", wire.ProtoESP, "aes128-sha256-prfsha256", "", "belongs to IKE proposals only"},
		{"ESN in IKE", wire.ProtoIKE, "aes128-sha256-modp2048-esn", "", "apply to ESP only"},
		{"AH is not negotiated", wire.ProtoAH, "sha256", "", "only IKE and ESP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProposal(tt.proto, tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseProposal(%q) = %v, want a *ParseError", tt.in, err)
			}
			if pe.Keyword != tt.keyword || !strings.Contains(pe.Reason, tt.reason) || pe.Input != tt.in {
				t.Errorf("error %+v, want keyword %q and a reason containing %q", pe, tt.keyword, tt.reason)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "policy: proposal ") || (tt.keyword != "" && !strings.Contains(msg, `"`+tt.keyword+`"`)) {
				t.Errorf("Error() = %q", msg)
			}
		})
	}
}

func TestParseProposalsList(t *testing.T) {
	ps, err := ParseProposals(wire.ProtoIKE, " aes128-sha256-modp2048,aes256gcm16-prfsha384-ecp384\taes128-sha1-modp1024 ,")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	want := []string{
		"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
		"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
		"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ParseProposals(wire.ProtoIKE, " , "); err == nil {
		t.Error("an empty list parsed")
	}
	_, err = ParseProposals(wire.ProtoIKE, "aes128-sha256-modp2048, aes128-sha256-dh14")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Keyword != "dh14" {
		t.Errorf("error %v, want one naming dh14", err)
	}
}

func TestProposalWire(t *testing.T) {
	p, err := ParseProposal(wire.ProtoESP, "aes256-aes128-sha256-modp2048")
	if err != nil {
		t.Fatal(err)
	}
	spi := []byte{1, 2, 3, 4}
	w := p.Wire(3, spi)
	spi[0] = 9 // the proposal must hold its own copy
	if w.Number != 3 || w.Protocol != wire.ProtoESP || string(w.SPI) != "\x01\x02\x03\x04" {
		t.Errorf("header %d %s %x", w.Number, w.Protocol, w.SPI)
	}
	// Transforms in type order, key lengths as attributes (RFC 7296,
	// Section 3.3.5).
	want := []struct {
		typ  wire.TransformType
		id   wire.TransformID
		bits int
	}{
		{wire.TransformENCR, wire.ENCR_AES_CBC, 256}, {wire.TransformENCR, wire.ENCR_AES_CBC, 128},
		{wire.TransformINTEG, wire.AUTH_HMAC_SHA2_256_128, 0}, {wire.TransformKE, wire.MODP_2048, 0},
		{wire.TransformESN, wire.ESN_NO, 0},
	}
	if len(w.Transforms) != len(want) {
		t.Fatalf("%d transforms, want %d", len(w.Transforms), len(want))
	}
	for i, tr := range w.Transforms {
		if tr.Type != want[i].typ || tr.ID != want[i].id || tr.KeyLength() != want[i].bits {
			t.Errorf("transform %d: %s, want %v", i, tr.Name(), want[i])
		}
	}
	if w.String() != p.String() {
		t.Errorf("wire form %s, proposal %s", w.String(), p)
	}
	// It survives the SA payload codec.
	b, first, err := wire.AppendPayloads(nil, []wire.Payload{&wire.SA{Proposals: []wire.Proposal{w}}})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := wire.ParsePayloads(first, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[0].(*wire.SA).Proposals[0]; got.String() != p.String() {
		t.Errorf("after the codec: %s", got.String())
	}
}

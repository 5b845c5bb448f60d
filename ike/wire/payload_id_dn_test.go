package wire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// (*ID).String renders ID_DER_ASN1_DN without encoding/asn1. These tests
// hold it to what it replaced, verbatim: pkixIDString. Run the fuzz
// target with
//
//	go test -run '^$' -fuzz '^FuzzIDDNString$' -fuzztime 20s ./ike/wire/

// pkixIDString is what String printed for an ID_DER_ASN1_DN before
// formatDN: pkix's rendering of the DER, or hex when it does not parse.
func pkixIDString(der []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err == nil && len(rest) == 0 {
		return rdn.String()
	}
	return fmt.Sprintf("%x", der)
}

// checkDN asserts the invariant: String prints what pkixIDString does.
func checkDN(t *testing.T, der []byte) string {
	t.Helper()
	got := (&ID{IDType: ID_DER_ASN1_DN, Data: der}).String()
	if want := pkixIDString(der); got != want {
		t.Errorf("DN %x\n got %q\nwant %q (pkix)", der, got, want)
	}
	return got
}

var (
	oidEmail   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidDC      = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUID     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidSurname = asn1.ObjectIdentifier{2, 5, 4, 4}
)

var (
	certKeyOnce sync.Once
	certKey     *ecdsa.PrivateKey
	certKeyErr  error
)

// certDN is the subject DN crypto/x509 writes into a certificate for n.
func certDN(tb testing.TB, n pkix.Name) []byte {
	tb.Helper()
	certKeyOnce.Do(func() { certKey, certKeyErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })
	if certKeyErr != nil {
		tb.Fatal(certKeyErr)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: n,
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &certKey.PublicKey, certKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert.RawSubject
}

// marshalDN encodes an RDNSequence with encoding/asn1; values given as
// asn1.RawValue choose their own string type.
func marshalDN(tb testing.TB, rdns ...pkix.RelativeDistinguishedNameSET) []byte {
	tb.Helper()
	der, err := asn1.Marshal(pkix.RDNSequence(rdns))
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

func atv(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

func cn(v any) pkix.RelativeDistinguishedNameSET {
	return pkix.RelativeDistinguishedNameSET{atv(oidCN, v)}
}

var oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}

// raw is a value of the given universal tag, as it stands on the wire.
func raw(tag int, b string) asn1.RawValue { return asn1.RawValue{Tag: tag, Bytes: []byte(b)} }

// tlv is one DER element with a short or long definite length.
func tlv(tag byte, body []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(tag), func(b *cryptobyte.Builder) { b.AddBytes(body) })
	return b.BytesOrPanic()
}

// rawDN builds an RDNSequence whose AttributeTypeAndValue bodies are
// given as octets, for encodings encoding/asn1 will not marshal.
func rawDN(rdns ...[][]byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, rdn := range rdns {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, body := range rdn {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(body) })
				}
			})
		}
	})
	return b.BytesOrPanic()
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// idCN is the DER of the CN attribute type, 2.5.4.3.
var idCN = tlv(0x06, []byte{0x55, 0x04, 0x03})

// Expected texts that are not literals. pkixOnly ends one that depends on
// the Go release (unnamed attribute types): what precedes it is a prefix,
// the rest is checked against pkix alone. asHex is a DN encoding/asn1
// rejects, which String prints in hex.
const (
	pkixOnly = "\x00pkix"
	asHex    = "\x00hex"
)

type dnCase struct {
	name string
	der  []byte
	want string // or pkixOnly, asHex
	fast bool   // formatDN renders it; otherwise String falls back to pkix
}

func dnCases(tb testing.TB) []dnCase {
	tb.Helper()
	long := strings.Repeat("x", 200)
	return []dnCase{
		// crypto/x509, every attribute type pkix names, in the order
		// ToRDNSequence writes them; pkix prints the last RDN first.
		{"x509/every-named-type", certDN(tb, pkix.Name{
			Country: []string{"NZ"}, Province: []string{"Otago"}, Locality: []string{"Dunedin"},
			StreetAddress: []string{"1 George St"}, PostalCode: []string{"9016"}, Organization: []string{"Evita"},
			OrganizationalUnit: []string{"VPN"}, CommonName: "gw.example", SerialNumber: "42",
		}), "SERIALNUMBER=42,CN=gw.example,OU=VPN,O=Evita,POSTALCODE=9016,STREET=1 George St,L=Dunedin,ST=Otago,C=NZ", true},
		{"x509/empty", certDN(tb, pkix.Name{}), "", true},
		// One RDN holds both OUs, which DER sorts as a SET OF; String
		// keeps the wire order.
		{"x509/multi-valued-rdn", certDN(tb, pkix.Name{OrganizationalUnit: []string{"VPN", "Lab"}, CommonName: "gw"}),
			"CN=gw,OU=Lab+OU=VPN", true},
		{"multi-valued-unsorted", rawDN([][]byte{cat(idCN, tlv(0x13, []byte("b"))), cat(idCN, tlv(0x13, []byte("a")))}), "CN=b+CN=a", true},
		{"x509/utf8", certDN(tb, pkix.Name{CommonName: "Zoë 🔐", Locality: []string{"München"}}), "CN=Zoë 🔐,L=München", true},
		{"x509/escape-specials", certDN(tb, pkix.Name{CommonName: `a,b+c"d\e<f>g;h=i`}), `CN=a\,b\+c\"d\\e\<f\>g\;h=i`, true},
		{"x509/escape-lead-hash", certDN(tb, pkix.Name{CommonName: "#1 #2"}), `CN=\#1 #2`, true},
		{"x509/escape-lead-trail-space", certDN(tb, pkix.Name{CommonName: "  a b  "}), `CN=\  a b \ `, true},
		{"x509/escape-lone-space", certDN(tb, pkix.Name{CommonName: " "}), `CN=\ `, true},
		{"x509/escape-lone-hash", certDN(tb, pkix.Name{CommonName: "#"}), `CN=\#`, true},
		{"x509/long-value", certDN(tb, pkix.Name{CommonName: long, Organization: []string{long}}), "CN=" + long + ",O=" + long, true},
		{"x509/unnamed-types", certDN(tb, pkix.Name{CommonName: "ws01", ExtraNames: []pkix.AttributeTypeAndValue{
			atv(oidDC, "com"), atv(oidDC, "example"), atv(oidUID, "zoë"),
			atv(oidEmail, raw(asn1.TagIA5String, "it@example.com")),
		}}), pkixOnly, true},
		{"x509/unnamed-escapes", certDN(tb, pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			atv(oidSurname, "#a, b "), atv(asn1.ObjectIdentifier{2, 999, 1<<31 - 1}, long),
		}}), pkixOnly, true},
		{"fakeDN", fakeDN, "CN=client.lab.example", true},

		// The string types encoding/asn1 decodes to a Go string.
		{"printable-asterisk-ampersand", marshalDN(tb, cn(raw(asn1.TagPrintableString, "*.a&b"))), "CN=*.a&b", true},
		{"printable-empty", marshalDN(tb, cn(raw(asn1.TagPrintableString, ""))), "CN=", true},
		{"numeric", marshalDN(tb, cn(raw(asn1.TagNumericString, "0 9"))), "CN=0 9", true},
		{"ia5", marshalDN(tb, cn(raw(asn1.TagIA5String, "a@b\x00\x7f"))), "CN=a@b\x00\x7f", true},
		{"t61-latin1", marshalDN(tb, cn(raw(asn1.TagT61String, "caf\xe9 \xff"))), "CN=café ÿ", true},
		{"bmp", marshalDN(tb, cn(raw(asn1.TagBMPString, "\x00Z\x00o\x00\xeb\x00 "))), `CN=Zoë\ `, true},
		{"bmp-terminator", marshalDN(tb, cn(raw(asn1.TagBMPString, "\x03\xa9\x00\x00"))), "CN=Ω", true},
		{"bmp-nul-inside", marshalDN(tb, cn(raw(asn1.TagBMPString, "\x00\x00\x00a\x00\x00"))), "CN=\x00a", true},
		{"unnamed-t61", marshalDN(tb, pkix.RelativeDistinguishedNameSET{atv(oidSurname, raw(asn1.TagT61String, "\xe9"))}), pkixOnly, true},
		{"unnamed-bmp-empty", marshalDN(tb, pkix.RelativeDistinguishedNameSET{atv(oidSurname, raw(asn1.TagBMPString, "\x00\x00"))}), pkixOnly, true},

		// Strings encoding/asn1 rejects: the DN does not parse, so hex.
		{"printable-at-sign", marshalDN(tb, cn(raw(asn1.TagPrintableString, "a@b"))), asHex, false},
		{"numeric-letter", marshalDN(tb, cn(raw(asn1.TagNumericString, "1a"))), asHex, false},
		{"ia5-high-bit", marshalDN(tb, cn(raw(asn1.TagIA5String, "\x80"))), asHex, false},
		{"utf8-invalid", marshalDN(tb, cn(raw(asn1.TagUTF8String, "\xc3("))), asHex, false},
		{"bmp-odd", marshalDN(tb, cn(raw(asn1.TagBMPString, "\x00a\x00"))), asHex, false},
		{"bmp-surrogate", marshalDN(tb, cn(raw(asn1.TagBMPString, "\xd8\x3d\xdd\x10"))), asHex, false},
		{"bmp-nonchar-fffe", marshalDN(tb, cn(raw(asn1.TagBMPString, "\xff\xfe"))), asHex, false},
		{"bmp-nonchar-fdd0", marshalDN(tb, cn(raw(asn1.TagBMPString, "\xfd\xd0"))), asHex, false},
		{"bmp-nonchar-fdef", marshalDN(tb, cn(raw(asn1.TagBMPString, "\xfd\xef"))), asHex, false},
		{"bmp-fdf0", marshalDN(tb, cn(raw(asn1.TagBMPString, "\xfd\xf0"))), "CN=\ufdf0", true},

		// Values that are not strings: formatDN declines, pkix prints them.
		{"integer", marshalDN(tb, cn(42)), "CN=42", false},
		{"null", marshalDN(tb, cn(asn1.NullRawValue)), `CN=\<nil\>`, false},
		{"visible-string", marshalDN(tb, cn(raw(26, "a"))), `CN=\<nil\>`, false},
		{"general-string", marshalDN(tb, cn(raw(asn1.TagGeneralString, "a"))), `CN=\<nil\>`, false},
		{"octet-string", marshalDN(tb, cn([]byte{1, 2})), "CN=[1 2]", false},
		{"constructed-utf8", marshalDN(tb, cn(asn1.RawValue{Tag: asn1.TagUTF8String, IsCompound: true, Bytes: tlv(0x0c, []byte("a"))})), `CN=\<nil\>`, false},
		{"unnamed-integer", marshalDN(tb, pkix.RelativeDistinguishedNameSET{atv(oidSurname, 1)}), "2.5.4.4=#020101", false},
		{"context-tag", rawDN([][]byte{cat(idCN, tlv(0x80, []byte("a")))}), `CN=\<nil\>`, false},
		{"high-tag-number", rawDN([][]byte{cat(idCN, []byte{0x1f, 0x1f, 0x01, 'a'})}), `CN=\<nil\>`, false},

		// Structure.
		{"empty-rdn-last", rawDN([][]byte{cat(idCN, tlv(0x13, []byte("a")))}, nil), ",CN=a", true},
		{"empty-rdn-first", rawDN(nil, [][]byte{cat(idCN, tlv(0x13, []byte("a")))}), "CN=a,", true},
		{"only-empty-rdns", rawDN(nil, nil), ",", true},
		{"many-rdns", marshalDN(tb, manyRDNs...), manyRDNsWant, true},
		{"atv-trailing-element", rawDN([][]byte{cat(idCN, tlv(0x13, []byte("a")), tlv(0x05, nil))}), "CN=a", false},
		{"trailing-data", append(marshalDN(tb, cn("a")), 0), asHex, false},
		{"empty", nil, "", false},
		{"outer-set", append([]byte{0x31}, marshalDN(tb, cn("a"))[1:]...), asHex, false},
		{"rdn-sequence", []byte{0x30, 0x02, 0x30, 0x00}, asHex, false},
		{"indefinite-length", []byte{0x30, 0x80, 0x00, 0x00}, asHex, false},
		{"non-minimal-length", []byte{0x30, 0x81, 0x00}, asHex, false},
		{"truncated", marshalDN(tb, cn("abc"))[:10], asHex, false},
		{"atv-missing-value", rawDN([][]byte{idCN}), asHex, false},
		{"atv-missing-oid", rawDN([][]byte{nil}), asHex, false},

		// OBJECT IDENTIFIER limits of encoding/asn1.
		{"oid-2.999", rawDN([][]byte{cat(tlv(0x06, []byte{0x88, 0x37}), tlv(0x13, []byte("a")))}), pkixOnly, true},
		{"oid-0.0", rawDN([][]byte{cat(tlv(0x06, []byte{0x00}), tlv(0x13, []byte("a")))}), pkixOnly, true},
		{"oid-1.39", rawDN([][]byte{cat(tlv(0x06, []byte{0x4f}), tlv(0x13, []byte("a")))}), pkixOnly, true},
		{"oid-max-int32", rawDN([][]byte{cat(tlv(0x06, []byte{0x2a, 0x87, 0xff, 0xff, 0xff, 0x7f}), tlv(0x13, []byte("a")))}), pkixOnly, true},
		{"oid-over-int32", rawDN([][]byte{cat(tlv(0x06, []byte{0x2a, 0x88, 0x80, 0x80, 0x80, 0x00}), tlv(0x13, []byte("a")))}), asHex, false},
		{"oid-six-octet-arc", rawDN([][]byte{cat(tlv(0x06, []byte{0x2a, 0x80 | 1, 0x80, 0x80, 0x80, 0x80, 0x00}), tlv(0x13, []byte("a")))}), asHex, false},
		{"oid-non-minimal-arc", rawDN([][]byte{cat(tlv(0x06, []byte{0x55, 0x04, 0x80, 0x03}), tlv(0x13, []byte("a")))}), asHex, false},
		{"oid-truncated-arc", rawDN([][]byte{cat(tlv(0x06, []byte{0x55, 0x84}), tlv(0x13, []byte("a")))}), asHex, false},
		{"oid-empty", rawDN([][]byte{cat(tlv(0x06, nil), tlv(0x13, []byte("a")))}), asHex, false},
		{"oid-2.5.4.3-padded", rawDN([][]byte{cat(tlv(0x06, []byte{0x55, 0x04, 0x03, 0x00}), tlv(0x13, []byte("a")))}), "2.5.4.3.0=" + pkixOnly, true},
	}
}

// manyRDNs are more RDNs, and longer text, than formatDN keeps on its
// stack.
var manyRDNs, manyRDNsWant = func() ([]pkix.RelativeDistinguishedNameSET, string) {
	var rdns []pkix.RelativeDistinguishedNameSET
	var names []string
	for i := range 40 {
		rdns = append(rdns, cn(fmt.Sprintf("host-%02d.lab.example", i)))
		names = append([]string{fmt.Sprintf("CN=host-%02d.lab.example", i)}, names...)
	}
	return rdns, strings.Join(names, ",")
}()

func TestIDStringDN(t *testing.T) {
	for _, c := range dnCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got := checkDN(t, c.der)
			switch {
			case strings.HasSuffix(c.want, pkixOnly):
				if prefix := strings.TrimSuffix(c.want, pkixOnly); !strings.HasPrefix(got, prefix) {
					t.Errorf("%q, want prefix %q", got, prefix)
				}
			case c.want == asHex:
				if want := fmt.Sprintf("%x", c.der); got != want {
					t.Errorf("%q, want hex %q: encoding/asn1 rejects it", got, want)
				}
			case got != c.want:
				t.Errorf("%q, want %q", got, c.want)
			}
			if _, ok := formatDN(c.der, linkedDNStyle()); ok != c.fast {
				t.Errorf("formatDN accepted it: %v, want %v", ok, c.fast)
			}
		})
	}
}

// TestDNStyles checks both renderings of unnamed attribute types
// whatever the Go release, and that the one matching the linked pkix is
// in use: Go 1.26 prints the DER asn1.Marshal would write, Go 1.27 the
// escaped string.
func TestDNStyles(t *testing.T) {
	style := linkedDNStyle()
	if style == dnStyleOff {
		t.Fatalf("formatDN does not reproduce pkix of %s: String always takes the slow path", runtime.Version())
	}
	t.Logf("%s: style %d", runtime.Version(), style)
	long := strings.Repeat("long ", 30)
	der := marshalDN(t,
		pkix.RelativeDistinguishedNameSET{atv(oidEmail, raw(asn1.TagIA5String, "it@example.com"))},
		pkix.RelativeDistinguishedNameSET{atv(oidDC, "example"), atv(oidSurname, raw(asn1.TagPrintableString, "*&"))},
		pkix.RelativeDistinguishedNameSET{atv(oidUID, raw(asn1.TagT61String, "#\xe9 ")), atv(oidSurname, long)},
		pkix.RelativeDistinguishedNameSET{atv(oidSurname, raw(asn1.TagPrintableString, "a&b"))},
		pkix.RelativeDistinguishedNameSET{atv(oidSurname, raw(asn1.TagPrintableString, "a*b"))},
	)
	want := map[dnStyle]string{
		// PrintableString unless a character is outside its set
		// ('*' and '&' included), then UTF8String; long-form length.
		// (asn1.Marshal sorted each SET OF.)
		dnStyleHexDER: "2.5.4.4=#0c03612a62,2.5.4.4=#0c03612662" +
			",0.9.2342.19200300.100.1.1=#0c0423c3a920+2.5.4.4=#138196" + fmt.Sprintf("%x", long) +
			",2.5.4.4=#0c022a26+0.9.2342.19200300.100.1.25=#13076578616d706c65" +
			",1.2.840.113549.1.9.1=#0c0e6974406578616d706c652e636f6d",
		dnStyleString: `2.5.4.4=a*b,2.5.4.4=a&b,0.9.2342.19200300.100.1.1=\#é\ +2.5.4.4=` + long[:len(long)-1] + `\ ` +
			",2.5.4.4=*&+0.9.2342.19200300.100.1.25=example" +
			",1.2.840.113549.1.9.1=it@example.com",
	}
	for s, w := range want {
		if got, ok := formatDN(der, s); !ok || got != w {
			t.Errorf("style %d: %q, %v\nwant %q", s, got, ok, w)
		}
	}
	if got := checkDN(t, der); got != want[style] {
		t.Errorf("String %q, want style %d", got, style)
	}
	// The probes tell the styles apart, so exactly one matches.
	var matches int
	for _, s := range []dnStyle{dnStyleHexDER, dnStyleString} {
		all := true
		for _, p := range dnProbes() {
			got, ok := formatDN(p, s)
			all = all && ok && got == pkixIDString(p)
		}
		if all {
			matches++
		}
	}
	if matches != 1 {
		t.Errorf("%d styles match the probes, want 1", matches)
	}
	if _, ok := formatDN(fakeDN, dnStyleOff); ok {
		t.Error("formatDN renders with dnStyleOff")
	}
}

// corpusDNs returns the subject and issuer DNs of every certificate in
// the AOSP vectors (testdata/aosp, Apache-2.0), found by trying each
// SEQUENCE with a long-form length in every hex constant.
func corpusDNs(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "aosp", "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no AOSP vectors: %v", err)
	}
	seen := map[string]bool{}
	var out [][]byte
	for _, f := range files {
		for _, b := range loadAOSP(tb, strings.TrimSuffix(filepath.Base(f), ".txt")).allHex() {
			for i := range b {
				if b[i] != 0x30 || i+1 >= len(b) || b[i+1]&0x80 == 0 {
					continue
				}
				s := cryptobyte.String(b[i:])
				var elem cryptobyte.String
				if !s.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
					continue
				}
				cert, err := x509.ParseCertificate(elem)
				if err != nil {
					continue
				}
				for _, dn := range [][]byte{cert.RawSubject, cert.RawIssuer} {
					if !seen[string(dn)] {
						seen[string(dn)] = true
						out = append(out, dn)
					}
				}
			}
		}
	}
	return out
}

func TestIDStringDNCorpus(t *testing.T) {
	dns := corpusDNs(t)
	found := map[string]bool{}
	for _, dn := range dns {
		got := checkDN(t, dn)
		if _, ok := formatDN(dn, linkedDNStyle()); !ok {
			t.Errorf("%q: formatDN declined a certificate's DN", got)
		}
		found[got] = true
	}
	for _, want := range []string{"CN=192.168.43.103,O=Evita,C=NZ", "CN=Evita Root CA,O=Evita,C=NZ"} {
		if !found[want] {
			t.Errorf("no certificate DN %q among %d found", want, len(dns))
		}
	}
	// The DN of an ID payload in IkeIdPayloadTest.
	v := loadAOSP(t, "IkeIdPayloadTest")
	id := parseBodyT(t, PayloadIDi, v.hex(t, "ASN1_DN_PAYLOAD_BODY_HEX_STRING")).(*ID)
	if got, want := checkDN(t, id.Data), "CN=small.server.test.android.net,O=Android,C=US"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// FuzzIDDNString holds String to pkix on arbitrary octets.
func FuzzIDDNString(f *testing.F) {
	for _, c := range dnCases(f) {
		f.Add(c.der)
	}
	for _, dn := range corpusDNs(f) {
		f.Add(dn)
	}
	for _, p := range dnProbes() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, der []byte) { checkDN(t, der) })
}

// BenchmarkIDStringDN renders three subjects: the lab PKI's, a
// certificate's with six named types, and one with DC and emailAddress;
// each "/pkix" is the encoding/asn1 path String took before.
func BenchmarkIDStringDN(b *testing.B) {
	for _, c := range []struct {
		name string
		der  []byte
	}{
		{"lab", certDN(b, pkix.Name{CommonName: "client.lab.example", Organization: []string{"ikelab lab"}})},
		{"subject", certDN(b, pkix.Name{Country: []string{"DE"}, Province: []string{"Bayern"}, Locality: []string{"München"},
			Organization: []string{"Example Corp, Inc."}, OrganizationalUnit: []string{"VPN"}, CommonName: "ws01.corp.example.com"})},
		{"dc-email", certDN(b, pkix.Name{CommonName: "ws01", ExtraNames: []pkix.AttributeTypeAndValue{
			atv(oidDC, "com"), atv(oidDC, "example"), atv(oidEmail, raw(asn1.TagIA5String, "it@example.com"))}})},
	} {
		id := &ID{IDType: ID_DER_ASN1_DN, Data: c.der}
		if got, want := id.String(), pkixIDString(c.der); got != want {
			b.Fatalf("%q, want %q", got, want)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = id.String()
			}
		})
		// What String cost before formatDN, for comparison.
		b.Run(c.name+"/pkix", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = pkixIDString(c.der)
			}
		})
	}
}

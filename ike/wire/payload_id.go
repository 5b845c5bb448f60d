package wire

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// IDType is the ID Type of an identification payload (RFC 7296, Section 3.5).
type IDType uint8

const (
	ID_IPV4_ADDR   IDType = 1
	ID_FQDN        IDType = 2
	ID_RFC822_ADDR IDType = 3
	ID_IPV6_ADDR   IDType = 5
	ID_DER_ASN1_DN IDType = 9
	ID_DER_ASN1_GN IDType = 10
	ID_KEY_ID      IDType = 11
	ID_FC_NAME     IDType = 12 // RFC 4595
	ID_NULL        IDType = 13 // RFC 7619
)

var idTypeNames = map[IDType]string{
	ID_IPV4_ADDR: "ID_IPV4_ADDR", ID_FQDN: "ID_FQDN", ID_RFC822_ADDR: "ID_RFC822_ADDR",
	ID_IPV6_ADDR: "ID_IPV6_ADDR", ID_DER_ASN1_DN: "ID_DER_ASN1_DN", ID_DER_ASN1_GN: "ID_DER_ASN1_GN",
	ID_KEY_ID: "ID_KEY_ID", ID_FC_NAME: "ID_FC_NAME", ID_NULL: "ID_NULL",
}

func (t IDType) String() string {
	if n, ok := idTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("ID_TYPE_%d", uint8(t))
}

// ID is an Identification payload, IDi or IDr (RFC 7296, Section 3.5).
type ID struct {
	Generic
	Responder bool // IDr rather than IDi
	IDType    IDType
	Reserved  [3]byte
	Data      []byte
}

func (p *ID) Type() PayloadType {
	if p.Responder {
		return PayloadIDr
	}
	return PayloadIDi
}

func (p *ID) Summary() string { return p.Type().String() }

func (p *ID) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var t uint8
	if !s.ReadUint8(&t) || !s.CopyBytes(p.Reserved[:]) {
		return syntaxErr(p.Type(), "truncated header (%d octets)", len(body))
	}
	p.IDType, p.Data = IDType(t), []byte(s)
	return p.check()
}

// check applies the length each ID type defines (RFC 7296, Section 3.5;
// RFC 7619, Section 3 for ID_NULL).
func (p *ID) check() error {
	n := len(p.Data)
	switch p.IDType {
	case ID_IPV4_ADDR:
		if n != 4 {
			return syntaxErr(p.Type(), "ID_IPV4_ADDR of %d octets", n)
		}
	case ID_IPV6_ADDR:
		if n != 16 {
			return syntaxErr(p.Type(), "ID_IPV6_ADDR of %d octets", n)
		}
	case ID_NULL:
		if n != 0 {
			return syntaxErr(p.Type(), "ID_NULL with %d octets of data", n)
		}
	default:
		if n == 0 {
			return syntaxErr(p.Type(), "empty %s", p.IDType)
		}
	}
	return nil
}

func (p *ID) appendBody(b []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	b = append(b, uint8(p.IDType))
	b = append(b, p.Reserved[:]...)
	return append(b, p.Data...), nil
}

// Body returns the octets that follow the generic header, which RFC 7296,
// Section 2.15 signs as IDi' / IDr'.
func (p *ID) Body() []byte {
	b, _ := p.appendBody(nil)
	return b
}

// String renders the identity for people: an address, a name, or the
// distinguished name of ID_DER_ASN1_DN.
func (p *ID) String() string {
	switch p.IDType {
	case ID_IPV4_ADDR, ID_IPV6_ADDR:
		if a, ok := netip.AddrFromSlice(p.Data); ok {
			return a.String()
		}
	case ID_FQDN, ID_RFC822_ADDR:
		return fmt.Sprintf("%q", string(p.Data))
	case ID_DER_ASN1_DN:
		if s, ok := formatDN(p.Data, linkedDNStyle()); ok {
			return s
		}
		if s, ok := pkixDN(p.Data); ok {
			return s
		}
	case ID_NULL:
		return "(null)"
	}
	return fmt.Sprintf("%x", p.Data)
}

// The distinguished name of ID_DER_ASN1_DN is an RDNSequence (RFC 5280,
// Section 4.1.2.4). String shows it exactly as crypto/x509/pkix does, so
// that logs and policy messages agree with what crypto/x509 prints for
// the same certificate, but without encoding/asn1, whose reflection made
// a DN cost microseconds and dozens of allocations (BenchmarkIDStringDN).
// formatDN covers the DNs that certificates carry, every attribute value
// a string; it declines anything else, and pkixDN, the reference it is
// tested against, renders what it declines.

// pkixDN is the reference rendering: der unmarshalled by encoding/asn1,
// with no trailing data, and printed by pkix.RDNSequence.String.
func pkixDN(der []byte) (string, bool) {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) != 0 {
		return "", false
	}
	return rdn.String(), true
}

// dnStyle is how pkix renders a string value whose attribute type has no
// short name, the one part of its output that differs between releases.
type dnStyle uint8

const (
	// dnStyleOff: formatDN did not reproduce the linked pkix, so it is not used.
	dnStyleOff dnStyle = iota
	// dnStyleHexDER (Go 1.26 and earlier): "OID=#" and the hex of the value
	// as asn1.Marshal re-encodes it, a PrintableString or a UTF8String.
	dnStyleHexDER
	// dnStyleString (Go 1.27): "OID=" and the string escaped as for a named
	// type (RFC 2253, Section 2.4).
	dnStyleString
)

// linkedDNStyle checks formatDN against the pkix linked into the binary,
// once, on DNs that exercise every rule it reproduces, and returns the
// style that matches, or dnStyleOff. pkix documents its output only as
// "roughly" RFC 2253 and has changed it before; this keeps String exact
// if it changes again (say, a short name for DC or emailAddress).
// It costs a few hundred microseconds, once, at the first DN rendered.
var linkedDNStyle = sync.OnceValue(func() dnStyle {
	probes := dnProbes()
	want := make([]string, len(probes))
	for i, der := range probes {
		want[i], _ = pkixDN(der)
	}
	for _, style := range []dnStyle{dnStyleHexDER, dnStyleString} {
		match := true
		for i, der := range probes {
			if got, ok := formatDN(der, style); !ok || got != want[i] {
				match = false
				break
			}
		}
		if match {
			return style
		}
	}
	return dnStyleOff
})

// dnProbes returns the DNs linkedDNStyle checks: every named attribute
// type, every string type, each escaping rule, a multi-valued and an
// empty RDN, and values of unnamed types including the ones a later pkix
// might name.
func dnProbes() [][]byte {
	oid := func(arcs ...int) asn1.ObjectIdentifier { return arcs }
	str := func(tag int, b string) asn1.RawValue { return asn1.RawValue{Tag: tag, Bytes: []byte(b)} }
	atv := func(t asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: t, Value: v}
	}
	at := func(n int) asn1.ObjectIdentifier { return oid(2, 5, 4, n) }
	named := pkix.RDNSequence{
		{atv(at(6), "DE")},
		{atv(at(8), " Bayern ")},
		{atv(at(7), "München")},
		{atv(at(9), str(asn1.TagT61String, "Stra\xdfe 1"))},
		{atv(at(17), str(asn1.TagNumericString, "80 331"))},
		{atv(at(10), str(asn1.TagIA5String, `#Example, "Corp" + <Co>; \`))},
		{},
		{atv(at(11), "VPN"), atv(at(3), str(asn1.TagPrintableString, "*.gw&co"))},
		{atv(at(5), str(asn1.TagBMPString, "\x03\xa9\x00#\x00 \x00\x00"))},
	}
	unnamed := pkix.RDNSequence{
		{atv(oid(1, 2, 840, 113549, 1, 9, 1), str(asn1.TagIA5String, "it@example.com"))},
		{atv(oid(0, 9, 2342, 19200300, 100, 1, 25), "example")},
		{atv(oid(0, 9, 2342, 19200300, 100, 1, 1), "Zoë")},
		{atv(at(4), str(asn1.TagPrintableString, "a*b")), atv(at(42), "")},
		{atv(at(4), str(asn1.TagPrintableString, "a&b"))},
		{atv(at(12), str(asn1.TagT61String, "\xe9t\xe9"))},
		{atv(at(65), "#x,y "), atv(oid(2, 999, 1<<31-1), strings.Repeat("long ", 30))},
	}
	var out [][]byte
	for _, rdn := range []pkix.RDNSequence{named, unnamed} {
		der, err := asn1.Marshal(rdn)
		if err != nil {
			panic("wire: DN probe: " + err.Error())
		}
		out = append(out, der)
	}
	return out
}

// formatDN renders der as pkix.RDNSequence.String would, for an
// RDNSequence framed in DER (definite, minimal lengths; one-octet tags)
// whose attribute values are all strings encoding/asn1 accepts. It
// reports false for anything else, including what encoding/asn1 tolerates
// (an AttributeTypeAndValue with trailing elements, a value that is not a
// string), and the caller falls back to pkixDN. Like encoding/asn1, it
// does not check that a SET OF is sorted.
func formatDN(der []byte, style dnStyle) (string, bool) {
	if style == dnStyleOff {
		return "", false
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return "", false
	}
	// pkix prints the RDNs last first. They are formatted into buf in
	// wire order, ends recording where each stops, then joined reversed.
	var bufArr [256]byte
	var endsArr [16]int
	buf, ends := bufArr[:0], endsArr[:0]
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return "", false
		}
		var ok bool
		if buf, ok = appendRDN(buf, set, style); !ok {
			return "", false
		}
		ends = append(ends, len(buf))
	}
	var sb strings.Builder
	sb.Grow(len(buf) + len(ends))
	for i := len(ends) - 1; i >= 0; i-- {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		sb.Write(buf[start:ends[i]])
		if i > 0 {
			sb.WriteByte(',')
		}
	}
	return sb.String(), true
}

// appendRDN appends one RelativeDistinguishedName, its attributes in wire
// order joined by '+'.
func appendRDN(buf []byte, set cryptobyte.String, style dnStyle) ([]byte, bool) {
	for first := true; !set.Empty(); first = false {
		var atv, oid, val cryptobyte.String
		var tag cbasn1.Tag
		if !set.ReadASN1(&atv, cbasn1.SEQUENCE) ||
			!atv.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
			!atv.ReadAnyASN1(&val, &tag) || !atv.Empty() {
			return buf, false
		}
		var scratch [64]byte
		s, ok := decodeDNString(scratch[:0], tag, val)
		if !ok {
			return buf, false
		}
		if !first {
			buf = append(buf, '+')
		}
		name := dnAttributeName(oid)
		if name == "" {
			if buf, ok = appendOID(buf, oid); !ok {
				return buf, false
			}
			if style == dnStyleHexDER {
				buf = appendMarshalledHex(append(buf, '=', '#'), s)
				continue
			}
		}
		buf = appendDNEscaped(append(append(buf, name...), '='), s)
	}
	return buf, true
}

// dnAttributeName is pkix's table of short names, all under id-at
// (2.5.4, RFC 5280, Appendix A.1). Matching the DER octets is exact:
// encoding/asn1 accepts only the minimal encoding of an OID.
func dnAttributeName(oid []byte) string {
	if len(oid) != 3 || oid[0] != 0x55 || oid[1] != 0x04 {
		return ""
	}
	switch oid[2] {
	case 3:
		return "CN"
	case 5:
		return "SERIALNUMBER"
	case 6:
		return "C"
	case 7:
		return "L"
	case 8:
		return "ST"
	case 9:
		return "STREET"
	case 10:
		return "O"
	case 11:
		return "OU"
	case 17:
		return "POSTALCODE"
	}
	return ""
}

// decodeDNString returns, as UTF-8, the Go string encoding/asn1 decodes
// an attribute value to, appending to dst when it must convert. It
// reports false for a type that does not decode to a string and for a
// value encoding/asn1 rejects.
func decodeDNString(dst []byte, tag cbasn1.Tag, v []byte) ([]byte, bool) {
	// All are universal and primitive: the identifier octet is the tag
	// number. A constructed string decodes to nil, not a string.
	switch int(tag) {
	case asn1.TagPrintableString:
		for _, b := range v {
			if !isPrintableDN(b, true) {
				return nil, false
			}
		}
		return v, true
	case asn1.TagNumericString:
		for _, b := range v {
			if (b < '0' || b > '9') && b != ' ' {
				return nil, false
			}
		}
		return v, true
	case asn1.TagIA5String:
		for _, b := range v {
			if b >= utf8.RuneSelf {
				return nil, false
			}
		}
		return v, true
	case asn1.TagUTF8String:
		return v, utf8.Valid(v)
	case asn1.TagT61String:
		// Read as Latin-1, as encoding/asn1 (and BoringSSL) do.
		for _, b := range v {
			dst = utf8.AppendRune(dst, rune(b))
		}
		return dst, true
	case asn1.TagBMPString: // UCS-2, big endian
		if len(v)%2 != 0 {
			return nil, false
		}
		if n := len(v); n >= 2 && v[n-1] == 0 && v[n-2] == 0 {
			v = v[:n-2] // one NUL terminator, which asn1 strips
		}
		for ; len(v) > 0; v = v[2:] {
			r := rune(v[0])<<8 | rune(v[1])
			// asn1 rejects surrogates and noncharacters, so every
			// code unit is a whole code point.
			if r >= 0xd800 && r <= 0xdfff || r >= 0xfdd0 && r <= 0xfdef || r >= 0xfffe {
				return nil, false
			}
			dst = utf8.AppendRune(dst, r)
		}
		return dst, true
	}
	return nil, false
}

// isPrintableDN is the PrintableString set of X.680, to which
// encoding/asn1 adds '*' (wildcard names) and '&' (a few CAs) when lax,
// as it is when parsing but not when marshalling.
func isPrintableDN(b byte, lax bool) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9',
		'\'' <= b && b <= ')', '+' <= b && b <= '/':
		return true
	}
	switch b {
	case ' ', ':', '=', '?':
		return true
	case '*', '&':
		return lax
	}
	return false
}

// appendOID appends the dotted decimal form of a DER OBJECT IDENTIFIER
// body (X.690, Section 8.19), within the limits encoding/asn1 applies:
// minimal arcs of at most five octets, each below 2^31.
func appendOID(dst, oid []byte) ([]byte, bool) {
	if len(oid) == 0 {
		return dst, false
	}
	for first := true; len(oid) > 0; first = false {
		if oid[0] == 0x80 {
			return dst, false
		}
		var v uint64
		n := 0
		for {
			if n == len(oid) || n == 5 {
				return dst, false
			}
			b := oid[n]
			n++
			v = v<<7 | uint64(b&0x7f)
			if b&0x80 == 0 {
				break
			}
		}
		if v > math.MaxInt32 {
			return dst, false
		}
		oid = oid[n:]
		if !first {
			dst = append(dst, '.')
		} else if v < 80 {
			// The first subidentifier packs two arcs, 40*X + Y.
			dst = strconv.AppendUint(append(dst, byte('0'+v/40), '.'), v%40, 10)
			continue
		} else {
			dst, v = append(dst, '2', '.'), v-80
		}
		dst = strconv.AppendUint(dst, v, 10)
	}
	return dst, true
}

// appendMarshalledHex appends the hex of s as asn1.Marshal encodes a Go
// string: a PrintableString when every octet is in its set (this time
// without '*' and '&'), else a UTF8String, with a DER length.
func appendMarshalledHex(dst, s []byte) []byte {
	tag := byte(asn1.TagPrintableString)
	for _, b := range s {
		if !isPrintableDN(b, false) {
			tag = byte(asn1.TagUTF8String)
			break
		}
	}
	var hdrArr [6]byte
	hdr := append(hdrArr[:0], tag)
	if n := len(s); n < 0x80 {
		hdr = append(hdr, byte(n))
	} else {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(n))
		i := 0
		for l[i] == 0 {
			i++
		}
		hdr = append(append(hdr, 0x80|byte(4-i)), l[i:]...)
	}
	return hex.AppendEncode(hex.AppendEncode(dst, hdr), s)
}

// appendDNEscaped appends s with pkix's escaping, a subset of RFC 4514,
// Section 2.4: a backslash before ,+"\<>; anywhere, before a space that
// begins or ends the value and before a '#' that begins it. s is valid
// UTF-8, so testing octets is the same as testing runes.
func appendDNEscaped(dst, s []byte) []byte {
	for k, c := range s {
		escape := false
		switch c {
		case ',', '+', '"', '\\', '<', '>', ';':
			escape = true
		case ' ':
			escape = k == 0 || k == len(s)-1
		case '#':
			escape = k == 0
		}
		if escape {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

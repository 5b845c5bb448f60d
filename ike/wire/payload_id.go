package wire

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
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
		var rdn pkix.RDNSequence
		if rest, err := asn1.Unmarshal(p.Data, &rdn); err == nil && len(rest) == 0 {
			return rdn.String()
		}
	case ID_NULL:
		return "(null)"
	}
	return fmt.Sprintf("%x", p.Data)
}

package eap

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// RADIUS packet codes (RFC 2865, Section 3).
const (
	radiusAccessRequest   = 1
	radiusAccessAccept    = 2
	radiusAccessReject    = 3
	radiusAccessChallenge = 11
)

// RADIUS attribute types (RFC 2865, Section 5; RFC 3579, Section 3).
const (
	attrUserName             = 1
	attrNASIPAddress         = 4
	attrServiceType          = 6
	attrFramedMTU            = 12
	attrReplyMessage         = 18
	attrState                = 24
	attrVendorSpecific       = 26
	attrCallingStationID     = 31
	attrNASIdentifier        = 32
	attrNASPortType          = 61
	attrEAPMessage           = 79
	attrMessageAuthenticator = 80
)

// Attribute values and the Microsoft vendor attributes (RFC 2548).
const (
	serviceTypeFramed  = 2 // RFC 2865, Section 5.6
	nasPortTypeVirtual = 5 // RFC 2865, Section 5.41; RFC 3580 uses it for VPNs
	vendorMicrosoft    = 311
	msMPPESendKey      = 16 // RFC 2548, Section 2.4.2
	msMPPERecvKey      = 17 // RFC 2548, Section 2.4.3
)

// RADIUS sizes (RFC 2865, Section 3).
const (
	radiusHeaderLen = 20
	radiusMaxPacket = 4096
	radiusMaxValue  = 253
)

// radiusAttr is one attribute; off is where its value starts in the
// packet it was parsed from.
type radiusAttr struct {
	typ   uint8
	value []byte
	off   int
}

// radiusPacket is one RADIUS packet.
type radiusPacket struct {
	code  uint8
	id    uint8
	auth  [16]byte
	attrs []radiusAttr
}

// parseRADIUS decodes a packet (RFC 2865, Section 3). Octets past the
// Length field are padding and ignored; a packet shorter than its Length
// is refused.
func parseRADIUS(b []byte) (*radiusPacket, error) {
	s := cryptobyte.String(b)
	p := new(radiusPacket)
	var length uint16
	var auth []byte
	if !s.ReadUint8(&p.code) || !s.ReadUint8(&p.id) || !s.ReadUint16(&length) || !s.ReadBytes(&auth, 16) {
		return nil, fmt.Errorf("eap: radius packet of %d octets is shorter than its header", len(b))
	}
	copy(p.auth[:], auth)
	if length < radiusHeaderLen || length > radiusMaxPacket || int(length) > len(b) {
		return nil, fmt.Errorf("eap: radius length %d in a packet of %d octets", length, len(b))
	}
	s = cryptobyte.String(b[radiusHeaderLen:length])
	off := radiusHeaderLen
	for !s.Empty() {
		var t, l uint8
		var v []byte
		if !s.ReadUint8(&t) || !s.ReadUint8(&l) || l < 2 || !s.ReadBytes(&v, int(l)-2) {
			return nil, fmt.Errorf("eap: malformed radius attribute at offset %d", off)
		}
		p.attrs = append(p.attrs, radiusAttr{typ: t, value: v, off: off + 2})
		off += int(l)
	}
	return p, nil
}

// add appends an attribute; values longer than 253 octets are split over
// several attributes of the same type, as EAP-Message requires (RFC 3579,
// Section 3.1).
func (p *radiusPacket) add(t uint8, v []byte) {
	for {
		n := min(len(v), radiusMaxValue)
		p.attrs = append(p.attrs, radiusAttr{typ: t, value: v[:n]})
		v = v[n:]
		if len(v) == 0 {
			return
		}
	}
}

func (p *radiusPacket) addUint32(t uint8, v uint32) {
	p.add(t, binary.BigEndian.AppendUint32(nil, v))
}

func (p *radiusPacket) marshal() ([]byte, error) {
	b := make([]byte, radiusHeaderLen, 256)
	b[0], b[1] = p.code, p.id
	copy(b[4:20], p.auth[:])
	for i := range p.attrs {
		a := &p.attrs[i]
		if len(a.value) > radiusMaxValue {
			return nil, fmt.Errorf("eap: radius attribute %d of %d octets", a.typ, len(a.value))
		}
		b = append(b, a.typ, uint8(2+len(a.value)))
		a.off = len(b)
		b = append(b, a.value...)
	}
	if len(b) > radiusMaxPacket {
		return nil, fmt.Errorf("eap: radius packet of %d octets exceeds %d", len(b), radiusMaxPacket)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b, nil
}

// get returns the first value of attribute t.
func (p *radiusPacket) get(t uint8) ([]byte, bool) {
	for _, a := range p.attrs {
		if a.typ == t {
			return a.value, true
		}
	}
	return nil, false
}

// concat returns the values of every attribute t joined, in order: the
// whole EAP packet of an EAP-Message sequence.
func (p *radiusPacket) concat(t uint8) []byte {
	var out []byte
	for _, a := range p.attrs {
		if a.typ == t {
			out = append(out, a.value...)
		}
	}
	return out
}

// vendor returns the values of the vendor attributes (vendorID, vtype)
// found in Vendor-Specific attributes (RFC 2865, Section 5.26, with the
// sub-attribute layout RFC 2548 uses).
func (p *radiusPacket) vendor(vendorID uint32, vtype uint8) [][]byte {
	var out [][]byte
	for _, a := range p.attrs {
		if a.typ != attrVendorSpecific {
			continue
		}
		s := cryptobyte.String(a.value)
		var id uint32
		if !s.ReadUint32(&id) || id != vendorID {
			continue
		}
		for !s.Empty() {
			var t, l uint8
			var v []byte
			if !s.ReadUint8(&t) || !s.ReadUint8(&l) || l < 2 || !s.ReadBytes(&v, int(l)-2) {
				break
			}
			if t == vtype {
				out = append(out, v)
			}
		}
	}
	return out
}

// messageAuthenticator computes HMAC-MD5 over the packet with the
// Message-Authenticator value zeroed (RFC 3579, Section 3.2; RFC 2869,
// Section 5.14). For a response, auth is the Request Authenticator, which
// takes the place of the Response Authenticator.
func messageAuthenticator(raw []byte, maOff int, auth *[16]byte, secret []byte) []byte {
	b := bytes.Clone(raw)
	if auth != nil {
		copy(b[4:20], auth[:])
	}
	clear(b[maOff : maOff+16])
	m := hmac.New(md5.New, secret)
	m.Write(b)
	return m.Sum(nil)
}

// signRequest fills in the Message-Authenticator of a marshalled request
// whose attributes include one of 16 zero octets.
func signRequest(raw []byte, p *radiusPacket, secret []byte) {
	for _, a := range p.attrs {
		if a.typ == attrMessageAuthenticator {
			copy(raw[a.off:], messageAuthenticator(raw, a.off, nil, secret))
			return
		}
	}
}

// verifyResponse checks the Response Authenticator (RFC 2865, Section 3)
// and the Message-Authenticator (RFC 3579, Section 3.2) of a reply to a
// request with authenticator reqAuth. The Message-Authenticator is
// required in every reply, EAP or not: without it an attacker who can
// forge MD5 collisions could turn a Reject into an Accept (the
// "Blast-RADIUS" attack, CVE-2024-3596).
func verifyResponse(raw []byte, p *radiusPacket, reqAuth [16]byte, secret []byte) error {
	length := int(binary.BigEndian.Uint16(raw[2:]))
	if !hmac.Equal(responseAuthenticator(raw[:length], reqAuth, secret), p.auth[:]) {
		return fmt.Errorf("eap: radius response authenticator does not verify (wrong shared secret?)")
	}
	var ma *radiusAttr
	for i := range p.attrs {
		if p.attrs[i].typ != attrMessageAuthenticator {
			continue
		}
		if ma != nil || len(p.attrs[i].value) != 16 {
			return fmt.Errorf("eap: radius reply with a malformed or repeated Message-Authenticator")
		}
		ma = &p.attrs[i]
	}
	if ma == nil {
		return fmt.Errorf("eap: radius reply without Message-Authenticator")
	}
	if !hmac.Equal(messageAuthenticator(raw[:length], ma.off, &reqAuth, secret), ma.value) {
		return fmt.Errorf("eap: radius Message-Authenticator does not verify")
	}
	return nil
}

// responseAuthenticator is MD5(Code+Identifier+Length+RequestAuth+
// Attributes+Secret) (RFC 2865, Section 3).
func responseAuthenticator(raw []byte, reqAuth [16]byte, secret []byte) []byte {
	h := md5.New()
	h.Write(raw[:4])
	h.Write(reqAuth[:])
	h.Write(raw[radiusHeaderLen:])
	h.Write(secret)
	return h.Sum(nil)
}

// decryptMPPEKey decrypts the value of MS-MPPE-Send-Key or -Recv-Key (RFC
// 2548, Sections 2.4.2 and 2.4.3): Salt (2 octets, high bit set), then the
// key, its length octet first and zero padding to 16, encrypted as
// c(1) = p(1) xor MD5(S + R + Salt), c(i) = p(i) xor MD5(S + c(i-1)),
// where S is the shared secret and R the Request Authenticator.
func decryptMPPEKey(v, secret []byte, reqAuth [16]byte) ([]byte, error) {
	if len(v) < 2+16 || (len(v)-2)%16 != 0 {
		return nil, fmt.Errorf("eap: MS-MPPE key attribute of %d octets", len(v))
	}
	if v[0]&0x80 == 0 {
		return nil, fmt.Errorf("eap: MS-MPPE key salt without its high bit")
	}
	salt, c := v[:2], v[2:]
	plain := make([]byte, len(c))
	h := md5.New()
	h.Write(secret)
	h.Write(reqAuth[:])
	h.Write(salt)
	b := h.Sum(nil)
	for i := 0; i < len(c); i += 16 {
		if i > 0 {
			h.Reset()
			h.Write(secret)
			h.Write(c[i-16 : i])
			b = h.Sum(b[:0])
		}
		for j := range 16 {
			plain[i+j] = c[i+j] ^ b[j]
		}
	}
	n := int(plain[0])
	if n == 0 || n > len(plain)-1 {
		clear(plain)
		return nil, fmt.Errorf("eap: MS-MPPE key length %d in %d octets (wrong shared secret?)", n, len(plain)-1)
	}
	key := bytes.Clone(plain[1 : 1+n])
	clear(plain)
	return key, nil
}

package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// SA is the Security Association payload: a list of proposals (RFC 7296,
// Section 3.3).
type SA struct {
	Generic
	Proposals []Proposal
}

// Proposal is a proposal substructure (RFC 7296, Section 3.3.1).
type Proposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte // empty in IKE_SA_INIT, 8 octets for IKE rekey, 4 for ESP/AH
	Transforms []Transform
}

// Transform is a transform substructure (RFC 7296, Section 3.3.2).
type Transform struct {
	Type       TransformType
	ID         TransformID
	Attributes []Attribute
}

// Attribute is a transform attribute (RFC 7296, Section 3.3.5). TV-format
// attributes (the AF bit set) carry a two-octet value; TLV ones carry Value.
type Attribute struct {
	Type  uint16 // without the AF bit
	TV    bool
	Short uint16 // value of a TV attribute
	Value []byte // value of a TLV attribute
}

const (
	lastMore = 2 // "more proposals follow" in a proposal's Last Substruc
	lastXfrm = 3 // "more transforms follow" in a transform's Last Substruc
)

func (p *SA) Type() PayloadType { return PayloadSA }

func (p *SA) Summary() string { return "SA" }

func (p *SA) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	if s.Empty() {
		return syntaxErr(PayloadSA, "no proposals")
	}
	for !s.Empty() {
		var last, reserved, num, proto, spiSize, nXfrm uint8
		var length uint16
		if !s.ReadUint8(&last) || !s.ReadUint8(&reserved) || !s.ReadUint16(&length) ||
			!s.ReadUint8(&num) || !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint8(&nXfrm) {
			return syntaxErr(PayloadSA, "truncated proposal header")
		}
		if length < 8 {
			return syntaxErr(PayloadSA, "proposal %d length %d below its 8-octet header", num, length)
		}
		var rest cryptobyte.String
		if !s.ReadBytes((*[]byte)(&rest), int(length)-8) {
			return syntaxErr(PayloadSA, "proposal %d length %d exceeds the payload", num, length)
		}
		// RFC 7296, Section 3.3.1: 0 marks the last proposal, 2 another follows.
		if (last == 0) != s.Empty() || (last != 0 && last != lastMore) {
			return syntaxErr(PayloadSA, "proposal %d has last-substructure %d", num, last)
		}
		pr := Proposal{Number: num, Protocol: ProtocolID(proto)}
		if !rest.ReadBytes(&pr.SPI, int(spiSize)) {
			return syntaxErr(PayloadSA, "proposal %d SPI size %d exceeds the proposal", num, spiSize)
		}
		if nXfrm == 0 {
			return syntaxErr(PayloadSA, "proposal %d has no transforms", num)
		}
		pr.Transforms = make([]Transform, 0, nXfrm) // nXfrm < 256: bounded
		for i := 0; i < int(nXfrm); i++ {
			t, err := parseTransform(&rest, num, i+1 == int(nXfrm))
			if err != nil {
				return err
			}
			pr.Transforms = append(pr.Transforms, t)
		}
		if !rest.Empty() {
			return syntaxErr(PayloadSA, "proposal %d has %d octets after its %d transforms", num, len(rest), nXfrm)
		}
		p.Proposals = append(p.Proposals, pr)
	}
	return nil
}

func parseTransform(s *cryptobyte.String, prop uint8, wantLast bool) (Transform, error) {
	var last, r1, typ, r2 uint8
	var length, id uint16
	if !s.ReadUint8(&last) || !s.ReadUint8(&r1) || !s.ReadUint16(&length) ||
		!s.ReadUint8(&typ) || !s.ReadUint8(&r2) || !s.ReadUint16(&id) {
		return Transform{}, syntaxErr(PayloadSA, "proposal %d: truncated transform", prop)
	}
	if (last == 0) != wantLast || (last != 0 && last != lastXfrm) {
		return Transform{}, syntaxErr(PayloadSA, "proposal %d: transform last-substructure %d does not match the transform count", prop, last)
	}
	if length < 8 {
		return Transform{}, syntaxErr(PayloadSA, "proposal %d: transform length %d below 8", prop, length)
	}
	var attrs cryptobyte.String
	if !s.ReadBytes((*[]byte)(&attrs), int(length)-8) {
		return Transform{}, syntaxErr(PayloadSA, "proposal %d: transform length %d exceeds the proposal", prop, length)
	}
	t := Transform{Type: TransformType(typ), ID: TransformID(id)}
	for !attrs.Empty() {
		var at uint16
		if !attrs.ReadUint16(&at) {
			return Transform{}, syntaxErr(PayloadSA, "proposal %d: truncated attribute", prop)
		}
		a := Attribute{Type: at & 0x7fff, TV: at&0x8000 != 0}
		if a.TV {
			if !attrs.ReadUint16(&a.Short) {
				return Transform{}, syntaxErr(PayloadSA, "proposal %d: truncated TV attribute %d", prop, a.Type)
			}
		} else if !attrs.ReadUint16LengthPrefixed((*cryptobyte.String)(&a.Value)) {
			return Transform{}, syntaxErr(PayloadSA, "proposal %d: truncated TLV attribute %d", prop, a.Type)
		}
		// RFC 7296, Section 3.3.5: Key Length is only ever TV.
		if a.Type == AttrKeyLength && !a.TV {
			return Transform{}, syntaxErr(PayloadSA, "proposal %d: key length attribute in TLV format", prop)
		}
		t.Attributes = append(t.Attributes, a)
	}
	return t, nil
}

func (p *SA) appendBody(b []byte) ([]byte, error) {
	if len(p.Proposals) == 0 {
		return nil, fmt.Errorf("wire: SA payload without proposals")
	}
	for i, pr := range p.Proposals {
		if len(pr.Transforms) == 0 || len(pr.Transforms) > 255 || len(pr.SPI) > 255 {
			return nil, fmt.Errorf("wire: proposal %d has %d transforms and a %d-octet SPI", pr.Number, len(pr.Transforms), len(pr.SPI))
		}
		last := uint8(lastMore)
		if i+1 == len(p.Proposals) {
			last = 0
		}
		start := len(b)
		b = append(b, last, 0, 0, 0, pr.Number, uint8(pr.Protocol), uint8(len(pr.SPI)), uint8(len(pr.Transforms)))
		b = append(b, pr.SPI...)
		for j, t := range pr.Transforms {
			tl := uint8(lastXfrm)
			if j+1 == len(pr.Transforms) {
				tl = 0
			}
			ts := len(b)
			b = append(b, tl, 0, 0, 0, uint8(t.Type), 0)
			b = binary.BigEndian.AppendUint16(b, uint16(t.ID))
			for _, a := range t.Attributes {
				if a.TV {
					b = binary.BigEndian.AppendUint16(b, a.Type|0x8000)
					b = binary.BigEndian.AppendUint16(b, a.Short)
					continue
				}
				if len(a.Value) > 0xffff {
					return nil, fmt.Errorf("wire: attribute %d of %d octets", a.Type, len(a.Value))
				}
				b = binary.BigEndian.AppendUint16(b, a.Type&0x7fff)
				b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
				b = append(b, a.Value...)
			}
			if len(b)-ts > 0xffff {
				return nil, fmt.Errorf("wire: transform too long")
			}
			binary.BigEndian.PutUint16(b[ts+2:], uint16(len(b)-ts))
		}
		if len(b)-start > 0xffff {
			return nil, fmt.Errorf("wire: proposal %d too long", pr.Number)
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b, nil
}

// KeyLength returns the Key Length attribute of t in bits, or 0 if absent.
func (t *Transform) KeyLength() int {
	for _, a := range t.Attributes {
		if a.Type == AttrKeyLength && a.TV {
			return int(a.Short)
		}
	}
	return 0
}

// NewTransform returns a transform, with a Key Length attribute when
// keyBits is not zero.
func NewTransform(t TransformType, id TransformID, keyBits int) Transform {
	tr := Transform{Type: t, ID: id}
	if keyBits != 0 {
		tr.Attributes = []Attribute{{Type: AttrKeyLength, TV: true, Short: uint16(keyBits)}}
	}
	return tr
}

// Name returns strongSwan's name of the transform, with its key length:
// "AES_CBC_128", "HMAC_SHA2_256_128", "MODP_2048".
func (t *Transform) Name() string {
	if t.KeyLength() == 0 {
		return TransformName(t.Type, t.ID)
	}
	return string(t.appendName(nil))
}

func (t *Transform) appendName(b []byte) []byte {
	b = append(b, TransformName(t.Type, t.ID)...)
	if k := t.KeyLength(); k != 0 {
		b = strconv.AppendUint(append(b, '_'), uint64(k), 10)
	}
	return b
}

// String formats the proposal like strongSwan:
// "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048".
func (pr *Proposal) String() string { return string(pr.AppendString(make([]byte, 0, 64))) }

// AppendString appends what String returns to b.
func (pr *Proposal) AppendString(b []byte) []byte {
	b = append(append(b, pr.Protocol.String()...), ':')
	first := true
	name := func(t *Transform) {
		if !first {
			b = append(b, '/')
		}
		first = false
		b = t.appendName(b)
	}
	// strongSwan orders by transform type, keeping the order within a type.
	for _, typ := range [...]TransformType{TransformENCR, TransformINTEG, TransformPRF, TransformKE, TransformESN} {
		for i := range pr.Transforms {
			if pr.Transforms[i].Type == typ {
				name(&pr.Transforms[i])
			}
		}
	}
	for i := range pr.Transforms {
		if t := pr.Transforms[i].Type; t < TransformENCR || t > TransformESN {
			name(&pr.Transforms[i])
		}
	}
	return b
}

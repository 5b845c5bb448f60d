package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// genericHeaderLen is the size of the generic payload header (RFC 7296,
// Section 3.2).
const genericHeaderLen = 4

// flagCritical is the critical bit of the generic payload header.
const flagCritical = 0x80

// Generic holds the flags octet of the generic payload header (RFC 7296,
// Section 3.2). Senders set only the critical bit, and receivers ignore it
// for known types, but it is kept so that a decoded message re-encodes to
// the same octets.
type Generic struct {
	Flags uint8
}

// Critical reports whether the critical bit is set.
func (g *Generic) Critical() bool { return g.Flags&flagCritical != 0 }

func (g *Generic) generic() *Generic { return g }

// A Payload is one IKEv2 payload. Decoded payloads reference the octets
// they were parsed from; copy a field before changing the input buffer.
type Payload interface {
	// Type returns the payload type that announces this payload.
	Type() PayloadType
	// Summary returns the payload in strongSwan's short log form, e.g.
	// "N(NATD_S_IP)" or "CPRQ(ADDR DNS)".
	Summary() string

	// appendBody appends the body that follows the generic header.
	appendBody(b []byte) ([]byte, error)
	// parseBody decodes the body that follows the generic header.
	parseBody(body []byte) error
	generic() *Generic
}

// newPayload returns an empty payload of a type this package decodes, or
// nil for a type it does not know.
func newPayload(t PayloadType) Payload {
	switch t {
	case PayloadSA:
		return new(SA)
	case PayloadKE:
		return new(KE)
	case PayloadIDi, PayloadIDr:
		return &ID{Responder: t == PayloadIDr}
	case PayloadCERT:
		return new(Cert)
	case PayloadCERTREQ:
		return new(CertReq)
	case PayloadAUTH:
		return new(Auth)
	case PayloadNonce:
		return new(Nonce)
	case PayloadNotify:
		return new(Notify)
	case PayloadDelete:
		return new(Delete)
	case PayloadVendorID:
		return new(VendorID)
	case PayloadTSi, PayloadTSr:
		return &TS{Responder: t == PayloadTSr}
	case PayloadSK:
		return new(Encrypted)
	case PayloadCP:
		return new(CP)
	case PayloadEAP:
		return new(EAP)
	case PayloadSKF:
		return new(EncryptedFragment)
	}
	return nil
}

// Unknown is a payload of a type this package does not decode. Its body is
// kept so that the message re-encodes unchanged (RFC 7296, Section 2.5:
// unknown non-critical payloads are skipped, not dropped on the wire).
type Unknown struct {
	Generic
	PType PayloadType
	Data  []byte
}

func (p *Unknown) Type() PayloadType                   { return p.PType }
func (p *Unknown) Summary() string                     { return p.PType.String() }
func (p *Unknown) appendBody(b []byte) ([]byte, error) { return append(b, p.Data...), nil }
func (p *Unknown) parseBody(body []byte) error         { p.Data = body; return nil }

// ParsePayloads decodes the chain of payloads in b whose first payload has
// type first, as found in the IKE header or in an Encrypted payload's Next
// Payload field. An Encrypted or EncryptedFragment payload must be the last
// one (RFC 7296, Section 3.14; RFC 7383, Section 2.5); its own Next Payload
// field names the first inner payload instead of a following one.
func ParsePayloads(first PayloadType, b []byte) ([]Payload, error) {
	var out []Payload
	s := cryptobyte.String(b)
	for next := first; next != PayloadNone; {
		var nextType, flags uint8
		var length uint16
		if !s.ReadUint8(&nextType) || !s.ReadUint8(&flags) || !s.ReadUint16(&length) {
			return nil, syntaxErr(next, "truncated generic payload header (%d octets left)", len(s))
		}
		if length < genericHeaderLen {
			return nil, syntaxErr(next, "payload length %d is shorter than its header", length)
		}
		var body []byte
		if !s.ReadBytes(&body, int(length)-genericHeaderLen) {
			return nil, syntaxErr(next, "payload length %d exceeds the %d octets left", length, len(s)+genericHeaderLen)
		}
		p := newPayload(next)
		if p == nil {
			// RFC 7296, Section 2.5: an unknown payload with the critical
			// bit set rejects the whole message.
			if flags&flagCritical != 0 {
				return nil, &UnsupportedCriticalError{Type: next}
			}
			p = &Unknown{PType: next}
		}
		if err := p.parseBody(body); err != nil {
			return nil, err
		}
		p.generic().Flags = flags
		out = append(out, p)
		switch e := p.(type) {
		case *Encrypted:
			e.NextPayload = PayloadType(nextType)
			nextType = uint8(PayloadNone)
		case *EncryptedFragment:
			e.NextPayload = PayloadType(nextType)
			nextType = uint8(PayloadNone)
		}
		if nextType == uint8(PayloadNone) && (next == PayloadSK || next == PayloadSKF) && !s.Empty() {
			return nil, syntaxErr(next, "%d octets follow the encrypted payload, which must be last", len(s))
		}
		next = PayloadType(nextType)
	}
	if !s.Empty() {
		return nil, syntaxErr(PayloadNone, "%d octets follow the last payload", len(s))
	}
	return out, nil
}

// AppendPayloads appends the encoded chain of payloads to b and returns the
// type of the first one, for the IKE header or an Encrypted payload.
func AppendPayloads(b []byte, ps []Payload) ([]byte, PayloadType, error) {
	if len(ps) == 0 {
		return b, PayloadNone, nil
	}
	for i, p := range ps {
		next := PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		switch e := p.(type) {
		case *Encrypted:
			if i+1 != len(ps) {
				return nil, PayloadNone, fmt.Errorf("wire: encrypted payload must be last")
			}
			next = e.NextPayload
		case *EncryptedFragment:
			if i+1 != len(ps) {
				return nil, PayloadNone, fmt.Errorf("wire: encrypted fragment payload must be last")
			}
			next = e.NextPayload
		}
		start := len(b)
		b = append(b, uint8(next), p.generic().Flags, 0, 0)
		var err error
		if b, err = p.appendBody(b); err != nil {
			return nil, PayloadNone, err
		}
		n := len(b) - start
		if n > 0xffff {
			return nil, PayloadNone, fmt.Errorf("wire: %s payload of %d octets exceeds 65535", p.Type(), n)
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	}
	return b, ps[0].Type(), nil
}

// Summarize returns the strongSwan-style list of payloads: "SA KE No N(NATD_S_IP)".
func Summarize(ps []Payload) string {
	var b []byte
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendPayloadSummary(b, p)
	}
	return string(b)
}

// summaryAppender is implemented by payloads whose Summary is built from
// parts, so that a summary line can be built without the parts' strings.
type summaryAppender interface {
	appendSummary(b []byte) []byte
}

// appendPayloadSummary appends p.Summary() to b.
func appendPayloadSummary(b []byte, p Payload) []byte {
	if a, ok := p.(summaryAppender); ok {
		return a.appendSummary(b)
	}
	return append(b, p.Summary()...)
}

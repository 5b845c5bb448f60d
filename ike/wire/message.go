package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxMessageLen bounds what ParseMessage accepts. IKE messages travel in
// one UDP datagram (RFC 7296, Section 2), so nothing larger can arrive.
const MaxMessageLen = 65535

// Message is a decoded IKE message: the header and its payloads in wire
// order. For a received message, Raw holds the octets it was decoded from
// (IKE_SA_INIT is signed as sent, RFC 7296 Section 2.15).
type Message struct {
	Header
	Payloads []Payload
	Raw      []byte
}

// ParseMessage decodes one IKEv2 message. The length field must match
// len(b) exactly. A message of another major version returns an error
// wrapping ErrVersion. The returned message references b.
func ParseMessage(b []byte) (*Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if h.MajorVersion != 2 {
		return nil, fmt.Errorf("%w (version %d.%d)", ErrVersion, h.MajorVersion, h.MinorVersion)
	}
	if int(h.Length) != len(b) {
		return nil, syntaxErr(PayloadNone, "header length %d, datagram carries %d octets", h.Length, len(b))
	}
	if len(b) > MaxMessageLen {
		return nil, syntaxErr(PayloadNone, "message of %d octets exceeds %d", len(b), MaxMessageLen)
	}
	ps, err := ParsePayloads(h.NextPayload, b[HeaderLen:])
	if err != nil {
		return nil, err
	}
	m := &Message{Header: *h, Payloads: ps, Raw: b}
	// The encrypted payload is last, so its body runs to the end of the
	// message and everything before it is the associated data.
	if len(ps) > 0 {
		switch e := ps[len(ps)-1].(type) {
		case *Encrypted:
			e.assoc = b[:len(b)-len(e.Body)]
		case *EncryptedFragment:
			e.assoc = b[:len(b)-len(e.Body)]
		}
	}
	return m, nil
}

// Marshal encodes the message, filling in the header's Next Payload and
// Length fields.
func (m *Message) Marshal() ([]byte, error) {
	b := make([]byte, HeaderLen, 512)
	b, first, err := AppendPayloads(b, m.Payloads)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMessageLen {
		return nil, fmt.Errorf("wire: message of %d octets exceeds %d", len(b), MaxMessageLen)
	}
	m.NextPayload = first
	m.Length = uint32(len(b))
	if m.MajorVersion == 0 {
		m.MajorVersion = 2
	}
	m.Header.AppendHeader(b[:0])
	return b, nil
}

// Summary is the strongSwan log form of the message:
// "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) ]".
func (m *Message) Summary() string { return SummaryLine(&m.Header, m.Payloads) }

// SummaryLine is Message.Summary for a header and a payload list, such as
// the decrypted contents of an SK payload.
func SummaryLine(h *Header, ps []Payload) string {
	return string(AppendSummaryLine(make([]byte, 0, 128), h, ps))
}

// AppendSummaryLine appends what SummaryLine returns to b. The responder
// logs two such lines per message; appending them to one buffer keeps
// them to a single allocation each (docs/performance.md).
func AppendSummaryLine(b []byte, h *Header, ps []Payload) []byte {
	b = append(h.AppendSummary(b), " ["...)
	for _, p := range ps {
		b = appendPayloadSummary(append(b, ' '), p)
	}
	return append(b, " ]"...)
}

// Encrypted returns the message's Encrypted payload, or nil.
func (m *Message) Encrypted() *Encrypted {
	if len(m.Payloads) == 0 {
		return nil
	}
	e, _ := m.Payloads[len(m.Payloads)-1].(*Encrypted)
	return e
}

// Fragment returns the message's Encrypted Fragment payload, or nil.
func (m *Message) Fragment() *EncryptedFragment {
	if len(m.Payloads) == 0 {
		return nil
	}
	f, _ := m.Payloads[len(m.Payloads)-1].(*EncryptedFragment)
	return f
}

// NonESPMarker is the four zero octets that precede IKE messages on UDP
// port 4500 (RFC 3948, Section 2.2).
var NonESPMarker = [4]byte{}

// SplitUDP4500 classifies a datagram received on UDP port 4500 (RFC 3948,
// Section 2): a one-octet 0xff NAT-T keepalive, an IKE message after the
// non-ESP marker, or ESP. For IKE it returns the message octets.
func SplitUDP4500(d []byte) (ike []byte, keepalive, esp bool) {
	switch {
	case len(d) == 1 && d[0] == 0xff:
		return nil, true, false
	case len(d) >= 4 && binary.BigEndian.Uint32(d) == 0:
		return d[4:], false, false
	}
	return nil, false, true
}

// IsVersion reports whether err says the message was not IKEv2.
func IsVersion(err error) bool { return errors.Is(err, ErrVersion) }

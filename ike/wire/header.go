package wire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// HeaderLen is the size of the fixed IKE header (RFC 7296, Section 3.1).
const HeaderLen = 28

// Flags are the IKE header flags (RFC 7296, Section 3.1).
type Flags uint8

const (
	FlagInitiator Flags = 0x08 // sent by the original initiator of the IKE SA
	FlagVersion   Flags = 0x10 // sender can speak a higher major version
	FlagResponse  Flags = 0x20 // this message is a response
)

func (f Flags) String() string {
	s := ""
	if f&FlagInitiator != 0 {
		s += "I"
	}
	if f&FlagVersion != 0 {
		s += "V"
	}
	if f&FlagResponse != 0 {
		s += "R"
	}
	if f&^(FlagInitiator|FlagVersion|FlagResponse) != 0 {
		s += fmt.Sprintf("+0x%02x", uint8(f&^(FlagInitiator|FlagVersion|FlagResponse)))
	}
	if s == "" {
		return "-"
	}
	return s
}

// SPI is an IKE SA security parameter index. A zero SPIr marks the first
// message of IKE_SA_INIT.
type SPI [8]byte

func (s SPI) String() string { return string(s.AppendTo(make([]byte, 0, 16))) }

// AppendTo appends the SPI as String formats it: 16 lower-case hex digits.
func (s SPI) AppendTo(b []byte) []byte { return hex.AppendEncode(b, s[:]) }

// IsZero reports whether all octets are zero.
func (s SPI) IsZero() bool { return s == SPI{} }

// Header is the fixed IKE header (RFC 7296, Section 3.1).
type Header struct {
	SPIi, SPIr   SPI
	NextPayload  PayloadType
	MajorVersion uint8
	MinorVersion uint8
	Exchange     ExchangeType
	Flags        Flags
	MessageID    uint32
	Length       uint32 // total message length including this header
}

// IsResponse reports whether the Response flag is set.
func (h *Header) IsResponse() bool { return h.Flags&FlagResponse != 0 }

// IsInitiator reports whether the Initiator flag is set.
func (h *Header) IsInitiator() bool { return h.Flags&FlagInitiator != 0 }

// ParseHeader decodes the fixed header at the start of b. It checks only
// what every IKE version shares; callers check Length against the datagram
// and the version (ParseMessage does both). An IKEv1 header decodes too, so
// that it can be reported as such.
func ParseHeader(b []byte) (*Header, error) {
	s := cryptobyte.String(b)
	h := new(Header)
	var next, version, exch, flags uint8
	if !s.CopyBytes(h.SPIi[:]) || !s.CopyBytes(h.SPIr[:]) ||
		!s.ReadUint8(&next) || !s.ReadUint8(&version) || !s.ReadUint8(&exch) ||
		!s.ReadUint8(&flags) || !s.ReadUint32(&h.MessageID) || !s.ReadUint32(&h.Length) {
		return nil, syntaxErr(PayloadNone, "header needs %d octets, have %d", HeaderLen, len(b))
	}
	h.NextPayload = PayloadType(next)
	h.MajorVersion, h.MinorVersion = version>>4, version&0x0f
	h.Exchange = ExchangeType(exch)
	h.Flags = Flags(flags)
	return h, nil
}

// AppendHeader appends the encoded header to b.
func (h *Header) AppendHeader(b []byte) []byte {
	b = append(b, h.SPIi[:]...)
	b = append(b, h.SPIr[:]...)
	b = append(b, uint8(h.NextPayload), h.MajorVersion<<4|h.MinorVersion&0x0f,
		uint8(h.Exchange), uint8(h.Flags))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}

// Summary returns strongSwan's description of a message's place in its
// exchange: "IKE_SA_INIT request 0".
func (h *Header) Summary() string { return string(h.AppendSummary(make([]byte, 0, 32))) }

// AppendSummary appends what Summary returns to b.
func (h *Header) AppendSummary(b []byte) []byte {
	b = append(append(b, h.Exchange.String()...), ' ')
	if h.IsResponse() {
		b = append(b, "response "...)
	} else {
		b = append(b, "request "...)
	}
	return strconv.AppendUint(b, uint64(h.MessageID), 10)
}

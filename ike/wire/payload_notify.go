package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Notify is the Notify payload (RFC 7296, Section 3.10).
type Notify struct {
	Generic
	Protocol   ProtocolID
	SPI        []byte
	NotifyType NotifyType
	Data       []byte
}

func (p *Notify) Type() PayloadType { return PayloadNotify }

func (p *Notify) Summary() string { return string(p.appendSummary(nil)) }

func (p *Notify) appendSummary(b []byte) []byte {
	return append(append(append(b, "N("...), p.NotifyType.Short()...), ')')
}

// notifyDataLen lists notification data whose length the RFCs fix.
var notifyDataLen = map[NotifyType]int{
	NAT_DETECTION_SOURCE_IP:       sha1Len, // RFC 7296, Section 2.23: SHA-1 hash
	NAT_DETECTION_DESTINATION_IP:  sha1Len,
	INVALID_KE_PAYLOAD:            2, // RFC 7296, Section 3.10.1: the accepted group
	UNSUPPORTED_CRITICAL_PAYLOAD:  1, // the payload type
	IKEV2_FRAGMENTATION_SUPPORTED: 0, // RFC 7383, Section 2.3
	MOBIKE_SUPPORTED:              0, // RFC 4555, Section 4.2.1
	INITIAL_CONTACT:               0,
	USE_TRANSPORT_MODE:            0,
	ESP_TFC_PADDING_NOT_SUPPORTED: 0,
	NON_FIRST_FRAGMENTS_ALSO:      0,
	MULTIPLE_AUTH_SUPPORTED:       0, // RFC 4739
	EAP_ONLY_AUTHENTICATION:       0, // RFC 5998
	SET_WINDOW_SIZE:               4,
	AUTH_LIFETIME:                 4, // RFC 4478
	MS_STATUS:                     4, // Win32 error code
	ADDITIONAL_IP4_ADDRESS:        4, // RFC 4555, Section 4.2.2
	ADDITIONAL_IP6_ADDRESS:        16,
}

func (p *Notify) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	// RFC 7296, Section 3.10: Protocol ID, SPI Size, Notify Message Type,
	// then the SPI and the notification data.
	var proto, spiSize uint8
	var typ uint16
	if !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint16(&typ) ||
		!s.ReadBytes(&p.SPI, int(spiSize)) {
		return syntaxErr(PayloadNotify, "truncated header (%d octets)", len(body))
	}
	p.Protocol, p.NotifyType, p.Data = ProtocolID(proto), NotifyType(typ), []byte(s)
	return p.check()
}

func (p *Notify) check() error {
	if n, ok := notifyDataLen[p.NotifyType]; ok && len(p.Data) != n {
		return syntaxErr(PayloadNotify, "%s data of %d octets, must be %d", p.NotifyType, len(p.Data), n)
	}
	switch p.NotifyType {
	case COOKIE:
		// RFC 7296, Section 2.6: a cookie is 1 to 64 octets.
		if len(p.Data) < 1 || len(p.Data) > 64 {
			return syntaxErr(PayloadNotify, "COOKIE of %d octets, must be 1..64", len(p.Data))
		}
	case COOKIE2:
		// RFC 4555, Section 4.2.5: 8 to 64 octets.
		if len(p.Data) < 8 || len(p.Data) > 64 {
			return syntaxErr(PayloadNotify, "COOKIE2 of %d octets, must be 8..64", len(p.Data))
		}
	case SIGNATURE_HASH_ALGORITHMS:
		// RFC 7427, Section 4: a list of two-octet hash algorithm IDs.
		if len(p.Data)%2 != 0 {
			return syntaxErr(PayloadNotify, "SIGNATURE_HASH_ALGORITHMS of odd length %d", len(p.Data))
		}
	case REKEY_SA:
		if len(p.SPI) == 0 {
			return syntaxErr(PayloadNotify, "REKEY_SA without an SPI")
		}
	}
	return nil
}

func (p *Notify) appendBody(b []byte) ([]byte, error) {
	if len(p.SPI) > 255 {
		return nil, fmt.Errorf("wire: notify SPI of %d octets", len(p.SPI))
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	b = append(b, uint8(p.Protocol), uint8(len(p.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(p.NotifyType))
	return append(append(b, p.SPI...), p.Data...), nil
}

// KEGroup returns the group an INVALID_KE_PAYLOAD notification asks for.
func (p *Notify) KEGroup() (TransformID, bool) {
	if p.NotifyType != INVALID_KE_PAYLOAD || len(p.Data) != 2 {
		return 0, false
	}
	return TransformID(binary.BigEndian.Uint16(p.Data)), true
}

// HashAlgorithms returns the list of a SIGNATURE_HASH_ALGORITHMS notification.
func (p *Notify) HashAlgorithms() []uint16 {
	if p.NotifyType != SIGNATURE_HASH_ALGORITHMS {
		return nil
	}
	out := make([]uint16, 0, len(p.Data)/2)
	for d := p.Data; len(d) >= 2; d = d[2:] {
		out = append(out, binary.BigEndian.Uint16(d))
	}
	return out
}

// Win32Error returns the Windows error code of an MS_STATUS notification.
func (p *Notify) Win32Error() (uint32, bool) {
	if p.NotifyType != MS_STATUS || len(p.Data) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.Data), true
}

// NewNotify returns a notification about the IKE SA (no protocol, no SPI).
func NewNotify(t NotifyType, data []byte) *Notify {
	return &Notify{NotifyType: t, Data: data}
}

// Delete is the Delete payload (RFC 7296, Section 3.11).
type Delete struct {
	Generic
	Protocol ProtocolID
	SPISize  uint8
	SPIs     [][]byte
}

func (p *Delete) Type() PayloadType { return PayloadDelete }
func (p *Delete) Summary() string   { return "D" }

func (p *Delete) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var proto uint8
	var n uint16
	if !s.ReadUint8(&proto) || !s.ReadUint8(&p.SPISize) || !s.ReadUint16(&n) {
		return syntaxErr(PayloadDelete, "truncated header (%d octets)", len(body))
	}
	p.Protocol = ProtocolID(proto)
	if p.SPISize == 0 && n != 0 {
		return syntaxErr(PayloadDelete, "%d SPIs of size 0", n)
	}
	if len(s) != int(n)*int(p.SPISize) {
		return syntaxErr(PayloadDelete, "%d SPIs of %d octets do not fill %d octets", n, p.SPISize, len(s))
	}
	// RFC 7296, Section 3.11: an IKE SA delete has SPI size 0 and no SPIs;
	// ESP and AH SPIs are 4 octets.
	switch p.Protocol {
	case ProtoIKE:
		if p.SPISize != 0 || n != 0 {
			return syntaxErr(PayloadDelete, "IKE SA delete with %d SPIs of size %d", n, p.SPISize)
		}
	case ProtoESP, ProtoAH:
		if p.SPISize != 4 || n == 0 {
			return syntaxErr(PayloadDelete, "%s delete with %d SPIs of size %d", p.Protocol, n, p.SPISize)
		}
	}
	p.SPIs = make([][]byte, 0, n) // n SPIs fill len(s) octets, so n <= len(s)
	for i := 0; i < int(n); i++ {
		var spi []byte
		s.ReadBytes(&spi, int(p.SPISize))
		p.SPIs = append(p.SPIs, spi)
	}
	return nil
}

func (p *Delete) appendBody(b []byte) ([]byte, error) {
	if len(p.SPIs) > 0xffff {
		return nil, fmt.Errorf("wire: delete of %d SPIs", len(p.SPIs))
	}
	b = append(b, uint8(p.Protocol), p.SPISize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.SPIs)))
	for _, spi := range p.SPIs {
		if len(spi) != int(p.SPISize) {
			return nil, fmt.Errorf("wire: delete SPI of %d octets, SPI size %d", len(spi), p.SPISize)
		}
		b = append(b, spi...)
	}
	return b, nil
}

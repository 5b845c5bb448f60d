package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// EAPCode is the Code of an EAP packet (RFC 3748, Section 4).
type EAPCode uint8

const (
	EAPRequest  EAPCode = 1
	EAPResponse EAPCode = 2
	EAPSuccess  EAPCode = 3
	EAPFailure  EAPCode = 4
)

// EAPType is the Type of an EAP request or response (RFC 3748, Section 5;
// IANA "Method Types").
type EAPType uint8

const (
	EAPIdentity     EAPType = 1
	EAPNotification EAPType = 2
	EAPNak          EAPType = 3 // Legacy Nak, responses only
	EAPMD5          EAPType = 4
	EAPGTC          EAPType = 6
	EAPTLS          EAPType = 13 // RFC 5216
	EAPTTLS         EAPType = 21
	EAPPEAP         EAPType = 25
	EAPMSCHAPv2     EAPType = 26 // draft-kamath-pppext-eap-mschapv2
	EAPExpanded     EAPType = 254
)

var eapTypeShort = map[EAPType]string{
	EAPIdentity: "ID", EAPNotification: "NTF", EAPNak: "NAK", EAPMD5: "MD5", EAPGTC: "GTC",
	EAPTLS: "TLS", EAPTTLS: "TTLS", EAPPEAP: "PEAP", EAPMSCHAPv2: "MSCHAPV2", EAPExpanded: "EXP",
}

func (t EAPType) String() string {
	if n, ok := eapTypeShort[t]; ok {
		return n
	}
	return fmt.Sprintf("EAP_TYPE_%d", uint8(t))
}

// EAP is the EAP payload: one EAP packet (RFC 7296, Section 3.16).
type EAP struct {
	Generic
	Code       EAPCode
	Identifier uint8
	EAPType    EAPType // requests and responses only
	Data       []byte  // Type-Data
}

func (p *EAP) Type() PayloadType { return PayloadEAP }

// Summary uses strongSwan's form: "EAP/REQ/ID", "EAP/RES/MSCHAPV2", "EAP/SUCC".
func (p *EAP) Summary() string {
	switch p.Code {
	case EAPRequest:
		return "EAP/REQ/" + p.EAPType.String()
	case EAPResponse:
		return "EAP/RES/" + p.EAPType.String()
	case EAPSuccess:
		return "EAP/SUCC"
	case EAPFailure:
		return "EAP/FAIL"
	}
	return fmt.Sprintf("EAP/%d", uint8(p.Code))
}

func (p *EAP) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var code uint8
	var length uint16
	if !s.ReadUint8(&code) || !s.ReadUint8(&p.Identifier) || !s.ReadUint16(&length) {
		return syntaxErr(PayloadEAP, "truncated EAP header")
	}
	p.Code = EAPCode(code)
	// RFC 7296, Section 3.16: the payload holds exactly one EAP message.
	if int(length) != len(body) {
		return syntaxErr(PayloadEAP, "EAP length %d in a payload body of %d octets", length, len(body))
	}
	switch p.Code {
	case EAPSuccess, EAPFailure:
		// RFC 3748, Section 4.2: Success and Failure carry no data.
		if !s.Empty() {
			return syntaxErr(PayloadEAP, "EAP %s with %d octets of data", p.Summary(), len(s))
		}
	case EAPRequest, EAPResponse:
		var t uint8
		if !s.ReadUint8(&t) {
			return syntaxErr(PayloadEAP, "EAP request or response without a type")
		}
		p.EAPType, p.Data = EAPType(t), []byte(s)
		return p.checkMethod()
	default:
		return syntaxErr(PayloadEAP, "unknown EAP code %d", code)
	}
	return nil
}

// checkMethod checks the framing of the methods ikelab runs.
func (p *EAP) checkMethod() error {
	switch p.EAPType {
	case EAPNak:
		// RFC 3748, Section 5.3.1: one or more desired types.
		if len(p.Data) == 0 {
			return syntaxErr(PayloadEAP, "empty Nak")
		}
	case EAPTLS:
		if _, err := p.TLS(); err != nil {
			return err
		}
	case EAPMSCHAPv2:
		if _, err := p.MSCHAPv2(); err != nil {
			return err
		}
	}
	return nil
}

func (p *EAP) appendBody(b []byte) ([]byte, error) {
	n := 4
	if p.Code == EAPRequest || p.Code == EAPResponse {
		n += 1 + len(p.Data)
	}
	if n > 0xffff {
		return nil, fmt.Errorf("wire: EAP packet of %d octets", n)
	}
	b = append(b, uint8(p.Code), p.Identifier)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	if p.Code == EAPRequest || p.Code == EAPResponse {
		b = append(append(b, uint8(p.EAPType)), p.Data...)
	}
	return b, nil
}

// EAP-TLS flags (RFC 5216, Section 3.1).
const (
	TLSFlagLength = 0x80 // L: TLS Message Length present
	TLSFlagMore   = 0x40 // M: more fragments follow
	TLSFlagStart  = 0x20 // S: EAP-TLS start
)

// EAPTLSFrame is the framing of an EAP-TLS packet (RFC 5216, Section 3.1).
type EAPTLSFrame struct {
	Flags       uint8
	TotalLength uint32 // present when Flags has TLSFlagLength
	TLSData     []byte
}

// TLS decodes the EAP-TLS framing of Data.
func (p *EAP) TLS() (*EAPTLSFrame, error) {
	s := cryptobyte.String(p.Data)
	f := new(EAPTLSFrame)
	if !s.ReadUint8(&f.Flags) {
		return nil, syntaxErr(PayloadEAP, "EAP-TLS without flags")
	}
	if f.Flags&TLSFlagLength != 0 {
		if !s.ReadUint32(&f.TotalLength) {
			return nil, syntaxErr(PayloadEAP, "EAP-TLS length flag without a length")
		}
	}
	f.TLSData = []byte(s)
	return f, nil
}

// MSCHAPv2 op codes (draft-kamath-pppext-eap-mschapv2, Section 2).
const (
	MSCHAPv2Challenge      = 1
	MSCHAPv2Response       = 2
	MSCHAPv2Success        = 3
	MSCHAPv2Failure        = 4
	MSCHAPv2ChangePassword = 7
)

// MSCHAPv2Packet is the EAP-MSCHAPv2 framing.
type MSCHAPv2Packet struct {
	OpCode   uint8
	ID       uint8  // MS-CHAPv2-ID; absent in a bare Success/Failure response
	MSLength uint16 // MS-Length: the length of the EAP Type-Data
	Data     []byte
}

// MSCHAPv2 decodes the EAP-MSCHAPv2 framing of Data. A response to a
// Success or Failure request is the op code alone.
func (p *EAP) MSCHAPv2() (*MSCHAPv2Packet, error) {
	s := cryptobyte.String(p.Data)
	m := new(MSCHAPv2Packet)
	if !s.ReadUint8(&m.OpCode) {
		return nil, syntaxErr(PayloadEAP, "EAP-MSCHAPv2 without an op code")
	}
	if s.Empty() && (m.OpCode == MSCHAPv2Success || m.OpCode == MSCHAPv2Failure) {
		return m, nil
	}
	if !s.ReadUint8(&m.ID) || !s.ReadUint16(&m.MSLength) {
		return nil, syntaxErr(PayloadEAP, "truncated EAP-MSCHAPv2 header")
	}
	// MS-Length counts from the op code to the end of the Type-Data.
	if int(m.MSLength) != len(p.Data) {
		return nil, syntaxErr(PayloadEAP, "EAP-MSCHAPv2 MS-Length %d for %d octets", m.MSLength, len(p.Data))
	}
	m.Data = []byte(s)
	return m, nil
}

package wire

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// AuthMethod is the Auth Method of an AUTH payload (RFC 7296, Section 3.8;
// IANA "IKEv2 Authentication Method").
type AuthMethod uint8

const (
	AuthRSASig      AuthMethod = 1  // RSA PKCS#1 v1.5 with SHA-1
	AuthSharedKey   AuthMethod = 2  // shared key message integrity code
	AuthDSS         AuthMethod = 3  // DSS with SHA-1
	AuthECDSA256    AuthMethod = 9  // RFC 4754: ECDSA with SHA-256 on P-256
	AuthECDSA384    AuthMethod = 10 // RFC 4754: ECDSA with SHA-384 on P-384
	AuthECDSA521    AuthMethod = 11 // RFC 4754: ECDSA with SHA-512 on P-521
	AuthGenericPass AuthMethod = 12 // RFC 6467
	AuthNULL        AuthMethod = 13 // RFC 7619
	AuthDigitalSig  AuthMethod = 14 // RFC 7427
)

var authMethodNames = map[AuthMethod]string{
	AuthRSASig: "RSA_SIG", AuthSharedKey: "SHARED_KEY_MIC", AuthDSS: "DSS_SIG",
	AuthECDSA256: "ECDSA_256", AuthECDSA384: "ECDSA_384", AuthECDSA521: "ECDSA_521",
	AuthGenericPass: "GSPM", AuthNULL: "NULL_AUTH", AuthDigitalSig: "DIGITAL_SIGNATURE",
}

func (m AuthMethod) String() string {
	if n, ok := authMethodNames[m]; ok {
		return n
	}
	return fmt.Sprintf("AUTH_METHOD_%d", uint8(m))
}

// Auth is the Authentication payload (RFC 7296, Section 3.8).
type Auth struct {
	Generic
	Method   AuthMethod
	Reserved [3]byte
	Data     []byte
}

func (p *Auth) Type() PayloadType { return PayloadAUTH }
func (p *Auth) Summary() string   { return "AUTH" }

func (p *Auth) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var m uint8
	if !s.ReadUint8(&m) || !s.CopyBytes(p.Reserved[:]) {
		return syntaxErr(PayloadAUTH, "truncated header (%d octets)", len(body))
	}
	p.Method, p.Data = AuthMethod(m), []byte(s)
	if p.Method != AuthNULL && len(p.Data) == 0 {
		return syntaxErr(PayloadAUTH, "empty %s authentication data", p.Method)
	}
	if p.Method == AuthDigitalSig {
		if _, _, err := p.DigitalSignature(); err != nil {
			return err
		}
	}
	return nil
}

func (p *Auth) appendBody(b []byte) ([]byte, error) {
	b = append(b, uint8(p.Method))
	b = append(b, p.Reserved[:]...)
	return append(b, p.Data...), nil
}

// DigitalSignature splits the data of a method 14 AUTH payload into the DER
// AlgorithmIdentifier and the signature value (RFC 7427, Section 3: a
// one-octet length, the AlgorithmIdentifier, then the signature).
func (p *Auth) DigitalSignature() (algID, sig []byte, err error) {
	if p.Method != AuthDigitalSig {
		return nil, nil, fmt.Errorf("wire: AUTH method %s is not a digital signature", p.Method)
	}
	s := cryptobyte.String(p.Data)
	if !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&algID)) || len(algID) == 0 {
		return nil, nil, syntaxErr(PayloadAUTH, "truncated RFC 7427 AlgorithmIdentifier")
	}
	// The AlgorithmIdentifier is a DER SEQUENCE that fills its length field.
	a := cryptobyte.String(algID)
	var seq cryptobyte.String
	if !a.ReadASN1Element(&seq, 0x30) || !a.Empty() {
		return nil, nil, syntaxErr(PayloadAUTH, "RFC 7427 AlgorithmIdentifier is not one DER SEQUENCE")
	}
	if s.Empty() {
		return nil, nil, syntaxErr(PayloadAUTH, "RFC 7427 signature value missing")
	}
	return algID, []byte(s), nil
}

// NewDigitalSignature builds the data of a method 14 AUTH payload.
func NewDigitalSignature(algID, sig []byte) (*Auth, error) {
	if len(algID) == 0 || len(algID) > 255 {
		return nil, fmt.Errorf("wire: AlgorithmIdentifier of %d octets", len(algID))
	}
	d := append([]byte{uint8(len(algID))}, algID...)
	return &Auth{Method: AuthDigitalSig, Data: append(d, sig...)}, nil
}

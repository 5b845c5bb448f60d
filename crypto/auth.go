package crypto

import (
	"crypto/hmac"
	"fmt"
)

// AuthMethod is the Auth Method field of an AUTH payload (RFC 7296 Section
// 3.8; IANA "IKEv2 Authentication Method").
type AuthMethod uint8

const (
	// AuthRSASignature is RSASSA-PKCS1-v1_5 with SHA-1 (RFC 7296, Section
	// 3.8). Windows uses it with RSA machine certificates.
	AuthRSASignature AuthMethod = 1
	// AuthSharedKey is the shared key MAC of RFC 7296, Section 2.15.
	AuthSharedKey AuthMethod = 2
	// AuthDSSSignature is DSS with SHA-1; not implemented.
	AuthDSSSignature AuthMethod = 3
	// AuthECDSASHA256P256 and the next two are RFC 4754 ECDSA with the
	// curve and hash fixed by the method and r | s as the signature.
	AuthECDSASHA256P256 AuthMethod = 9
	AuthECDSASHA384P384 AuthMethod = 10
	AuthECDSASHA512P521 AuthMethod = 11
	// AuthGenericSecurePassword is RFC 6467; not implemented.
	AuthGenericSecurePassword AuthMethod = 12
	// AuthNULL is RFC 7619 NULL authentication; not implemented.
	AuthNULL AuthMethod = 13
	// AuthDigitalSignature is RFC 7427: the AUTH data names its own
	// signature algorithm with an ASN.1 AlgorithmIdentifier.
	AuthDigitalSignature AuthMethod = 14
)

var authMethodNames = map[AuthMethod]string{
	AuthRSASignature: "RSA_SIG", AuthSharedKey: "PSK", AuthDSSSignature: "DSS_SIG",
	AuthECDSASHA256P256: "ECDSA_256", AuthECDSASHA384P384: "ECDSA_384",
	AuthECDSASHA512P521: "ECDSA_521", AuthGenericSecurePassword: "GSPAM",
	AuthNULL: "NULL", AuthDigitalSignature: "DIGITAL_SIGNATURE",
}

func (m AuthMethod) String() string {
	if n, ok := authMethodNames[m]; ok {
		return n
	}
	return fmt.Sprintf("AUTH_METHOD_%d", uint8(m))
}

// keyPad is the fixed string of RFC 7296, Section 2.15.
var keyPad = []byte("Key Pad for IKEv2")

// SignedOctets returns the octets an AUTH payload signs or MACs (RFC 7296,
// Section 2.15):
//
//	InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
//	MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
//
// and symmetrically for the responder (RealMessage2 | NonceIData |
// prf(SK_pr, IDr')). message is the whole IKE_SA_INIT message this side sent,
// exactly as sent; nonce is the peer's Nonce Data; skp is this side's SK_p;
// idBody is the ID payload without its generic header (ID Type, three
// reserved octets, identification data).
func SignedOctets(p *PRFAlg, message, nonce, skp, idBody []byte) []byte {
	out := make([]byte, 0, len(message)+len(nonce)+p.Size)
	out = append(append(out, message...), nonce...)
	m := p.newMAC(skp)
	m.Write(idBody)
	return m.Sum(out)
}

// PSKAuth returns the Authentication Data of a shared key AUTH payload
// (RFC 7296, Section 2.15): prf(prf(Shared Secret, "Key Pad for IKEv2"),
// octets). The same formula with the EAP MSK as the shared secret
// authenticates an EAP exchange (Section 2.16).
func PSKAuth(p *PRFAlg, psk, octets []byte) []byte {
	return p.Compute(p.Compute(psk, keyPad), octets)
}

// VerifyPSKAuth reports whether authData is PSKAuth(p, psk, octets),
// comparing in constant time.
func VerifyPSKAuth(p *PRFAlg, psk, octets, authData []byte) bool {
	return hmac.Equal(PSKAuth(p, psk, octets), authData)
}

package crypto

import (
	"crypto/hmac"
	"github.com/ikelab/ikelab/ike/wire"
)

// AuthMethod is the Auth Method field of an AUTH payload (RFC 7296 Section
// 3.8); the wire package owns the registry and the names.
type AuthMethod = wire.AuthMethod

// The methods this package signs and verifies, under the names its API
// has always used.
const (
	// AuthRSASignature is RSASSA-PKCS1-v1_5 with SHA-1 (RFC 7296, Section
	// 3.8). Windows uses it with RSA machine certificates.
	AuthRSASignature = wire.AuthRSASig
	// AuthSharedKey is the shared key MAC of RFC 7296, Section 2.15.
	AuthSharedKey = wire.AuthSharedKey
	// AuthDSSSignature is DSS with SHA-1; not implemented.
	AuthDSSSignature = wire.AuthDSS
	// AuthECDSASHA256P256 and the next two are RFC 4754 ECDSA with the
	// curve and hash fixed by the method and r | s as the signature.
	AuthECDSASHA256P256 = wire.AuthECDSA256
	AuthECDSASHA384P384 = wire.AuthECDSA384
	AuthECDSASHA512P521 = wire.AuthECDSA521
	// AuthGenericSecurePassword is RFC 6467; not implemented.
	AuthGenericSecurePassword = wire.AuthGenericPass
	// AuthNULL is RFC 7619 NULL authentication; not implemented.
	AuthNULL = wire.AuthNULL
	// AuthDigitalSignature is RFC 7427: the AUTH data names its own
	// signature algorithm with an ASN.1 AlgorithmIdentifier.
	AuthDigitalSignature = wire.AuthDigitalSig
)

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
	m := p.macs.get(skp)
	defer p.macs.put(m)
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

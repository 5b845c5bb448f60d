// Package eap runs the EAP conversations of IKEv2 user tunnels (RFC 7296,
// Section 2.16): the authenticator side for the ikelab responder and the
// peer side for the ikelab initiator, as Windows' "IKEv2 with EAP" VPN
// profiles use them.
//
// An IKE_AUTH request without an AUTH payload asks for EAP. The responder
// then authenticates itself with its certificate, answers with the first
// packet of a Server (EAP-Request/Identity), and passes each EAP payload
// the initiator sends to Server.Next, sending back what it returns, until
// Next reports done. On success Result.MSK is the shared secret of both
// final AUTH payloads: prf(prf(MSK, "Key Pad for IKEv2"), <signed octets>).
//
// Methods:
//
//   - EAP-MSCHAPv2 (RFC 2759 inside the EAP framing of
//     draft-kamath-pppext-eap-mschapv2): users are stored as NT hashes
//     (NTHash), never as passwords; the MSK is derived per RFC 3079 as
//     MasterReceiveKey | MasterSendKey | 32 zero octets, what Windows and
//     strongSwan use.
//   - EAP-TLS (RFC 5216, and RFC 9190 when both sides do TLS 1.3) over
//     crypto/tls, with EAP-TLS fragmentation, bounded message sizes and
//     fragment counts; the client certificate is judged by the same
//     trust.Verifier as IKE machine certificates, CRL checks included.
//
// Method negotiation follows RFC 3748, Section 5.3: the server offers its
// methods in order and honours one Legacy Nak, which is what Windows sends
// when it is set for MSCHAPv2 and offered TLS, or the reverse.
//
// With ServerConfig.RADIUS set, the Server only asks for the identity and
// relays everything else to a RADIUS server (RFC 3579): EAP-Message,
// Message-Authenticator and State, retransmission on timeout, and the MSK
// from the MS-MPPE-Recv-Key and MS-MPPE-Send-Key attributes (RFC 2548).
//
// Every decoder is strict and bounded: a malformed packet, an unexpected
// identifier, a replayed response, an oversized EAP-TLS message or too many
// rounds end the conversation with EAP-Failure and a Result that says why,
// never with a panic.
package eap

package wire

import (
	"bytes"
	"net/netip"
)

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// sampleIKEProposal is one of Windows' default IKE proposals (LAB.md):
// AES-CBC-256 / SHA2-256 / PRF SHA2-256 / MODP-1024.
func sampleIKEProposal(num uint8, encr TransformID, keyBits int, integ, prf TransformID) Proposal {
	return Proposal{
		Number: num, Protocol: ProtoIKE,
		Transforms: []Transform{
			NewTransform(TransformENCR, encr, keyBits),
			NewTransform(TransformINTEG, integ, 0),
			NewTransform(TransformPRF, prf, 0),
			NewTransform(TransformKE, MODP_1024, 0),
		},
	}
}

// windowsProposals returns the 12 proposals of a Windows client's
// IKE_SA_INIT: 3DES, AES-128, AES-192, AES-256 with SHA-1, SHA2-256 and
// SHA2-384, all with MODP-1024 (LAB.md).
func windowsProposals() []Proposal {
	type enc struct {
		id   TransformID
		bits int
	}
	var out []Proposal
	n := uint8(1)
	for _, e := range []enc{{ENCR_3DES, 0}, {ENCR_AES_CBC, 128}, {ENCR_AES_CBC, 192}, {ENCR_AES_CBC, 256}} {
		for _, h := range [][2]TransformID{
			{AUTH_HMAC_SHA1_96, PRF_HMAC_SHA1},
			{AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256},
			{AUTH_HMAC_SHA2_384_192, PRF_HMAC_SHA2_384},
		} {
			out = append(out, sampleIKEProposal(n, e.id, e.bits, h[0], h[1]))
			n++
		}
	}
	return out
}

// windowsSAInit returns a Windows-like IKE_SA_INIT request: SA with 12
// proposals, KE, Ni, N(FRAG_SUP), NAT-D and four vendor IDs.
func windowsSAInit() *Message {
	return &Message{
		Header: Header{
			SPIi:     SPI{0x23, 0x86, 0x71, 0xc8, 0x03, 0x75, 0xa0, 0xfb},
			Exchange: IKE_SA_INIT, Flags: FlagInitiator, MajorVersion: 2,
		},
		Payloads: []Payload{
			&SA{Proposals: windowsProposals()},
			&KE{Group: MODP_1024, Data: seq(128, 1)},
			&Nonce{Data: seq(48, 7)},
			NewNotify(IKEV2_FRAGMENTATION_SUPPORTED, nil),
			NewNotify(NAT_DETECTION_SOURCE_IP, seq(20, 0x40)),
			NewNotify(NAT_DETECTION_DESTINATION_IP, seq(20, 0x60)),
			&VendorID{Data: VendorMSNT5v9},
			&VendorID{Data: VendorMSNegDiscovery},
			&VendorID{Data: VendorMSInitContact},
			&VendorID{Data: VendorMS01528bbbv2},
		},
	}
}

// fakeDN is a DER RDNSequence: CN=client.lab.example.
var fakeDN = []byte{
	0x30, 0x1d, 0x31, 0x1b, 0x30, 0x19, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x12,
	'c', 'l', 'i', 'e', 'n', 't', '.', 'l', 'a', 'b', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
}

// sha256WithRSA is the DER AlgorithmIdentifier of sha256WithRSAEncryption,
// as RFC 7427, Appendix A lists it.
var sha256WithRSA = []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}

// windowsAuthInner returns the inner payloads of a Windows machine
// certificate IKE_AUTH request (LAB.md): IDi CERT CERTREQ AUTH
// N(MOBIKE_SUP) CPRQ SA TSi TSr.
func windowsAuthInner() []Payload {
	esp := func(num uint8, encr TransformID, bits int) Proposal {
		return Proposal{Number: num, Protocol: ProtoESP, SPI: []byte{0xc4, 0x11, 0x2b, num},
			Transforms: []Transform{
				NewTransform(TransformENCR, encr, bits),
				NewTransform(TransformINTEG, AUTH_HMAC_SHA1_96, 0),
				NewTransform(TransformESN, ESN_NO, 0),
			}}
	}
	any4 := Selector{TSType: TS_IPV4_ADDR_RANGE, EndPort: 0xffff,
		Start: netip.MustParseAddr("0.0.0.0"), End: netip.MustParseAddr("255.255.255.255")}
	any6 := Selector{TSType: TS_IPV6_ADDR_RANGE, EndPort: 0xffff,
		Start: netip.MustParseAddr("::"), End: netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}
	return []Payload{
		&ID{IDType: ID_DER_ASN1_DN, Data: fakeDN},
		&Cert{Encoding: CertX509Signature, Data: seq(1200, 0x30)},
		&CertReq{Encoding: CertX509Signature, Data: seq(40*sha1Len, 0)},
		&Auth{Method: AuthRSASig, Data: seq(256, 0x11)},
		NewNotify(MOBIKE_SUPPORTED, nil),
		&CP{CFGType: CFG_REQUEST, Attributes: []CPAttribute{
			{Type: INTERNAL_IP4_ADDRESS}, {Type: INTERNAL_IP4_DNS}, {Type: INTERNAL_IP4_NBNS},
			{Type: MS_INTERNAL_IP4_SERVER}, {Type: INTERNAL_IP6_ADDRESS}, {Type: INTERNAL_IP6_DNS},
			{Type: MS_INTERNAL_IP6_SERVER},
		}},
		&SA{Proposals: []Proposal{esp(1, ENCR_AES_CBC, 256), esp(2, ENCR_AES_CBC, 128), esp(3, ENCR_3DES, 0)}},
		&TS{Selectors: []Selector{any4, any6}},
		&TS{Responder: true, Selectors: []Selector{any4, any6}},
	}
}

// samplePayload is one valid payload of each kind, with a name.
type samplePayload struct {
	name string
	p    Payload
}

// samplePayloads covers every payload type the package decodes, and the
// variants whose bodies differ in structure.
func samplePayloads() []samplePayload {
	digSig, err := NewDigitalSignature(sha256WithRSA, seq(64, 9))
	if err != nil {
		panic(err)
	}
	ts := &TS{Selectors: []Selector{
		{TSType: TS_IPV4_ADDR_RANGE, IPProtocol: 17, StartPort: 500, EndPort: 500,
			Start: netip.MustParseAddr("10.1.0.1"), End: netip.MustParseAddr("10.1.0.9")},
		{TSType: TS_IPV6_ADDR_RANGE, EndPort: 0xffff,
			Start: netip.MustParseAddr("2001:db8::"), End: netip.MustParseAddr("2001:db8::ffff")},
		{TSType: TS_SECLABEL, Raw: []byte("system_u:object_r")},
	}}
	return []samplePayload{
		{"SA_IKE_windows", &SA{Proposals: windowsProposals()}},
		{"SA_ESP_with_SPI", windowsAuthInner()[6]},
		{"SA_TLV_attribute", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtoIKE, SPI: seq(8, 1),
			Transforms: []Transform{{Type: TransformENCR, ID: ENCR_AES_GCM_16,
				Attributes: []Attribute{{Type: AttrKeyLength, TV: true, Short: 256}, {Type: 99, Value: []byte{1, 2, 3}}}}}}}}},
		{"KE_MODP_1024", &KE{Group: MODP_1024, Data: seq(128, 1)}},
		{"KE_ECP_256", &KE{Group: ECP_256, Data: seq(64, 2)}},
		{"KE_CURVE_25519", &KE{Group: CURVE_25519, Data: seq(32, 3)}},
		{"KE_unknown_group", &KE{Group: 0x0fff, Reserved: 1, Data: seq(5, 4)}},
		{"IDi_DN", &ID{IDType: ID_DER_ASN1_DN, Data: fakeDN}},
		{"IDr_IPv4", &ID{Responder: true, IDType: ID_IPV4_ADDR, Data: []byte{192, 0, 2, 1}}},
		{"IDi_IPv6", &ID{IDType: ID_IPV6_ADDR, Data: netip.MustParseAddr("2001:db8::1").AsSlice()}},
		{"IDr_FQDN", &ID{Responder: true, IDType: ID_FQDN, Data: []byte("vpn.lab.example")}},
		{"IDi_NULL", &ID{IDType: ID_NULL}},
		{"CERT_X509", &Cert{Encoding: CertX509Signature, Data: seq(300, 0)}},
		{"CERT_hash_and_URL", &Cert{Encoding: CertHashURL, Data: append(seq(20, 0), "http://ca.example/c"...)}},
		{"CERTREQ_X509", &CertReq{Encoding: CertX509Signature, Data: seq(60, 0)}},
		{"CERTREQ_empty", &CertReq{Encoding: CertX509Signature}},
		{"AUTH_PSK", &Auth{Method: AuthSharedKey, Data: seq(32, 5)}},
		{"AUTH_RSA", &Auth{Method: AuthRSASig, Data: seq(256, 6)}},
		{"AUTH_digital_signature", digSig},
		{"AUTH_NULL", &Auth{Method: AuthNULL}},
		{"Nonce_32", &Nonce{Data: seq(32, 7)}},
		{"Notify_NATD_S", NewNotify(NAT_DETECTION_SOURCE_IP, seq(20, 8))},
		{"Notify_FRAG_SUP", NewNotify(IKEV2_FRAGMENTATION_SUPPORTED, nil)},
		{"Notify_INVALID_KE", NewNotify(INVALID_KE_PAYLOAD, []byte{0, 14})},
		{"Notify_COOKIE", NewNotify(COOKIE, seq(64, 9))},
		{"Notify_REKEY_SA", &Notify{Protocol: ProtoESP, SPI: []byte{0x2a, 0xd4, 0xc0, 0xa2}, NotifyType: REKEY_SA}},
		{"Notify_HASH_ALG", NewNotify(SIGNATURE_HASH_ALGORITHMS, []byte{0, 2, 0, 3, 0, 4})},
		{"Notify_MS_STATUS", NewNotify(MS_STATUS, []byte{0, 0, 0x36, 0x2c})},
		{"Notify_unknown_type", &Notify{NotifyType: 40000, Data: []byte("x")}},
		{"Delete_IKE", &Delete{Protocol: ProtoIKE}},
		{"Delete_ESP_two", &Delete{Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{seq(4, 1), seq(4, 9)}}},
		{"VendorID", &VendorID{Data: VendorMSNT5v9}},
		{"TSi", ts},
		{"TSr", &TS{Responder: true, Reserved: [3]byte{1, 2, 3}, Selectors: ts.Selectors[:1]}},
		{"SK", &Encrypted{NextPayload: PayloadIDi, Body: seq(48, 0)}},
		{"CP_request_windows", windowsAuthInner()[5]},
		{"CP_reply", &CP{CFGType: CFG_REPLY, Attributes: []CPAttribute{
			{Type: INTERNAL_IP4_ADDRESS, Value: []byte{10, 9, 0, 2}},
			{Type: INTERNAL_IP6_ADDRESS, Value: append(netip.MustParseAddr("2001:db8::2").AsSlice(), 64)},
			{Type: APPLICATION_VERSION, Value: []byte("ikelab 1")},
			{Type: 30000, ReservedBit: true, Value: []byte{1}},
		}}},
		{"EAP_identity_request", &EAP{Code: EAPRequest, Identifier: 1, EAPType: EAPIdentity}},
		{"EAP_MSCHAPv2_challenge", &EAP{Code: EAPRequest, Identifier: 2, EAPType: EAPMSCHAPv2,
			Data: append([]byte{MSCHAPv2Challenge, 2, 0, 27, 16}, append(seq(16, 0), "ikelab"...)...)}},
		{"EAP_MSCHAPv2_success_response", &EAP{Code: EAPResponse, Identifier: 3, EAPType: EAPMSCHAPv2, Data: []byte{MSCHAPv2Success}}},
		{"EAP_TLS_start", &EAP{Code: EAPRequest, Identifier: 4, EAPType: EAPTLS, Data: []byte{TLSFlagStart}}},
		{"EAP_TLS_length", &EAP{Code: EAPResponse, Identifier: 5, EAPType: EAPTLS, Data: []byte{TLSFlagLength | TLSFlagMore, 0, 0, 4, 0, 0x16, 3, 3}}},
		{"EAP_Nak", &EAP{Code: EAPResponse, Identifier: 6, EAPType: EAPNak, Data: []byte{byte(EAPMSCHAPv2)}}},
		{"EAP_success", &EAP{Code: EAPSuccess, Identifier: 7}},
		{"SKF", &EncryptedFragment{NextPayload: PayloadIDi, Number: 1, Total: 3, Body: seq(40, 0)}},
		{"Unknown_noncritical", &Unknown{PType: 49, Data: []byte("gspm")}},
		{"Critical_bit_on_known_type", &Nonce{Generic: Generic{Flags: flagCritical}, Data: seq(16, 0)}},
	}
}

// encodeOne encodes p as a one-payload chain.
func encodeOne(p Payload) ([]byte, error) {
	b, _, err := AppendPayloads(nil, []Payload{p})
	return b, err
}

// encodeBody returns the body of p, without the generic header.
func encodeBody(p Payload) []byte {
	b, err := encodeOne(p)
	if err != nil {
		panic(err)
	}
	return bytes.Clone(b[genericHeaderLen:])
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

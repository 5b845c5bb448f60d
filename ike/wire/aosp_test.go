package wire

import (
	"bytes"
	"crypto/x509"
	"net/netip"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// The tests below decode the hex vectors of the Android IKEv2 library's
// unit tests (testdata/aosp, Apache-2.0) and assert the fields the
// constants' names and comments describe.

func TestAOSPSaPayload(t *testing.T) {
	v := loadAOSP(t, "IkeSaPayloadTest")

	t.Run("OUTBOUND_PROPOSAL_RAW_PACKET", func(t *testing.T) {
		raw := append(v.hex(t, "OUTBOUND_SA_PAYLOAD_HEADER"), v.hex(t, "OUTBOUND_PROPOSAL_RAW_PACKET")...)
		sa := parseOne(t, PayloadSA, raw).(*SA)
		if len(sa.Proposals) != 1 {
			t.Fatalf("%d proposals", len(sa.Proposals))
		}
		pr := sa.Proposals[0]
		if pr.Number != 1 || pr.Protocol != ProtoIKE || len(pr.SPI) != 0 {
			t.Errorf("proposal %d %s SPI %x; want PROPOSAL_NUMBER 1, IKE, no SPI", pr.Number, pr.Protocol, pr.SPI)
		}
		if got, want := pr.String(), "IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"; got != want {
			t.Errorf("proposal %s, want %s", got, want)
		}
		// The wire order is ENCR, INTEG, KE, PRF; String sorts by type.
		order := []TransformType{TransformENCR, TransformINTEG, TransformKE, TransformPRF}
		for i, tr := range pr.Transforms {
			if tr.Type != order[i] {
				t.Errorf("transform %d is %s, want %s", i, tr.Type, order[i])
			}
		}
		if !bytes.Equal(v.hex(t, "OUTBOUND_PROPOSAL_RAW_PACKET"), v.hex(t, "INBOUND_PROPOSAL_RAW_PACKET")) {
			t.Errorf("inbound and outbound proposals differ")
		}
	})

	t.Run("INBOUND_TWO_PROPOSAL_RAW_PACKET", func(t *testing.T) {
		sa := parseBodyT(t, PayloadSA, v.hex(t, "INBOUND_TWO_PROPOSAL_RAW_PACKET")).(*SA)
		if len(sa.Proposals) != 2 {
			t.Fatalf("%d proposals, want 2", len(sa.Proposals))
		}
		p1, p2 := sa.Proposals[0], sa.Proposals[1]
		if p1.Number != 1 || p2.Number != 2 || len(p1.Transforms) != 25 || len(p2.Transforms) != 26 {
			t.Fatalf("proposals #%d with %d transforms, #%d with %d; want #1 with 25, #2 with 26",
				p1.Number, len(p1.Transforms), p2.Number, len(p2.Transforms))
		}
		// Within a transform type the wire order is kept.
		want1 := "IKE:AES_CBC_128/AES_CBC_192/AES_CBC_256/3DES_CBC/HMAC_SHA2_256_128/HMAC_SHA2_384_192/" +
			"HMAC_SHA2_512_256/HMAC_SHA1_96/AES_XCBC_96/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/" +
			"PRF_AES128_XCBC/PRF_HMAC_SHA1/ECP_256/ECP_384/ECP_521/ECP_256_BP/ECP_384_BP/ECP_512_BP/" +
			"CURVE_25519/MODP_3072/MODP_4096/MODP_8192/MODP_2048"
		if got := p1.String(); got != want1 {
			t.Errorf("proposal 1\n %s\nwant\n %s", got, want1)
		}
		var aead int
		for _, tr := range p2.Transforms {
			if tr.Type == TransformENCR && IsAEAD(tr.ID) {
				aead++
			}
		}
		if aead != 10 {
			t.Errorf("proposal 2 has %d AEAD ciphers, want 10 (GCM 8/12/16 and ChaCha20-Poly1305)", aead)
		}
	})

	t.Run("INBOUND_CHILD_PROPOSAL_RAW_PACKET", func(t *testing.T) {
		sa := parseBodyT(t, PayloadSA, v.hex(t, "INBOUND_CHILD_PROPOSAL_RAW_PACKET")).(*SA)
		pr := sa.Proposals[0]
		if pr.Protocol != ProtoESP || !bytes.Equal(pr.SPI, []byte{0xca, 0xe7, 0x01, 0x9f}) {
			t.Errorf("proposal %s SPI %x, want ESP cae7019f", pr.Protocol, pr.SPI)
		}
		if got, want := pr.String(), "ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ"; got != want {
			t.Errorf("%s, want %s", got, want)
		}
	})

	t.Run("INBOUND_CHILD_TWO_PROPOSAL_RAW_PACKET", func(t *testing.T) {
		sa := parseBodyT(t, PayloadSA, v.hex(t, "INBOUND_CHILD_TWO_PROPOSAL_RAW_PACKET")).(*SA)
		if len(sa.Proposals) != 2 {
			t.Fatalf("%d proposals", len(sa.Proposals))
		}
		p2 := sa.Proposals[1]
		if p2.Number != 2 || !bytes.Equal(p2.SPI, []byte{0xca, 0xe7, 0x01, 0x9e}) || p2.String() != "ESP:AES_GCM_8_128" {
			t.Errorf("second proposal #%d SPI %x %s", p2.Number, p2.SPI, p2.String())
		}
	})

	t.Run("transforms", func(t *testing.T) {
		for _, c := range []struct {
			name, want string
			typ        TransformType
			last       bool
		}{
			{"ENCR_TRANSFORM_RAW_PACKET", "AES_CBC_128", TransformENCR, false},
			{"PRF_TRANSFORM_RAW_PACKET", "PRF_HMAC_SHA1", TransformPRF, true},
			{"INTEG_TRANSFORM_RAW_PACKET", "HMAC_SHA1_96", TransformINTEG, false},
			{"DH_GROUP_TRANSFORM_RAW_PACKET", "MODP_1024", TransformKE, false},
			{"ESN_TRANSFORM_RAW_PACKET", "NO_EXT_SEQ", TransformESN, true},
		} {
			s := cryptobyte.String(v.hex(t, c.name))
			tr, err := parseTransform(&s, 1, c.last)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if tr.Type != c.typ || tr.Name() != c.want || !s.Empty() {
				t.Errorf("%s: %s %s, want %s %s", c.name, tr.Type, tr.Name(), c.typ, c.want)
			}
		}
		// ATTRIBUTE_RAW_PACKET is the TV Key Length attribute of 128 bits.
		if a := v.hex(t, "ATTRIBUTE_RAW_PACKET"); !bytes.Equal(a, []byte{0x80, byte(AttrKeyLength), 0, 128}) {
			t.Errorf("ATTRIBUTE_RAW_PACKET %x", a)
		}
	})

	t.Run("saPayloadBodyHex_unknown_group", func(t *testing.T) {
		sa := parseBodyT(t, PayloadSA, v.hex(t, "saPayloadBodyHex")).(*SA)
		if got, want := sa.Proposals[0].String(), "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/KE_95"; got != want {
			t.Errorf("%s, want %s", got, want)
		}
	})

	t.Run("inboundRequestSaPayload", func(t *testing.T) {
		// The comment above the constant: ESP:ENCR_AES_CBC(256)|
		// AUTH_HMAC_SHA2_512_256|DH_2048|DH_3072|DH_4096|DH(17)|DH(18)|ESN_No.
		sa := parseBodyT(t, PayloadSA, v.hex(t, "inboundRequestSaPayload")).(*SA)
		want := "ESP:AES_CBC_256/HMAC_SHA2_512_256/MODP_2048/MODP_3072/MODP_4096/MODP_6144/MODP_8192/NO_EXT_SEQ"
		if got := sa.Proposals[0].String(); got != want {
			t.Errorf("%s, want %s", got, want)
		}
	})
}

// parseBodyT is parseBody that fails the test on error and checks the
// re-encoding.
func parseBodyT(t *testing.T, typ PayloadType, body []byte) Payload {
	t.Helper()
	return parseOne(t, typ, chain(0, body))
}

func TestAOSPKePayload(t *testing.T) {
	v := loadAOSP(t, "IkeKePayloadTest")
	ke := parseOne(t, PayloadKE, append(v.hex(t, "KE_PAYLOAD_GENERIC_HEADER"), v.hex(t, "KE_PAYLOAD_RAW_PACKET")...)).(*KE)
	if ke.Group != MODP_1024 || len(ke.Data) != 128 || !bytes.Equal(ke.Data, v.hex(t, "KEY_EXCHANGE_DATA_RAW_PACKET")) {
		t.Errorf("KE group %s with %d octets; want MODP_1024 with EXPECTED_KE_DATA_LEN 128 = KEY_EXCHANGE_DATA_RAW_PACKET",
			TransformName(TransformKE, ke.Group), len(ke.Data))
	}
	// unrecognizedKePayload: a group this side does not know (0x0fff)
	// still decodes, so that the responder can answer INVALID_KE_PAYLOAD.
	un := parseBodyT(t, PayloadKE, v.hex(t, "unrecognizedKePayload")).(*KE)
	if un.Group != 0x0fff || len(un.Data) != 128 {
		t.Errorf("unrecognized group %#x with %d octets, want expectedDhGroup 0x0fff", uint16(un.Group), len(un.Data))
	}
	// X25519: publicKeyHex is expectedKeDataLen 32 octets.
	x := v.hex(t, "publicKeyHex")
	ke = parseBodyT(t, PayloadKE, append([]byte{0, byte(CURVE_25519), 0, 0}, x...)).(*KE)
	if n, ok := KEDataLen(CURVE_25519); !ok || n != len(x) || !bytes.Equal(ke.Data, x) {
		t.Errorf("CURVE_25519 length %d, vector %d", n, len(x))
	}
	// publicKeyRemoteHex is a MODP-1536 public value: 192 octets.
	p := v.hex(t, "publicKeyRemoteHex")
	if _, err := parseBody(PayloadKE, append([]byte{0, byte(MODP_1536), 0, 0}, p...)); err != nil || len(p) != 192 {
		t.Errorf("MODP_1536 public value of %d octets: %v", len(p), err)
	}
	if _, err := parseBody(PayloadKE, append([]byte{0, byte(MODP_2048), 0, 0}, p...)); err == nil {
		t.Errorf("a 192-octet value accepted for MODP_2048")
	}
}

func TestAOSPNoncePayload(t *testing.T) {
	v := loadAOSP(t, "IkeNoncePayloadTest")
	n := parseOne(t, PayloadNonce, v.hex(t, "NONCE_PAYLOAD_RAW_HEX_STRING")).(*Nonce)
	if !bytes.Equal(n.Data, v.hex(t, "NONCE_DATA_RAW_HEX_STRING")) {
		t.Errorf("nonce %x", n.Data)
	}
}

func TestAOSPNotifyPayload(t *testing.T) {
	v := loadAOSP(t, "IkeNotifyPayloadTest")
	n := parseOne(t, PayloadNotify, v.hex(t, "NOTIFY_NAT_DETECTION_PAYLOAD_HEX_STRING")).(*Notify)
	if n.NotifyType != NAT_DETECTION_SOURCE_IP || n.Protocol != ProtoNone || len(n.SPI) != 0 ||
		!bytes.Equal(n.Data, v.hex(t, "NAT_DETECTION_DATA_HEX_STRING")) || n.Summary() != "N(NATD_S_IP)" {
		t.Errorf("NAT-D notify: %s %s SPI %x data %x", n.NotifyType, n.Protocol, n.SPI, n.Data)
	}
	body := encodeBody(n)
	if !bytes.Equal(body, v.hex(t, "NOTIFY_NAT_DETECTION_PAYLOAD_BODY_HEX_STRING")) {
		t.Errorf("body %x", body)
	}

	// RFC 7296, Section 3.10: Protocol ID, SPI Size, Notify Message Type,
	// then the SPI. NOTIFY_REKEY_PAYLOAD_BODY_HEX_STRING is 03 04 4009
	// 2ad4c0a2: ESP, 4-octet SPI, REKEY_SA, SPI CHILD_SPI.
	r := parseBodyT(t, PayloadNotify, v.hex(t, "NOTIFY_REKEY_PAYLOAD_BODY_HEX_STRING")).(*Notify)
	if r.NotifyType != REKEY_SA || r.Protocol != ProtoESP || !bytes.Equal(r.SPI, v.hex(t, "CHILD_SPI")) || len(r.Data) != 0 {
		t.Errorf("rekey notify decodes as %s %s SPI %x data %x; want REKEY_SA ESP SPI %x",
			r.NotifyType, r.Protocol, r.SPI, r.Data, v.hex(t, "CHILD_SPI"))
	}
	built := &Notify{Protocol: ProtoESP, SPI: v.hex(t, "CHILD_SPI"), NotifyType: REKEY_SA}
	if got, want := encodeBody(built), v.hex(t, "NOTIFY_REKEY_PAYLOAD_BODY_HEX_STRING"); !bytes.Equal(got, want) {
		t.Errorf("REKEY_SA notify encodes as %x, want %x", got, want)
	}

	// COOKIE_INVALID_DATA_LEN_SMALL 0, _LARGE 65, COOKIE_DATA_LEN 64.
	for n, ok := range map[int]bool{0: false, 1: true, 64: true, 65: false} {
		_, err := parseBody(PayloadNotify, notifyBody(COOKIE, seq(n, 0)))
		if (err == nil) != ok {
			t.Errorf("COOKIE of %d octets: %v", n, err)
		}
	}
}

func TestAOSPIdPayload(t *testing.T) {
	v := loadAOSP(t, "IkeIdPayloadTest")
	for _, c := range []struct {
		name     string
		typ      PayloadType
		idType   IDType
		str      string
		bodyName string
	}{
		{"IPV4_ADDR_ID_PAYLOAD_RESPONDER_HEX_STRING", PayloadIDr, ID_IPV4_ADDR, "192.0.2.100", "IPV4_ADDR_ID_PAYLOAD_RESPONDER_BODY_HEX_STRING"},
		{"IPV6_ADDR_ID_PAYLOAD_RESPONDER_HEX_STRING", PayloadIDr, ID_IPV6_ADDR, "0:2001:0:db8::1", "IPV6_ADDR_ID_PAYLOAD_RESPONDER_BODY_HEX_STRING"},
		{"FQDN_ID_PAYLOAD_HEX_STRING", PayloadIDi, ID_FQDN, `"ike.android.net"`, "FQDN_ID_PAYLOAD_BODY_HEX_STRING"},
		{"RFC822_ADDR_ID_PAYLOAD_HEX_STRING", PayloadIDi, ID_RFC822_ADDR, `"androidike@example.com"`, "RFC822_ADDR_ID_PAYLOAD_BODY_HEX_STRING"},
		{"KEY_ID_PAYLOAD_HEX_STRING", PayloadIDi, ID_KEY_ID, "616e64726f6964496b654b65794964", "KEY_ID_PAYLOAD_BODY_HEX_STRING"},
		{"ASN1_DN_PAYLOAD_HEX_STRING", PayloadIDi, ID_DER_ASN1_DN, "CN=small.server.test.android.net,O=Android,C=US", "ASN1_DN_PAYLOAD_BODY_HEX_STRING"},
	} {
		id := parseOne(t, c.typ, v.hex(t, c.name)).(*ID)
		if id.IDType != c.idType || id.String() != c.str || id.Type() != c.typ {
			t.Errorf("%s: %s %s %q, want %s %s %q", c.name, id.Type(), id.IDType, id.String(), c.typ, c.idType, c.str)
		}
		if !bytes.Equal(id.Body(), v.hex(t, c.bodyName)) {
			t.Errorf("%s: Body() %x, want %s", c.name, id.Body(), c.bodyName)
		}
	}
	// ASN1_DN_INVALID_PAYLOAD_BODY_HEX_STRING is not DER. The wire codec
	// does not parse DNs, so it decodes; String falls back to hex.
	id := parseBodyT(t, PayloadIDi, v.hex(t, "ASN1_DN_INVALID_PAYLOAD_BODY_HEX_STRING")).(*ID)
	if id.String() != "1010101010" {
		t.Errorf("invalid DN prints as %q", id.String())
	}
}

func TestAOSPAuthPayload(t *testing.T) {
	psk := loadAOSP(t, "IkeAuthPskPayloadTest")
	a := parseOne(t, PayloadAUTH, psk.hex(t, "PSK_AUTH_PAYLOAD_HEX_STRING")).(*Auth)
	if a.Method != AuthSharedKey || !bytes.Equal(a.Data, psk.hex(t, "PSK_AUTH_PAYLOAD_SIGNATURE_HEX_STRING")) {
		t.Errorf("PSK AUTH %s %x", a.Method, a.Data)
	}
	if !bytes.Equal(encodeBody(a), psk.hex(t, "PSK_AUTH_PAYLOAD_BODY_HEX_STRING")) {
		t.Errorf("PSK AUTH body differs")
	}

	ds := loadAOSP(t, "IkeAuthDigitalSignPayloadTest")
	a = parseOne(t, PayloadAUTH, append(ds.hex(t, "AUTH_PAYLOAD_HEADER_GENERIC_DIGITAL_SIGN"),
		ds.hex(t, "AUTH_PAYLOAD_BODY_GENERIC_DIGITAL_SIGN_HEX_STRING")...)).(*Auth)
	alg, sig, err := a.DigitalSignature()
	if a.Method != AuthDigitalSig || err != nil {
		t.Fatalf("method %s: %v", a.Method, err)
	}
	// "auth method 14 (Generic DS) with RSA_SHA2_256"
	if !bytes.Equal(alg, sha256WithRSA) || !bytes.Equal(sig, ds.hex(t, "SIGNATURE")) {
		t.Errorf("AlgorithmIdentifier %x signature %x", alg, sig)
	}
	rebuilt, err := NewDigitalSignature(alg, sig)
	if err != nil || !bytes.Equal(encodeBody(rebuilt), ds.hex(t, "AUTH_PAYLOAD_BODY_GENERIC_DIGITAL_SIGN_HEX_STRING")) {
		t.Errorf("NewDigitalSignature does not rebuild the vector: %v", err)
	}

	a = parseOne(t, PayloadAUTH, append(ds.hex(t, "AUTH_PAYLOAD_HEADER_RSA_DIGITAL_SIGN"),
		ds.hex(t, "AUTH_PAYLOAD_BODY_RSA_DIGITAL_SIGN_HEX_STRING")...)).(*Auth)
	if a.Method != AuthRSASig || len(a.Data) != 64 {
		t.Errorf("method 1 AUTH: %s with %d octets", a.Method, len(a.Data))
	}
	if _, _, err := a.DigitalSignature(); err == nil {
		t.Errorf("DigitalSignature on a method 1 payload must fail")
	}
	if _, err := NewDigitalSignature(nil, sig); err == nil {
		t.Errorf("NewDigitalSignature without an AlgorithmIdentifier must fail")
	}
	if _, err := NewDigitalSignature(make([]byte, 256), sig); err == nil {
		t.Errorf("NewDigitalSignature with a 256-octet AlgorithmIdentifier must fail")
	}

	id := parseBodyT(t, PayloadIDr, ds.hex(t, "ID_RESP_PAYLOAD_BODY_HEX_STRING")).(*ID)
	if id.String() != "192.168.43.138" {
		t.Errorf("ID_RESP_PAYLOAD_BODY %s", id)
	}
}

func TestAOSPCertPayload(t *testing.T) {
	v := loadAOSP(t, "IkeCertX509CertPayloadTest")
	c := parseOne(t, PayloadCERT, append(v.hex(t, "CERT_PAYLOAD_HEADER_HEX_STRING"), v.hex(t, "CERT_PAYLOAD_BODY_HEX_STRING")...)).(*Cert)
	// "4B (Generic header) + 1B (Cert encoding) 1061B (Cert length)"
	if c.Encoding != CertX509Signature || len(c.Data) != 1061 {
		t.Fatalf("CERT %s of %d octets, want X509_SIGNATURE of 1061", c.Encoding, len(c.Data))
	}
	cert, err := x509.ParseCertificate(c.Data)
	if err != nil {
		t.Fatalf("certificate data does not parse: %v", err)
	}
	if cert.Issuer.CommonName != "Evita Root CA" {
		t.Errorf("issuer %s", cert.Issuer)
	}
}

func TestAOSPTsPayload(t *testing.T) {
	v := loadAOSP(t, "IkeTsPayloadTest")
	ts := parseOne(t, PayloadTSi, v.hex(t, "TS_INITIATOR_PAYLOAD_HEX_STRING")).(*TS)
	if len(ts.Selectors) != 2 { // NUMBER_OF_TS
		t.Fatalf("%d selectors", len(ts.Selectors))
	}
	s1, s2 := ts.Selectors[0], ts.Selectors[1]
	if s1.TSType != TS_IPV4_ADDR_RANGE || s1.StartPort != 16 || s1.EndPort != 65520 ||
		s1.Start != netip.MustParseAddr("192.0.2.100") || s1.End != netip.MustParseAddr("192.0.3.101") {
		t.Errorf("selector 1: %+v", s1)
	}
	if s2.StartPort != 0 || s2.EndPort != 65535 || s2.Start != netip.MustParseAddr("192.0.4.100") ||
		s2.End != netip.MustParseAddr("192.0.4.102") {
		t.Errorf("selector 2: %+v", s2)
	}
	if got := s1.String() + " " + s2.String(); got != "192.0.2.100..192.0.3.101[0/16-65520] 192.0.4.100..192.0.4.102" {
		t.Errorf("selectors print as %q", got)
	}
}

func TestAOSPConfigPayload(t *testing.T) {
	v := loadAOSP(t, "IkeConfigPayloadTest")
	// AOSP rejects these replies for what they mean (two netmasks; a mask
	// without an address); on the wire they are well formed.
	cp := parseOne(t, PayloadCP, v.hex(t, "CONFIG_RESP_PAYLOAD_INVALID_ONE_HEX")).(*CP)
	if cp.CFGType != CFG_REPLY || cp.Summary() != "CPRP(ADDR MASK MASK)" {
		t.Errorf("CONFIG_RESP_PAYLOAD_INVALID_ONE: %s", cp.Summary())
	}
	if a, ok := cp.Attributes[0].Addr(); !ok || a != netip.MustParseAddr("192.0.2.100") {
		t.Errorf("address %v", a)
	}
	if got := cp.Attributes[1].String(); got != "INTERNAL_IP4_NETMASK 255.255.255.254" {
		t.Errorf("netmask prints as %q", got)
	}
	cp = parseOne(t, PayloadCP, v.hex(t, "CONFIG_RESP_PAYLOAD_INVALID_TWO_HEX")).(*CP)
	if cp.Summary() != "CPRP(MASK)" {
		t.Errorf("CONFIG_RESP_PAYLOAD_INVALID_TWO: %s", cp.Summary())
	}
}

func TestAOSPDeletePayload(t *testing.T) {
	v := loadAOSP(t, "IkeDeletePayloadTest")
	d := parseOne(t, PayloadDelete, v.hex(t, "DELETE_IKE_PAYLOAD_HEX_STRING")).(*Delete)
	if d.Protocol != ProtoIKE || d.SPISize != 0 || len(d.SPIs) != 0 {
		t.Errorf("IKE delete: %s size %d %d SPIs", d.Protocol, d.SPISize, len(d.SPIs))
	}
	d = parseOne(t, PayloadDelete, v.hex(t, "DELETE_CHILD_PAYLOAD_HEX_STRING")).(*Delete)
	if d.Protocol != ProtoESP || d.SPISize != 4 || len(d.SPIs) != 1 || !bytes.Equal(d.SPIs[0], v.hex(t, "CHILD_SPI")) {
		t.Errorf("child delete: %s size %d SPIs %x", d.Protocol, d.SPISize, d.SPIs)
	}
	d = parseOne(t, PayloadDelete, v.hex(t, "DELETE_MULTIPLE_CHILD_PAYLOAD_HEX_STRING")).(*Delete)
	if len(d.SPIs) != 2 || !bytes.Equal(d.SPIs[0], []byte{0xab, 0xcd, 0xef, 0x01}) || !bytes.Equal(d.SPIs[1], []byte{0x20, 0xfe, 0xdc, 0xba}) {
		t.Errorf("multiple child delete: SPIs %x", d.SPIs)
	}
	if got := describe(d)[0]; got != "ESP SA(s) abcdef01 20fedcba" {
		t.Errorf("dump %q", got)
	}
}

func TestAOSPHeaderAndMessages(t *testing.T) {
	h := loadAOSP(t, "IkeHeaderTest")
	m, err := ParseMessage(h.hex(t, "IKE_SA_INIT_RAW_PACKET"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Summary(), "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) V ]"; got != want {
		t.Errorf("IKE_SA_INIT_RAW_PACKET: %q, want %q", got, want)
	}

	v := loadAOSP(t, "IkeMessageTest")
	raw := append(v.hex(t, "IKE_SA_INIT_HEADER_RAW_PACKET"), v.hex(t, "IKE_SA_INIT_BODY_RAW_PACKET")...)
	if m, err = ParseMessage(raw); err != nil {
		t.Fatal(err)
	}
	if m.Payloads[0].Type() != PayloadSA || raw[16] != byte(PayloadSA) { // FIRST_PAYLOAD_TYPE_OFFSET
		t.Errorf("first payload %s", m.Payloads[0].Type())
	}
	roundTrip(t, "IKE_SA_INIT", raw)

	auth := append(v.hex(t, "IKE_AUTH_HEADER_HEX_STRING"), v.hex(t, "IKE_AUTH_BODY_HEX_STRING")...)
	if m, err = ParseMessage(auth); err != nil {
		t.Fatal(err)
	}
	e := m.Encrypted()
	if m.Exchange != IKE_AUTH || m.MessageID != 1 || e == nil || e.NextPayload != PayloadIDi {
		t.Fatalf("IKE_AUTH: %s, SK %v", m.Summary(), e)
	}
	if !bytes.Equal(m.SPIi[:], v.hex(t, "INIT_SPI")) || !bytes.Equal(m.SPIr[:], v.hex(t, "RESP_SPI")) {
		t.Errorf("SPIs %s %s", m.SPIi, m.SPIr)
	}
	// IV (IKE_AUTH_CIPHER_IV_SIZE 16) || ciphertext (whole blocks of 16) || checksum.
	ck := v.hex(t, "IKE_AUTH_EXPECTED_CHECKSUM_HEX_STRING")
	if !bytes.HasSuffix(e.Body, ck) || (len(e.Body)-16-len(ck))%16 != 0 {
		t.Errorf("SK body of %d octets does not end with the checksum", len(e.Body))
	}
	if ad := e.AssociatedData(); !bytes.Equal(ad, auth[:HeaderLen+genericHeaderLen]) {
		t.Errorf("associated data %x", ad)
	}
	roundTrip(t, "IKE_AUTH", auth)

	// The decrypted, padded SK content: strip the padding (RFC 7296,
	// Section 3.14: the last octet is the pad length) and decode.
	padded := v.hex(t, "IKE_AUTH_UNENCRYPTED_PADDED_DATA_HEX_STRING")
	plain := padded[:len(padded)-1-int(padded[len(padded)-1])]
	inner, err := ParsePayloads(e.NextPayload, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := SummaryLine(&m.Header, inner), "IKE_AUTH request 1 [ IDi IDr AUTH SA TSi TSr N(INIT_CONTACT) N(SET_WINSIZE) ]"; got != want {
		t.Errorf("inner %q, want %q", got, want)
	}
	if got := inner[0].(*ID).String() + " " + inner[1].(*ID).String(); got != "10.80.80.13 10.80.80.80" {
		t.Errorf("IDs %s", got)
	}
	if !bytes.Equal(encodeBody(inner[0]), v.hex(t, "ID_INIT_PAYLOAD_HEX_STRING")[4:]) {
		t.Errorf("IDi body differs from ID_INIT_PAYLOAD_HEX_STRING")
	}
	enc := loadAOSP(t, "IkeEncryptedPayloadBodyTest")
	if !bytes.Equal(plain, enc.hex(t, "IKE_AUTH_INIT_REQUEST_UNENCRYPTED_DATA")) {
		t.Errorf("unpadded data differs from IKE_AUTH_INIT_REQUEST_UNENCRYPTED_DATA")
	}

	frag, err := ParseMessage(v.hex(t, "IKE_FRAG_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	f := frag.Fragment()
	if f == nil || f.Number != 2 || f.Total != 2 || f.NextPayload != PayloadNone || frag.MessageID != 1 ||
		frag.Summary() != "IKE_AUTH response 1 [ EF(2/2) ]" {
		t.Errorf("IKE_FRAG_HEX_STRING: %s %+v", frag.Summary(), f)
	}
	if ad := f.AssociatedData(); len(ad) != HeaderLen+genericHeaderLen+4 {
		t.Errorf("fragment associated data of %d octets, want header + SKF header", len(ad))
	}

	info, err := ParseMessage(v.hex(t, "IKE_EMPTY_INFO_MSG_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(v.hex(t, "IKE_EMPTY_INFO_MSG_IV_HEX_STRING"), v.hex(t, "IKE_EMPTY_INFO_MSG_ENCRYPTED_DATA_HEX_STRING")...),
		v.hex(t, "IKE_EMPTY_INFO_MSG_CHECKSUM_HEX_STRING")...)
	if e := info.Encrypted(); e == nil || !bytes.Equal(e.Body, want) || e.NextPayload != PayloadNone ||
		info.Exchange != INFORMATIONAL || !info.IsResponse() {
		t.Errorf("IKE_EMPTY_INFO_MSG: %s", info.Summary())
	}
}

func TestAOSPEncryptedVectors(t *testing.T) {
	v := loadAOSP(t, "IkeEncryptedPayloadBodyTest")
	hdr, sk := v.hex(t, "IKE_AUTH_INIT_REQUEST_HEADER"), v.hex(t, "IKE_AUTH_INIT_REQUEST_SK_HEADER")
	body := append(append(v.hex(t, "IKE_AUTH_INIT_REQUEST_IV"), v.hex(t, "IKE_AUTH_INIT_REQUEST_ENCRYPT_PADDED_DATA")...),
		v.hex(t, "IKE_AUTH_INIT_REQUEST_CHECKSUM")...)
	msg := append(append(hdr, sk...), body...)
	m, err := ParseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Encrypted().Body, body) {
		t.Errorf("SK body is not IV || padded ciphertext || checksum")
	}
	sk1 := loadAOSP(t, "IkeSkPayloadTest")
	if !bytes.Equal(msg, sk1.hex(t, "IKE_AUTH_INIT_REQUEST_HEX_STRING")) {
		t.Errorf("the pieces do not make IkeSkPayloadTest's message")
	}

	// HMAC-SHA1 + 3DES: the decrypted SK content is one EAP-MSCHAPv2
	// challenge from strongSwan.
	m, err = ParseMessage(v.hex(t, "HMAC_SHA1_3DES_MSG_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := ParsePayloads(m.Encrypted().NextPayload, v.hex(t, "HMAC_SHA1_3DES_DECRYPTED_BODY_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	if got := SummaryLine(&m.Header, inner); got != "IKE_AUTH response 2 [ EAP/REQ/MSCHAPV2 ]" {
		t.Errorf("3DES message: %q", got)
	}
	ch, err := inner[0].(*EAP).MSCHAPv2()
	if err != nil {
		t.Fatal(err)
	}
	if ch.OpCode != MSCHAPv2Challenge || ch.ID != inner[0].(*EAP).Identifier || ch.MSLength != 31 ||
		ch.Data[0] != 16 || string(ch.Data[17:]) != "strongSwan" {
		t.Errorf("MSCHAPv2 challenge %+v", ch)
	}

	// AES-GCM-16: one AUTH (shared key) payload inside.
	m, err = ParseMessage(v.hex(t, "AES_GCM_MSG_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(m.Encrypted().Body, v.hex(t, "AES_GCM_MSG_IV")) {
		t.Errorf("GCM body does not start with the 8-octet IV")
	}
	inner, err = ParsePayloads(m.Encrypted().NextPayload, v.hex(t, "AES_GCM_MSG_DECRYPTED_BODY_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := inner[0].(*Auth); !ok || len(inner) != 1 || a.Method != AuthSharedKey || len(a.Data) != 32 {
		t.Errorf("GCM message inner: %s", Summarize(inner))
	}

	for _, c := range []struct {
		msg, iv       string
		number, total uint16
	}{
		{"HMAC_SHA1_3DES_FRAG_HEX_STRING", "HMAC_SHA1_3DES_FRAG_IV", 5, 5},
		{"AES_GCM_FRAG_HEX_STRING", "AES_GCM_FRAG_IV", 2, 2},
	} {
		m, err := ParseMessage(v.hex(t, c.msg))
		if err != nil {
			t.Fatalf("%s: %v", c.msg, err)
		}
		f := m.Fragment()
		if f == nil || f.Number != c.number || f.Total != c.total || !bytes.HasPrefix(f.Body, v.hex(t, c.iv)) {
			t.Errorf("%s: %s", c.msg, m.Summary())
		}
	}
}

func TestAOSPSkfPayload(t *testing.T) {
	v := loadAOSP(t, "IkeSkfPayloadTest")
	m, err := ParseMessage(v.hex(t, "IKE_FRAG_MSG_HEX_STRING"))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Fragment()
	if f == nil || f.Number != 2 || f.Total != 2 || f.NextPayload != PayloadNone { // FRAGMENT_NUM, TOTAL_FRAGMENTS
		t.Fatalf("%s", m.Summary())
	}
	if !bytes.HasSuffix(f.Body, v.hex(t, "IKE_FRAG_MSG_CHECKSUM")) {
		t.Errorf("fragment body does not end with IKE_FRAG_MSG_CHECKSUM")
	}
	roundTrip(t, "IKE_FRAG_MSG", v.hex(t, "IKE_FRAG_MSG_HEX_STRING"))
}

// roundTrip decodes a message and checks that it encodes to the same octets.
func roundTrip(t *testing.T, name string, raw []byte) *Message {
	t.Helper()
	m, err := ParseMessage(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatalf("%s: marshal: %v", name, err)
	}
	if !bytes.Equal(out, raw) {
		t.Fatalf("%s: re-encoded\n %x\nwant\n %x", name, out, raw)
	}
	return m
}

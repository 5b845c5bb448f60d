package wire

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

func TestLookupVendor(t *testing.T) {
	// The Windows vendor IDs of ../shared/LAB.md and the 2015 capture.
	cases := []struct {
		hex, name, family string
	}{
		{"1e2b516905991c7d7c96fcbfb587e46100000009", "MS NT5 ISAKMPOAKLEY v9", "Windows"},
		{"1e2b516905991c7d7c96fcbfb587e4610000000a", "MS NT5 ISAKMPOAKLEY v10", "Windows"},
		{"1e2b516905991c7d7c96fcbfb587e461", "MS NT5 ISAKMPOAKLEY", "Windows"},
		{"1e2b516905991c7d7c96fcbfb587e461000009", "MS NT5 ISAKMPOAKLEY", "Windows"}, // 3-octet tail: no version
		{"fb1de3cdf341b7ea16b7e5be0855f120", "MS-Negotiation Discovery Capable", "Windows"},
		{"26244d38eddb61b3172a36e3d0cfb819", "Microsoft Vid-Initial-Contact", "Windows"},
		{"01528bbbc00696121849ab9a1c5b2a5100000002", "Microsoft (unnamed 01528bbb) v2", "Windows"},
		{"882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan", "strongSwan"},
		{"4048b7d56ebce88525e7de7f00d6c2d3", "Cisco Fragmentation", "Cisco"},
		{hex.EncodeToString([]byte("FLEXVPN-SUPPORTED")), "FlexVPN Supported", "Cisco"},
		{hex.EncodeToString([]byte("CISCO(COPYRIGHT)&Copyright (c) 2009 Cisco Systems")), "Cisco Copyright", "Cisco"},
		// Exact-match IDs do not match with octets appended.
		{"fb1de3cdf341b7ea16b7e5be0855f12000", "", ""},
		{"00112233445566778899aabbccddeeff", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		d, _ := hex.DecodeString(c.hex)
		v := LookupVendor(d)
		if v.Name != c.name || v.Family != c.family {
			t.Errorf("LookupVendor(%s) = %+v, want %q %q", c.hex, v, c.name, c.family)
		}
		if got := (&VendorID{Data: d}).Name(); got != c.name {
			t.Errorf("VendorID.Name() = %q, want %q", got, c.name)
		}
	}
	// The exported IDs are the ones LAB.md lists.
	for _, c := range []struct {
		got  []byte
		want string
	}{
		{VendorMSNT5v9, "1e2b516905991c7d7c96fcbfb587e46100000009"},
		{VendorMSNegDiscovery, "fb1de3cdf341b7ea16b7e5be0855f120"},
		{VendorMSInitContact, "26244d38eddb61b3172a36e3d0cfb819"},
		{VendorMS01528bbbv2, "01528bbbc00696121849ab9a1c5b2a5100000002"},
	} {
		if hex.EncodeToString(c.got) != c.want {
			t.Errorf("vendor ID %x, want %s", c.got, c.want)
		}
	}
}

func TestSelectorString(t *testing.T) {
	sel := func(proto uint8, start, end string, sp, ep uint16) Selector {
		typ := TS_IPV4_ADDR_RANGE
		if strings.Contains(start, ":") {
			typ = TS_IPV6_ADDR_RANGE
		}
		return Selector{TSType: typ, IPProtocol: proto, StartPort: sp, EndPort: ep,
			Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end)}
	}
	cases := []struct {
		s    Selector
		want string
	}{
		{sel(0, "0.0.0.0", "255.255.255.255", 0, 65535), "0.0.0.0/0"},
		{sel(0, "10.0.0.0", "10.0.0.255", 0, 65535), "10.0.0.0/24"},
		{sel(0, "192.0.2.1", "192.0.2.1", 0, 65535), "192.0.2.1/32"},
		{sel(0, "10.0.0.1", "10.0.0.255", 0, 65535), "10.0.0.1..10.0.0.255"},
		{sel(0, "10.0.0.0", "10.0.1.254", 0, 65535), "10.0.0.0..10.0.1.254"},
		{sel(0, "10.0.0.9", "10.0.0.1", 0, 65535), "10.0.0.9..10.0.0.1"},
		{sel(6, "10.0.0.0", "10.255.255.255", 0, 65535), "10.0.0.0/8[6]"},
		{sel(17, "10.1.0.1", "10.1.0.9", 500, 500), "10.1.0.1..10.1.0.9[17/500]"},
		{sel(6, "10.0.0.0", "10.0.0.127", 1024, 2048), "10.0.0.0/25[6/1024-2048]"},
		{sel(0, "10.0.0.0", "10.0.0.3", 500, 500), "10.0.0.0/30[0/500]"},
		{sel(0, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 65535), "::/0"},
		{sel(0, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0, 65535), "2001:db8::/32"},
		{sel(58, "2001:db8::1", "2001:db8::1", 0, 65535), "2001:db8::1/128[58]"},
		{Selector{TSType: TS_SECLABEL, Raw: []byte{1, 2}}, "TS_SECLABEL(0102)"},
		{Selector{TSType: 200, Raw: nil}, "TS_TYPE_200()"},
		// A zero Selector (never decoded, only built) must print, not panic.
		{Selector{TSType: TS_IPV4_ADDR_RANGE}, "invalid IP..invalid IP[0/0]"},
	}
	for _, c := range cases {
		if got := c.s.String(); got != c.want {
			t.Errorf("%v..%v proto %d ports %d-%d: %q, want %q", c.s.Start, c.s.End, c.s.IPProtocol, c.s.StartPort, c.s.EndPort, got, c.want)
		}
	}
}

func TestTypeNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{IKE_SA_INIT.String(), "IKE_SA_INIT"},
		{IKE_FOLLOWUP_KE.String(), "IKE_FOLLOWUP_KE"},
		{ExchangeType(0).String(), "EXCHANGE_TYPE_0"},
		{PayloadSK.String(), "E"},
		{PayloadSKF.String(), "EF"},
		{PayloadNonce.String(), "No"},
		{PayloadType(1).String(), "PAYLOAD_1"},
		{ProtoESP.String(), "ESP"},
		{ProtocolID(9).String(), "PROTO_9"},
		{NAT_DETECTION_SOURCE_IP.String(), "NAT_DETECTION_SOURCE_IP"},
		{NAT_DETECTION_SOURCE_IP.Short(), "NATD_S_IP"},
		{IKEV2_FRAGMENTATION_SUPPORTED.Short(), "FRAG_SUP"},
		{NotifyType(60000).String(), "NOTIFY_60000"},
		{NotifyType(60000).Short(), "60000"},
		{TransformENCR.String(), "ENCR"},
		{TransformType(6).String(), "ADDKE1"},
		{TransformType(12).String(), "ADDKE7"},
		{TransformType(13).String(), "TRANSFORM_TYPE_13"},
		{TransformName(TransformENCR, ENCR_AES_GCM_16), "AES_GCM_16"},
		{TransformName(TransformENCR, 250), "ENCR_250"},
		{TransformName(TransformPRF, PRF_HMAC_SHA2_256), "PRF_HMAC_SHA2_256"},
		{TransformName(TransformINTEG, AUTH_HMAC_SHA2_512_256), "HMAC_SHA2_512_256"},
		{TransformName(TransformKE, CURVE_25519), "CURVE_25519"},
		{TransformName(TransformType(7), ECP_384), "ECP_384"},
		{TransformName(TransformESN, ESN_YES), "EXT_SEQ"},
		{TransformName(TransformESN, 7), "ESN_7"},
		{TransformName(TransformType(99), 1), "TRANSFORM_TYPE_99_1"},
		{AuthDigitalSig.String(), "DIGITAL_SIGNATURE"},
		{AuthMethod(200).String(), "AUTH_METHOD_200"},
		{ID_DER_ASN1_DN.String(), "ID_DER_ASN1_DN"},
		{IDType(0).String(), "ID_TYPE_0"},
		{CertX509Signature.String(), "X509_SIGNATURE"},
		{CertEncoding(99).String(), "CERT_ENCODING_99"},
		{INTERNAL_IP4_DNS.String(), "INTERNAL_IP4_DNS"},
		{CPAttrType(30000).String(), "CP_ATTRIBUTE_30000"},
		{EAPMSCHAPv2.String(), "MSCHAPV2"},
		{EAPType(99).String(), "EAP_TYPE_99"},
		{TS_IPV6_ADDR_RANGE.String(), "TS_IPV6_ADDR_RANGE"},
		{(&Notify{NotifyType: COOKIE}).Summary(), "N(COOKIE)"},
		{(&CP{CFGType: CFG_SET, Attributes: []CPAttribute{{Type: INTERNAL_IP4_SUBNET}}}).Summary(), "CPS(SUBNET)"},
		{(&CP{CFGType: CFG_ACK}).Summary(), "CPA()"},
		{(&CP{CFGType: 9}).Summary(), "CP9()"},
		{(&EAP{Code: EAPFailure}).Summary(), "EAP/FAIL"},
		{(&EAP{Code: 7}).Summary(), "EAP/7"},
		{(&ID{Responder: true}).Summary(), "IDr"},
		{(&TS{Responder: true}).Summary(), "TSr"},
		{(&Unknown{PType: 49}).Summary(), "GSPM"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if !INVALID_SYNTAX.IsError() || INITIAL_CONTACT.IsError() || !MS_STATUS.IsError() {
		t.Errorf("IsError: RFC 7296, Section 3.10.1 puts errors below 16384")
	}
	for _, id := range []TransformID{ENCR_AES_GCM_16, ENCR_AES_CCM_8, ENCR_CHACHA20_POLY1305, ENCR_NULL_AUTH_AES_GMAC} {
		if !IsAEAD(id) {
			t.Errorf("%s is AEAD", TransformName(TransformENCR, id))
		}
	}
	for _, id := range []TransformID{ENCR_AES_CBC, ENCR_AES_CTR, ENCR_3DES, ENCR_NULL} {
		if IsAEAD(id) {
			t.Errorf("%s is not AEAD", TransformName(TransformENCR, id))
		}
	}
}

func TestKEDataLen(t *testing.T) {
	for g, want := range map[TransformID]int{
		MODP_1024: 128, MODP_2048: 256, MODP_8192: 1024, ECP_256: 64, ECP_384: 96, ECP_521: 132,
		CURVE_25519: 32, CURVE_448: 56, ECP_256_BP: 64,
	} {
		if n, ok := KEDataLen(g); !ok || n != want {
			t.Errorf("KEDataLen(%s) = %d, %v; want %d", TransformName(TransformKE, g), n, ok, want)
		}
	}
	if _, ok := KEDataLen(ML_KEM_768); ok {
		t.Errorf("ML-KEM public values differ by direction; no single length")
	}
}

func TestPayloadHelpers(t *testing.T) {
	tr := NewTransform(TransformENCR, ENCR_AES_CBC, 256)
	if tr.KeyLength() != 256 || tr.Name() != "AES_CBC_256" {
		t.Errorf("transform %s key %d", tr.Name(), tr.KeyLength())
	}
	if tr := NewTransform(TransformPRF, PRF_HMAC_SHA1, 0); tr.KeyLength() != 0 || tr.Attributes != nil {
		t.Errorf("transform without key length: %+v", tr)
	}
	pr := Proposal{Protocol: ProtoESP, Transforms: []Transform{
		{Type: 9, ID: 1} /* ADDKE4: a key exchange method, RFC 9370 */, NewTransform(TransformESN, ESN_YES, 0), NewTransform(TransformINTEG, AUTH_HMAC_SHA1_96, 0),
		NewTransform(TransformENCR, ENCR_AES_GCM_16, 128), NewTransform(TransformKE, ECP_256, 0)}}
	if got := pr.String(); got != "ESP:AES_GCM_16_128/HMAC_SHA1_96/ECP_256/EXT_SEQ/MODP_768" {
		t.Errorf("proposal %q", got)
	}

	n := NewNotify(INVALID_KE_PAYLOAD, []byte{0, 19})
	if g, ok := n.KEGroup(); !ok || g != ECP_256 {
		t.Errorf("KEGroup %v %v", g, ok)
	}
	if _, ok := NewNotify(COOKIE, []byte{0, 19}).KEGroup(); ok {
		t.Errorf("KEGroup of a COOKIE")
	}
	if c, ok := NewNotify(MS_STATUS, []byte{0, 0, 0x35, 0xfe}).Win32Error(); !ok || c != 13822 {
		t.Errorf("Win32Error %d %v", c, ok)
	}
	if _, ok := NewNotify(COOKIE, []byte{0, 0, 0, 1}).Win32Error(); ok {
		t.Errorf("Win32Error of a COOKIE")
	}
	if h := NewNotify(SIGNATURE_HASH_ALGORITHMS, []byte{0, 2, 0, 5}).HashAlgorithms(); len(h) != 2 || h[0] != 2 || h[1] != 5 {
		t.Errorf("HashAlgorithms %v", h)
	}
	if h := NewNotify(COOKIE, []byte{0, 2}).HashAlgorithms(); h != nil {
		t.Errorf("HashAlgorithms of a COOKIE: %v", h)
	}

	cr := &CertReq{Encoding: CertX509Signature, Data: seq(45, 0)}
	if a := cr.Authorities(); len(a) != 2 || !bytes.Equal(a[1], seq(40, 0)[20:]) {
		t.Errorf("Authorities %x", a)
	}
	if a := (&CertReq{Encoding: CertPKCS7, Data: seq(40, 0)}).Authorities(); a != nil {
		t.Errorf("Authorities of a PKCS7 request: %x", a)
	}

	for _, c := range []struct {
		a    CPAttribute
		want string
	}{
		{CPAttribute{Type: INTERNAL_IP4_ADDRESS}, "INTERNAL_IP4_ADDRESS"},
		{CPAttribute{Type: INTERNAL_IP4_DNS, Value: []byte{8, 8, 8, 8}}, "INTERNAL_IP4_DNS 8.8.8.8"},
		{CPAttribute{Type: INTERNAL_IP6_DNS, Value: netip.MustParseAddr("2001:db8::53").AsSlice()}, "INTERNAL_IP6_DNS 2001:db8::53"},
		{CPAttribute{Type: INTERNAL_DNS_DOMAIN, Value: []byte("lab.example")}, `INTERNAL_DNS_DOMAIN "lab.example"`},
		{CPAttribute{Type: 20002, Value: []byte{1, 2, 3}}, "CP_ATTRIBUTE_20002 010203"},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("CPAttribute.String() = %q, want %q", got, c.want)
		}
	}
	if a, ok := (&CPAttribute{Type: INTERNAL_IP6_ADDRESS, Value: append(netip.MustParseAddr("2001:db8::2").AsSlice(), 64)}).Addr(); !ok || a.String() != "2001:db8::2" {
		t.Errorf("Addr of INTERNAL_IP6_ADDRESS: %v", a)
	}
	if _, ok := (&CPAttribute{Type: INTERNAL_IP4_SUBNET, Value: seq(8, 0)}).Addr(); ok {
		t.Errorf("Addr of an 8-octet subnet")
	}
}

// TestCPAttributeStringTextValues: text attributes print as text whatever
// their length. A 4- or 16-octet value must not be taken for an address.
func TestCPAttributeStringTextValues(t *testing.T) {
	for _, c := range []struct {
		a    CPAttribute
		want string
	}{
		{CPAttribute{Type: APPLICATION_VERSION, Value: []byte("1.0a")}, `APPLICATION_VERSION "1.0a"`},
		{CPAttribute{Type: INTERNAL_DNS_DOMAIN, Value: []byte("a.io")}, `INTERNAL_DNS_DOMAIN "a.io"`},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("CPAttribute.String() = %q, want %q", got, c.want)
		}
	}
}

func TestIDStringAndBody(t *testing.T) {
	for _, c := range []struct {
		id   ID
		want string
	}{
		{ID{IDType: ID_IPV4_ADDR, Data: []byte{10, 0, 0, 1}}, "10.0.0.1"},
		{ID{IDType: ID_RFC822_ADDR, Data: []byte("carol@lab.example")}, `"carol@lab.example"`},
		{ID{IDType: ID_DER_ASN1_DN, Data: fakeDN}, "CN=client.lab.example"},
		{ID{IDType: ID_DER_ASN1_DN, Data: append(bytes.Clone(fakeDN), 0)}, hex.EncodeToString(append(bytes.Clone(fakeDN), 0))},
		{ID{IDType: ID_KEY_ID, Data: []byte{0xde, 0xad}}, "dead"},
		{ID{IDType: ID_NULL}, "(null)"},
	} {
		if got := c.id.String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.id.IDType, got, c.want)
		}
	}
	// RFC 7296, Section 2.15 signs IDi' / IDr': the body after the
	// generic header, reserved octets included.
	id := &ID{IDType: ID_FQDN, Reserved: [3]byte{1, 2, 3}, Data: []byte("gw")}
	if got := id.Body(); !bytes.Equal(got, []byte{2, 1, 2, 3, 'g', 'w'}) {
		t.Errorf("Body %x", got)
	}
	if got := (&ID{IDType: ID_IPV4_ADDR, Data: []byte{1}}).Body(); got != nil {
		t.Errorf("Body of an invalid ID: %x", got)
	}
}

package wire

import (
	"strings"
	"testing"
)

// TestDumpEachPayloadType checks the detailed dump of one sample of every
// payload type: the fields a person reads to learn the protocol.
func TestDumpEachPayloadType(t *testing.T) {
	want := map[string]string{
		"SA_ESP_with_SPI": "SA: 3 proposal(s)\n" +
			"    #1 ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ SPI c4112b01\n" +
			"    #2 ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ SPI c4112b02\n" +
			"    #3 ESP:3DES_CBC/HMAC_SHA1_96/NO_EXT_SEQ SPI c4112b03\n",
		"KE_MODP_1024":     "KE: MODP_1024, 128 octets: 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20... (128 octets)\n",
		"KE_CURVE_25519":   "KE: CURVE_25519, 32 octets: 030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122\n",
		"KE_unknown_group": "KE: KE_4095, 5 octets: 0405060708\n",
		"IDi_DN":           "IDi: ID_DER_ASN1_DN CN=client.lab.example\n",
		"IDr_IPv4":         "IDr: ID_IPV4_ADDR 192.0.2.1\n",
		"IDr_FQDN":         "IDr: ID_FQDN \"vpn.lab.example\"\n",
		"CERT_X509":        "CERT: X509_SIGNATURE, 300 octets\n",
		"CERTREQ_X509": "CERTREQ: X509_SIGNATURE, 3 CA hash(es)\n" +
			"    000102030405060708090a0b0c0d0e0f10111213\n" +
			"    1415161718191a1b1c1d1e1f2021222324252627\n" +
			"    28292a2b2c2d2e2f303132333435363738393a3b\n",
		"AUTH_PSK": "AUTH: SHARED_KEY_MIC, 32 octets: 05060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324\n",
		"AUTH_digital_signature": "AUTH: DIGITAL_SIGNATURE, 80 octets: 0f300d06092a864886f70d01010b0500090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748\n" +
			"    AlgorithmIdentifier 300d06092a864886f70d01010b0500\n" +
			"    signature 090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728... (64 octets)\n",
		"Nonce_32":            "No: 32 octets: 0708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526\n",
		"Notify_NATD_S":       "N: NAT_DETECTION_SOURCE_IP data 08090a0b0c0d0e0f101112131415161718191a1b\n",
		"Notify_FRAG_SUP":     "N: IKEV2_FRAGMENTATION_SUPPORTED\n",
		"Notify_INVALID_KE":   "N: INVALID_KE_PAYLOAD group MODP_2048\n",
		"Notify_REKEY_SA":     "N: REKEY_SA protocol ESP SPI 2ad4c0a2\n",
		"Notify_HASH_ALG":     "N: SIGNATURE_HASH_ALGORITHMS [2 3 4]\n",
		"Notify_MS_STATUS":    "N: MS_STATUS Win32 error 13868\n",
		"Notify_unknown_type": "N: NOTIFY_40000 data 78\n",
		"Delete_ESP_two":      "D: ESP SA(s) 01020304 090a0b0c\n",
		"VendorID":            "V: MS NT5 ISAKMPOAKLEY v9 (1e2b516905991c7d7c96fcbfb587e46100000009)\n",
		"TSi": "TSi: 3 selector(s)\n" +
			"    10.1.0.1..10.1.0.9[17/500]\n" +
			"    2001:db8::/112\n" +
			"    TS_SECLABEL(73797374656d5f753a6f626a6563745f72)\n",
		"SK": "E: first inner payload IDi, 48 octets of IV, ciphertext and ICV\n",
		"CP_reply": "CP: CPRP(ADDR ADDR6 VER (30000))\n" +
			"    INTERNAL_IP4_ADDRESS 10.9.0.2\n" +
			"    INTERNAL_IP6_ADDRESS 2001:db8::2/64\n" +
			"    APPLICATION_VERSION \"ikelab 1\"\n" +
			"    CP_ATTRIBUTE_30000 01\n",
		"EAP_MSCHAPv2_challenge":     "EAP: EAP/REQ/MSCHAPV2 identifier 2, 27 octets of type data\n",
		"EAP_success":                "EAP: EAP/SUCC identifier 7, 0 octets of type data\n",
		"SKF":                        "EF: fragment 1 of 3, first inner payload IDi, 40 octets\n",
		"Unknown_noncritical":        "GSPM: not decoded, 4 octets\n",
		"Critical_bit_on_known_type": "No (critical): 16 octets: 000102030405060708090a0b0c0d0e0f\n",
	}
	seen := map[PayloadType]bool{}
	for _, s := range samplePayloads() {
		w, ok := want[s.name]
		if !ok {
			continue
		}
		seen[s.p.Type()] = true
		// Dump what was decoded, not what was built.
		enc, err := encodeOne(s.p)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := ParsePayloads(s.p.Type(), enc)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		DumpPayloads(&b, ps, "")
		if b.String() != w {
			t.Errorf("%s:\n%s\nwant:\n%s", s.name, b.String(), w)
		}
	}
	for _, typ := range []PayloadType{PayloadSA, PayloadKE, PayloadIDi, PayloadIDr, PayloadCERT, PayloadCERTREQ,
		PayloadAUTH, PayloadNonce, PayloadNotify, PayloadDelete, PayloadVendorID, PayloadTSi, PayloadSK,
		PayloadCP, PayloadEAP, PayloadSKF, 49} {
		if !seen[typ] {
			t.Errorf("no dump checked for %s", typ)
		}
	}
}

func TestMessageDump(t *testing.T) {
	m := windowsSAInit()
	b := mustMarshal(t, m)
	got, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(got.Dump(), "\n"), "\n")
	if lines[0] != got.Summary() {
		t.Errorf("first line %q, want the summary", lines[0])
	}
	if want := "  header: SPIi 238671c80375a0fb SPIr 0000000000000000 version 2.0 flags I message ID 0 length 888"; lines[1] != want {
		t.Errorf("header line\n %q\nwant\n %q", lines[1], want)
	}
	// 28 header + SA (4 + 3 x 40 for 3DES + 9 x 44 for AES with a key
	// length) + KE 136 + Ni 52 + N(FRAG_SUP) 8 + 2 x NAT-D 28 + VIDs 88.
	if len(b) != 888 {
		t.Errorf("Windows-like IKE_SA_INIT of %d octets", len(b))
	}
	// 12 proposals under the SA line, then one line per other payload.
	if want := 2 + 1 + 12 + 9; len(lines) != want {
		t.Errorf("%d lines, want %d:\n%s", len(lines), want, got.Dump())
	}
	if lines[2] != "  SA: 12 proposal(s)" || lines[3] != "      #1 IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024" {
		t.Errorf("SA lines %q %q", lines[2], lines[3])
	}
	for _, w := range []string{
		"  N: IKEV2_FRAGMENTATION_SUPPORTED",
		"  V: MS-Negotiation Discovery Capable (fb1de3cdf341b7ea16b7e5be0855f120)",
		"  V: Microsoft (unnamed 01528bbb) v2 (01528bbbc00696121849ab9a1c5b2a5100000002)",
	} {
		if !strings.Contains(got.Dump(), w+"\n") {
			t.Errorf("dump lacks %q", w)
		}
	}
}

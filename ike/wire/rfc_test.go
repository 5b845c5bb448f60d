package wire

import (
	"bytes"
	"errors"
	"testing"
)

// saBody builds an SA payload body with one IKE proposal whose raw octets
// the test controls: the proposal's Last Substruc and transform count, and
// the transforms as given.
func saBody(last, nXfrm uint8, xfrms ...[]byte) []byte {
	var body []byte
	for _, x := range xfrms {
		body = append(body, x...)
	}
	n := 8 + len(body)
	return append([]byte{last, 0, byte(n >> 8), byte(n), 1, byte(ProtoIKE), 0, nXfrm}, body...)
}

// xfrm builds a transform substructure.
func xfrm(last, typ uint8, id uint16, attrs ...byte) []byte {
	n := 8 + len(attrs)
	return append([]byte{last, 0, byte(n >> 8), byte(n), typ, 0, byte(id >> 8), byte(id)}, attrs...)
}

// notifyBody builds a Notify body about the IKE SA.
func notifyBody(t NotifyType, data []byte) []byte {
	return append([]byte{0, 0, byte(t >> 8), byte(t)}, data...)
}

// v4Sel builds an IPv4 address range selector of the given length field.
func v4Sel(length uint16) []byte {
	return []byte{7, 0, byte(length >> 8), byte(length), 0, 0, 0xff, 0xff, 10, 0, 0, 0, 10, 0, 0, 255}
}

// TestRFCBehaviour is a table of what RFC 7296 and its extensions require
// of a receiver, each case named after the section it proves.
func TestRFCBehaviour(t *testing.T) {
	type want int
	const (
		ok want = iota
		syntax
		critical
	)
	cases := []struct {
		name  string
		first PayloadType
		in    []byte
		want  want
		errOn PayloadType // payload named by the SyntaxError
	}{
		// RFC 7296, Section 3.9: nonces are 16..256 octets.
		{"RFC7296_3.9_nonce_shorter_than_16_rejected", PayloadNonce, chain(0, seq(15, 0)), syntax, PayloadNonce},
		{"RFC7296_3.9_nonce_of_16_accepted", PayloadNonce, chain(0, seq(16, 0)), ok, 0},
		{"RFC7296_3.9_nonce_of_256_accepted", PayloadNonce, chain(0, seq(256, 0)), ok, 0},
		{"RFC7296_3.9_nonce_longer_than_256_rejected", PayloadNonce, chain(0, seq(257, 0)), syntax, PayloadNonce},

		// RFC 7296, Section 2.5: unknown payloads.
		{"RFC7296_2.5_unknown_critical_payload", 200, append([]byte{0, 0x80, 0, 5}, 1), critical, 0},
		{"RFC7296_2.5_unknown_noncritical_payload_skipped", 200, append([]byte{byte(PayloadNonce), 0, 0, 5}, append([]byte{1}, chain(0, seq(16, 0))...)...), ok, 0},
		{"RFC7296_2.5_critical_bit_ignored_on_known_payload", PayloadNonce, chain(0x80, seq(16, 0)), ok, 0},
		{"RFC7296_2.5_critical_unknown_after_known_payload", PayloadNonce,
			append(append([]byte{201, 0, 0, 20}, seq(16, 0)...), 0, 0x80, 0, 4), critical, 0},

		// RFC 7296, Section 3.2: the payload length includes the generic header.
		{"RFC7296_3.2_payload_length_below_4_rejected", PayloadVendorID, []byte{0, 0, 0, 3}, syntax, PayloadVendorID},
		{"RFC7296_3.2_payload_length_beyond_message_rejected", PayloadVendorID, []byte{0, 0, 0, 9, 1, 2}, syntax, PayloadVendorID},
		{"RFC7296_3.2_truncated_generic_header_rejected", PayloadVendorID, []byte{0, 0, 0}, syntax, PayloadVendorID},
		{"RFC7296_3.2_next_payload_without_payload_rejected", PayloadVendorID, []byte{byte(PayloadNonce), 0, 0, 5, 1}, syntax, PayloadNonce},

		// RFC 7296, Section 3.3: proposal and transform structure.
		{"RFC7296_3.3_SA_without_proposals_rejected", PayloadSA, chain(0, nil), syntax, PayloadSA},
		{"RFC7296_3.3.1_last_proposal_must_say_last", PayloadSA, chain(0, saBody(2, 1, xfrm(0, 1, 12))), syntax, PayloadSA},
		{"RFC7296_3.3.1_proposal_says_last_but_another_follows", PayloadSA, chain(0, append(saBody(0, 1, xfrm(0, 1, 12)), saBody(0, 1, xfrm(0, 1, 12))...)), syntax, PayloadSA},
		{"RFC7296_3.3.1_two_proposals_accepted", PayloadSA, chain(0, append(saBody(2, 1, xfrm(0, 1, 12)), saBody(0, 1, xfrm(0, 1, 12))...)), ok, 0},
		{"RFC7296_3.3.1_last_substruc_value_1_rejected", PayloadSA, chain(0, saBody(1, 1, xfrm(0, 1, 12))), syntax, PayloadSA},
		{"RFC7296_3.3.1_proposal_without_transforms_rejected", PayloadSA, chain(0, saBody(0, 0)), syntax, PayloadSA},
		{"RFC7296_3.3.1_transform_count_too_high_rejected", PayloadSA, chain(0, saBody(0, 2, xfrm(0, 1, 12))), syntax, PayloadSA},
		{"RFC7296_3.3.1_transform_count_too_low_rejected", PayloadSA, chain(0, saBody(0, 1, xfrm(3, 1, 12), xfrm(0, 4, 14))), syntax, PayloadSA},
		{"RFC7296_3.3.2_last_transform_must_say_last", PayloadSA, chain(0, saBody(0, 1, xfrm(3, 1, 12))), syntax, PayloadSA},
		{"RFC7296_3.3.2_transform_length_below_8_rejected", PayloadSA, chain(0, saBody(0, 1, []byte{0, 0, 0, 7, 1, 0, 0, 12})), syntax, PayloadSA},
		{"RFC7296_3.3.5_key_length_TV_accepted", PayloadSA, chain(0, saBody(0, 1, xfrm(0, 1, 12, 0x80, 14, 0, 128))), ok, 0},
		{"RFC7296_3.3.5_key_length_TLV_rejected", PayloadSA, chain(0, saBody(0, 1, xfrm(0, 1, 12, 0, 14, 0, 2, 0, 128))), syntax, PayloadSA},
		{"RFC7296_3.3.5_truncated_TLV_attribute_rejected", PayloadSA, chain(0, saBody(0, 1, xfrm(0, 1, 12, 0, 99, 0, 4, 1))), syntax, PayloadSA},
		{"RFC7296_3.3.5_truncated_TV_attribute_rejected", PayloadSA, chain(0, saBody(0, 1, xfrm(0, 1, 12, 0x80, 14, 0))), syntax, PayloadSA},

		// RFC 7296, Section 3.4: the KE data length is the group's.
		{"RFC7296_3.4_KE_MODP_2048_of_256_accepted", PayloadKE, chain(0, append([]byte{0, 14, 0, 0}, seq(256, 0)...)), ok, 0},
		{"RFC7296_3.4_KE_MODP_2048_of_255_rejected", PayloadKE, chain(0, append([]byte{0, 14, 0, 0}, seq(255, 0)...)), syntax, PayloadKE},
		{"RFC5903_7_KE_ECP_256_must_be_x_and_y", PayloadKE, chain(0, append([]byte{0, 19, 0, 0}, seq(32, 0)...)), syntax, PayloadKE},
		{"RFC8031_KE_curve25519_of_32_accepted", PayloadKE, chain(0, append([]byte{0, 31, 0, 0}, seq(32, 0)...)), ok, 0},
		{"RFC7296_3.4_KE_without_data_rejected", PayloadKE, chain(0, []byte{0, 0x0f, 0, 0}), syntax, PayloadKE},
		{"RFC7296_3.4_KE_truncated_header_rejected", PayloadKE, chain(0, []byte{0, 14, 0}), syntax, PayloadKE},

		// RFC 7296, Section 3.5: identification data.
		{"RFC7296_3.5_ID_IPV4_ADDR_is_4_octets", PayloadIDi, chain(0, []byte{1, 0, 0, 0, 10, 0, 0}), syntax, PayloadIDi},
		{"RFC7296_3.5_ID_IPV6_ADDR_is_16_octets", PayloadIDr, chain(0, append([]byte{5, 0, 0, 0}, seq(4, 0)...)), syntax, PayloadIDr},
		{"RFC7296_3.5_ID_FQDN_empty_rejected", PayloadIDi, chain(0, []byte{2, 0, 0, 0}), syntax, PayloadIDi},
		{"RFC7619_3_ID_NULL_is_empty", PayloadIDi, chain(0, []byte{13, 0, 0, 0, 'x'}), syntax, PayloadIDi},
		{"RFC7619_3_ID_NULL_accepted", PayloadIDi, chain(0, []byte{13, 0, 0, 0}), ok, 0},

		// RFC 7296, Sections 3.6 and 3.7: certificates and requests.
		{"RFC7296_3.6_CERT_without_data_rejected", PayloadCERT, chain(0, []byte{4}), syntax, PayloadCERT},
		{"RFC7296_3.6_hash_and_URL_needs_hash_and_URL", PayloadCERT, chain(0, append([]byte{12}, seq(20, 0)...)), syntax, PayloadCERT},
		{"RFC7296_3.7_CERTREQ_X509_hashes_are_20_octets", PayloadCERTREQ, chain(0, append([]byte{4}, seq(30, 0)...)), syntax, PayloadCERTREQ},
		{"RFC7296_3.7_CERTREQ_without_encoding_rejected", PayloadCERTREQ, chain(0, nil), syntax, PayloadCERTREQ},

		// RFC 7296, Section 3.8 and RFC 7427, Section 3: AUTH data.
		{"RFC7296_3.8_AUTH_without_data_rejected", PayloadAUTH, chain(0, []byte{2, 0, 0, 0}), syntax, PayloadAUTH},
		{"RFC7619_AUTH_NULL_without_data_accepted", PayloadAUTH, chain(0, []byte{13, 0, 0, 0}), ok, 0},
		{"RFC7427_3_AlgorithmIdentifier_length_overruns", PayloadAUTH, chain(0, []byte{14, 0, 0, 0, 40, 0x30, 0}), syntax, PayloadAUTH},
		{"RFC7427_3_AlgorithmIdentifier_not_a_SEQUENCE", PayloadAUTH, chain(0, []byte{14, 0, 0, 0, 2, 0x04, 0, 1}), syntax, PayloadAUTH},
		{"RFC7427_3_AlgorithmIdentifier_with_trailing_octets", PayloadAUTH, chain(0, []byte{14, 0, 0, 0, 3, 0x30, 0, 0, 1}), syntax, PayloadAUTH},
		{"RFC7427_3_signature_missing", PayloadAUTH, chain(0, append([]byte{14, 0, 0, 0, 15}, sha256WithRSA...)), syntax, PayloadAUTH},

		// RFC 7296, Section 3.10: notifications.
		{"RFC7296_2.23_NATD_is_a_20_octet_SHA1", PayloadNotify, chain(0, notifyBody(NAT_DETECTION_DESTINATION_IP, seq(21, 0))), syntax, PayloadNotify},
		{"RFC7296_3.10.1_INVALID_KE_PAYLOAD_carries_2_octets", PayloadNotify, chain(0, notifyBody(INVALID_KE_PAYLOAD, seq(1, 0))), syntax, PayloadNotify},
		{"RFC7296_3.10.1_UNSUPPORTED_CRITICAL_PAYLOAD_carries_1_octet", PayloadNotify, chain(0, notifyBody(UNSUPPORTED_CRITICAL_PAYLOAD, nil)), syntax, PayloadNotify},
		{"RFC7296_2.6_cookie_of_0_rejected", PayloadNotify, chain(0, notifyBody(COOKIE, nil)), syntax, PayloadNotify},
		{"RFC7296_2.6_cookie_of_64_accepted", PayloadNotify, chain(0, notifyBody(COOKIE, seq(64, 0))), ok, 0},
		{"RFC7296_2.6_cookie_of_65_rejected", PayloadNotify, chain(0, notifyBody(COOKIE, seq(65, 0))), syntax, PayloadNotify},
		{"RFC7383_2.3_FRAG_SUP_carries_nothing", PayloadNotify, chain(0, notifyBody(IKEV2_FRAGMENTATION_SUPPORTED, seq(1, 0))), syntax, PayloadNotify},
		{"RFC7427_4_hash_algorithms_are_2_octets_each", PayloadNotify, chain(0, notifyBody(SIGNATURE_HASH_ALGORITHMS, seq(3, 0))), syntax, PayloadNotify},
		{"RFC7296_3.10_REKEY_SA_needs_an_SPI", PayloadNotify, chain(0, notifyBody(REKEY_SA, nil)), syntax, PayloadNotify},
		{"RFC7296_3.10_SPI_size_overruns", PayloadNotify, chain(0, []byte{3, 8, 0x40, 0x09, 1, 2}), syntax, PayloadNotify},
		{"RFC7296_3.10_unknown_status_type_any_data", PayloadNotify, chain(0, notifyBody(50000, seq(300, 0))), ok, 0},

		// RFC 7296, Section 3.11: deletes.
		{"RFC7296_3.11_IKE_delete_has_no_SPIs", PayloadDelete, chain(0, []byte{1, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}), syntax, PayloadDelete},
		{"RFC7296_3.11_ESP_delete_SPIs_are_4_octets", PayloadDelete, chain(0, []byte{3, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}), syntax, PayloadDelete},
		{"RFC7296_3.11_ESP_delete_without_SPIs_rejected", PayloadDelete, chain(0, []byte{3, 4, 0, 0}), syntax, PayloadDelete},
		{"RFC7296_3.11_SPI_count_exceeds_payload", PayloadDelete, chain(0, []byte{3, 4, 0xff, 0xff, 1, 2, 3, 4}), syntax, PayloadDelete},
		{"RFC7296_3.11_SPI_count_without_size", PayloadDelete, chain(0, []byte{3, 0, 0, 2}), syntax, PayloadDelete},

		// RFC 7296, Section 3.12: vendor IDs.
		{"RFC7296_3.12_empty_vendor_ID_rejected", PayloadVendorID, chain(0, nil), syntax, PayloadVendorID},

		// RFC 7296, Section 3.13: traffic selectors.
		{"RFC7296_3.13_TS_without_selectors_rejected", PayloadTSi, chain(0, []byte{0, 0, 0, 0}), syntax, PayloadTSi},
		{"RFC7296_3.13.1_IPv4_selector_is_16_octets", PayloadTSr, chain(0, append([]byte{1, 0, 0, 0}, append(v4Sel(17), 0)...)), syntax, PayloadTSr},
		{"RFC7296_3.13.1_IPv4_selector_accepted", PayloadTSr, chain(0, append([]byte{1, 0, 0, 0}, v4Sel(16)...)), ok, 0},
		{"RFC7296_3.13_selector_count_too_high", PayloadTSi, chain(0, append([]byte{2, 0, 0, 0}, v4Sel(16)...)), syntax, PayloadTSi},
		{"RFC7296_3.13_selector_count_too_low", PayloadTSi, chain(0, append([]byte{1, 0, 0, 0}, append(v4Sel(16), v4Sel(16)...)...)), syntax, PayloadTSi},
		{"RFC7296_3.13.1_selector_length_below_header", PayloadTSi, chain(0, []byte{1, 0, 0, 0, 10, 0, 0, 3}), syntax, PayloadTSi},

		// RFC 7296, Section 3.14: the SK payload.
		{"RFC7296_3.14_empty_SK_rejected", PayloadSK, chain(0, nil), syntax, PayloadSK},
		{"RFC7296_3.14_SK_must_be_last", PayloadSK, append([]byte{byte(PayloadNonce), 0, 0, 5, 1}, chain(0, seq(16, 0))...), syntax, PayloadSK},

		// RFC 7296, Section 3.15: configuration attributes.
		{"RFC7296_3.15.1_INTERNAL_IP4_ADDRESS_is_0_or_4", PayloadCP, chain(0, []byte{2, 0, 0, 0, 0, 1, 0, 3, 10, 0, 0}), syntax, PayloadCP},
		{"RFC7296_3.15.1_INTERNAL_IP6_ADDRESS_is_0_or_17", PayloadCP, chain(0, append([]byte{2, 0, 0, 0, 0, 8, 0, 16}, seq(16, 0)...)), syntax, PayloadCP},
		{"RFC7296_3.15.1_attribute_length_overruns", PayloadCP, chain(0, []byte{1, 0, 0, 0, 0, 1, 0, 4, 10}), syntax, PayloadCP},
		{"RFC7296_3.15.1_empty_request_attributes_accepted", PayloadCP, chain(0, []byte{1, 0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0}), ok, 0},

		// RFC 7296, Section 3.16 and RFC 3748, Section 4: EAP.
		{"RFC3748_4_EAP_length_must_match_payload", PayloadEAP, chain(0, []byte{1, 1, 0, 6, 1}), syntax, PayloadEAP},
		{"RFC3748_4.2_EAP_success_carries_no_data", PayloadEAP, chain(0, []byte{3, 1, 0, 5, 1}), syntax, PayloadEAP},
		{"RFC3748_4_EAP_unknown_code_rejected", PayloadEAP, chain(0, []byte{9, 1, 0, 4}), syntax, PayloadEAP},
		{"RFC3748_4_EAP_request_without_type_rejected", PayloadEAP, chain(0, []byte{1, 1, 0, 4}), syntax, PayloadEAP},
		{"RFC3748_5.3.1_Nak_names_a_type", PayloadEAP, chain(0, []byte{2, 1, 0, 5, 3}), syntax, PayloadEAP},
		{"RFC5216_3.1_EAP_TLS_length_flag_without_length", PayloadEAP, chain(0, []byte{1, 1, 0, 8, 13, 0x80, 0, 0}), syntax, PayloadEAP},
		{"MSCHAPv2_MS_Length_must_match", PayloadEAP, chain(0, []byte{1, 1, 0, 10, 26, 1, 1, 0, 9, 0}), syntax, PayloadEAP},

		// RFC 7383, Section 2.5: fragment numbering.
		{"RFC7383_2.5_fragment_number_0_rejected", PayloadSKF, chain(0, []byte{0, 0, 0, 2, 1}), syntax, PayloadSKF},
		{"RFC7383_2.5_fragment_number_above_total_rejected", PayloadSKF, chain(0, []byte{0, 3, 0, 2, 1}), syntax, PayloadSKF},
		{"RFC7383_2.5_fragment_without_content_rejected", PayloadSKF, chain(0, []byte{0, 1, 0, 1}), syntax, PayloadSKF},
		{"RFC7383_2.5_last_fragment_accepted", PayloadSKF, chain(0, []byte{0, 2, 0, 2, 1}), ok, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := ParsePayloads(c.first, c.in)
			switch c.want {
			case ok:
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				re, first, err := AppendPayloads(nil, ps)
				if err != nil {
					t.Fatalf("accepted but does not re-encode: %v", err)
				}
				if first != c.first || !bytes.Equal(re, c.in) {
					t.Fatalf("re-encoded %s %x, want %s %x", first, re, c.first, c.in)
				}
			case syntax:
				if err == nil {
					t.Fatalf("accepted: %s", Summarize(ps))
				}
				wantSyntaxError(t, err, c.errOn)
			case critical:
				var ue *UnsupportedCriticalError
				if !errors.As(err, &ue) {
					t.Fatalf("error %v (%T), want *UnsupportedCriticalError", err, err)
				}
				if ue.Notify() != UNSUPPORTED_CRITICAL_PAYLOAD {
					t.Errorf("notify %s", ue.Notify())
				}
				if want := []byte{byte(ue.Type)}; !bytes.Equal(ue.NotifyData(), want) || ue.Type < 200 {
					t.Errorf("notify data %x for type %d", ue.NotifyData(), ue.Type)
				}
			}
		})
	}
}

// TestRFC4555NotifyLengths proves the length rules of the MOBIKE
// notifications (RFC 4555, Section 4.2.2 and 4.2.5), which the AOSP tests
// (IkeNotifyPayloadTest COOKIE2_INVALID_DATA_LEN_SMALL/LARGE) also check.
func TestRFC4555NotifyLengths(t *testing.T) {
	cases := []struct {
		name string
		typ  NotifyType
		n    int
		ok   bool
	}{
		{"RFC4555_4.2.5_cookie2_of_7_rejected", COOKIE2, 7, false},
		{"RFC4555_4.2.5_cookie2_of_8_accepted", COOKIE2, 8, true},
		{"RFC4555_4.2.5_cookie2_of_64_accepted", COOKIE2, 64, true},
		{"RFC4555_4.2.5_cookie2_of_65_rejected", COOKIE2, 65, false},
		{"RFC4555_4.2.2_additional_IPv4_address_is_4_octets", ADDITIONAL_IP4_ADDRESS, 16, false},
		{"RFC4555_4.2.2_additional_IPv6_address_is_16_octets", ADDITIONAL_IP6_ADDRESS, 4, false},
		{"RFC4555_4.2.2_additional_IPv4_address_accepted", ADDITIONAL_IP4_ADDRESS, 4, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBody(PayloadNotify, notifyBody(c.typ, seq(c.n, 1)))
			if c.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !c.ok {
				if err == nil {
					t.Fatalf("%s with %d octets of data accepted", c.typ, c.n)
				}
				wantSyntaxError(t, err, PayloadNotify)
			}
		})
	}
}

// TestRFC7296NotifyFieldOrder: in a Notify payload the Notify Message Type
// comes before the SPI (RFC 7296, Section 3.10, Figure 16: Protocol ID,
// SPI Size, Notify Message Type, SPI, Notification Data). Only notifies
// about a Child SA carry an SPI, so IKE SA notifies cannot show the order.
func TestRFC7296NotifyFieldOrder(t *testing.T) {
	for _, c := range []struct {
		name string
		body []byte
		typ  NotifyType
		spi  []byte
		data []byte
	}{
		{"RFC7296_3.10_REKEY_SA_type_then_SPI", []byte{3, 4, 0x40, 0x09, 0xca, 0xfe, 0xba, 0xbe}, REKEY_SA, []byte{0xca, 0xfe, 0xba, 0xbe}, nil},
		{"RFC7296_3.10_CHILD_SA_NOT_FOUND_type_then_SPI", []byte{3, 4, 0, 44, 1, 2, 3, 4}, CHILD_SA_NOT_FOUND, []byte{1, 2, 3, 4}, nil},
		{"RFC7296_3.10_INVALID_SELECTORS_type_SPI_data", []byte{2, 4, 0, 39, 9, 9, 9, 9, 0x45, 0}, INVALID_SELECTORS, []byte{9, 9, 9, 9}, []byte{0x45, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := parseBody(PayloadNotify, c.body)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			n := p.(*Notify)
			if n.NotifyType != c.typ || !bytes.Equal(n.SPI, c.spi) || !bytes.Equal(n.Data, c.data) {
				t.Errorf("decoded %s SPI %x data %x; want %s SPI %x data %x", n.NotifyType, n.SPI, n.Data, c.typ, c.spi, c.data)
			}
			built := &Notify{Protocol: ProtocolID(c.body[0]), SPI: c.spi, NotifyType: c.typ, Data: c.data}
			if got := encodeBody(built); !bytes.Equal(got, c.body) {
				t.Errorf("encoded %x, want %x", got, c.body)
			}
		})
	}
}

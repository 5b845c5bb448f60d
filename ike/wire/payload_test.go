package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// TestPayloadRoundTrip encodes one sample of every payload kind, decodes
// it, and checks that the decoded payload re-encodes to the same octets and
// summarises and dumps the same way as the original value.
func TestPayloadRoundTrip(t *testing.T) {
	for _, s := range samplePayloads() {
		t.Run(s.name, func(t *testing.T) {
			enc, err := encodeOne(s.p)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if got := int(binary.BigEndian.Uint16(enc[2:])); got != len(enc) {
				t.Fatalf("generic payload length %d, encoded %d octets", got, len(enc))
			}
			if enc[1] != s.p.generic().Flags {
				t.Errorf("flags octet %#x, want %#x", enc[1], s.p.generic().Flags)
			}
			ps, err := ParsePayloads(s.p.Type(), enc)
			if err != nil {
				t.Fatalf("decode %x: %v", enc, err)
			}
			if len(ps) != 1 {
				t.Fatalf("decoded %d payloads, want 1", len(ps))
			}
			got := ps[0]
			if got.Type() != s.p.Type() {
				t.Errorf("decoded type %s, want %s", got.Type(), s.p.Type())
			}
			re, err := encodeOne(got)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(re, enc) {
				t.Errorf("re-encoded\n %x\nwant\n %x", re, enc)
			}
			if got.Summary() != s.p.Summary() {
				t.Errorf("summary %q, want %q", got.Summary(), s.p.Summary())
			}
			if a, b := strings.Join(describe(got), "\n"), strings.Join(describe(s.p), "\n"); a != b {
				t.Errorf("dump of decoded payload:\n%s\nwant:\n%s", a, b)
			}
		})
	}
}

// strictBodies are the samples whose every shorter body is malformed: their
// length is fixed by a count, a length field or the RFC.
var strictBodies = map[string]bool{
	"SA_IKE_windows": true, "SA_ESP_with_SPI": true, "SA_TLV_attribute": true,
	"KE_MODP_1024": true, "KE_ECP_256": true, "KE_CURVE_25519": true,
	"IDr_IPv4": true, "IDi_IPv6": true, "IDi_NULL": true,
	"Notify_NATD_S": true, "Notify_FRAG_SUP": true, "Notify_INVALID_KE": true,
	"Notify_REKEY_SA": true, "Notify_MS_STATUS": true,
	"Delete_IKE": true, "Delete_ESP_two": true, "TSi": true, "TSr": true,
	"EAP_identity_request": true, "EAP_MSCHAPv2_challenge": true, "EAP_TLS_length": true,
	"EAP_success": true, "EAP_Nak": true,
}

// TestPayloadTruncation checks two kinds of truncation for every sample:
// a prefix of the encoded payload (its length field now overstates it) is
// always a *SyntaxError; a shorter body under a consistent length field is
// either a *SyntaxError or a payload that re-encodes to exactly those
// octets, and for payloads whose length is fixed it is always an error.
func TestPayloadTruncation(t *testing.T) {
	for _, s := range samplePayloads() {
		t.Run(s.name, func(t *testing.T) {
			enc, err := encodeOne(s.p)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < len(enc); n++ {
				_, err := ParsePayloads(s.p.Type(), enc[:n])
				if err == nil {
					t.Fatalf("prefix of %d/%d octets accepted", n, len(enc))
				}
				wantSyntaxError(t, err, s.p.Type())
			}
			body := enc[genericHeaderLen:]
			for n := 0; n < len(body); n++ {
				in := chain(enc[1], body[:n])
				ps, err := ParsePayloads(s.p.Type(), in)
				if err != nil {
					wantSyntaxError(t, err, s.p.Type())
					continue
				}
				if strictBodies[s.name] {
					t.Fatalf("body cut to %d/%d octets accepted: %s", n, len(body), Summarize(ps))
				}
				re, _, err := AppendPayloads(nil, ps)
				if err != nil {
					t.Fatalf("body cut to %d octets decodes but does not encode: %v", n, err)
				}
				if !bytes.Equal(re, in) {
					t.Fatalf("body cut to %d octets re-encodes to %x, want %x", n, re, in)
				}
			}
		})
	}
}

// TestTrailingOctetsRejected appends octets after a complete chain.
func TestTrailingOctetsRejected(t *testing.T) {
	for _, s := range samplePayloads() {
		if s.p.Type() == PayloadSK || s.p.Type() == PayloadSKF {
			continue // their bodies run to the end by definition
		}
		enc, err := encodeOne(s.p)
		if err != nil {
			t.Fatal(err)
		}
		for _, extra := range [][]byte{{0}, {0, 0, 0, 4}} {
			_, err := ParsePayloads(s.p.Type(), append(bytes.Clone(enc), extra...))
			if err == nil {
				t.Errorf("%s: %d trailing octets accepted", s.name, len(extra))
				continue
			}
			wantSyntaxError(t, err, PayloadNone)
		}
	}
}

// TestChainOfEverything decodes one chain holding every sample, and checks
// the Next Payload fields AppendPayloads wrote.
func TestChainOfEverything(t *testing.T) {
	var ps []Payload
	for _, s := range samplePayloads() {
		if s.p.Type() != PayloadSK && s.p.Type() != PayloadSKF {
			ps = append(ps, s.p)
		}
	}
	ps = append(ps, &Encrypted{NextPayload: PayloadAUTH, Body: seq(20, 1)})
	enc, first, err := AppendPayloads([]byte("prefix"), ps)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[:6]) != "prefix" {
		t.Fatalf("AppendPayloads did not append")
	}
	if first != ps[0].Type() {
		t.Fatalf("first %s, want %s", first, ps[0].Type())
	}
	got, err := ParsePayloads(first, enc[6:])
	if err != nil {
		t.Fatal(err)
	}
	if Summarize(got) != Summarize(ps) {
		t.Fatalf("summary\n%s\nwant\n%s", Summarize(got), Summarize(ps))
	}
	// Walk the generic headers: each Next Payload names the following one,
	// and the last (SK) names its first inner payload.
	b := enc[6:]
	for i := range ps {
		want := PayloadNone
		if i+1 < len(ps) {
			want = ps[i+1].Type()
		} else {
			want = PayloadAUTH
		}
		if PayloadType(b[0]) != want {
			t.Fatalf("payload %d (%s) names next %s, want %s", i, ps[i].Type(), PayloadType(b[0]), want)
		}
		b = b[binary.BigEndian.Uint16(b[2:]):]
	}
	if len(b) != 0 {
		t.Fatalf("%d octets after the walk", len(b))
	}
	if e, ok := got[len(got)-1].(*Encrypted); !ok || e.NextPayload != PayloadAUTH {
		t.Fatalf("last payload %#v, want SK naming AUTH", got[len(got)-1])
	}
}

func TestAppendPayloadsErrors(t *testing.T) {
	cases := []struct {
		name string
		ps   []Payload
	}{
		{"SK_not_last", []Payload{&Encrypted{Body: []byte{1}}, &Nonce{Data: seq(16, 0)}}},
		{"SKF_not_last", []Payload{&EncryptedFragment{Number: 1, Total: 1, Body: []byte{1}}, &Nonce{Data: seq(16, 0)}}},
		{"payload_over_65535", []Payload{&VendorID{Data: make([]byte, 0xffff)}}},
		{"SA_without_proposals", []Payload{&SA{}}},
		{"proposal_without_transforms", []Payload{&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtoIKE}}}}},
		{"KE_without_data", []Payload{&KE{Group: MODP_2048}}},
		{"nonce_too_short", []Payload{&Nonce{Data: seq(15, 0)}}},
		{"nonce_too_long", []Payload{&Nonce{Data: seq(257, 0)}}},
		{"ID_IPv4_of_5", []Payload{&ID{IDType: ID_IPV4_ADDR, Data: seq(5, 0)}}},
		{"notify_NATD_of_19", []Payload{NewNotify(NAT_DETECTION_SOURCE_IP, seq(19, 0))}},
		{"notify_SPI_of_256", []Payload{&Notify{SPI: seq(256, 0), NotifyType: 50000}}},
		{"delete_SPI_size_mismatch", []Payload{&Delete{Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{seq(3, 0)}}}},
		{"TS_empty", []Payload{&TS{}}},
		{"TS_v4_with_v6_address", []Payload{&TS{Selectors: []Selector{{TSType: TS_IPV4_ADDR_RANGE,
			Start: mustAddr("::1"), End: mustAddr("::2")}}}}},
		{"TS_without_addresses", []Payload{&TS{Selectors: []Selector{{TSType: TS_IPV6_ADDR_RANGE}}}}},
		{"CP_address_of_3", []Payload{&CP{CFGType: CFG_REPLY, Attributes: []CPAttribute{{Type: INTERNAL_IP4_ADDRESS, Value: seq(3, 0)}}}}},
		{"EAP_over_65535", []Payload{&EAP{Code: EAPRequest, EAPType: EAPMD5, Data: make([]byte, 0xffff)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _, err := AppendPayloads(nil, c.ps)
			if err == nil {
				t.Fatalf("encoded %d octets, want an error", len(b))
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if b, first, err := AppendPayloads([]byte{1}, nil); err != nil || first != PayloadNone || !bytes.Equal(b, []byte{1}) {
		t.Errorf("empty chain: %x %s %v", b, first, err)
	}
}

func TestSyntaxErrorIsTyped(t *testing.T) {
	_, err := ParsePayloads(PayloadNonce, chain(0, seq(3, 0)))
	se := wantSyntaxError(t, err, PayloadNonce)
	if !strings.Contains(se.Error(), "No payload") || !strings.Contains(se.Msg, "3 octets") {
		t.Errorf("message %q does not say what was wrong", se.Error())
	}
	var ue *UnsupportedCriticalError
	if errors.As(err, &ue) {
		t.Errorf("a syntax error is not an UnsupportedCriticalError")
	}
	_, err = ParseMessage(seq(10, 0))
	wantSyntaxError(t, err, PayloadNone)
	if !strings.HasPrefix(err.Error(), "wire: invalid syntax: ") {
		t.Errorf("header error %q", err)
	}
}

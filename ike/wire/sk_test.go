package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestSplitUDP4500(t *testing.T) {
	ike := append([]byte{0, 0, 0, 0}, seq(28, 1)...)
	cases := []struct {
		name           string
		in             []byte
		ike            []byte
		keepalive, esp bool
	}{
		// RFC 3948, Section 2.3: a keepalive is one 0xff octet.
		{"RFC3948_2.3_keepalive", []byte{0xff}, nil, true, false},
		// RFC 3948, Section 2.2: the non-ESP marker precedes IKE.
		{"RFC3948_2.2_non_ESP_marker_then_IKE", ike, ike[4:], false, false},
		{"RFC3948_2.1_ESP_starts_with_nonzero_SPI", append([]byte{0, 0, 0, 1}, seq(20, 0)...), nil, false, true},
		{"ESP_SPI_with_leading_zero_octets", []byte{0, 0, 1, 0, 9, 9, 9, 9}, nil, false, true},
		{"two_0xff_octets_are_not_a_keepalive", []byte{0xff, 0xff}, nil, false, true},
		{"marker_alone", []byte{0, 0, 0, 0}, []byte{}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ka, esp := SplitUDP4500(c.in)
			if ka != c.keepalive || esp != c.esp || !bytes.Equal(got, c.ike) || (c.ike != nil) != (got != nil) {
				t.Fatalf("SplitUDP4500(%x) = %x, %v, %v; want %x, %v, %v", c.in, got, ka, esp, c.ike, c.keepalive, c.esp)
			}
		})
	}
	if NonESPMarker != [4]byte{} {
		t.Errorf("NonESPMarker %x", NonESPMarker)
	}
}

func authHeader() Header {
	return Header{SPIi: SPI{1, 1, 1, 1, 1, 1, 1, 1}, SPIr: SPI{2, 2, 2, 2, 2, 2, 2, 2},
		Exchange: IKE_AUTH, Flags: FlagInitiator, MessageID: 1}
}

// encodeChain encodes payloads for comparison; constructed and decoded
// values may differ in nil versus empty slices, the octets may not.
func encodeChain(t *testing.T, ps []Payload) []byte {
	t.Helper()
	b, _, err := AppendPayloads(nil, ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshalEncryptedAndDecrypt(t *testing.T) {
	for _, c := range []struct {
		name   string
		cipher *xorCipher
		clear  []Payload
	}{
		{"CBC_like_16_12", &xorCipher{key: 0x5a, ivLen: 16, icvLen: 12, block: 16}, nil},
		{"GCM_like_8_16", &xorCipher{key: 0x33, ivLen: 8, icvLen: 16, block: 1}, nil},
		{"with_clear_payloads", &xorCipher{key: 0x11, ivLen: 8, icvLen: 12, block: 8},
			[]Payload{NewNotify(COOKIE, seq(16, 3)), &VendorID{Data: []byte("clear")}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inner := windowsAuthInner()
			b, err := MarshalEncrypted(authHeader(), c.clear, inner, c.cipher)
			if err != nil {
				t.Fatal(err)
			}
			plainLen := len(encodeChain(t, inner))
			clearLen := len(encodeChain(t, c.clear))
			// Lengths: header, clear payloads, SK generic header, body.
			if want := HeaderLen + clearLen + genericHeaderLen + c.cipher.BodyLen(plainLen); len(b) != want {
				t.Fatalf("message of %d octets, want %d", len(b), want)
			}
			if got := binary.BigEndian.Uint32(b[24:]); int(got) != len(b) {
				t.Errorf("header length %d, message %d", got, len(b))
			}
			sk := HeaderLen + clearLen
			if got := binary.BigEndian.Uint16(b[sk+2:]); int(got) != len(b)-sk {
				t.Errorf("SK payload length %d, want %d", got, len(b)-sk)
			}
			if PayloadType(b[sk]) != PayloadIDi {
				t.Errorf("SK Next Payload %s, want IDi", PayloadType(b[sk]))
			}
			wantFirst := PayloadSK
			if len(c.clear) > 0 {
				wantFirst = c.clear[0].Type()
			}
			if PayloadType(b[16]) != wantFirst || b[17] != 0x20 {
				t.Errorf("header first payload %s version %#x", PayloadType(b[16]), b[17])
			}

			m, err := ParseMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Encrypted() == nil || len(m.Payloads) != len(c.clear)+1 {
				t.Fatalf("decoded %s", m.Summary())
			}
			if !bytes.Equal(m.Encrypted().AssociatedData(), b[:sk+genericHeaderLen]) {
				t.Errorf("associated data is not header through SK generic header")
			}
			got, err := m.Decrypt(c.cipher)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encodeChain(t, got), encodeChain(t, inner)) {
				t.Errorf("decrypted payloads differ: %s", Summarize(got))
			}
			want := "IKE_AUTH request 1 [ IDi CERT CERTREQ AUTH N(MOBIKE_SUP) CPRQ(ADDR DNS NBNS (23456) ADDR6 DNS6 (23457)) SA TSi TSr ]"
			if s := SummaryLine(&m.Header, got); s != want {
				t.Errorf("summary\n %q\nwant\n %q", s, want)
			}

			// A flipped octet anywhere (header, clear payloads or body)
			// fails the ICV, which covers the final lengths.
			for _, i := range []int{0, 20, 25, sk + 3, len(b) - 1} {
				bad := bytes.Clone(b)
				bad[i] ^= 0x01
				bm, err := ParseMessage(bad)
				if err != nil {
					continue // the header length or a payload length broke
				}
				if _, err := bm.Decrypt(c.cipher); err == nil {
					t.Errorf("octet %d flipped: decrypted anyway", i)
				}
			}
		})
	}
}

func TestMarshalEncryptedEmptyInformational(t *testing.T) {
	// An empty INFORMATIONAL (liveness check, RFC 7296, Section 1.4) has
	// an SK payload whose Next Payload is NONE.
	c := &xorCipher{key: 1, ivLen: 16, icvLen: 12, block: 16}
	h := Header{Exchange: INFORMATIONAL, Flags: FlagResponse, MessageID: 9}
	b, err := MarshalEncrypted(h, nil, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Encrypted().NextPayload != PayloadNone || len(m.Encrypted().Body) != c.BodyLen(0) {
		t.Fatalf("SK %+v", m.Encrypted())
	}
	got, err := m.Decrypt(c)
	if err != nil || len(got) != 0 {
		t.Fatalf("decrypted %v, %v", got, err)
	}
	if s := SummaryLine(&m.Header, got); s != "INFORMATIONAL response 9 [ ]" {
		t.Errorf("summary %q", s)
	}
}

type failingSealer struct {
	xorCipher
	err   error
	short bool
}

func (f *failingSealer) Seal(dst, assoc, plain []byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	b, _ := f.xorCipher.Seal(dst, assoc, plain)
	return b[:len(b)-1], nil
}

func TestMarshalEncryptedErrors(t *testing.T) {
	base := xorCipher{key: 1, ivLen: 8, icvLen: 8, block: 8}
	boom := errors.New("sealer failed")
	if _, err := MarshalEncrypted(authHeader(), nil, windowsAuthInner(), &failingSealer{xorCipher: base, err: boom}); !errors.Is(err, boom) {
		t.Errorf("sealer error not passed on: %v", err)
	}
	if _, err := MarshalEncrypted(authHeader(), nil, windowsAuthInner(), &failingSealer{xorCipher: base, short: true}); err == nil ||
		!strings.Contains(err.Error(), "announced") {
		t.Errorf("a body shorter than BodyLen announced: %v", err)
	}
	big := []Payload{&VendorID{Data: make([]byte, 60000)}, &VendorID{Data: make([]byte, 6000)}}
	if _, err := MarshalEncrypted(authHeader(), nil, big, &base); err == nil {
		t.Errorf("a message over 65535 octets was encoded")
	}
	if _, err := MarshalEncrypted(authHeader(), nil, []Payload{&Nonce{}}, &base); err == nil {
		t.Errorf("an invalid inner payload was encoded")
	}
	if _, err := MarshalEncrypted(authHeader(), []Payload{&Nonce{}}, nil, &base); err == nil {
		t.Errorf("an invalid clear payload was encoded")
	}

	m, _ := ParseMessage(mustMarshal(t, windowsSAInit()))
	if _, err := m.Decrypt(&base); err == nil || !strings.Contains(err.Error(), "no encrypted payload") {
		t.Errorf("Decrypt without SK: %v", err)
	}
	b, _ := MarshalEncrypted(authHeader(), nil, windowsAuthInner(), &base)
	m, _ = ParseMessage(b)
	if _, err := m.Decrypt(&xorCipher{key: 1, ivLen: 8, icvLen: 8, block: 8}); err != nil {
		t.Errorf("right key: %v", err)
	}
	// The key only changes the plaintext; garbage inner payloads must be
	// a syntax error from ParsePayloads, not a panic.
	withOtherKey := &xorCipher{key: 7, ivLen: 8, icvLen: 8, block: 8}
	if _, err := m.Decrypt(withOtherKey); err == nil {
		t.Errorf("decrypting with another key stream succeeded")
	}
}

func mustMarshal(t testing.TB, m *Message) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reassemble decodes fragments, opens each and returns the first inner
// payload type with the concatenated plaintext (RFC 7383, Section 2.6).
func reassemble(t *testing.T, frags [][]byte, o Opener) (PayloadType, []byte) {
	t.Helper()
	var first PayloadType
	var plain []byte
	for i, b := range frags {
		m, err := ParseMessage(b)
		if err != nil {
			t.Fatalf("fragment %d: %v", i+1, err)
		}
		f := m.Fragment()
		if f == nil || int(f.Number) != i+1 || int(f.Total) != len(frags) {
			t.Fatalf("fragment %d: %s", i+1, m.Summary())
		}
		if (i == 0) != (f.NextPayload != PayloadNone) {
			t.Errorf("fragment %d names first inner payload %s (RFC 7383, Section 2.5: only fragment 1 does)", i+1, f.NextPayload)
		}
		if i == 0 {
			first = f.NextPayload
		}
		p, err := o.Open(f.AssociatedData(), f.Body)
		if err != nil {
			t.Fatalf("fragment %d: %v", i+1, err)
		}
		plain = append(plain, p...)
	}
	return first, plain
}

func TestMarshalFragments(t *testing.T) {
	inner := windowsAuthInner()
	plain := encodeChain(t, inner)
	for _, c := range []struct {
		name   string
		cipher *xorCipher
		maxLen int
	}{
		{"windows_580_CBC_like", &xorCipher{key: 9, ivLen: 16, icvLen: 12, block: 16}, 580},
		{"GCM_like_1280", &xorCipher{key: 3, ivLen: 8, icvLen: 16, block: 1}, 1280},
		{"tiny_100", &xorCipher{key: 4, ivLen: 8, icvLen: 8, block: 8}, 100},
		{"one_fragment", &xorCipher{key: 5, ivLen: 8, icvLen: 8, block: 4}, 8000},
	} {
		t.Run(c.name, func(t *testing.T) {
			frags, err := MarshalFragments(authHeader(), inner, c.cipher, c.maxLen)
			if err != nil {
				t.Fatal(err)
			}
			overhead := HeaderLen + genericHeaderLen + 4
			for i, b := range frags {
				if len(b) > c.maxLen {
					t.Errorf("fragment %d of %d octets exceeds %d", i+1, len(b), c.maxLen)
				}
				if got := binary.BigEndian.Uint32(b[24:]); int(got) != len(b) {
					t.Errorf("fragment %d: header length %d, message %d", i+1, got, len(b))
				}
				if PayloadType(b[16]) != PayloadSKF {
					t.Errorf("fragment %d: first payload %s", i+1, PayloadType(b[16]))
				}
				if got := binary.BigEndian.Uint16(b[HeaderLen+2:]); int(got) != len(b)-HeaderLen {
					t.Errorf("fragment %d: SKF length %d, want %d", i+1, got, len(b)-HeaderLen)
				}
				if n, tot := binary.BigEndian.Uint16(b[HeaderLen+4:]), binary.BigEndian.Uint16(b[HeaderLen+6:]); int(n) != i+1 || int(tot) != len(frags) {
					t.Errorf("fragment %d: numbered %d/%d", i+1, n, tot)
				}
				// Every fragment but the last is as full as the cipher
				// allows: one more octet of plaintext would not fit.
				if i+1 < len(frags) {
					m, err := ParseMessage(b)
					if err != nil {
						t.Fatal(err)
					}
					p, err := c.cipher.Open(m.Fragment().AssociatedData(), m.Fragment().Body)
					if err != nil {
						t.Fatal(err)
					}
					if overhead+c.cipher.BodyLen(len(p)+1) <= c.maxLen {
						t.Errorf("fragment %d carries %d octets of plaintext; %d would fit in %d", i+1, len(p), len(p)+1, c.maxLen)
					}
				}
			}
			first, got := reassemble(t, frags, c.cipher)
			if first != PayloadIDi || !bytes.Equal(got, plain) {
				t.Fatalf("reassembled %d octets starting with %s, want %d starting with IDi", len(got), first, len(plain))
			}
			ps, err := ParsePayloads(first, got)
			if err != nil {
				t.Fatal(err)
			}
			if Summarize(ps) != Summarize(inner) {
				t.Errorf("reassembled payloads %s", Summarize(ps))
			}
			if c.name == "windows_580_CBC_like" && (len(frags) < 4 || len(frags) > 8) {
				t.Errorf("%d fragments of 580 octets; Windows sends about 7 (LAB.md)", len(frags))
			}
			if c.name == "one_fragment" && len(frags) != 1 {
				t.Errorf("%d fragments for a message that fits in one", len(frags))
			}
		})
	}
}

func TestMarshalFragmentsEdges(t *testing.T) {
	c := &xorCipher{key: 1, ivLen: 16, icvLen: 16, block: 16}
	if _, err := MarshalFragments(authHeader(), windowsAuthInner(), c, 60); err == nil {
		t.Errorf("a fragment size that leaves no room for data was accepted")
	}
	frags, err := MarshalFragments(authHeader(), nil, c, 500)
	if err != nil || len(frags) != 1 {
		t.Fatalf("no inner payloads: %d fragments, %v", len(frags), err)
	}
	m, err := ParseMessage(frags[0])
	if err != nil || m.Fragment().Number != 1 || m.Fragment().Total != 1 || m.Fragment().NextPayload != PayloadNone {
		t.Fatalf("empty fragment: %v %v", m, err)
	}
	if _, err := MarshalFragments(authHeader(), []Payload{&Nonce{}}, c, 500); err == nil {
		t.Errorf("an invalid inner payload was encoded")
	}
	// More than 65535 fragments cannot be numbered.
	if _, err := MarshalFragments(authHeader(), []Payload{&VendorID{Data: make([]byte, 40000)}, &VendorID{Data: make([]byte, 40000)}}, &xorCipher{key: 1, ivLen: 0, icvLen: 0, block: 1}, HeaderLen+8+2); err == nil {
		t.Errorf("more than 65535 fragments accepted")
	}
}

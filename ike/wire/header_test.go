package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestParseHeaderFields(t *testing.T) {
	// AOSP IkeHeaderTest: IKE_HEADER_HEX_STRING with its field constants.
	v := loadAOSP(t, "IkeHeaderTest")
	raw := v.hex(t, "IKE_HEADER_HEX_STRING")
	h, err := ParseHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.SPIi[:], v.hex(t, "IKE_INITIATOR_SPI"); !bytes.Equal(got, want) {
		t.Errorf("SPIi %x, want %x", got, want)
	}
	if got, want := h.SPIr[:], v.hex(t, "IKE_RESPODNER_SPI"); !bytes.Equal(got, want) || !h.SPIr.IsZero() {
		t.Errorf("SPIr %x, want %x (zero)", got, want)
	}
	if h.MajorVersion != 2 || h.MinorVersion != 0 {
		t.Errorf("version %d.%d, want IKE_MAJOR_VERSION 2 / IKE_MINOR_VERSION 0", h.MajorVersion, h.MinorVersion)
	}
	if h.Exchange != IKE_SA_INIT || h.MessageID != 0 || h.Length != 336 || h.NextPayload != PayloadSA {
		t.Errorf("exchange %s, message ID %d, length %d, first payload %s; want IKE_SA_INIT, 0, IKE_MSG_LENGTH 336, SA",
			h.Exchange, h.MessageID, h.Length, h.NextPayload)
	}
	if !h.IsInitiator() || h.IsResponse() || h.Flags != FlagInitiator {
		t.Errorf("flags %s, want I", h.Flags)
	}
	if got := h.Summary(); got != "IKE_SA_INIT request 0" {
		t.Errorf("summary %q", got)
	}
	if got := h.AppendHeader([]byte{0xee}); !bytes.Equal(got, append([]byte{0xee}, raw...)) {
		t.Errorf("AppendHeader\n %x\nwant\n ee%x", got, raw)
	}
	// The offsets the AOSP test names.
	if raw[17] != 0x20 || raw[18] != byte(IKE_SA_INIT) || binary.BigEndian.Uint32(raw[24:]) != 336 {
		t.Errorf("VERSION_OFFSET / EXCHANGE_TYPE_OFFSET / MESSAGE_LENGTH_OFFSET disagree with the vector")
	}
}

func TestHeaderRoundTripAndTruncation(t *testing.T) {
	h := Header{SPIi: SPI{1, 2, 3, 4, 5, 6, 7, 8}, SPIr: SPI{9, 10, 11, 12, 13, 14, 15, 16},
		NextPayload: PayloadSK, MajorVersion: 2, MinorVersion: 15, Exchange: INFORMATIONAL,
		Flags: FlagResponse | FlagVersion | 0x41, MessageID: 0xfffffffe, Length: 0x01020304}
	b := h.AppendHeader(nil)
	if len(b) != HeaderLen {
		t.Fatalf("header of %d octets", len(b))
	}
	got, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != h {
		t.Fatalf("round trip\n %+v\nwant\n %+v", *got, h)
	}
	for n := 0; n < HeaderLen; n++ {
		_, err := ParseHeader(b[:n])
		wantSyntaxError(t, err, PayloadNone)
	}
	if _, err := ParseHeader(append(b, 1, 2, 3)); err != nil {
		t.Errorf("ParseHeader must ignore what follows the header: %v", err)
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[Flags]string{
		0: "-", FlagInitiator: "I", FlagResponse: "R", FlagInitiator | FlagResponse: "IR",
		FlagInitiator | FlagVersion | FlagResponse: "IVR", 0x01: "+0x01", FlagResponse | 0x80: "R+0x80",
	} {
		if got := f.String(); got != want {
			t.Errorf("Flags(%#x) = %q, want %q", uint8(f), got, want)
		}
	}
}

func TestHeaderSummary(t *testing.T) {
	for _, c := range []struct {
		h    Header
		want string
	}{
		{Header{Exchange: IKE_AUTH, Flags: FlagResponse, MessageID: 1}, "IKE_AUTH response 1"},
		{Header{Exchange: CREATE_CHILD_SA, Flags: FlagInitiator, MessageID: 7}, "CREATE_CHILD_SA request 7"},
		{Header{Exchange: INFORMATIONAL, MessageID: 4294967295}, "INFORMATIONAL request 4294967295"},
		{Header{Exchange: 99}, "EXCHANGE_TYPE_99 request 0"},
		{Header{Exchange: IKE_INTERMEDIATE, Flags: FlagResponse}, "IKE_INTERMEDIATE response 0"},
	} {
		if got := c.h.Summary(); got != c.want {
			t.Errorf("Summary() = %q, want %q", got, c.want)
		}
	}
}

func TestParseMessageHeaderChecks(t *testing.T) {
	m := windowsSAInit()
	good, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("RFC7296_2.5_IKEv1_major_version_is_ErrVersion", func(t *testing.T) {
		b := bytes.Clone(good)
		b[17] = 0x10
		_, err := ParseMessage(b)
		if !errors.Is(err, ErrVersion) || !IsVersion(err) {
			t.Fatalf("error %v, want ErrVersion", err)
		}
		if !strings.Contains(err.Error(), "version 1.0") {
			t.Errorf("error %q does not name the version", err)
		}
		h, err := ParseHeader(b)
		if err != nil || h.MajorVersion != 1 {
			t.Fatalf("an IKEv1 header must still decode: %v %+v", err, h)
		}
	})
	t.Run("RFC7296_2.5_major_version_3_is_ErrVersion", func(t *testing.T) {
		b := bytes.Clone(good)
		b[17] = 0x30
		if _, err := ParseMessage(b); !IsVersion(err) {
			t.Fatalf("error %v, want ErrVersion", err)
		}
	})
	t.Run("RFC7296_2.5_higher_minor_version_accepted", func(t *testing.T) {
		b := bytes.Clone(good)
		b[17] = 0x21
		m, err := ParseMessage(b)
		if err != nil || m.MinorVersion != 1 {
			t.Fatalf("minor version 1: %v", err)
		}
		re, err := m.Marshal()
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("minor version lost in re-encoding: %v", err)
		}
	})
	t.Run("RFC7296_3.1_length_must_equal_datagram", func(t *testing.T) {
		for _, delta := range []int{-1, 1, 1000} {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[24:], uint32(len(b)+delta))
			_, err := ParseMessage(b)
			wantSyntaxError(t, err, PayloadNone)
		}
		_, err := ParseMessage(append(bytes.Clone(good), 0))
		wantSyntaxError(t, err, PayloadNone)
	})
	t.Run("message_over_65535_rejected", func(t *testing.T) {
		b := make([]byte, MaxMessageLen+1)
		copy(b, good[:HeaderLen])
		b[16] = 0
		binary.BigEndian.PutUint32(b[24:], uint32(len(b)))
		_, err := ParseMessage(b)
		wantSyntaxError(t, err, PayloadNone)
	})
	t.Run("header_alone_is_an_empty_message", func(t *testing.T) {
		h := Header{Exchange: INFORMATIONAL, MajorVersion: 2, Flags: FlagResponse, MessageID: 3, Length: HeaderLen}
		b := h.AppendHeader(nil)
		m, err := ParseMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Payloads) != 0 || m.Summary() != "INFORMATIONAL response 3 [ ]" || m.Encrypted() != nil || m.Fragment() != nil {
			t.Fatalf("got %q", m.Summary())
		}
		re, err := m.Marshal()
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("re-encoded %x, %v", re, err)
		}
	})
}

// TestMessagePrefixesRejected cuts valid messages at every length, both
// as is (the header length now disagrees) and with the header length fixed
// up to the cut (the payload chain is now short). Both must be syntax
// errors, never a panic.
func TestMessagePrefixesRejected(t *testing.T) {
	msgs := map[string][]byte{}
	m := windowsSAInit()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	msgs["windows_IKE_SA_INIT"] = b
	v := loadAOSP(t, "IkeMessageTest")
	msgs["aosp_IKE_AUTH"] = append(v.hex(t, "IKE_AUTH_HEADER_HEX_STRING"), v.hex(t, "IKE_AUTH_BODY_HEX_STRING")...)
	msgs["aosp_fragment"] = v.hex(t, "IKE_FRAG_HEX_STRING")
	msgs["aosp_empty_informational"] = v.hex(t, "IKE_EMPTY_INFO_MSG_HEX_STRING")
	for name, full := range msgs {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseMessage(full); err != nil {
				t.Fatalf("the full message: %v", err)
			}
			for n := 0; n < len(full); n++ {
				_, err := ParseMessage(full[:n])
				wantSyntaxError(t, err, PayloadNone) // the length check comes first
				if n < HeaderLen {
					continue
				}
				fixed := bytes.Clone(full[:n])
				binary.BigEndian.PutUint32(fixed[24:], uint32(n))
				if _, err := ParseMessage(fixed); err == nil {
					t.Fatalf("cut to %d/%d octets with a matching header length: accepted", n, len(full))
				} else {
					var se *SyntaxError
					if !errors.As(err, &se) {
						t.Fatalf("cut to %d: %v (%T), want *SyntaxError", n, err, err)
					}
				}
			}
		})
	}
}

func TestMessageMarshal(t *testing.T) {
	m := windowsSAInit()
	m.MajorVersion = 0 // Marshal fills in version 2
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if m.MajorVersion != 2 || m.Length != uint32(len(b)) || m.NextPayload != PayloadSA {
		t.Fatalf("header not filled in: %+v", m.Header)
	}
	if b[17] != 0x20 || binary.BigEndian.Uint32(b[24:]) != uint32(len(b)) || b[16] != byte(PayloadSA) {
		t.Fatalf("encoded header %x", b[:HeaderLen])
	}
	got, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Raw, b) {
		t.Errorf("Raw does not hold the received octets")
	}
	want := "IKE_SA_INIT request 0 [ SA KE No N(FRAG_SUP) N(NATD_S_IP) N(NATD_D_IP) V V V V ]"
	if got.Summary() != want {
		t.Errorf("summary\n %q\nwant\n %q", got.Summary(), want)
	}
	if len(got.Payloads[0].(*SA).Proposals) != 12 {
		t.Errorf("%d proposals", len(got.Payloads[0].(*SA).Proposals))
	}

	big := &Message{Header: Header{Exchange: IKE_AUTH}, Payloads: []Payload{
		&VendorID{Data: make([]byte, 40000)}, &VendorID{Data: make([]byte, 40000)}}}
	if _, err := big.Marshal(); err == nil || !strings.HasPrefix(err.Error(), "wire: ") {
		t.Errorf("message over 65535 octets: %v", err)
	}
}

// TestMessageUnknownPayloads: RFC 7296, Section 2.5 at the message level.
func TestMessageUnknownPayloads(t *testing.T) {
	base := windowsSAInit()
	base.Payloads = append(base.Payloads[:3:3], &Unknown{PType: 99, Data: []byte("future")}, base.Payloads[3])
	b := mustMarshal(t, base)

	t.Run("RFC7296_2.5_unknown_noncritical_payload_kept", func(t *testing.T) {
		m := roundTrip(t, "message", b)
		u, ok := m.Payloads[3].(*Unknown)
		if !ok || u.PType != 99 || string(u.Data) != "future" {
			t.Fatalf("payload 4 is %#v", m.Payloads[3])
		}
		if got := m.Summary(); got != "IKE_SA_INIT request 0 [ SA KE No PAYLOAD_99 N(FRAG_SUP) ]" {
			t.Errorf("summary %q", got)
		}
		if !strings.Contains(m.Dump(), "  PAYLOAD_99: not decoded, 6 octets\n") {
			t.Errorf("dump:\n%s", m.Dump())
		}
	})
	t.Run("RFC7296_2.5_unknown_critical_payload", func(t *testing.T) {
		crit := bytes.Clone(b)
		// The unknown payload follows SA, KE and No; set its critical bit.
		off := HeaderLen
		for i := 0; i < 3; i++ {
			off += int(binary.BigEndian.Uint16(crit[off+2:]))
		}
		crit[off+1] |= 0x80
		_, err := ParseMessage(crit)
		var ue *UnsupportedCriticalError
		if !errors.As(err, &ue) {
			t.Fatalf("error %v (%T), want *UnsupportedCriticalError", err, err)
		}
		if ue.Type != 99 || ue.Notify() != UNSUPPORTED_CRITICAL_PAYLOAD || !bytes.Equal(ue.NotifyData(), []byte{99}) {
			t.Errorf("error carries type %d, notify %s %x", ue.Type, ue.Notify(), ue.NotifyData())
		}
		if err.Error() != "wire: unsupported critical payload type 99" {
			t.Errorf("error %q", err)
		}
		var se *SyntaxError
		if errors.As(err, &se) {
			t.Errorf("an unsupported critical payload is not a syntax error")
		}
	})
}

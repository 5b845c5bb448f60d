package eap

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

func frame(t *testing.T, data []byte) *wire.EAPTLSFrame {
	t.Helper()
	f, err := parseTLS(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// RFC 5216, Section 2.1.5: L and the total length on the first of several
// fragments, M on all but the last.
func TestFragmenterFlags(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 25)
	f := fragmenter{size: 100}
	f.load(msg)
	var got []byte
	var flags []uint8
	for f.pending() {
		fr := frame(t, f.next())
		flags = append(flags, fr.Flags)
		if fr.Flags&wire.TLSFlagLength != 0 && fr.TotalLength != 250 {
			t.Errorf("total length %d", fr.TotalLength)
		}
		got = append(got, fr.TLSData...)
	}
	want := []uint8{wire.TLSFlagLength | wire.TLSFlagMore, wire.TLSFlagMore, 0}
	if !bytes.Equal(flags, want) || !bytes.Equal(got, msg) {
		t.Fatalf("flags %x, want %x; data ok %v", flags, want, bytes.Equal(got, msg))
	}
	f.load(msg[:100])
	if fr := frame(t, f.next()); fr.Flags != 0 || len(fr.TLSData) != 100 || f.pending() {
		t.Errorf("a message that fits: flags %x, %d octets", fr.Flags, len(fr.TLSData))
	}
}

func TestReassembler(t *testing.T) {
	msg := bytes.Repeat([]byte{0xab}, 250)
	r := reassembler{maxMsg: 1000, maxFrags: 10}
	f := fragmenter{size: 100}
	f.load(msg)
	for f.pending() {
		out, done, err := r.add(frame(t, f.next()))
		if err != nil {
			t.Fatal(err)
		}
		if done != !f.pending() || (done && !bytes.Equal(out, msg)) {
			t.Fatalf("done %v with %d octets", done, len(out))
		}
	}
	// The reassembler is ready for the next message, without L this time.
	if out, done, err := r.add(frame(t, tlsTypeData(0, 0, []byte{1, 2}))); err != nil || !done || len(out) != 2 {
		t.Fatalf("second message: %v %v %v", out, done, err)
	}
}

func TestReassemblerRefuses(t *testing.T) {
	L, M, S := uint8(wire.TLSFlagLength), uint8(wire.TLSFlagMore), uint8(wire.TLSFlagStart)
	for _, tc := range []struct {
		name   string
		frames [][]byte
		kind   error
	}{
		{"announced length over the limit", [][]byte{tlsTypeData(L|M, 5000, make([]byte, 10))}, ErrLimit},
		{"oversized single fragment", [][]byte{tlsTypeData(0, 0, make([]byte, 1001))}, ErrLimit},
		{"more data than announced", [][]byte{tlsTypeData(L|M, 150, make([]byte, 100)), tlsTypeData(0, 0, make([]byte, 100))}, ErrProtocol},
		{"less data than announced", [][]byte{tlsTypeData(L|M, 300, make([]byte, 100)), tlsTypeData(0, 0, make([]byte, 100))}, ErrProtocol},
		{"length changed", [][]byte{tlsTypeData(L|M, 300, make([]byte, 100)), tlsTypeData(L|M, 400, make([]byte, 100))}, ErrProtocol},
		{"length zero", [][]byte{tlsTypeData(L, 0, nil)}, ErrProtocol},
		{"empty fragment with M", [][]byte{tlsTypeData(M, 0, nil)}, ErrProtocol},
		{"start flag from the other side", [][]byte{tlsTypeData(S, 0, []byte{1})}, ErrProtocol},
		{"too many fragments", [][]byte{
			tlsTypeData(M, 0, []byte{1}), tlsTypeData(M, 0, []byte{1}), tlsTypeData(M, 0, []byte{1}), tlsTypeData(0, 0, []byte{1}),
		}, ErrLimit},
		{"growing past the limit without L", [][]byte{
			tlsTypeData(M, 0, make([]byte, 600)), tlsTypeData(M, 0, make([]byte, 600)),
		}, ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reassembler{maxMsg: 1000, maxFrags: 3}
			var err error
			for _, fr := range tc.frames {
				if _, _, err = r.add(frame(t, fr)); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want %v", err, tc.kind)
			}
		})
	}
}

// The wire codec refuses EAP-TLS whose L flag lacks its length.
func TestParseTLSTruncatedLength(t *testing.T) {
	if _, err := parseTLS([]byte{wire.TLSFlagLength, 0, 0}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("truncated length accepted: %v", err)
	}
	if _, err := parseTLS(nil); !errors.Is(err, ErrProtocol) {
		t.Fatalf("missing flags accepted: %v", err)
	}
}

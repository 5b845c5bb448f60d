package wire

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// Native fuzz targets. Seeds come from marshalled sample values, the
// Apache-licensed AOSP vectors in testdata/aosp, and, when the shared
// corpus is present, every IKEv2 message of its captures (read here at
// setup, never copied into testdata). Run one at a time, e.g.
//
//	go test -run '^$' -fuzz '^FuzzMessage$' -fuzztime 10s ./ike/wire/

// corpusMessages returns the IKEv2 messages of the shared corpus, or nil
// when it is absent: fuzz setup keeps the other seeds rather than skip.
func corpusMessages(f *testing.F) [][]byte {
	f.Helper()
	dir, _ := findCorpus()
	if dir == "" {
		return nil
	}
	var out [][]byte
	for _, rel := range captureFiles(f, dir) {
		for _, d := range ikev2Datagrams(f, filepath.Join(dir, rel)) {
			out = append(out, d.Data)
		}
	}
	return out
}

// seedMessages are whole messages: the AOSP ones, the Windows-like
// IKE_SA_INIT and an SK / SKF pair built here, and the corpus.
func seedMessages(f *testing.F) [][]byte {
	var out [][]byte
	for _, d := range ikev2Datagrams(f, filepath.Join("testdata", "aosp", "aosp-ike-messages.pcap")) {
		out = append(out, d.Data)
	}
	out = append(out, mustMarshal(f, windowsSAInit()))
	c := &xorCipher{key: 1, ivLen: 8, icvLen: 8, block: 8}
	if b, err := MarshalEncrypted(authHeader(), []Payload{NewNotify(COOKIE, seq(8, 0))}, windowsAuthInner(), c); err == nil {
		out = append(out, b)
	}
	if frags, err := MarshalFragments(authHeader(), windowsAuthInner()[:3], c, 600); err == nil {
		out = append(out, frags...)
	}
	return append(out, corpusMessages(f)...)
}

// checkMessage is the invariant of FuzzMessage: no panic; a message that
// decodes also encodes, and decoding the encoding gives the same message
// (compared by encoding again and with reflect.DeepEqual on the header).
func checkMessage(t *testing.T, data []byte) {
	m, err := ParseMessage(data)
	if err != nil {
		var se *SyntaxError
		var ue *UnsupportedCriticalError
		if !errors.As(err, &se) && !errors.As(err, &ue) && !IsVersion(err) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		return
	}
	_ = m.Summary()
	_ = m.Dump()
	enc, err := m.Marshal()
	if err != nil {
		t.Fatalf("decoded message does not encode: %v\n%s", err, m.Dump())
	}
	m2, err := ParseMessage(enc)
	if err != nil {
		t.Fatalf("encoding does not decode: %v\n%x", err, enc)
	}
	if !reflect.DeepEqual(m2.Header, m.Header) {
		t.Fatalf("header changed: %+v\nthen %+v", m.Header, m2.Header)
	}
	enc2, err := m2.Marshal()
	if err != nil || !bytes.Equal(enc2, enc) {
		t.Fatalf("second encoding differs: %v\n%x\n%x", err, enc, enc2)
	}
	if m.Summary() != m2.Summary() {
		t.Fatalf("summary changed: %q then %q", m.Summary(), m2.Summary())
	}
}

func FuzzMessage(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	f.Fuzz(checkMessage)
}

func FuzzHeader(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b[:min(len(b), HeaderLen+4)])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			if len(data) >= HeaderLen {
				t.Fatalf("%d octets rejected: %v", len(data), err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("untyped error %T", err)
			}
			return
		}
		_ = h.Summary()
		if got := h.AppendHeader(nil); !bytes.Equal(got, data[:HeaderLen]) {
			t.Fatalf("header re-encodes to %x, want %x", got, data[:HeaderLen])
		}
	})
}

// fuzzPayload runs one payload decoder through ParsePayloads with a
// one-payload chain of type typ: the fuzzer supplies the flags octet and
// the body; the generic header's length is made consistent.
func fuzzPayload(f *testing.F, typ PayloadType, types ...PayloadType) {
	want := map[PayloadType]bool{typ: true}
	for _, t := range types {
		want[t] = true
	}
	// Marshalled sample values.
	for _, s := range samplePayloads() {
		if want[s.p.Type()] {
			f.Add(s.p.generic().Flags, encodeBody(s.p))
		}
	}
	// Bodies of this type found in the AOSP vectors and the corpus,
	// including the inner payloads of the AOSP decrypted SK contents.
	var ms []*Message
	for _, b := range seedMessages(f) {
		if m, err := ParseMessage(b); err == nil {
			ms = append(ms, m)
		}
	}
	seen := 0
	add := func(ps []Payload) {
		for _, p := range ps {
			if want[p.Type()] && seen < 200 {
				f.Add(p.generic().Flags, encodeBody(p))
				seen++
			}
		}
	}
	for _, m := range ms {
		add(m.Payloads)
	}
	for _, name := range []string{"IkeMessageTest", "IkeEncryptedPayloadBodyTest"} {
		v := loadAOSP(f, name)
		for _, b := range v.allHex() {
			for _, first := range []PayloadType{PayloadIDi, PayloadEAP, PayloadAUTH} {
				if ps, err := ParsePayloads(first, b); err == nil {
					add(ps)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, flags uint8, body []byte) {
		if len(body) > 0xffff-genericHeaderLen {
			return
		}
		in := chain(flags, body)
		ps, err := ParsePayloads(typ, in)
		if err != nil {
			var se *SyntaxError
			var ue *UnsupportedCriticalError
			if !errors.As(err, &se) && !(errors.As(err, &ue) && newPayload(typ) == nil && flags&flagCritical != 0) {
				t.Fatalf("error %T: %v, want *SyntaxError", err, err)
			}
			return
		}
		if len(ps) != 1 || ps[0].Type() != typ {
			t.Fatalf("one-payload chain decoded as %s", Summarize(ps))
		}
		_ = Summarize(ps)
		_ = describe(ps[0])
		enc, first, err := AppendPayloads(nil, ps)
		if err != nil {
			t.Fatalf("decoded payload does not encode: %v", err)
		}
		if first != typ {
			t.Fatalf("encoded as %s", first)
		}
		ps2, err := ParsePayloads(first, enc)
		if err != nil {
			t.Fatalf("encoding does not decode: %v\n%x", err, enc)
		}
		if !reflect.DeepEqual(ps2, ps) {
			t.Fatalf("decode(encode(decode(x))) differs:\n%#v\n%#v", ps[0], ps2[0])
		}
		// Every field is kept except the SA reserved octets, so the
		// octets come back unchanged.
		if typ != PayloadSA && !bytes.Equal(enc, in) {
			t.Fatalf("re-encoded\n %x\nwant\n %x", enc, in)
		}
	})
}

func FuzzPayloadSA(f *testing.F)      { fuzzPayload(f, PayloadSA) }
func FuzzPayloadKE(f *testing.F)      { fuzzPayload(f, PayloadKE) }
func FuzzPayloadIDi(f *testing.F)     { fuzzPayload(f, PayloadIDi, PayloadIDr) }
func FuzzPayloadIDr(f *testing.F)     { fuzzPayload(f, PayloadIDr, PayloadIDi) }
func FuzzPayloadCERT(f *testing.F)    { fuzzPayload(f, PayloadCERT) }
func FuzzPayloadCERTREQ(f *testing.F) { fuzzPayload(f, PayloadCERTREQ) }
func FuzzPayloadAUTH(f *testing.F)    { fuzzPayload(f, PayloadAUTH) }
func FuzzPayloadNonce(f *testing.F)   { fuzzPayload(f, PayloadNonce) }
func FuzzPayloadNotify(f *testing.F)  { fuzzPayload(f, PayloadNotify) }
func FuzzPayloadDelete(f *testing.F)  { fuzzPayload(f, PayloadDelete) }
func FuzzPayloadVendor(f *testing.F)  { fuzzPayload(f, PayloadVendorID) }
func FuzzPayloadTSi(f *testing.F)     { fuzzPayload(f, PayloadTSi, PayloadTSr) }
func FuzzPayloadTSr(f *testing.F)     { fuzzPayload(f, PayloadTSr, PayloadTSi) }
func FuzzPayloadSK(f *testing.F)      { fuzzPayload(f, PayloadSK) }
func FuzzPayloadCP(f *testing.F)      { fuzzPayload(f, PayloadCP) }
func FuzzPayloadEAP(f *testing.F)     { fuzzPayload(f, PayloadEAP) }
func FuzzPayloadSKF(f *testing.F)     { fuzzPayload(f, PayloadSKF) }
func FuzzPayloadUnknown(f *testing.F) { fuzzPayload(f, PayloadGSPM) }

// FuzzPayloadChain decodes arbitrary chains starting with any type, the
// way an SK payload's decrypted contents are decoded.
func FuzzPayloadChain(f *testing.F) {
	for _, s := range samplePayloads() {
		b, _ := encodeOne(s.p)
		f.Add(uint8(s.p.Type()), b)
	}
	var inner []Payload
	for _, s := range samplePayloads() {
		if s.p.Type() != PayloadSK && s.p.Type() != PayloadSKF {
			inner = append(inner, s.p)
		}
	}
	if b, first, err := AppendPayloads(nil, inner); err == nil {
		f.Add(uint8(first), b)
	}
	f.Fuzz(func(t *testing.T, first uint8, data []byte) {
		ps, err := ParsePayloads(PayloadType(first), data)
		if err != nil {
			return
		}
		enc, _, err := AppendPayloads(nil, ps)
		if err != nil {
			t.Fatalf("decoded chain does not encode: %v", err)
		}
		ps2, err := ParsePayloads(PayloadType(first), enc)
		if err != nil {
			t.Fatalf("encoding does not decode: %v", err)
		}
		if len(ps) > 0 && ps[0].Type() != PayloadType(first) {
			t.Fatalf("first payload %s", ps[0].Type())
		}
		if !reflect.DeepEqual(ps2, ps) {
			t.Fatalf("decode(encode(decode(x))) differs")
		}
	})
}

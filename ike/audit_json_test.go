package ike

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/internal/jsonw"
)

// fullAudit is an established certificate handshake with every field that
// encoding/json writes set (in the first element of each slice), and
// strings that need escaping: quotes, backslashes, control characters,
// <>&, U+2028, invalid UTF-8, non-ASCII.
func fullAudit() *Audit {
	at := time.Date(2025, 6, 1, 12, 0, 0, 120000000, time.UTC)
	nb := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Audit{
		Time: at, Event: "established", Result: "ok",
		Peer: "192.0.2.10:4500", Local: "[2001:db8::1]:4500",
		SPIi: "0x1122334455667788", SPIr: "0x99aabbccddeeff00",

		VendorIDs:    []string{"MS NT5 ISAKMPOAKLEY v9", "\x01R\x8b\xbb\xc0\x06\x96\x12"},
		ClientFamily: "windows",
		NATLocal:     true, NATRemote: true,

		IKEOffered: []string{"AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", "AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"},
		IKEChosen:  "AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
		ESPOffered: []string{"AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ"},
		ESPChosen:  "AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ",
		Insecure:   []string{"HMAC_SHA1_96", "MODP_1024"},
		KEGroup:    "ECP_384",
		PFSGroup:   "CURVE_25519",

		AuthMethod: "ECDSA_SHA256_P256",
		PeerID:     `DER_ASN1_DN CN="laptop\7", O=Grüße & <Co>` + "\u2028",
		Certificate: &trust.Decision{
			Accepted: true, Reason: "accepted: chain to CN=Root CA", Failure: "none",
			Time: at.In(time.FixedZone("CEST", 2*3600)), Subject: "CN=laptop\x00",
			ChainInfo: []trust.CertInfo{
				{Subject: "CN=laptop", Issuer: "CN=Inter", Serial: "0x1f", NotBefore: nb, NotAfter: nb.AddDate(2, 0, 0), SHA256: strings.Repeat("ab", 32)},
				{Subject: "CN=Inter", Issuer: "CN=Root CA", Serial: "0x02", NotBefore: nb, NotAfter: nb.AddDate(10, 0, 0), SHA256: strings.Repeat("cd", 32)},
			},
			Checks: []trust.Check{
				{Name: trust.CheckRevocation, Status: trust.StatusOK, Subject: "CN=laptop", Detail: "good\tper CRL",
					Revocation: &trust.RevocationInfo{Status: "good", Serial: "0x1f", Method: "crl", Source: "http://crl.test/i.crl?a=1&b=2",
						ThisUpdate: nb, NextUpdate: nb.AddDate(0, 0, 7), RevokedAt: nb, Reason: "none", Problems: []string{"ocsp: timeout\n"}}},
				{Name: trust.CheckEKU, Status: trust.StatusOK, Detail: "clientAuth"},
			},
		},

		AssignedIP: []string{"10.8.0.2", "fd00::2"},
		TSi:        []string{"10.8.0.2/32"},
		TSr:        []string{"0.0.0.0/0", "::/0"},
		ChildSPIs:  []string{"0xc0ffee01_i", "0xc0ffee02_o"},

		Notify: "NO_PROPOSAL_CHOSEN\xff",
		Reason: `policy "strict" \ refused`,
	}
}

var auditCases = map[string]*Audit{
	"full": fullAudit(),
	"nil":  nil,
	"zero": {},
	"empty slices": {VendorIDs: []string{}, IKEOffered: []string{}, ESPOffered: []string{}, Insecure: []string{},
		AssignedIP: []string{}, TSi: []string{}, TSr: []string{}, ChildSPIs: []string{},
		Certificate: &trust.Decision{ChainInfo: []trust.CertInfo{}, Checks: []trust.Check{}}},
	"decision without checks": {Event: "refused", Result: "failed", Certificate: &trust.Decision{}},
	"year 10000":              {Event: "deleted", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	"bad certificate time":    {Certificate: &trust.Decision{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 24*3600))}},
}

// encoderOutput is what JSONAuditor wrote before AppendJSON, in
// jsonw.Canonical form (Go 1.27's encoding/json writes the replacement
// character for invalid UTF-8 unescaped).
func encoderOutput(a *Audit) []byte {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(a)
	return jsonw.Canonical(buf.Bytes())
}

func TestAuditAppendJSON(t *testing.T) {
	for name, a := range auditCases {
		t.Run(name, func(t *testing.T) {
			want := encoderOutput(a)
			if m, err := json.Marshal(a); err == nil && string(jsonw.Canonical(m))+"\n" != string(want) {
				t.Fatalf("json.Marshal and json.Encoder disagree:\n%s\n%s", m, want)
			}
			got := jsonw.Canonical(a.AppendJSON([]byte("x")))
			if len(want) == 0 {
				if string(got) != "x" {
					t.Fatalf("encoding/json refuses the record, but AppendJSON wrote %s", got)
				}
				return
			}
			if string(got)+"\n" != "x"+string(want) {
				t.Errorf("AppendJSON wrote\nx%s\njson.Encoder writes\n%s", got[1:], want)
			}
		})
	}
}

// TestAuditJSONCoversFields fails when Audit gains a field that AppendJSON
// does not know of (fullAudit must then set it), or when a field's type
// gains a MarshalJSON or MarshalText method, which encoding/json would call
// and AppendJSON would not.
func TestAuditJSONCoversFields(t *testing.T) {
	for _, problem := range jsonw.Uncovered(fullAudit()) {
		t.Error(problem)
	}
}

// writeRecorder keeps each Write as one entry.
type writeRecorder struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// TestJSONAuditor writes records from several goroutines: each record is
// one Write of one line, what json.Encoder wrote, and a record that
// encoding/json refuses writes nothing, as before.
func TestJSONAuditor(t *testing.T) {
	const goroutines, rounds = 4, 25
	var w writeRecorder
	sink := JSONAuditor(&w)
	want := map[string]int{}
	var wg sync.WaitGroup
	for range goroutines {
		for _, a := range auditCases {
			if line := encoderOutput(a); len(line) > 0 {
				want[string(line)] += rounds
			}
		}
		wg.Go(func() {
			for range rounds {
				for _, a := range auditCases {
					sink(a)
				}
			}
		})
	}
	wg.Wait()
	got := map[string]int{}
	for _, s := range w.writes {
		got[string(jsonw.Canonical([]byte(s)))]++
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("writes, by content and count:\n%v\nwant:\n%v", got, want)
	}
}

func TestAuditJSONAllocs(t *testing.T) {
	a := fullAudit()
	buf := a.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { buf = a.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON into a large enough buffer: %v allocations, want 0", n)
	}
	sink := JSONAuditor(io.Discard)
	sink(a)
	if n := testing.AllocsPerRun(100, func() { sink(a) }); n != 0 {
		t.Errorf("JSONAuditor, after the first record: %v allocations per record, want 0", n)
	}
}

// FuzzAuditJSON builds records from fuzzed strings, times and flags (which
// slices are nil, empty or set, which booleans and pointers are set) and
// checks AppendJSON against encoding/json, failures included.
func FuzzAuditJSON(f *testing.F) {
	f.Add("established", `CN="x"\<&>`+"\u2028\xff", "a,b\x00,é", int64(1748779200), int64(123456789), int32(7200), uint64(0xffffffffffffffff))
	f.Add("", "", "", int64(0), int64(0), int32(0), uint64(0))
	f.Add("refused", "ok", ",", int64(-62135596800), int64(0), int32(-3600), uint64(0x5555555555555555))
	f.Add("deleted", "ok", "", int64(253402300800), int64(1), int32(0), uint64(0xaaaaaaaaaaaaaaaa)) // year 10000
	f.Add("deleted", "ok", "x", int64(1), int64(0), int32(24*3600), uint64(0x123456789abcdef0))     // offset 24h
	f.Fuzz(func(t *testing.T, s1, s2, list string, sec, nsec int64, zone int32, flags uint64) {
		a := fuzzAudit(s1, s2, list, time.Unix(sec, nsec).In(time.FixedZone("", int(zone))), flags)
		want, err := json.Marshal(a)
		want = jsonw.Canonical(want)
		got := jsonw.Canonical(a.AppendJSON([]byte("x")))
		if err != nil {
			if string(got) != "x" {
				t.Fatalf("encoding/json refuses the record (%v), but AppendJSON wrote %s", err, got)
			}
			return
		}
		if string(got[1:]) != string(want) {
			t.Fatalf("AppendJSON wrote\n%s\nencoding/json writes\n%s", got[1:], want)
		}
	})
}

// fuzzAudit fills every field of an Audit from two strings, a
// comma-separated list, a time and the bits of flags.
func fuzzAudit(s1, s2, list string, tm time.Time, flags uint64) *Audit {
	bit := func() bool { flags = flags>>1 | flags<<63; return flags&1 != 0 }
	str := func(s string) string {
		if bit() {
			return s
		}
		return ""
	}
	strs := func() []string {
		switch {
		case bit():
			return nil
		case bit():
			return []string{}
		}
		return strings.Split(list, ",")
	}
	when := func() time.Time {
		if bit() {
			return tm
		}
		return time.Time{}
	}
	a := &Audit{
		Time: tm, Event: s1, Result: s2, Peer: str(s1), Local: str(s2), SPIi: str(s1), SPIr: str(s2),
		VendorIDs: strs(), ClientFamily: str(s1), NATLocal: bit(), NATRemote: bit(),
		IKEOffered: strs(), IKEChosen: str(s2), ESPOffered: strs(), ESPChosen: str(s1), Insecure: strs(),
		KEGroup: str(s2), PFSGroup: str(s1), AuthMethod: str(s2), PeerID: str(s1),
		AssignedIP: strs(), TSi: strs(), TSr: strs(), ChildSPIs: strs(), Notify: str(s2), Reason: str(s1),
	}
	if bit() {
		d := &trust.Decision{Accepted: bit(), Reason: s2, Failure: str(s1), Time: when(), Subject: str(s2)}
		if bit() {
			d.ChainInfo = []trust.CertInfo{{Subject: s1, Issuer: s2, Serial: str(s1), NotBefore: when(), NotAfter: when(), SHA256: str(s2)}}
		}
		names := strs()
		if names != nil {
			d.Checks = []trust.Check{}
		}
		for _, name := range names {
			c := trust.Check{Name: name, Status: trust.Status(str(s1)), Subject: str(s2), Detail: s1}
			if bit() {
				c.Revocation = &trust.RevocationInfo{Status: s2, Serial: str(s1), Method: str(s2), Source: str(s1),
					ThisUpdate: when(), NextUpdate: when(), RevokedAt: when(), Reason: str(s2), Problems: strs()}
			}
			d.Checks = append(d.Checks, c)
		}
		a.Certificate = d
	}
	return a
}

// BenchmarkAuditJSON compares encoding/json with AppendJSON on fullAudit,
// an established certificate handshake.
func BenchmarkAuditJSON(b *testing.B) {
	a := fullAudit()
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Encoder", func(b *testing.B) { // the old JSONAuditor
		enc := json.NewEncoder(io.Discard)
		for b.Loop() {
			enc.Encode(a)
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = a.AppendJSON(buf[:0])
		}
	})
	b.Run("JSONAuditor", func(b *testing.B) {
		sink := JSONAuditor(io.Discard)
		for b.Loop() {
			sink(a)
		}
	})
}

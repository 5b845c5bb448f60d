package jsonw

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// marshal is what encoding/json writes for v, in Canonical form, or nil if
// it refuses v.
func marshal(t testing.TB, v any) []byte {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return Canonical(out)
}

var stringCases = map[string]string{
	"empty":             "",
	"plain":             "ike_sa_init",
	"quote backslash":   `CN="a\b"`,
	"named controls":    "\b\f\n\r\t",
	"other controls":    "\x00\x01\x1b\x1f",
	"del":               "a\x7fb",
	"html":              "<script>&</script>",
	"line separators":   "a\u2028b\u2029c",
	"invalid utf-8":     "a\xffb\xc3(\xe2\x28\xa1\xf0\x90\x28",
	"truncated rune":    "ok\xe2\x82",
	"surrogate half":    "\xed\xa0\x80",
	"non-ascii":         "Grüße, 東京, 🔐",
	"replacement char":  "\ufffd",
	"escape at the end": "abc\n",
}

func TestAppendString(t *testing.T) {
	for name, s := range stringCases {
		t.Run(name, func(t *testing.T) {
			want := marshal(t, s)
			got := Canonical(AppendString([]byte("prefix"), s))
			if string(got) != "prefix"+string(want) {
				t.Errorf("AppendString(%q) = %s, encoding/json writes %s", s, got[len("prefix"):], want)
			}
		})
	}
}

// FuzzAppendString checks the escaping of any string against
// encoding/json's, invalid UTF-8 included.
func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Canonical(AppendString(nil, s)), marshal(t, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

func TestAppendTime(t *testing.T) {
	tests := map[string]time.Time{
		"zero":           {},
		"utc":            time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC),
		"nanoseconds":    time.Date(2025, 3, 1, 12, 30, 0, 123456789, time.UTC),
		"trailing zeros": time.Date(2025, 3, 1, 12, 30, 0, 120000000, time.UTC),
		"offset":         time.Date(2025, 3, 1, 12, 30, 0, 5, time.FixedZone("X", -(9*3600+30*60))),
		"offset seconds": time.Date(2025, 3, 1, 12, 30, 0, 0, time.FixedZone("X", 3600+59)),
		"monotonic":      time.Now(),
		"year 0":         time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"year 9999":      time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"year 10000":     time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"year -1":        time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		"offset 24h":     time.Date(2025, 3, 1, 0, 0, 0, 0, time.FixedZone("X", 24*3600)),
	}
	for name, tm := range tests {
		t.Run(name, func(t *testing.T) {
			want := marshal(t, tm)
			got, err := AppendTime([]byte("x"), tm)
			if want == nil {
				if err == nil || string(got) != "x" {
					t.Errorf("AppendTime(%v) = %s, %v; encoding/json refuses it, so want x and an error", tm, got, err)
				}
				return
			}
			if err != nil || string(got) != "x"+string(want) {
				t.Errorf("AppendTime(%v) = %s, %v; encoding/json writes %s", tm, got, err, want)
			}
		})
	}
}

// item and record exercise every Object method against encoding/json.
type item struct {
	N string `json:"n"`
	T time.Time
}

func (it item) AppendJSON(b []byte) []byte {
	o := BeginObject(b)
	o.String("n", it.N)
	o.Time("T", it.T)
	return o.End()
}

type record struct {
	S    string    `json:"s"`
	SO   string    `json:"so,omitempty"`
	B    bool      `json:"b"`
	BO   bool      `json:"bo,omitempty"`
	L    []string  `json:"l"`
	LO   []string  `json:"lo,omitempty"`
	T    time.Time `json:"t"`
	TZ   time.Time `json:"tz,omitzero"`
	PO   *item     `json:"po,omitempty"`
	A    []item    `json:"a"`
	AO   []item    `json:"ao,omitempty"`
	Skip []item    `json:"-"`
}

func (r *record) AppendJSON(b []byte) []byte {
	o := BeginObject(b)
	o.String("s", r.S)
	o.StringOmitEmpty("so", r.SO)
	o.Bool("b", r.B)
	o.BoolOmitEmpty("bo", r.BO)
	o.Strings("l", r.L)
	o.StringsOmitEmpty("lo", r.LO)
	o.Time("t", r.T)
	o.TimeOmitZero("tz", r.TZ)
	if r.PO != nil {
		o.Value("po", r.PO)
	}
	Array(&o, "a", r.A)
	ArrayOmitEmpty(&o, "ao", r.AO)
	return o.End()
}

func TestObject(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 30, 0, 42, time.UTC)
	tests := map[string]record{
		"zero": {},
		"empty slices": {L: []string{}, LO: []string{}, A: []item{}, AO: []item{},
			TZ: time.Time{}.In(time.FixedZone("X", 3600))},
		"full": {S: "s<", SO: "so", B: true, BO: true, L: []string{"a", ""}, LO: []string{"\n"},
			T: now, TZ: now, Skip: []item{{}}, PO: &item{N: "po", T: now},
			A: []item{{N: "a1"}, {N: "a2", T: now}}, AO: []item{{N: "\u2028"}}},
		"bad time":        {T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), S: "x"},
		"bad nested time": {PO: &item{T: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"bad array time":  {A: []item{{}, {T: time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 25*3600))}}},
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			want := marshal(t, &r)
			got := Canonical(r.AppendJSON([]byte("prefix")))
			if string(got) != "prefix"+string(want) {
				t.Errorf("got  %s\nwant prefix%s", got, want)
			}
		})
	}
}

// A member written once with AppendArray and then with Raw reads as
// Array writes it; a failed element or an empty Raw fails the object.
func TestAppendArrayRaw(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 30, 0, 42, time.UTC)
	for name, a := range map[string][]item{"nil": nil, "empty": {}, "two": {{N: "a<"}, {N: "b", T: now}}} {
		t.Run(name, func(t *testing.T) {
			direct := BeginObject(nil)
			Array(&direct, "a", a)
			kept, ok := AppendArray(nil, a)
			require.True(t, ok)
			raw := BeginObject(nil)
			raw.Raw("a", kept)
			assert.Equal(t, string(direct.End()), string(raw.End()))
		})
	}
	_, ok := AppendArray(nil, []item{{T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}})
	assert.False(t, ok, "an element that cannot be encoded")
	o := BeginObject([]byte("x"))
	o.Raw("a", nil)
	assert.Equal(t, "x", string(o.End()), "an empty raw value fails the object")
}

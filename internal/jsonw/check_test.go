package jsonw

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestUncovered(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
		Note string `json:"note,omitempty"`
	}
	type record struct {
		When   time.Time `json:"when"`
		Items  []inner   `json:"items"`
		Ptr    *inner    `json:"ptr"`
		Skip   string    `json:"-"`
		hidden string
	}
	full := &record{When: time.Unix(1, 0), Items: []inner{{"a", "b"}}, Ptr: &inner{"c", "d"}}
	assert.Empty(t, Uncovered(full), "every written field set; json:\"-\" and unexported fields ignored")

	full.Items[0].Note = ""
	full.Ptr = nil
	assert.Equal(t, []string{
		"record.Items.Note is not set in the test value: set it, and encode it in AppendJSON",
		"record.Ptr is not set in the test value: set it, and encode it in AppendJSON",
	}, Uncovered(full))

	type withMarshaler struct {
		Addr netip.Addr `json:"addr"` // has MarshalText
	}
	got := Uncovered(&withMarshaler{Addr: netip.MustParseAddr("192.0.2.1")})
	assert.Len(t, got, 2, "the value and the pointer type both implement it")
	assert.Contains(t, got[0], "withMarshaler.Addr: netip.Addr has a MarshalJSON or MarshalText method")
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		`"a\ufffdb"`:     "\"a\uFFFDb\"",
		`"\uFFFD"`:       "\"\uFFFD\"",
		`"a\\ufffdb"`:    `"a\\ufffdb"`, // an escaped backslash, then text
		`"\\\ufffd"`:     "\"\\\\\uFFFD\"",
		`"\u2028\n\""`:   `"\u2028\n\""`,
		`{"k":"\ufff"}`:  `{"k":"\ufff"}`,
		"\"raw \uFFFD\"": "\"raw \uFFFD\"",
		`\`:              `\`,
	} {
		assert.Equal(t, want, string(Canonical([]byte(in))), "Canonical(%s)", in)
	}
}

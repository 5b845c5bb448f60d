package ike

import (
	"strconv"
	"testing"
	"unsafe"
)

func TestTextsIntern(t *testing.T) {
	const text = "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256"
	var tt texts
	b := []byte(text)
	first := tt.intern(b)
	b[0] = 'X' // the caller's buffer is not kept
	if first != text {
		t.Fatalf("intern returned %q, want %q", first, text)
	}
	if again := tt.intern([]byte(text)); unsafe.StringData(again) != unsafe.StringData(first) {
		t.Error("a repeated text is not shared")
	}
	if n := testing.AllocsPerRun(100, func() { tt.intern(b) }); n != 0 {
		t.Errorf("a known text costs %v allocations, want none", n)
	}

	long := make([]byte, maxTextLen+1)
	if got := tt.intern(long); got != string(long) || len(tt.m) != 2 {
		t.Errorf("a text longer than maxTextLen: got %d octets, table of %d, want it returned and not kept", len(got), len(tt.m))
	}

	// Past maxTexts new texts are still returned, only no longer kept.
	for i := range maxTexts + 10 {
		s := strconv.Itoa(i)
		if got := tt.intern([]byte(s)); got != s {
			t.Fatalf("intern(%q) = %q", s, got)
		}
	}
	if len(tt.m) != maxTexts {
		t.Errorf("the table holds %d texts, want at most %d", len(tt.m), maxTexts)
	}
}

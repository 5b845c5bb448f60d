package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFirstDiff(t *testing.T) {
	for _, c := range []struct {
		want, got string
		line      int
		w, g      string
	}{
		{"a\nb\n", "a\nb\n", 0, "", ""},
		{"a\nb\nc", "a\nx\nc", 2, "b", "x"},
		{"a\nb", "a\nb\nc", 3, noLine, "c"}, // got is longer
		{"a\nb\nc", "a\nb", 3, "c", noLine}, // got is shorter
		{"a\n", "a", 2, "", noLine},         // only the final newline
		{"", "x", 1, "", "x"},
	} {
		line, w, g := FirstDiff(c.want, c.got)
		if line != c.line || w != c.w || g != c.g {
			t.Errorf("FirstDiff(%q, %q) = %d, %q, %q; want %d, %q, %q", c.want, c.got, line, w, g, c.line, c.w, c.g)
		}
	}
}

// fatalT records Fatal instead of stopping the test.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Helper()               {}
func (f *fatalT) Fatal(...any)          { f.failed = true }
func (f *fatalT) Fatalf(string, ...any) { f.failed = true }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.golden")
	f := &fatalT{TB: t}
	Check(f, path, "x\n", false)
	if !f.failed {
		t.Error("a missing file passes")
	}
	f = &fatalT{TB: t}
	Check(f, path, "a\nb\n", true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\nb\n" || f.failed {
		t.Fatalf("update wrote %q, %v", b, err)
	}
	Check(f, path, "a\nb\n", false)
	if f.failed {
		t.Error("the same output fails")
	}
	Check(f, path, "a\nc\n", false)
	if !f.failed {
		t.Error("a different output passes")
	}
}

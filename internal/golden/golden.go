// Package golden compares a test's output with the output it expects,
// from a file or a reference implementation, and points at the first line
// that differs: outputs of hundreds of lines are unreadable whole.
package golden

import (
	"os"
	"strings"
	"testing"
)

// FirstDiff returns the first line, counted from 1, at which want and got
// differ, and that line of each; a side that has already ended shows as
// "(no line)". line is 0 when they are equal.
func FirstDiff(want, got string) (line int, wantLine, gotLine string) {
	if want == got {
		return 0, "", ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	at := func(lines []string, i int) string {
		if i < len(lines) {
			return lines[i]
		}
		return noLine
	}
	for i := range max(len(w), len(g)) {
		// A line past the end differs even from an empty line.
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			return i + 1, at(w, i), at(g, i)
		}
	}
	panic("golden: different strings with the same lines") // strings.Split is one to one
}

// noLine stands for the line of an output that has already ended.
const noLine = "(no line)"

// Check fails t unless got is the content of the file at path. With
// update set it writes got to the file instead, for a test's -update flag.
func Check(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with the test's update flag)", err)
	}
	if line, w, g := FirstDiff(string(want), got); line != 0 {
		t.Fatalf("output differs from %s at line %d:\ngot:  %q\nwant: %q", path, line, g, w)
	}
}

package crypto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/internal/corpus"
)

// corpusDir returns ../shared/corpus or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	return corpus.Dir(t)
}

// section is one "[name]" block of a vector file: "key = value" lines, with
// '#' comments and blank lines ignored.
type section struct {
	name string
	f    map[string]string
}

func loadSections(t testing.TB, path string) []section {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []section
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			out = append(out, section{name: line[1 : len(line)-1], f: map[string]string{}})
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || len(out) == 0 {
				continue
			}
			out[len(out)-1].f[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", path)
	}
	return out
}

func (s section) has(k string) bool { _, ok := s.f[k]; return ok }

// hex decodes a field, ignoring the spaces libreswan's tables use.
func (s section) hex(t testing.TB, k string) []byte {
	t.Helper()
	v, ok := s.f[k]
	if !ok {
		t.Fatalf("[%s]: no field %q", s.name, k)
	}
	return mustHex(t, v)
}

func (s section) int(t testing.TB, k string) int {
	t.Helper()
	n, err := strconv.Atoi(s.f[k])
	if err != nil {
		t.Fatalf("[%s] %s: %v", s.name, k, err)
	}
	return n
}

func mustHex(t testing.TB, v string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", v, err)
	}
	return b
}

// kv is one "NAME = value" line of an AOSP constants file. The files keep
// the order of the Java source and some names repeat.
type kv struct{ k, v string }

func loadKV(t testing.TB, path string) []kv {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []kv
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, " = "); ok {
			out = append(out, kv{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out
}

// aosp reads testdata/aosp/<class>.txt into a map of first occurrences.
func aosp(t testing.TB, class string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, e := range loadKV(t, filepath.Join("testdata", "aosp", class+".txt")) {
		if _, dup := m[e.k]; !dup {
			m[e.k] = e.v
		}
	}
	return m
}

func aospHex(t testing.TB, m map[string]string, k string) []byte {
	t.Helper()
	v, ok := m[k]
	if !ok {
		t.Fatalf("no AOSP constant %s", k)
	}
	return mustHex(t, v)
}

// fixedReader returns its bytes and then io.EOF; it stands in for the
// random source where a test needs a known IV or scalar.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

package textlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// exclusiveWriter is a bytes.Buffer that fails the test if two Writes
// overlap; under -race the buffer itself would be reported as well.
type exclusiveWriter struct {
	t      *testing.T
	busy   atomic.Bool
	writes atomic.Int64
	buf    bytes.Buffer
}

func (w *exclusiveWriter) Write(p []byte) (int, error) {
	if !w.busy.CompareAndSwap(false, true) {
		w.t.Error("concurrent Write")
		return 0, fmt.Errorf("textlog: concurrent write")
	}
	defer w.busy.Store(false)
	w.writes.Add(1)
	return w.buf.Write(p)
}

// TestConcurrentLines logs from many goroutines through the fast path, a
// record with attributes, and handlers derived by WithAttrs and WithGroup,
// and checks that every line arrives whole, once, and as slog would have
// written it.
func TestConcurrentLines(t *testing.T) {
	const (
		workers = 16
		perPath = 200
	)
	w := &exclusiveWriter{t: t}
	root := NewHandler(w, nil)
	paths := []struct {
		name string
		h    slog.Handler
		log  func(l *slog.Logger, msg string, i int)
		tail string // what follows msg="..." on the line
	}{
		{"fast", root, func(l *slog.Logger, msg string, _ int) { l.Info(msg) }, ""},
		{"attrs", root, func(l *slog.Logger, msg string, i int) { l.Info(msg, "i", i) }, " i=%d"},
		{"with", root.WithAttrs([]slog.Attr{slog.String("peer", "192.0.2.1")}), func(l *slog.Logger, msg string, _ int) { l.Warn(msg) }, " peer=192.0.2.1"},
		{"group", root.WithGroup("ike"), func(l *slog.Logger, msg string, i int) { l.Error(msg, "n", i) }, " ike.n=%d"},
	}
	// A long padded message makes a torn or interleaved line likely if
	// the writes were not serialised.
	pad := strings.Repeat("padding ", 64)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPath {
				for _, p := range paths {
					p.log(slog.New(p.h), fmt.Sprintf("worker %d path %s line %d %s", g, p.name, i, pad), i)
				}
			}
		}()
	}
	wg.Wait()

	total := workers * perPath * len(paths)
	if n := w.writes.Load(); n != int64(total) {
		t.Errorf("%d writes, want %d (one per record)", n, total)
	}
	lineRE := regexp.MustCompile(`^time=\S+ level=(INFO|WARN|ERROR) msg="worker (\d+) path (\w+) line (\d+) ` + pad + `"(.*)$`)
	seen := make(map[string]bool)
	lines := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	if len(lines) != total {
		t.Fatalf("%d lines, want %d", len(lines), total)
	}
	for _, line := range lines {
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("malformed line %q", line)
		}
		i, _ := strconv.Atoi(m[4])
		var tail string
		for _, p := range paths {
			if p.name == m[3] {
				tail = p.tail
				if strings.Contains(tail, "%d") {
					tail = fmt.Sprintf(tail, i)
				}
			}
		}
		if m[5] != tail {
			t.Errorf("line %q: ends %q, want %q", line, m[5], tail)
		}
		id := m[2] + "/" + m[3] + "/" + m[4]
		if seen[id] {
			t.Errorf("line %s twice", id)
		}
		seen[id] = true
	}
	if len(seen) != total {
		t.Errorf("%d distinct lines, want %d", len(seen), total)
	}
}

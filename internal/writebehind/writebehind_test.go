package writebehind

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sink records every Write call it receives.
type sink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls int
	err   error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return 0, s.err
	}
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestIdleLineArrivesWithoutFlush(t *testing.T) {
	s := &sink{}
	w := New(s, 0)
	defer w.Close()
	fmt.Fprintln(w, "responder listening")
	require.Eventually(t, func() bool { return s.String() == "responder listening\n" },
		5*time.Second, time.Millisecond, "an idle writer passes a line on by itself")
}

func TestOrderKeptUnderConcurrency(t *testing.T) {
	s := &sink{}
	w := New(s, 512) // small: some Writes take the synchronous path
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "g%d line %04d\n", g, i)
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())

	got := strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n")
	require.Len(t, got, writers*lines, "every line written once")
	next := make(map[string]int)
	for _, l := range got {
		var g string
		var i int
		_, err := fmt.Sscanf(l, "%s line %d", &g, &i)
		require.NoError(t, err, "line %q intact", l)
		assert.Equal(t, next[g], i, "writer %s's lines in order", g)
		next[g] = i + 1
	}
	t.Logf("%d lines in %d writes", len(got), s.calls)
}

func TestBatches(t *testing.T) {
	s := &sink{}
	w := New(s, 0)
	// Hold the output lock, as a slow write in progress would: the lines
	// written meanwhile go out together.
	w.out.Lock()
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	w.out.Unlock()
	require.NoError(t, w.Close())
	assert.Equal(t, 100, strings.Count(s.String(), "\n"))
	assert.LessOrEqual(t, s.calls, 2, "lines written during a write share the next one")
}

// Under a steady stream the background goroutine writes at most once per
// Linger; a line after a quiet spell still goes out at once.
func TestLingerBatchesABusyStream(t *testing.T) {
	s := &sink{}
	w := New(s, 0)
	defer w.Close()
	start := time.Now()
	lines := 0
	for time.Since(start) < 20*Linger {
		fmt.Fprintf(w, "line %d\n", lines)
		lines++
		time.Sleep(Linger / 50)
	}
	require.NoError(t, w.Flush())
	elapsed := time.Since(start)
	s.mu.Lock()
	calls := s.calls
	s.mu.Unlock()
	assert.Equal(t, lines, strings.Count(s.String(), "\n"))
	// One write per Linger, one for the first line, and the Flush.
	assert.LessOrEqual(t, calls, int(elapsed/Linger)+2, "%d lines in %d writes over %v", lines, calls, elapsed)
	t.Logf("%d lines in %d writes over %v", lines, calls, elapsed)

	// With a linger far longer than the test, the first line (after a
	// quiet spell) still goes out at once, and the next waits.
	s = &sink{}
	w = New(s, 0)
	w.linger = time.Hour
	fmt.Fprintln(w, "first")
	require.Eventually(t, func() bool { return s.String() == "first\n" },
		5*time.Second, time.Millisecond, "a line after a quiet spell goes out at once")
	fmt.Fprintln(w, "second")
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, "first\n", s.String(), "a busy writer's next line waits for the linger")
	require.NoError(t, w.Close())
	assert.Equal(t, "first\nsecond\n", s.String(), "Close writes what waited")
}

func TestLimitWritesSynchronously(t *testing.T) {
	s := &sink{}
	w := New(s, 64)
	defer w.Close()
	w.out.Lock() // the background goroutine cannot write
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Write(bytes.Repeat([]byte("x"), 100)) // over the limit: waits for the output
	}()
	select {
	case <-done:
		t.Fatal("a Write over the limit returned while the output was busy")
	case <-time.After(50 * time.Millisecond):
	}
	w.out.Unlock()
	<-done
	assert.Equal(t, 100, len(s.String()), "the Write over the limit wrote the batch itself")
	w.mu.Lock()
	assert.Empty(t, w.buf)
	w.mu.Unlock()
}

func TestErrorsReported(t *testing.T) {
	s := &sink{err: errors.New("disk full")}
	w := New(s, 0)
	w.Write([]byte("a\n"))
	assert.ErrorContains(t, w.Flush(), "disk full")
	w.Write([]byte("b\n"))
	assert.ErrorContains(t, w.Close(), "disk full", "Close writes what is left and reports the failure")
	s.mu.Lock()
	s.err = nil
	s.mu.Unlock()
	_, err := w.Write([]byte("c\n"))
	assert.NoError(t, err)
	assert.Equal(t, "c\n", s.String(), "the lines the writer refused are gone; later ones are written")
}

func TestWriteAfterCloseWritesThrough(t *testing.T) {
	s := &sink{}
	w := New(s, 0)
	w.Write([]byte("before\n"))
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close twice")
	w.Write([]byte("after\n"))
	assert.Equal(t, "before\nafter\n", s.String())
}

func BenchmarkLine(b *testing.B) {
	w := New(discard{}, 0)
	defer w.Close()
	line := []byte(`time=2026-11-28T17:23:20.123Z level=INFO msg="<0123456789abcdef> IKE_SA established"` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		w.Write(line)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

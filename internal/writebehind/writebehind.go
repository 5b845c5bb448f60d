// Package writebehind batches a stream of small writes (log lines, audit
// records) into few large ones, off the caller's path.
//
// A responder under load writes several log lines and an audit record per
// handshake; one write system call per line costs more than formatting the
// line. A Writer appends each Write to a buffer and wakes a background
// goroutine that writes out everything buffered so far in one call. When
// the responder is idle a line reaches the file at once (the goroutine
// runs as soon as the caller yields); when it is busy, the goroutine
// writes at most once per Linger, and the lines of that interval share
// one system call. strongSwan's file logger is buffered too, without a
// bound on the delay, unless flush_line is set.
//
// Memory is bounded: once the buffer holds Limit octets, Write writes the
// batch itself before returning, so a slow destination slows the writers
// instead of growing the buffer.
//
// A process that dies without Close (SIGKILL, a crash) loses what the
// goroutine had not written yet: under load, the lines of the last Linger;
// when idle, nothing, since each line goes out as soon as it is written.
package writebehind

import (
	"io"
	"sync"
	"time"
)

// DefaultLimit is the buffer size above which Write writes synchronously.
const DefaultLimit = 256 << 10

// Linger is the least time between two writes of the background
// goroutine. A line written after a quiet spell goes out at once; under
// load, lines wait at most this long. At 2,500 handshakes a second (six
// log lines and two audit records each) it is the difference between one
// write system call per handshake and one per dozen handshakes.
const Linger = 5 * time.Millisecond

// Writer is an io.Writer that writes behind its callers. It is safe for
// concurrent use; the order of Writes is kept.
type Writer struct {
	w      io.Writer
	limit  int
	linger time.Duration

	out sync.Mutex // held while writing to w; orders batches

	mu      sync.Mutex // guards the fields below
	buf     []byte
	spare   []byte
	kicked  bool
	closed  bool
	lastErr error

	kick    chan struct{}
	closing chan struct{} // closed by Close: stop lingering
	done    chan struct{}
}

// New returns a Writer over w that buffers at most limit octets (limit <= 0
// means DefaultLimit). Close it to write out what is buffered and stop its
// goroutine.
func New(w io.Writer, limit int) *Writer {
	if limit <= 0 {
		limit = DefaultLimit
	}
	b := &Writer{w: w, limit: limit, linger: Linger, kick: make(chan struct{}, 1),
		closing: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// Write buffers p and returns len(p). An error is the last error of the
// underlying writer, reported once by the next Write or Flush. After Close,
// Write writes through.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.out.Lock()
		defer b.out.Unlock()
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= b.limit
	if !b.kicked && !full {
		// Under mu, so that Close cannot close kick in between.
		b.kicked = true
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	err := b.lastErr
	b.lastErr = nil
	b.mu.Unlock()
	if full {
		// Back-pressure: the caller pays for the write.
		return len(p), b.Flush()
	}
	return len(p), err
}

// Flush writes out everything buffered before it returns.
func (b *Writer) Flush() error {
	b.out.Lock()
	defer b.out.Unlock()
	b.mu.Lock()
	batch := b.buf
	b.buf, b.spare = b.spare[:0], nil
	b.kicked = false
	err := b.lastErr
	b.lastErr = nil
	b.mu.Unlock()
	if len(batch) > 0 {
		if _, werr := b.w.Write(batch); werr != nil {
			err = werr
		}
	}
	b.mu.Lock()
	// Keep one spare buffer of moderate size for the next swap; a burst
	// that grew a buffer past the limit does not stay allocated.
	if cap(batch) <= b.limit {
		b.spare = batch[:0]
	} else {
		b.spare = nil
	}
	b.mu.Unlock()
	return err
}

func (b *Writer) loop() {
	defer close(b.done)
	var last time.Time
	for range b.kick {
		// Busy: let the lines of the rest of the interval join this
		// batch, unless Close wants them now.
		if wait := b.linger - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.closing:
				t.Stop()
			}
		}
		last = time.Now()
		if err := b.Flush(); err != nil {
			b.mu.Lock()
			b.lastErr = err
			b.mu.Unlock()
		}
	}
}

// Close writes out what is buffered and stops the background goroutine.
// It does not close the underlying writer. Later Writes write through.
func (b *Writer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	close(b.kick)
	b.mu.Unlock()
	<-b.done
	return b.Flush()
}

package ike

import (
	"sync"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// An IKE SA whose IKE_AUTH never completes is removed HalfOpenTimeout after
// its IKE_SA_INIT (RFC 7296, Section 2.4 leaves the time to the
// implementation; charon's half_open_timeout is 30 s too).
//
// The timeout is the same for every SA, so the deadlines come in the order
// the SAs were made: a queue with one runtime timer for its head does the
// work of a timer per SA. That timer and its closure cost about 2 µs of
// every handshake at 10,000 SAs, and the runtime took each stopped one out
// of its heap again later (docs/performance.md). The queue names SAs by
// SPI, so it keeps none alive once it is gone.

// A reaper holds the half-open deadlines in order.
type reaper struct {
	mu      sync.Mutex
	queue   []reapEntry // queue[head:] are pending, earliest first
	head    int
	timer   *time.Timer // armed for queue[head] while anything is pending
	stopped bool
	fire    func()
}

type reapEntry struct {
	at  time.Time
	spi wire.SPI
}

// add queues spi for after from now and returns the deadline. Every call
// passes the same duration: the deadlines are taken under the lock, so the
// queue stays in order.
func (r *reaper) add(spi wire.SPI, after time.Duration) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := time.Now().Add(after)
	if r.stopped {
		return at
	}
	if r.head == len(r.queue) {
		r.queue, r.head = r.queue[:0], 0
		r.arm(after)
	}
	r.queue = append(r.queue, reapEntry{at, spi})
	return at
}

// due takes the SPIs whose deadline is not after now off the queue,
// appends them to dst and arms the timer for the next deadline.
func (r *reaper) due(now time.Time, dst []wire.SPI) []wire.SPI {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.head < len(r.queue) && !r.queue[r.head].at.After(now) {
		dst = append(dst, r.queue[r.head].spi)
		r.head++
	}
	switch pending := len(r.queue) - r.head; {
	case pending == 0 && cap(r.queue) > 1024:
		r.queue, r.head = nil, 0 // a flood's queue is not kept
	case r.head > pending:
		// Slide the pending entries to the front once they are the
		// smaller part: each entry moves at most once on average.
		r.queue = r.queue[:copy(r.queue, r.queue[r.head:])]
		r.head = 0
	}
	if r.head < len(r.queue) && !r.stopped {
		r.arm(r.queue[r.head].at.Sub(now))
	}
	return dst
}

// arm sets the timer to fire after d. r.mu is held.
func (r *reaper) arm(d time.Duration) {
	if r.timer == nil {
		r.timer = time.AfterFunc(d, r.fire)
		return
	}
	r.timer.Reset(d)
}

// pending returns how many deadlines are queued.
func (r *reaper) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue) - r.head
}

// stop stops the timer for good.
func (r *reaper) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

// reapHalfOpen removes the SAs whose half-open deadline has passed and that
// are still half-open.
func (e *Engine) reapHalfOpen() {
	now := time.Now()
	for _, spi := range e.reaper.due(now, nil) {
		e.mu.Lock()
		s := e.bySPI[spi]
		e.mu.Unlock()
		if s == nil {
			continue
		}
		s.mu.Lock()
		// The deadline check keeps a later SA that happens to get the same
		// SPI from being reaped early: its own entry is further back.
		if s.state == sa.HalfOpen && !now.Before(s.halfOpenUntil) {
			s.auditFail("half_open_timeout", "", "IKE_AUTH never arrived")
			s.remove("half-open timeout")
		}
		s.mu.Unlock()
	}
}

package ike

import (
	"context"
	"sync"
	"time"
)

// A lazyDeadline is a context with a deadline whose timer is armed only
// when something waits on it (Done). A certificate check waits only when
// it fetches a CRL; nearly every check is decided by the CRLs at hand, and
// context.WithTimeout cost each of them a runtime timer, which the runtime
// later took out of its heap again, and four allocations.
type lazyDeadline struct {
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer
	err   error
}

// newLazyDeadline returns a context that expires at deadline, and the
// function that cancels it.
func newLazyDeadline(deadline time.Time) (context.Context, context.CancelFunc) {
	c := &lazyDeadline{deadline: deadline}
	return c, func() { c.end(context.Canceled) }
}

func (c *lazyDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *lazyDeadline) Value(any) any { return nil }

func (c *lazyDeadline) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.expireLocked(); c.err != nil {
			close(c.done)
		} else {
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
		}
	}
	return c.done
}

func (c *lazyDeadline) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && c.expireLocked() && c.done != nil {
		close(c.done)
	}
	return c.err
}

// expireLocked sets the error once the deadline has passed, so that Err
// says so even when no timer was armed; it reports whether it did.
func (c *lazyDeadline) expireLocked() bool {
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
		return true
	}
	return false
}

// end cancels or expires the context, once.
func (c *lazyDeadline) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil {
		close(c.done)
	}
}

package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// fetchFunc performs one fetch. It returns the value, the time until which
// the value is fresh (zero: unknown, use the no-nextUpdate TTL) and an
// error.
type fetchFunc func(ctx context.Context) (val any, nextUpdate time.Time, err error)

// fetchCache is a cache of fetched revocation data keyed by URL (or URL
// plus request), with one fetch in flight per key at a time. A caller that
// finds a fetch in flight waits on it rather than starting another; a
// caller that stops waiting (its budget ran out) leaves the fetch running,
// so the result is there for the retransmitted IKE_AUTH.
type fetchCache struct {
	now           func() time.Time
	timeout       time.Duration
	refreshBefore time.Duration
	retryAfter    time.Duration
	noNextTTL     time.Duration

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	started atomic.Int64 // fetches started, for tests and metrics

	mu      sync.Mutex
	closed  bool
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	key       string
	fn        fetchFunc
	val       any       // last good value, nil if none
	fresh     time.Time // val may be served until then
	refreshAt time.Time // a background refresh starts from then
	err       error     // error of the last attempt, nil if it succeeded
	last      time.Time // when the last attempt finished
	flight    *flight
	timer     *time.Timer
}

// flight is one fetch in progress; done is closed when val/err are set.
type flight struct {
	done chan struct{}
	val  any
	err  error
}

func newFetchCache(now func() time.Time, p CRLPolicy) *fetchCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &fetchCache{
		now:           now,
		timeout:       p.FetchTimeout,
		refreshBefore: p.RefreshBefore,
		retryAfter:    p.RetryAfter,
		noNextTTL:     p.NoNextUpdateTTL,
		ctx:           ctx,
		cancel:        cancel,
		entries:       map[string]*cacheEntry{},
	}
}

var errClosed = errors.New("trust: verifier closed")

// prefetch starts a fetch for key unless a fresh value is cached, one is in
// flight, or the last attempt was too recent. It does not wait.
func (c *fetchCache) prefetch(key string, fn fetchFunc) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	e := c.entryLocked(key, fn)
	if e.flight != nil || (e.val != nil && now.Before(e.fresh)) || c.backingOffLocked(e, now) {
		return
	}
	c.startLocked(e)
}

// get returns the value for key, fetching it if needed, waiting at most
// until ctx is done. A stale value may be returned together with the error
// explaining why no fresh one is available; the caller decides what a
// stale value is worth.
func (c *fetchCache) get(ctx context.Context, key string, fn fetchFunc) (any, error) {
	now := c.now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	e := c.entryLocked(key, fn)
	if e.val != nil && now.Before(e.fresh) {
		// Fresh: serve it, and refresh in the background when due.
		if !now.Before(e.refreshAt) && e.flight == nil && !c.backingOffLocked(e, now) {
			c.startLocked(e)
		}
		v := e.val
		c.mu.Unlock()
		return v, nil
	}
	fl := e.flight
	if fl == nil {
		if c.backingOffLocked(e, now) {
			v, err, retry := e.val, e.err, e.last.Add(c.retryAfter)
			c.mu.Unlock()
			if err == nil {
				err = fmt.Errorf("%w: %s: last fetch returned stale data, next try after %s", ErrFetch, key, retry.UTC().Format(time.RFC3339))
			}
			return v, err
		}
		fl = c.startLocked(e)
	}
	stale := e.val
	c.mu.Unlock()

	select {
	case <-fl.done:
		if fl.err != nil {
			return stale, fl.err
		}
		return fl.val, nil
	case <-ctx.Done():
		return stale, fmt.Errorf("%w: %s still being fetched: %w", ErrBudget, key, ctx.Err())
	}
}

// maxCacheEntries triggers a sweep of dead entries. Keys come only from
// certificates that chain to an accepted root (one CRL URL per CA, one OCSP
// key per certificate), so this bounds memory rather than limiting use.
const maxCacheEntries = 4096

func (c *fetchCache) entryLocked(key string, fn fetchFunc) *cacheEntry {
	e := c.entries[key]
	if e == nil {
		if len(c.entries) >= maxCacheEntries {
			c.sweepLocked(c.now())
		}
		e = &cacheEntry{key: key, fn: fn}
		c.entries[key] = e
	}
	return e
}

// sweepLocked drops entries that hold nothing worth keeping: no fetch in
// flight, no fresh value, and no failure still being backed off from.
func (c *fetchCache) sweepLocked(now time.Time) {
	for k, e := range c.entries {
		if e.flight == nil && (e.val == nil || !now.Before(e.fresh)) && !c.backingOffLocked(e, now) {
			if e.timer != nil {
				e.timer.Stop()
			}
			delete(c.entries, k)
		}
	}
}

// backingOffLocked reports whether the last attempt for e finished less
// than retryAfter ago: a failed or stale fetch is not repeated at once,
// nor is a refresh that just happened.
func (c *fetchCache) backingOffLocked(e *cacheEntry, now time.Time) bool {
	return !e.last.IsZero() && now.Before(e.last.Add(c.retryAfter))
}

func (c *fetchCache) startLocked(e *cacheEntry) *flight {
	fl := &flight{done: make(chan struct{})}
	e.flight = fl
	c.started.Add(1)
	c.wg.Add(1)
	go c.run(e, fl)
	return fl
}

func (c *fetchCache) run(e *cacheEntry, fl *flight) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	val, next, err := e.fn(ctx)
	cancel()
	now := c.now()

	c.mu.Lock()
	e.flight = nil
	e.last = now
	e.err = err
	if err == nil {
		e.val = val
		e.fresh = next
		if next.IsZero() {
			e.fresh = now.Add(c.noNextTTL)
		}
		lead := c.refreshBefore
		if half := e.fresh.Sub(now) / 2; half < lead {
			lead = half
		}
		e.refreshAt = e.fresh.Add(-lead)
		c.scheduleLocked(e, e.refreshAt.Sub(now))
	} else if e.val != nil && now.Add(c.retryAfter).Before(e.fresh) {
		// A background refresh failed while the cached value is still
		// good: try again later, before it runs out.
		c.scheduleLocked(e, c.retryAfter)
	}
	fl.val, fl.err = val, err
	c.mu.Unlock()
	close(fl.done)
}

// scheduleLocked arranges a background refresh of e after d (real time).
func (c *fetchCache) scheduleLocked(e *cacheEntry, d time.Duration) {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	if c.closed || d <= 0 {
		return
	}
	key := e.key
	e.timer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e := c.entries[key]; e != nil && !c.closed && e.flight == nil {
			c.startLocked(e)
		}
	})
}

// close stops timers, cancels fetches in flight and waits for them.
func (c *fetchCache) close() {
	c.mu.Lock()
	c.closed = true
	for _, e := range c.entries {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// httpFetch runs req and returns its body, refusing bodies larger than
// maxSize. The deadline comes from ctx.
func httpFetch(ctx context.Context, client *http.Client, req *http.Request, maxSize int64) ([]byte, error) {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: http status %s", ErrFetch, req.URL, resp.Status)
	}
	if resp.ContentLength > maxSize {
		return nil, fmt.Errorf("%w: %s announces %d bytes, limit %d", ErrCRLTooLarge, req.URL, resp.ContentLength, maxSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading body: %w", ErrFetch, req.URL, err)
	}
	if int64(len(body)) > maxSize {
		return nil, fmt.Errorf("%w: %s sent more than %d bytes", ErrCRLTooLarge, req.URL, maxSize)
	}
	return body, nil
}

// fetchableURL reports whether a distribution point or responder URL is
// one this package fetches: plain http with a host. LDAP and file URLs in
// certificates are ignored (a certificate must not make us read local
// files), and https would need revocation checking of its own.
func fetchableURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && u.Host != ""
}

// defaultHTTPClient follows at most three redirects, each to http.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("trust: too many redirects")
			}
			if req.URL.Scheme != "http" {
				return fmt.Errorf("trust: redirect to non-http url %s", req.URL)
			}
			return nil
		},
	}
}

package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// crlServer serves CRLs on loopback and counts requests per path.
type crlServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte
	hits   map[string]int
	delay  time.Duration
	gate   chan struct{} // when non-nil, requests wait until it is closed
	status int
	chunk  bool // stream the body without Content-Length
}

func newCRLServer(t *testing.T) *crlServer {
	s := &crlServer{bodies: map[string][]byte{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *crlServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	body, ok := s.bodies[r.URL.Path]
	delay, gate, status, chunk := s.delay, s.gate, s.status, s.chunk
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	if chunk {
		for i := 0; i < len(body); i += 100 {
			w.Write(body[i:min(i+100, len(body))])
			w.(http.Flusher).Flush()
		}
		return
	}
	w.Write(body)
}

func (s *crlServer) set(path string, body []byte) {
	s.mu.Lock()
	s.bodies[path] = body
	s.mu.Unlock()
}

func (s *crlServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// httpPKI is root -> intermediate -> leaves whose CRL distribution points
// are on srv: /root.crl covers the intermediate, /inter.crl the leaves.
func httpPKI(t *testing.T, srv *crlServer, alg string) *testPKI {
	root := newRoot(t, alg, "HTTP Root "+alg)
	inter := newIntermediate(t, root, alg, "HTTP Intermediate "+alg, func(c *x509.Certificate) {
		c.CRLDistributionPoints = []string{srv.URL + "/root.crl"}
	})
	cdp := func(c *x509.Certificate) { c.CRLDistributionPoints = []string{srv.URL + "/inter.crl"} }
	p := &testPKI{root: root, inter: inter,
		leaf:  newLeaf(t, inter, alg, "client1.test", cdp),
		other: newLeaf(t, inter, alg, "client2.test", cdp)}
	return p
}

func (p *testPKI) serveCRLs(t *testing.T, srv *crlServer, this, next time.Time, revokedLeaves ...*node) {
	srv.set("/root.crl", makeCRL(t, p.root, nil, this, next, nil))
	var entries []revoked
	for _, n := range revokedLeaves {
		entries = append(entries, revoked{n, this, 1})
	}
	srv.set("/inter.crl", makeCRL(t, p.inter, nil, this, next, entries))
}

func httpPolicy(p *testPKI, now func() time.Time, mode CRLMode) Policy {
	pol := p.policy(now)
	pol.CRL = CRLPolicy{Mode: mode}
	return pol
}

func TestHTTPCRLFetchedOnceAndCached(t *testing.T) {
	for _, alg := range []string{"ecdsa", "rsa"} {
		t.Run(alg, func(t *testing.T) {
			srv := newCRLServer(t)
			p := httpPKI(t, srv, alg)
			p.serveCRLs(t, srv, testNow.Add(-time.Hour), testNow.Add(24*time.Hour), p.other)
			v := mustVerifier(t, httpPolicy(p, fixedNow, CRLRequire))
			d := verify(t, v, p.leaf, p.inter)
			wantAccepted(t, d)
			d = verify(t, v, p.other, p.inter)
			wantRefused(t, d, ErrRevoked, CheckRevocation)
			if !strings.Contains(d.Reason, "by CRL from "+srv.URL+"/inter.crl issued at "+testNow.Add(-time.Hour).Format(time.RFC3339)) {
				t.Fatalf("reason does not name the CRL URL and issue time: %s", d.Reason)
			}
			if srv.count("/root.crl") != 1 || srv.count("/inter.crl") != 1 || v.FetchesStarted() != 2 {
				t.Fatalf("hits root=%d inter=%d started=%d, want 1 1 2", srv.count("/root.crl"), srv.count("/inter.crl"), v.FetchesStarted())
			}
		})
	}
}

func TestHTTPConcurrentVerifyTriggersOneFetch(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	p.serveCRLs(t, srv, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	gate := make(chan struct{})
	srv.gate = gate
	pol := httpPolicy(p, fixedNow, CRLRequire)
	pol.CRL.Budget = 20 * time.Second
	v := mustVerifier(t, pol)

	const n = 32
	var wg sync.WaitGroup
	results := make([]*Decision, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = verify(t, v, p.leaf, p.inter)
		}()
	}
	// Let every caller reach the in-flight fetches, then release them.
	deadline := time.Now().Add(5 * time.Second)
	for srv.count("/inter.crl") == 0 || srv.count("/root.crl") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("fetches never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	for i, d := range results {
		if !d.Accepted {
			t.Fatalf("verify %d refused: %v", i, d.Err)
		}
	}
	if srv.count("/inter.crl") != 1 || srv.count("/root.crl") != 1 || v.FetchesStarted() != 2 {
		t.Fatalf("%d concurrent Verify calls: hits root=%d inter=%d started=%d, want one fetch per URL",
			n, srv.count("/root.crl"), srv.count("/inter.crl"), v.FetchesStarted())
	}
}

func TestHTTPSlowServerBoundedByBudget(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	p.serveCRLs(t, srv, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	srv.delay = 1500 * time.Millisecond
	pol := httpPolicy(p, fixedNow, CRLRequire)
	pol.CRL.Budget = 200 * time.Millisecond
	v := mustVerifier(t, pol)

	start := time.Now()
	d := verify(t, v, p.leaf, p.inter)
	elapsed := time.Since(start)
	wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
	if !errors.Is(d.Err, ErrBudget) {
		t.Fatalf("want ErrBudget cause, got %v", d.Err)
	}
	if elapsed > 1200*time.Millisecond { // generous for a loaded machine, but short of the server's 1.5 s
		t.Fatalf("Verify took %v with a 200ms budget", elapsed)
	}
	// The retransmitted IKE_AUTH arrives while the fetch is in flight: it
	// waits on the same fetch instead of starting another.
	d = verify(t, v, p.leaf, p.inter)
	if v.FetchesStarted() != 2 {
		t.Fatalf("retransmission started new fetches: %d", v.FetchesStarted())
	}
	// Once the background fetch has landed, the next attempt is answered
	// from the cache at once.
	deadline := time.Now().Add(5 * time.Second)
	for !d.Accepted && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		d = verify(t, v, p.leaf, p.inter)
	}
	wantAccepted(t, d)
	if srv.count("/inter.crl") != 1 || v.FetchesStarted() != 2 {
		t.Fatalf("hits inter=%d started=%d, want 1 and 2", srv.count("/inter.crl"), v.FetchesStarted())
	}
}

func TestHTTPDeadServerBacksOff(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	srv.Close() // connections are refused from now on
	clock := newClock(testNow)
	v := mustVerifier(t, httpPolicy(p, clock.Now, CRLRequire))

	d := verify(t, v, p.leaf, p.inter)
	wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
	if !errors.Is(d.Err, ErrFetch) {
		t.Fatalf("want ErrFetch cause: %v", d.Err)
	}
	if v.FetchesStarted() != 2 {
		t.Fatalf("started %d", v.FetchesStarted())
	}
	clock.Advance(DefaultRetryAfter / 2)
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrCRLUnavailable, CheckRevocation)
	if v.FetchesStarted() != 2 {
		t.Fatalf("dead server retried within RetryAfter: started %d", v.FetchesStarted())
	}
	clock.Advance(DefaultRetryAfter)
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrCRLUnavailable, CheckRevocation)
	if v.FetchesStarted() != 4 {
		t.Fatalf("dead server not retried after RetryAfter: started %d", v.FetchesStarted())
	}
	// Soft-fail accepts and says why.
	d = verify(t, mustVerifier(t, httpPolicy(p, clock.Now, CRLSoftFail)), p.leaf, p.inter)
	wantAccepted(t, d)
	if !strings.Contains(d.String(), "soft-fail") {
		t.Fatalf("soft-fail not explained:\n%s", d)
	}
}

func TestHTTPBadCRLs(t *testing.T) {
	big := func(t *testing.T, p *testPKI, srv *crlServer) {
		var many []revoked
		for range 200 {
			many = append(many, revoked{newLeaf(t, p.inter, "ecdsa", "x.test"), testNow, 0})
		}
		srv.set("/root.crl", makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
		srv.set("/inter.crl", makeCRL(t, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), many))
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, p *testPKI, srv *crlServer)
		cause error
	}{
		{"oversized", big, ErrCRLTooLarge},
		{"oversized chunked", func(t *testing.T, p *testPKI, srv *crlServer) {
			big(t, p, srv)
			srv.chunk = true
		}, ErrCRLTooLarge},
		{"wrong signer", func(t *testing.T, p *testPKI, srv *crlServer) {
			wrong := newKey(t, "ecdsa")
			srv.set("/root.crl", makeCRL(t, p.root, wrong, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
			srv.set("/inter.crl", makeCRL(t, p.inter, wrong, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
		}, ErrCRLSignature},
		{"other issuer", func(t *testing.T, p *testPKI, srv *crlServer) {
			// A correctly signed CRL, but from the root: wrong issuer for the leaf.
			srv.set("/root.crl", makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
			srv.set("/inter.crl", makeCRL(t, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
		}, ErrCRLSignature},
		{"expired", func(t *testing.T, p *testPKI, srv *crlServer) {
			p.serveCRLs(t, srv, testNow.Add(-48*time.Hour), testNow.Add(-time.Second))
		}, ErrCRLExpired},
		{"garbage", func(t *testing.T, p *testPKI, srv *crlServer) {
			srv.set("/root.crl", []byte("<html>not a crl</html>"))
			srv.set("/inter.crl", []byte{0x30, 0x03, 0x02, 0x01})
		}, ErrMalformedCRL},
		{"http 404", func(t *testing.T, p *testPKI, srv *crlServer) {}, ErrFetch},
		{"http 500", func(t *testing.T, p *testPKI, srv *crlServer) { srv.status = 500 }, ErrFetch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newCRLServer(t)
			p := httpPKI(t, srv, "ecdsa")
			tc.setup(t, p, srv)
			pol := httpPolicy(p, fixedNow, CRLRequire)
			pol.CRL.MaxSize = 2048
			d := verify(t, mustVerifier(t, pol), p.leaf, p.inter)
			wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
			if !errors.Is(d.Err, tc.cause) {
				t.Fatalf("cause %v not in %v", tc.cause, d.Err)
			}
			pol.CRL.Mode = CRLSoftFail
			wantAccepted(t, verify(t, mustVerifier(t, pol), p.leaf, p.inter))
		})
	}
}

func TestHTTPRefreshBeforeNextUpdate(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	p.serveCRLs(t, srv, testNow, testNow.Add(time.Hour))
	clock := newClock(testNow)
	pol := httpPolicy(p, clock.Now, CRLRequire)
	pol.CRL.RefreshBefore = 15 * time.Minute
	v := mustVerifier(t, pol)
	wantAccepted(t, verify(t, v, p.leaf, p.inter))

	clock.Advance(30 * time.Minute) // well before the refresh point
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	if srv.count("/inter.crl") != 1 {
		t.Fatalf("refetched before the refresh point: %d", srv.count("/inter.crl"))
	}

	// The CA publishes a CRL that revokes the leaf. Past the refresh point
	// (nextUpdate - 15 min) the cached CRL is still served, and a
	// background refresh brings the new one.
	p.serveCRLs(t, srv, testNow.Add(50*time.Minute), testNow.Add(2*time.Hour), p.leaf)
	clock.Advance(20 * time.Minute)
	wantAccepted(t, verify(t, v, p.leaf, p.inter)) // served from cache, no wait
	deadline := time.Now().Add(5 * time.Second)
	var d *Decision
	for {
		d = verify(t, v, p.leaf, p.inter)
		if !d.Accepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantRefused(t, d, ErrRevoked, CheckRevocation)
	if srv.count("/inter.crl") != 2 {
		t.Fatalf("inter.crl fetched %d times, want 2", srv.count("/inter.crl"))
	}

	// Past nextUpdate the cache is stale and the fetch is synchronous.
	p.serveCRLs(t, srv, testNow.Add(2*time.Hour), testNow.Add(4*time.Hour))
	clock.Advance(2 * time.Hour)
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	if srv.count("/inter.crl") != 3 {
		t.Fatalf("inter.crl fetched %d times, want 3", srv.count("/inter.crl"))
	}
}

func TestHTTPBackgroundTimerRefresh(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	start := time.Now()
	now := func() time.Time { return testNow.Add(time.Since(start)) }
	// nextUpdate 2 s ahead: the timer fires at half the remaining time.
	p.serveCRLs(t, srv, testNow, testNow.Add(2*time.Second))
	pol := httpPolicy(p, now, CRLRequire)
	pol.CRL.RefreshBefore = time.Minute
	v := mustVerifier(t, pol)
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	p.serveCRLs(t, srv, testNow, testNow.Add(time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for srv.count("/inter.crl") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no background refresh without traffic")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTPOnlyHTTPDistributionPoints(t *testing.T) {
	root := newRoot(t, "ecdsa", "Root")
	leaf := newLeaf(t, root, "ecdsa", "ldap.test", func(c *x509.Certificate) {
		c.CRLDistributionPoints = []string{"ldap://ldap.test/cn=crl", "file:///etc/passwd", "https://crl.test/x.crl"}
	})
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow})
	d := verify(t, v, leaf)
	wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
	if v.FetchesStarted() != 0 || strings.Count(d.Reason, "only http URLs are fetched") != 3 {
		t.Fatalf("started %d; reason %s", v.FetchesStarted(), d.Reason)
	}
	none := newLeaf(t, root, "ecdsa", "nocdp.test")
	d = verify(t, v, none)
	wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
	if !strings.Contains(d.Reason, "names no CRL distribution point") {
		t.Fatalf("reason: %s", d.Reason)
	}
}

func TestCloseCancelsFetchInFlight(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	srv.gate = make(chan struct{}) // never released
	pol := httpPolicy(p, fixedNow, CRLRequire)
	pol.CRL.Budget = 50 * time.Millisecond
	v, err := NewVerifier(pol)
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrCRLUnavailable, CheckRevocation)
	done := make(chan struct{})
	go func() { v.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the fetch in flight")
	}
	if d := verify(t, v, p.leaf, p.inter); d.Accepted || !errors.Is(d.Err, errClosed) {
		t.Fatalf("Verify after Close: %v", d.Err)
	}
}

func TestVerifyHonoursContext(t *testing.T) {
	srv := newCRLServer(t)
	p := httpPKI(t, srv, "ecdsa")
	srv.gate = make(chan struct{})
	v := mustVerifier(t, httpPolicy(p, fixedNow, CRLRequire))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	d := v.Verify(ctx, p.leaf.der(), [][]byte{p.inter.der()})
	if d.Accepted || time.Since(start) > time.Second {
		t.Fatalf("caller's context not honoured: %v after %v", d.Err, time.Since(start))
	}
}

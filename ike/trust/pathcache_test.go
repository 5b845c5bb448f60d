package trust

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestPathCacheHitMatchesFullValidation: the second Verify of the same
// certificates comes from the path cache and decides exactly as the first.
func TestPathCacheHitMatchesFullValidation(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	v := mustVerifier(t, p.policy(fixedNow))
	first := verify(t, v, p.leaf, p.inter)
	wantAccepted(t, first)
	if n := len(v.paths.entries); n != 1 {
		t.Fatalf("path cache holds %d entries after one accepted chain, want 1", n)
	}
	second := verify(t, v, p.leaf, p.inter)
	wantAccepted(t, second)
	if !sameDecision(first, second) {
		t.Fatalf("cached decision differs:\nfirst:\n%s\nsecond:\n%s", first, second)
	}
	// The same leaf with the intermediate missing is another key, and
	// fails as it must.
	d := verify(t, v, p.leaf)
	wantRefused(t, d, ErrUntrustedRoot, CheckChain)
	if n := len(v.paths.entries); n != 1 {
		t.Fatalf("a refused chain entered the cache (%d entries)", n)
	}
}

// TestPathCacheRechecksValidity: a cached chain whose leaf has since
// expired is refused, for the reason a fresh validation gives.
func TestPathCacheRechecksValidity(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	clock := newClock(testNow)
	v := mustVerifier(t, p.policy(clock.Now))
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	clock.t = p.leaf.cert.NotAfter.Add(time.Second)
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrExpired, CheckValidity)
	clock.t = testNow
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
}

// TestPathCacheRechecksRevocation: revocation is decided on every
// Verify, so a certificate revoked after its chain was cached is refused.
func TestPathCacheRechecksRevocation(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := t.TempDir()
	this, next := testNow.Add(-time.Hour), testNow.Add(24*time.Hour)
	writeFile(t, filepath.Join(dir, "root.crl"), makeCRL(t, p.root, nil, this, next, nil))
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, this, next, nil))
	v := mustVerifier(t, crlPolicy(p, CRLRequire, dir))
	wantAccepted(t, verify(t, v, p.leaf, p.inter))

	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, this.Add(time.Minute), next,
		[]revoked{{p.leaf, testNow.Add(-time.Minute), 1}}))
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrRevoked, CheckRevocation)
}

// TestPathCacheBounded: the cache never holds more than maxPathCache
// entries.
func TestPathCacheBounded(t *testing.T) {
	var c pathCache
	for i := range maxPathCache + 10 {
		c.put(pathKey([]byte{byte(i), byte(i >> 8)}, nil), &pathEntry{})
	}
	if n := len(c.entries); n != maxPathCache {
		t.Fatalf("cache holds %d entries, bound %d", n, maxPathCache)
	}
	if pathKey([]byte{1, 2}, [][]byte{{3}}) == pathKey([]byte{1}, [][]byte{{2, 3}}) {
		t.Fatal("length prefixes must keep certificate sets apart")
	}
}

// BenchmarkVerifyCached measures a Verify of a chain seen before, as a
// responder does for every returning client.
func BenchmarkVerifyCached(b *testing.B) {
	p := newTestPKI(b, "ecdsa")
	v := mustVerifier(b, p.policy(fixedNow))
	leaf, others := p.leaf.der(), [][]byte{p.inter.der()}
	for b.Loop() {
		if d := v.Verify(context.Background(), leaf, others); !d.Accepted {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkDecisionJSON encodes a Decision from the path cache, whose
// chain comes encoded, and the same Decision with its chain encoded anew.
func BenchmarkDecisionJSON(b *testing.B) {
	p := newTestPKI(b, "ecdsa")
	v := mustVerifier(b, p.policy(fixedNow))
	d := v.Verify(context.Background(), p.leaf.der(), [][]byte{p.inter.der()})
	if d.cached == nil {
		b.Fatal("the decision did not come from the path cache")
	}
	fresh := *d
	fresh.cached = nil
	for name, d := range map[string]*Decision{"cached": d, "fresh": &fresh} {
		b.Run(name, func(b *testing.B) {
			var buf []byte
			for b.Loop() {
				buf = d.AppendJSON(buf[:0])
			}
		})
	}
}

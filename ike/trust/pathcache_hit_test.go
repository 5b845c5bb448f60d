package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// onlyEntry returns the single entry of v's path cache and its key.
func onlyEntry(t *testing.T, v *Verifier) (uint64, *pathEntry) {
	t.Helper()
	v.paths.mu.Lock()
	defer v.paths.mu.Unlock()
	if len(v.paths.entries) != 1 {
		t.Fatalf("path cache holds %d entries, want 1", len(v.paths.entries))
	}
	for k, e := range v.paths.entries {
		return k, e
	}
	return 0, nil
}

// TestPathCacheAppliesKeyUsageAndEKUEveryCall: a cache hit applies the key
// usage and EKU rules again; the texts kept in the entry are used only for
// the outcome they were written for. Here the kept outcomes are falsified,
// and the decision must not change.
func TestPathCacheAppliesKeyUsageAndEKUEveryCall(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*x509.Certificate)
		tamper func(*cachedChain)
	}{
		{"key usage refused, kept as allowed", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment },
			func(c *cachedChain) { c.kuDetail, c.kuErr = "tampered", nil }},
		{"key usage allowed, kept as refused", nil,
			func(c *cachedChain) {
				c.kuDetail, c.kuErr = "", &Error{Check: CheckKeyUsage, Kind: ErrKeyUsage, Detail: "tampered"}
			}},
		{"eku refused, kept as accepted", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} },
			func(c *cachedChain) { c.ekuFail, c.ekuDetail, c.ekuErr = -1, "tampered", nil }},
		{"eku accepted, kept as refused", nil,
			func(c *cachedChain) {
				c.ekuFail, c.ekuDetail, c.ekuErr = 0, "", &Error{Check: CheckEKU, Kind: ErrEKU, Detail: "tampered"}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*x509.Certificate)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			p := newTestPKI(t, "ecdsa", edits...)
			v := mustVerifier(t, p.policy(fixedNow))
			first := verify(t, v, p.leaf, p.inter)
			_, e := onlyEntry(t, v)
			tc.tamper(e.chains[0])
			second := verify(t, v, p.leaf, p.inter)
			if !sameDecision(first, second) {
				t.Fatalf("decision changed with the kept outcome:\nfirst:\n%s\nsecond:\n%s", first, second)
			}
		})
	}
}

// TestPathCacheFollowsCRLReloads: on cache hits revocation is decided by
// the CRLs loaded at that moment: a CRL that disappears, expires, comes
// back or revokes takes effect at once.
func TestPathCacheFollowsCRLReloads(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := t.TempDir()
	this, next := testNow.Add(-time.Hour), testNow.Add(time.Hour)
	rootCRL := makeCRL(t, p.root, nil, this, next, nil)
	interCRL := makeCRL(t, p.inter, nil, this, next, nil)
	writeFile(t, filepath.Join(dir, "root.crl"), rootCRL)
	writeFile(t, filepath.Join(dir, "inter.crl"), interCRL)
	clock := newClock(testNow)
	pol := crlPolicy(p, CRLRequire, dir)
	pol.Now = clock.Now
	v := mustVerifier(t, pol)
	reload := func() {
		t.Helper()
		if err := v.Reload(); err != nil {
			t.Fatal(err)
		}
	}

	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	onlyEntry(t, v)

	if err := os.Remove(filepath.Join(dir, "inter.crl")); err != nil {
		t.Fatal(err)
	}
	reload()
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrCRLUnavailable, CheckRevocation)

	writeFile(t, filepath.Join(dir, "inter.crl"), interCRL)
	reload()
	wantAccepted(t, verify(t, v, p.leaf, p.inter))

	clock.t = next
	d := verify(t, v, p.leaf, p.inter)
	wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
	if !errors.Is(d.Err, ErrCRLExpired) {
		t.Fatalf("expired crl not named: %v", d.Err)
	}

	clock.t = testNow
	writeFile(t, filepath.Join(dir, "inter.crl"), makeCRL(t, p.inter, nil, this.Add(time.Minute), next,
		[]revoked{{p.leaf, testNow.Add(-time.Minute), 1}}))
	reload()
	wantRefused(t, verify(t, v, p.leaf, p.inter), ErrRevoked, CheckRevocation)
	onlyEntry(t, v) // all of it from the one cached path
}

// TestPathCacheExactMatch: an entry is used only for the very certificate
// set it was made from, whatever the key says.
func TestPathCacheExactMatch(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	v := mustVerifier(t, p.policy(fixedNow))
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	k, e := onlyEntry(t, v)
	leaf, inter := p.leaf.der(), p.inter.der()
	if got := v.paths.get(k, leaf, [][]byte{inter}); got != e {
		t.Fatal("entry not found for its own certificates")
	}
	flipped := bytes.Clone(leaf)
	flipped[len(flipped)-1] ^= 1
	for name, others := range map[string][][]byte{
		"no intermediate":    nil,
		"extra certificate":  {inter, inter},
		"other intermediate": {p.root.der()},
	} {
		if v.paths.get(k, leaf, others) != nil {
			t.Errorf("%s: entry used for another set", name)
		}
	}
	if v.paths.get(k, flipped, [][]byte{inter}) != nil {
		t.Error("entry used for a different end-entity certificate")
	}
}

// TestPathCacheOwnsCertificates: neither the cache nor a Decision depends
// on the caller's buffers, which an IKE engine may reuse.
func TestPathCacheOwnsCertificates(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	v := mustVerifier(t, p.policy(fixedNow))
	leaf, inter := bytes.Clone(p.leaf.der()), bytes.Clone(p.inter.der())
	first := v.Verify(context.Background(), leaf, [][]byte{inter})
	wantAccepted(t, first)
	clear(leaf)
	clear(inter)
	if !bytes.Equal(first.Leaf.Raw, p.leaf.der()) || !bytes.Equal(first.Chain[1].Raw, p.inter.der()) {
		t.Fatal("decision changed with the caller's buffers")
	}
	second := verify(t, v, p.leaf, p.inter)
	wantAccepted(t, second)
	onlyEntry(t, v)
	if second.Leaf != first.Leaf {
		t.Fatal("second Verify did not come from the path cache")
	}
}

// TestPathCacheSkipsOversizedSets: a set with a certificate over the size
// limit is decided but not cached, so the cache never holds one.
func TestPathCacheSkipsOversizedSets(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	v := mustVerifier(t, p.policy(fixedNow))
	big := make([]byte, maxCertificateSize+1)
	for range 2 {
		wantAccepted(t, v.Verify(context.Background(), p.leaf.der(), [][]byte{p.inter.der(), big}))
	}
	if n := len(v.paths.entries); n != 0 {
		t.Fatalf("path cache holds %d entries, want 0", n)
	}
}

// TestPathCacheConcurrentHits runs cache hits from several goroutines while
// the clock moves, for the race detector and the kept validity texts.
func TestPathCacheConcurrentHits(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := crlDirPKI(t, p, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	clock := newClock(testNow)
	pol := crlPolicy(p, CRLRequire, dir)
	pol.Now = clock.Now
	v := mustVerifier(t, pol)
	wantAccepted(t, verify(t, v, p.leaf, p.inter))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				d := v.Verify(context.Background(), p.leaf.der(), [][]byte{p.inter.der()})
				want := "all 3 certificates are within their validity periods at " + d.Time.UTC().Format(time.RFC3339)
				if !d.Accepted || d.Checks[1].Detail != want {
					errs <- fmt.Errorf("accepted %v, validity %q, want %q", d.Accepted, d.Checks[1].Detail, want)
					return
				}
			}
		}()
	}
	for range 200 {
		clock.Advance(300 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestValidityDetailPerSecond: the kept validity text changes with the
// second, not within it.
func TestValidityDetailPerSecond(t *testing.T) {
	c := &cachedChain{validityPrefix: "at "}
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{t0, "at 2025-06-01T11:00:00Z"},
		{t0.Add(999 * time.Millisecond), "at 2025-06-01T11:00:00Z"},
		{t0.Add(time.Second), "at 2025-06-01T11:00:01Z"},
		{t0.Add(-time.Nanosecond), "at 2025-06-01T10:59:59Z"},
		{time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), "at 1969-12-31T23:59:59Z"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "at 1970-01-01T00:00:00Z"},
	} {
		if got := c.validityDetail(tc.at); got != tc.want {
			t.Errorf("at %v: %q, want %q", tc.at, got, tc.want)
		}
	}
}

// TestEKUIntersectShares: intersect may share its receiver's array, which
// must then never be written through.
func TestEKUIntersectShares(t *testing.T) {
	a, b, c := oidEKUServerAuth, oidEKUClientAuth, oidEKUIPSecIKE
	s := ekuSet{}.add(a).add(b).add(c)
	for _, tc := range []struct {
		t    ekuSet
		want string
	}{
		{ekuSet{}.add(c).add(b), "clientAuth, ipsecIKE"},
		{ekuSet{}.add(c).add(a), "serverAuth, ipsecIKE"},
		{ekuSet{}.add(oidEKUIPSecUser), ""},
		{ekuSet{any: true}, "serverAuth, clientAuth, ipsecIKE"},
	} {
		got := s.intersect(tc.t)
		if got.String() != tc.want {
			t.Errorf("intersect: %q, want %q", got.String(), tc.want)
		}
		got.add(oidEKUIPSecUser)
		if s.String() != "serverAuth, clientAuth, ipsecIKE" {
			t.Fatalf("adding to the intersection changed the set: %s", s.String())
		}
	}
}

// TestCRLLookupSerials: the allocation-free lookup finds what serialKey
// indexed, for small, large, negative and oversized serial numbers.
func TestCRLLookupSerials(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(1), 300)
	serials := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(255), big.NewInt(256), big.NewInt(-1), big.NewInt(-300),
		new(big.Int).Lsh(big.NewInt(1), 159), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), huge, new(big.Int).Neg(huge)}
	crl := &CRL{revoked: map[string]*x509.RevocationListEntry{}}
	for _, n := range serials {
		crl.revoked[serialKey(n)] = &x509.RevocationListEntry{SerialNumber: n, ReasonCode: 1}
	}
	for _, n := range serials {
		e := crl.lookup(&x509.Certificate{SerialNumber: n})
		if e == nil || e.SerialNumber.Cmp(n) != 0 {
			t.Errorf("serial %v: found %v", n, e)
		}
	}
	if e := crl.lookup(&x509.Certificate{SerialNumber: big.NewInt(2)}); e != nil {
		t.Errorf("serial 2 found: %v", e.SerialNumber)
	}
}

// TestVerifyCachedAllocations pins the cost of a cache hit: the Decision,
// its checks and, with revocation, one block of revocation records.
func TestVerifyCachedAllocations(t *testing.T) {
	p := newTestPKI(t, "ecdsa")
	dir := crlDirPKI(t, p, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	leaf, others := p.leaf.der(), [][]byte{p.inter.der()}
	for _, tc := range []struct {
		mode CRLMode
		max  float64
	}{{CRLOff, 2}, {CRLRequire, 3}} {
		v := mustVerifier(t, crlPolicy(p, tc.mode, dir))
		wantAccepted(t, v.Verify(context.Background(), leaf, others))
		n := testing.AllocsPerRun(100, func() {
			if !v.Verify(context.Background(), leaf, others).Accepted {
				t.Fatal("refused")
			}
		})
		if n > tc.max {
			t.Errorf("crl mode %s: %v allocations per cached Verify, want at most %v", tc.mode, n, tc.max)
		}
	}
}

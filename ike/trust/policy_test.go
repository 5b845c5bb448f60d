package trust

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestPolicyFromYAML(t *testing.T) {
	const doc = `
root_ca_files: [/etc/ikelab/root.pem]
root_name: ikelab Lab Root CA (ECDSA)
intermediate_files: [/etc/ikelab/inter.pem]
accepted_ekus: [clientAuth, 1.3.6.1.5.5.8.2.2]
require_eku_extension: true
allow_non_repudiation: true
crl:
  mode: soft-fail
  files: [/etc/ikelab/root.crl]
  dir: /etc/ikelab/crl.d
  disable_fetch: false
  budget: 1500ms
  fetch_timeout: 20s
  max_size: 1048576
  refresh_before: 10m
  retry_after: 1m
  no_next_update_ttl: 2h
  ocsp: true
`
	var p Policy
	if err := yaml.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	c := p.CRL
	if p.RootName != "ikelab Lab Root CA (ECDSA)" || len(p.RootCAFiles) != 1 || len(p.IntermediateFiles) != 1 ||
		len(p.AcceptedEKUs) != 2 || !p.RequireEKUExtension || !p.AllowNonRepudiation {
		t.Fatalf("policy %+v", p)
	}
	if c.Mode != CRLSoftFail || c.Dir != "/etc/ikelab/crl.d" || len(c.Files) != 1 || c.Budget != 1500*time.Millisecond ||
		c.FetchTimeout != 20*time.Second || c.MaxSize != 1<<20 || c.RefreshBefore != 10*time.Minute ||
		c.RetryAfter != time.Minute || c.NoNextUpdateTTL != 2*time.Hour || !c.OCSP {
		t.Fatalf("crl policy %+v", c)
	}
	if err := yaml.Unmarshal([]byte("crl: {mode: sometimes}"), &p); err == nil {
		t.Fatal("bad crl mode accepted")
	}
}

func TestFetchCacheSweepsDeadEntries(t *testing.T) {
	c := newFetchCache(fixedNow, CRLPolicy{FetchTimeout: time.Second, RetryAfter: time.Second, NoNextUpdateTTL: time.Hour})
	defer c.close()
	c.mu.Lock()
	for i := range maxCacheEntries {
		e := c.entryLocked(fmt.Sprint(i), nil)
		if i%2 == 0 { // half hold a fresh value and must survive
			e.val, e.fresh = struct{}{}, testNow.Add(time.Hour)
		}
	}
	c.entryLocked("new", nil)
	n := len(c.entries)
	c.mu.Unlock()
	if n != maxCacheEntries/2+1 {
		t.Fatalf("%d entries after sweep, want %d", n, maxCacheEntries/2+1)
	}
}

// BenchmarkVerify measures one Verify of a three-certificate chain with
// revocation answered from local CRLs (the steady state of a responder).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ecdsa", "rsa"} {
		b.Run(alg, func(b *testing.B) {
			p := newTestPKI(b, alg)
			dir := b.TempDir()
			writeFile(b, dir+"/root.crl", makeCRL(b, p.root, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
			writeFile(b, dir+"/inter.crl", makeCRL(b, p.inter, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), nil))
			pol := crlPolicyB(p, dir)
			v := mustVerifier(b, pol)
			leaf, others := p.leaf.der(), [][]byte{p.inter.der()}
			b.ReportAllocs()
			for b.Loop() {
				if d := v.Verify(context.Background(), leaf, others); !d.Accepted {
					b.Fatal(d)
				}
			}
		})
	}
}

func crlPolicyB(p *testPKI, dir string) Policy {
	pol := p.policy(fixedNow)
	pol.CRL = CRLPolicy{Dir: dir, DisableFetch: true}
	return pol
}

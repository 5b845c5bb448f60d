package trust

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/internal/jsonw"
)

// fullDecision has every field that encoding/json writes set (in the first
// element of each slice), with strings that need escaping.
func fullDecision() *Decision {
	nb := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Decision{
		Accepted: true,
		Reason:   `trust: certificate "CN=vpn, O=A&B" is revoked`,
		Failure:  "revoked",
		Time:     time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600)),
		Subject:  "CN=vpn\\,x,O=<Grüße>",
		ChainInfo: []CertInfo{
			{Subject: "CN=vpn", Issuer: "CN=Inter\u2028CA", Serial: "0x1f", NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0), SHA256: strings.Repeat("ab", 32)},
			{Subject: "CN=Inter\u2028CA", Issuer: "CN=Root\x01", Serial: "0x2", NotBefore: nb, NotAfter: nb.AddDate(5, 0, 0), SHA256: strings.Repeat("cd", 32)},
		},
		Checks: []Check{
			{Name: CheckRevocation, Status: StatusFailed, Subject: "CN=vpn", Detail: "revoked\n",
				Revocation: &RevocationInfo{Status: "revoked", Serial: "0x1f", Method: "crl", Source: "http://crl.test/a.crl?x=1&y=<2>",
					ThisUpdate: nb, NextUpdate: nb.Add(time.Hour), RevokedAt: nb.Add(-time.Hour), Reason: "keyCompromise",
					Problems: []string{"ocsp: \xff bad", ""}}},
			{Name: CheckChain, Status: StatusOK, Detail: "chain to CN=Root\t(trusted)"},
		},
		Err:   ErrRevoked,
		Leaf:  &x509.Certificate{},
		Chain: []*x509.Certificate{{}},
	}
}

// sameAsEncodingJSON fails unless got is, after prefix, what encoding/json
// writes for v, or just prefix when encoding/json refuses v.
func sameAsEncodingJSON(t *testing.T, got []byte, prefix string, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		want = nil
	}
	got, want = jsonw.Canonical(got), jsonw.Canonical(want)
	if string(got) != prefix+string(want) {
		t.Errorf("AppendJSON wrote\n%s\nencoding/json writes (err %v)\n%s%s", got, err, prefix, want)
	}
}

func TestDecisionAppendJSON(t *testing.T) {
	tests := map[string]*Decision{
		"full":         fullDecision(),
		"nil":          nil,
		"zero":         {},
		"empty slices": {ChainInfo: []CertInfo{}, Checks: []Check{}},
		"zero check": {Checks: []Check{{}, {Revocation: &RevocationInfo{
			ThisUpdate: time.Time{}.In(time.FixedZone("X", 3600)), Problems: []string{}}}}},
		"year 10000":     {Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"bad chain time": {Checks: []Check{}, ChainInfo: []CertInfo{{NotAfter: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		"bad revocation time": {Checks: []Check{{Revocation: &RevocationInfo{
			RevokedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 24*3600))}}}},
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			sameAsEncodingJSON(t, d.AppendJSON([]byte("{}\n")), "{}\n", d)
		})
	}
}

// TestVerifyDecisionJSON encodes real decisions, accepted and refused.
func TestVerifyDecisionJSON(t *testing.T) {
	fx := loadFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "root.crl"), fx.rootCRL)
	writeFile(t, filepath.Join(dir, "inter.crl"), fx.interCRL)
	v := mustVerifier(t, Policy{RootCAs: []*x509.Certificate{fx.root}, Now: fixedNow, CRL: CRLPolicy{Dir: dir, DisableFetch: true}})
	for _, leaf := range []*x509.Certificate{fx.leaf, fx.revokedLeaf, fx.root} {
		d := v.Verify(context.Background(), leaf.Raw, [][]byte{fx.inter.Raw})
		sameAsEncodingJSON(t, d.AppendJSON(nil), "", d)
		// A caller that replaces ChainInfo gets it encoded, not the path
		// cache's encoding of the chain it replaced.
		if len(d.ChainInfo) > 0 {
			c := *d
			c.ChainInfo = append([]CertInfo(nil), d.ChainInfo...)
			c.ChainInfo[0].Subject = "CN=replaced"
			sameAsEncodingJSON(t, c.AppendJSON(nil), "", &c)
			if !strings.Contains(string(c.AppendJSON(nil)), "CN=replaced") {
				t.Errorf("the replaced ChainInfo is not in the JSON: %s", c.AppendJSON(nil))
			}
		}
	}
}

// TestDecisionJSONCoversFields fails when a field is added that the
// AppendJSON methods do not know of (fullDecision must then set it), or
// when a field's type gains a MarshalJSON or MarshalText method, which
// encoding/json would call and AppendJSON would not.
func TestDecisionJSONCoversFields(t *testing.T) {
	for _, problem := range jsonw.Uncovered(fullDecision()) {
		t.Error(problem)
	}
}

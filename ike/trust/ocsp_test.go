package trust

import (
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspResponder answers every request for its issuer with status, signed by
// signer (the issuer itself or a delegated responder certificate).
type ocspResponder struct {
	issuer, signer *node
	status         int
	hits           atomic.Int32
}

func (o *ocspResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tmpl := ocsp.Response{
		Status:       o.status,
		SerialNumber: req.SerialNumber,
		ThisUpdate:   testNow.Add(-time.Hour),
		NextUpdate:   testNow.Add(time.Hour),
	}
	if o.status == ocsp.Revoked {
		tmpl.RevokedAt = testNow.Add(-3 * time.Hour)
		tmpl.RevocationReason = ocsp.KeyCompromise
	}
	if o.signer != o.issuer {
		tmpl.Certificate = o.signer.cert
	}
	der, err := ocsp.CreateResponse(o.issuer.cert, o.signer.cert, tmpl, o.signer.key.(crypto.Signer))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

func TestOCSPAsSecondSource(t *testing.T) {
	root := newRoot(t, "ecdsa", "OCSP Root")
	resp := &ocspResponder{issuer: root, signer: root}
	srv := httptest.NewServer(resp)
	defer srv.Close()
	leaf := newLeaf(t, root, "ecdsa", "ocsp.test", func(c *x509.Certificate) { c.OCSPServer = []string{srv.URL} })
	delegate := newLeaf(t, root, "ecdsa", "responder.test", func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	})
	pol := Policy{RootCAs: []*x509.Certificate{root.cert}, Now: fixedNow, CRL: CRLPolicy{OCSP: true}}

	resp.status = ocsp.Good
	v := mustVerifier(t, pol)
	d := verify(t, v, leaf)
	wantAccepted(t, d)
	var info *RevocationInfo
	for _, c := range d.Checks {
		if c.Name == CheckRevocation {
			info = c.Revocation
		}
	}
	if info == nil || info.Method != "ocsp" || info.Source != srv.URL || info.Status != RevocationGood {
		t.Fatalf("revocation info %+v", info)
	}
	wantAccepted(t, verify(t, v, leaf))
	if resp.hits.Load() != 1 {
		t.Fatalf("ocsp response not cached: %d requests", resp.hits.Load())
	}

	resp.status = ocsp.Revoked
	d = verify(t, mustVerifier(t, pol), leaf)
	wantRefused(t, d, ErrRevoked, CheckRevocation)
	if info := d.Checks[len(d.Checks)-1].Revocation; info.Reason != "keyCompromise" || !info.RevokedAt.Equal(testNow.Add(-3*time.Hour)) {
		t.Fatalf("revoked info %+v", info)
	}

	resp.status = ocsp.Unknown
	wantRefused(t, verify(t, mustVerifier(t, pol), leaf), ErrCRLUnavailable, CheckRevocation)

	// A delegated responder needs id-kp-OCSPSigning (RFC 6960, Section
	// 4.2.2.2): with it the answer counts, without it (here: the peer's
	// own certificate vouching for itself) it does not.
	resp.status, resp.signer = ocsp.Good, delegate
	wantAccepted(t, verify(t, mustVerifier(t, pol), leaf))
	resp.signer = leaf
	d = verify(t, mustVerifier(t, pol), leaf)
	wantRefused(t, d, ErrCRLUnavailable, CheckRevocation)
	if !errors.Is(d.Err, ErrCRLSignature) {
		t.Fatalf("self-vouching responder: %v", d.Err)
	}

	// OCSP is only consulted when enabled.
	resp.signer = root
	pol.CRL.OCSP = false
	before := resp.hits.Load()
	wantRefused(t, verify(t, mustVerifier(t, pol), leaf), ErrCRLUnavailable, CheckRevocation)
	if resp.hits.Load() != before {
		t.Fatal("ocsp asked although disabled")
	}
}

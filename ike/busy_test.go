package ike

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/labpki"
)

// TestRetransmissionWhileBusyIsDropped: while IKE_AUTH waits for a CRL
// fetch, a retransmission of it returns at once instead of queueing on
// the SA (RFC 7296, Section 2.1: the answer goes out when ready).
func TestRetransmissionWhileBusyIsDropped(t *testing.T) {
	hit, release := make(chan struct{}, 4), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		<-release
		http.Error(w, "gone", http.StatusNotFound)
	}))
	defer srv.Close()
	defer close(release)
	dir, err := os.MkdirTemp("", "ikelab-busy")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	pki, err := labpki.Generate(labpki.Options{Dir: dir, CRLBaseURL: srv.URL})
	require.NoError(t, err)
	v, err := trust.NewVerifier(trust.Policy{RootCAFiles: []string{pki.ECDSA.Root.CertPath},
		CRL: trust.CRLPolicy{Budget: 10 * time.Second, FetchTimeout: 10 * time.Second}})
	require.NoError(t, err)
	defer v.Close()
	h := newHarness(t, Config{Certificates: [][]byte{pki.ECDSA.Server.Cert.Raw}, Key: pki.ECDSA.Server.Key, Trust: v,
		TrustTimeout: 10 * time.Second})
	ic := clientCert(pki.ECDSA, pki.ECDSA.Clients[0])
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128gcm16-prfsha256-ecp256"), proposals(t, wire.ProtoESP, "aes128gcm16")
	ic.Timeout, ic.Retries = 5*time.Second, 1
	h.p.dropToEngine.Store(false)
	go connect(t, h, ic)
	select {
	case <-hit:
	case <-time.After(10 * time.Second):
		t.Fatal("IKE_AUTH never reached the CRL fetch")
	}
	// The IKE_AUTH being answered, sent again.
	var auth []byte
	h.p.mu.Lock()
	for _, m := range h.p.toEngine {
		if hd, err := wire.ParseHeader(m); err == nil && hd.Exchange == wire.IKE_AUTH {
			auth = m
		}
	}
	h.p.mu.Unlock()
	require.NotNil(t, auth)
	done := make(chan struct{})
	go func() {
		h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: auth})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the retransmission waited for the busy SA")
	}
}

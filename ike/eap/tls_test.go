package eap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
)

var (
	pkiOnce   sync.Once
	sharedPKI *testPKI
)

// tlsPKI returns one PKI for the package's tests (key generation and CRL
// files once). Its directory outlives the first test, so it is not a
// t.TempDir.
func tlsPKI(t *testing.T) *testPKI {
	pkiOnce.Do(func() { sharedPKI = newTestPKI(&pkiT{t}) })
	return sharedPKI
}

// pkiT lets newTestPKI use a directory that is not removed with the first
// test that asked for it.
type pkiT struct{ *testing.T }

func (p *pkiT) TempDir() string {
	d, err := os.MkdirTemp("", "ikelab-eap-pki-")
	if err != nil {
		p.Fatal(err)
	}
	pkiDirs = append(pkiDirs, d)
	return d
}

// pkiDirs are removed by TestMain.
var pkiDirs []string

func tlsServerConfig(t *testing.T, p *testPKI) ServerConfig {
	return ServerConfig{Methods: []wire.EAPType{wire.EAPTLS}, Certificate: p.server.tlsCert(), Trust: p.clientVerifier(t)}
}

func tlsClientConfig(t *testing.T, p *testPKI, who *pkiNode) ClientConfig {
	return ClientConfig{Identity: who.cert.Subject.CommonName, Certificate: who.tlsCert(),
		Trust: p.serverVerifier(t), ServerName: "vpn.ikelab.test"}
}

func TestTLSSuccess(t *testing.T) {
	p := tlsPKI(t)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tlsVersionName(v), func(t *testing.T) {
			scfg := tlsServerConfig(t, p)
			scfg.TLSMaxVersion = v
			c := converse(t, mustServer(t, scfg), mustClient(t, tlsClientConfig(t, p, p.carol)))
			if c.server == nil || !c.server.Success || !c.client.Success {
				t.Fatalf("trace %v\nserver %+v\nclient %+v", c.trace, c.server, c.client)
			}
			if len(c.server.MSK) != 64 || !bytes.Equal(c.server.MSK, c.client.MSK) {
				t.Fatalf("MSKs differ or are not 64 octets")
			}
			if d := c.server.Certificate; d == nil || !d.Accepted || d.Subject != "CN=carol" {
				t.Errorf("client certificate decision %+v", d)
			}
			if d := c.client.Certificate; d == nil || !d.Accepted || d.Subject != "CN=vpn.ikelab.test" {
				t.Errorf("server certificate decision %+v", d)
			}
			if !strings.Contains(c.server.Reason, tlsVersionName(v)) {
				t.Errorf("reason %q does not name %s", c.server.Reason, tlsVersionName(v))
			}
			// The last exchange is the peer's empty acknowledgement of
			// the final flight (TLS 1.2: ChangeCipherSpec and Finished;
			// TLS 1.3: the commitment message), then EAP-Success.
			if n := len(c.trace); c.trace[n-1] != "EAP/SUCC" || c.trace[n-2] != "EAP/RES/TLS" {
				t.Errorf("trace ends %v", c.trace[n-3:])
			}
		})
	}
}

// RFC 5216, Section 2.1.5: every fragment is acknowledged; the first of a
// series carries L. With 100-octet fragments the handshake needs dozens of
// rounds and still derives the same keys.
func TestTLSSmallFragments(t *testing.T) {
	p := tlsPKI(t)
	scfg := tlsServerConfig(t, p)
	scfg.FragmentSize, scfg.MaxFragments = 100, 200
	ccfg := tlsClientConfig(t, p, p.carol)
	ccfg.FragmentSize, ccfg.MaxFragments = 100, 200
	srv, cli := mustServer(t, scfg), mustClient(t, ccfg)
	spy := &fragmentSpy{Server: srv, t: t, max: 100}
	c := converse(t, spy, cli)
	if spy.checked < 10 {
		t.Errorf("only %d EAP-TLS requests checked", spy.checked)
	}
	if !c.server.Success || !bytes.Equal(c.server.MSK, c.client.MSK) {
		t.Fatalf("server %+v client %+v", c.server, c.client)
	}
	if c.rounds < 20 {
		t.Errorf("only %d rounds with 100-octet fragments", c.rounds)
	}
}

// fragmentSpy checks the framing of every EAP-TLS packet the server sends.
type fragmentSpy struct {
	Server
	t       *testing.T
	max     int
	inMsg   bool
	checked int
}

func (s *fragmentSpy) Next(ctx context.Context, resp *wire.EAP) (*wire.EAP, bool, *Result, error) {
	next, done, res, err := s.Server.Next(ctx, resp)
	if next != nil && next.Code == wire.EAPRequest && next.EAPType == wire.EAPTLS {
		f, ferr := next.TLS()
		if ferr != nil {
			s.t.Fatalf("server sent bad EAP-TLS: %v", ferr)
		}
		if len(f.TLSData) > s.max {
			s.t.Errorf("fragment of %d octets, limit %d", len(f.TLSData), s.max)
		}
		more, length := f.Flags&wire.TLSFlagMore != 0, f.Flags&wire.TLSFlagLength != 0
		if more && !s.inMsg && !length {
			s.t.Error("first fragment of a series without the L flag")
		}
		if length && s.inMsg {
			s.t.Error("L flag on a later fragment")
		}
		s.inMsg = more
		s.checked++
	}
	return next, done, res, err
}

func TestTLSRevokedCertificateRefused(t *testing.T) {
	p := tlsPKI(t)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tlsVersionName(v), func(t *testing.T) {
			scfg := tlsServerConfig(t, p)
			scfg.TLSMaxVersion = v
			c := converse(t, mustServer(t, scfg), mustClient(t, tlsClientConfig(t, p, p.dave)))
			if c.server == nil || c.server.Success || c.client.Success {
				t.Fatalf("revoked certificate accepted: %+v", c.server)
			}
			if !errors.Is(c.server.Err, ErrCertificate) || !errors.Is(c.server.Err, trust.ErrRevoked) {
				t.Errorf("server error %v, want ErrCertificate and trust.ErrRevoked", c.server.Err)
			}
			if d := c.server.Certificate; d == nil || d.Accepted || d.Failure != "revoked" {
				t.Errorf("decision %+v", d)
			}
			if c.early == nil || !errors.Is(c.early.Err, trust.ErrRevoked) {
				t.Errorf("the alert round carried no early verdict: %+v", c.early)
			}
			if c.trace[len(c.trace)-1] != "EAP/FAIL" || c.client.MSK != nil || c.server.MSK != nil {
				t.Errorf("trace %v", c.trace)
			}
		})
	}
}

// A client certificate from a CA the trust policy does not accept.
func TestTLSUntrustedClientRefused(t *testing.T) {
	p := tlsPKI(t)
	other := newTestPKI(t)
	ccfg := tlsClientConfig(t, p, other.carol)
	c := converse(t, mustServer(t, tlsServerConfig(t, p)), mustClient(t, ccfg))
	// The other root has the same name and another key: a forged root.
	if c.server.Success || !errors.Is(c.server.Err, ErrCertificate) || !errors.Is(c.server.Err, trust.ErrBadSignature) {
		t.Fatalf("server %+v", c.server)
	}
}

func TestTLSClientWithoutCertificateRefused(t *testing.T) {
	p := tlsPKI(t)
	ccfg := tlsClientConfig(t, p, p.carol)
	ccfg.Certificate = nil
	ccfg.Methods = []wire.EAPType{wire.EAPTLS}
	c := converse(t, mustServer(t, tlsServerConfig(t, p)), mustClient(t, ccfg))
	if c.server.Success || !errors.Is(c.server.Err, ErrTLS) || c.client.Success {
		t.Fatalf("server %+v", c.server)
	}
}

// The client refuses a server whose certificate it does not trust, with
// the trust policy and with plain crypto/x509 roots.
func TestTLSClientRefusesServer(t *testing.T) {
	p := tlsPKI(t)
	other := newTestPKI(t)
	withTrust := tlsClientConfig(t, p, p.carol)
	withTrust.Trust = other.serverVerifier(t)
	roots := x509.NewCertPool()
	roots.AddCert(other.root.cert)
	withRoots := tlsClientConfig(t, p, p.carol)
	withRoots.Trust, withRoots.RootCAs = nil, roots
	wrongName := tlsClientConfig(t, p, p.carol)
	wrongName.ServerName = "other.ikelab.test"
	for name, ccfg := range map[string]ClientConfig{"trust": withTrust, "roots": withRoots, "name": wrongName} {
		t.Run(name, func(t *testing.T) {
			c := converse(t, mustServer(t, tlsServerConfig(t, p)), mustClient(t, ccfg))
			if c.client.Success || c.server == nil || c.server.Success {
				t.Fatalf("client %+v server %+v", c.client, c.server)
			}
			if !strings.Contains(c.client.Reason, "certificate") {
				t.Errorf("client reason %q", c.client.Reason)
			}
		})
	}
	good := tlsClientConfig(t, p, p.carol)
	pool := x509.NewCertPool()
	pool.AddCert(p.root.cert)
	good.Trust, good.RootCAs = nil, pool
	if c := converse(t, mustServer(t, tlsServerConfig(t, p)), mustClient(t, good)); !c.client.Success {
		t.Fatalf("x509 roots refused the right server: %+v", c.client)
	}
}

// A message larger than MaxTLSMessage, or in more fragments than
// MaxFragments, ends the conversation with ErrLimit.
func TestTLSLimits(t *testing.T) {
	p := tlsPKI(t)
	for name, edit := range map[string]func(*ServerConfig, *ClientConfig){
		"size":      func(s *ServerConfig, c *ClientConfig) { s.MaxTLSMessage = 1024; c.FragmentSize = 1000 },
		"fragments": func(s *ServerConfig, c *ClientConfig) { s.MaxFragments = 3; c.FragmentSize = 100 },
	} {
		t.Run(name, func(t *testing.T) {
			// Go's ClientHello, with its X25519MLKEM768 key share, is
			// about 1.4 KB: over both limits.
			scfg, ccfg := tlsServerConfig(t, p), tlsClientConfig(t, p, p.carol)
			edit(&scfg, &ccfg)
			c := converse(t, mustServer(t, scfg), mustClient(t, ccfg))
			if c.server.Success || !errors.Is(c.server.Err, ErrLimit) {
				t.Fatalf("server %+v", c.server)
			}
		})
	}
}

// RFC 5216, Section 2.3, and RFC 9190, Section 2.3: the MSK is the TLS
// exporter's output. The TLS 1.2 fallback for peers without the extended
// master secret computes it from the key log; both must agree.
func TestTLS12MSKFallbackMatchesExporter(t *testing.T) {
	p := tlsPKI(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	keys := new(keyLog)
	// A SHA-384 suite, so that the PRF hash follows the cipher suite.
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{*p.server.tlsCert()}, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}})
	var flight bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	spy := &recordingConn{Conn: b, read: &flight}
	cli := tls.Client(spy, &tls.Config{InsecureSkipVerify: true, KeyLogWriter: keys, MaxVersion: tls.VersionTLS12})
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	keys.noteServerHello(flight.Bytes())
	cs := cli.ConnectionState()
	want, err := cs.ExportKeyingMaterial("client EAP encryption", nil, 128)
	if err != nil {
		t.Fatal(err)
	}
	cr, master := keys.get()
	seed := append(append([]byte("client EAP encryption"), cr...), keys.serverRandom()...)
	got := prf12(sha512.New384, master, seed, 128)
	if !bytes.Equal(got, want) {
		t.Fatalf("PRF from the key log %x\nexporter %x", got[:16], want[:16])
	}
	if msk, err := eapTLSMSK(&cs, keys); err != nil || !bytes.Equal(msk, want[:64]) {
		t.Fatalf("eapTLSMSK: %v", err)
	}
}

// recordingConn keeps a copy of what is read.
type recordingConn struct {
	net.Conn
	read *bytes.Buffer
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.read.Write(b[:n])
	return n, err
}

// Eight conversations at once, each with its handshake goroutine: every
// pair agrees on its MSK and no two MSKs are equal, so the drivers do not
// mix flights.
func TestTLSConcurrentConversations(t *testing.T) {
	p := tlsPKI(t)
	var wg sync.WaitGroup
	msks := make([][]byte, 8)
	for i := range msks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scfg := tlsServerConfig(t, p)
			scfg.FragmentSize = 300
			c := converse(t, mustServer(t, scfg), mustClient(t, tlsClientConfig(t, p, p.carol)))
			if c.server.Success && bytes.Equal(c.server.MSK, c.client.MSK) {
				msks[i] = c.server.MSK
			}
		}()
	}
	wg.Wait()
	seen := map[[32]byte]bool{}
	for i, m := range msks {
		if m == nil {
			t.Fatalf("conversation %d failed", i)
		}
		seen[sha256.Sum256(m)] = true
	}
	if len(seen) != len(msks) {
		t.Fatal("two conversations derived the same MSK")
	}
}

// Close ends the handshake goroutine of an abandoned conversation.
func TestTLSCloseAbandoned(t *testing.T) {
	p := tlsPKI(t)
	srv := mustServer(t, tlsServerConfig(t, p))
	cli := mustClient(t, tlsClientConfig(t, p, p.carol))
	ctx := context.Background()
	req, _ := srv.Start()
	for range 3 {
		resp, _, _, err := cli.Next(ctx, viaWire(t, req))
		if err != nil {
			t.Fatal(err)
		}
		req, _, _, _ = srv.Next(ctx, viaWire(t, resp))
	}
	s := srv.(*server).method.(*tlsServer)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	select {
	case <-s.drv.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("handshake goroutine did not end after Close")
	}
	if s.drv.err == nil {
		t.Fatalf("goroutine ended without an error: %v", s.drv.err)
	}
}

func TestTLSVersionName(t *testing.T) {
	if tlsVersionName(0x0301) != fmt.Sprintf("TLS %#x", 0x0301) {
		t.Error(tlsVersionName(0x0301))
	}
	if !slices.Contains([]string{"TLS 1.2", "TLS 1.3"}, tlsVersionName(tls.VersionTLS13)) {
		t.Error("name of TLS 1.3")
	}
}

// A peer that stops answering leaves no goroutine behind: the handshake
// ends after IdleTimeout, and the late response gets EAP-Failure.
func TestTLSIdleTimeout(t *testing.T) {
	p := tlsPKI(t)
	scfg := tlsServerConfig(t, p)
	scfg.IdleTimeout, scfg.FragmentSize = 100*time.Millisecond, 8000
	ccfg := tlsClientConfig(t, p, p.carol)
	ccfg.FragmentSize = 8000
	srv, cli := mustServer(t, scfg), mustClient(t, ccfg)
	ctx := context.Background()
	req, _ := srv.Start()
	var resp *wire.EAP
	// identity, TLS start and ClientHello, server flight and the
	// client's second flight, which the server gets too late.
	for i := range 3 {
		r, _, _, err := cli.Next(ctx, viaWire(t, req))
		if err != nil {
			t.Fatal(err)
		}
		resp = viaWire(t, r)
		if i < 2 {
			req, _, _, _ = srv.Next(ctx, resp)
		}
	}
	s := srv.(*server).method.(*tlsServer)
	select {
	case <-s.drv.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("handshake goroutine still running after its idle timeout")
	}
	next, done, res, err := srv.Next(ctx, resp)
	if err != nil || !done || next.Code != wire.EAPFailure || !errors.Is(res.Err, ErrTLS) {
		t.Fatalf("late response: %v %v %+v %v", next, done, res, err)
	}
}

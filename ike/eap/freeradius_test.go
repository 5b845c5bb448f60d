package eap

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// freeRADIUSConf is a minimal FreeRADIUS 3.2 configuration: one client
// (the relay on loopback), the users file, the eap module with MSCHAPv2
// first and EAP-TLS with CRL checking.
const freeRADIUSConf = `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {{dir}}/log
raddbdir = {{dir}}
radacctdir = {{dir}}/log
name = radiusd
confdir = ${raddbdir}
modconfdir = ${confdir}/mods-config
certdir = ${confdir}/certs
cadir = ${confdir}/certs
run_dir = {{dir}}/run
db_dir = ${raddbdir}
libdir = /usr/lib/freeradius
pidfile = ${run_dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {
	destination = stdout
	auth = yes
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}
thread pool {
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 3
	max_requests_per_server = 0
}
client relay {
	ipaddr = 127.0.0.1
	secret = {{secret}}
	require_message_authenticator = yes
}
modules {
	files {
		filename = ${confdir}/users
	}
	mschap {
	}
	eap {
		default_eap_type = mschapv2
		timer_expire = 60
		max_sessions = 64
		tls-config tls-common {
			private_key_file = ${certdir}/server.key
			certificate_file = ${certdir}/server.pem
			ca_file = ${certdir}/ca-and-crl.pem
			check_crl = yes
			tls_min_version = "1.2"
			tls_max_version = "1.2"
			fragment_size = 1024
		}
		tls {
			tls = tls-common
		}
		mschapv2 {
		}
	}
}
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = {{port}}
	}
	authorize {
		files
		eap {
			ok = return
		}
	}
	authenticate {
		eap
		Auth-Type MS-CHAP {
			mschap
		}
	}
}
`

// syncBuffer collects the server's output for the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// waitFor reports whether the output contains text within d.
func (s *syncBuffer) waitFor(text string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(s.String(), text) {
			return true
		}
	}
	return strings.Contains(s.String(), text)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startFreeRADIUS runs FreeRADIUS (Debian package freeradius) in debug
// mode on a free loopback port with a generated configuration, and stops
// it when the test ends. It returns the server address and its output.
func startFreeRADIUS(t *testing.T, p *testPKI, secret string) (string, *syncBuffer) {
	bin, err := exec.LookPath("freeradius")
	if err != nil {
		if bin, err = exec.LookPath("radiusd"); err != nil {
			t.Skip("needs FreeRADIUS: apt-get install -y freeradius")
		}
	}
	dir := t.TempDir()
	for _, d := range []string{"certs", "log", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	key, err := x509.MarshalPKCS8PrivateKey(p.server.key)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := os.ReadFile(p.crlFile)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	writeFile(t, filepath.Join(certs, "server.pem"), pemBlock("CERTIFICATE", p.server.cert.Raw))
	writeFile(t, filepath.Join(certs, "server.key"), pemBlock("PRIVATE KEY", key))
	// OpenSSL reads CRLs from the CA file too; check_crl makes them count.
	writeFile(t, filepath.Join(certs, "ca-and-crl.pem"), append(pemBlock("CERTIFICATE", p.root.cert.Raw), crl...))
	h := NTHash("carol-secret")
	writeFile(t, filepath.Join(dir, "users"), []byte("carol\tNT-Password := 0x"+hex.EncodeToString(h[:])+"\n"))

	// A free port: bound and released, then given to FreeRADIUS. Another
	// process could take it in between; the start would then fail with a
	// bind error in the log.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	conf := strings.NewReplacer("{{dir}}", dir, "{{secret}}", secret, "{{port}}", fmt.Sprint(port)).Replace(freeRADIUSConf)
	writeFile(t, filepath.Join(dir, "radiusd.conf"), []byte(conf))

	out := new(syncBuffer)
	cmd := exec.Command(bin, "-X", "-f", "-d", dir, "-n", "radiusd")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("FreeRADIUS output:\n%s", out.String())
		}
	})
	deadline := time.After(20 * time.Second)
	for !strings.Contains(out.String(), "Ready to process requests") {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("FreeRADIUS exited before it was ready (%v):\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("FreeRADIUS not ready after 20 s:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), out
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFreeRADIUSRelay relays MSCHAPv2 and EAP-TLS conversations of this
// package's client through the relay to a real FreeRADIUS.
func TestFreeRADIUSRelay(t *testing.T) {
	p := tlsPKI(t)
	addr, log := startFreeRADIUS(t, p, "ikelab-radius-secret")
	relay := func() Server {
		return mustServer(t, ServerConfig{RADIUS: &RADIUSConfig{Server: addr, Secret: []byte("ikelab-radius-secret"),
			Timeout: 2 * time.Second, FramedMTU: 1100}, CallingStationID: "192.0.2.7"})
	}
	tls12 := func(who *pkiNode) ClientConfig {
		c := tlsClientConfig(t, p, who)
		c.TLSMaxVersion = 0x0303
		c.ServerName = "vpn.ikelab.test"
		return c
	}

	t.Run("MSCHAPv2", func(t *testing.T) {
		c := converse(t, relay(), msClient(t, "carol", "carol-secret"))
		if !c.server.Success || !c.client.Success || c.server.Method != wire.EAPMSCHAPv2 {
			t.Fatalf("trace %v\nserver %+v\nclient %+v", c.trace, c.server, c.client)
		}
		// FreeRADIUS sends the two 16-octet MPPE keys: the first half
		// of the client's MSK, whose second half is zero.
		if len(c.server.MSK) != 32 || !bytes.Equal(c.server.MSK, c.client.MSK[:32]) || !bytes.Equal(c.client.MSK[32:], make([]byte, 32)) {
			t.Fatalf("relayed MSK (%d octets) does not match the client's", len(c.server.MSK))
		}
	})
	t.Run("MSCHAPv2 wrong password", func(t *testing.T) {
		c := converse(t, relay(), msClient(t, "carol", "not-the-password"))
		if c.server.Success || !errors.Is(c.server.Err, ErrRejected) || c.client.Success {
			t.Fatalf("trace %v\nserver %+v\nclient %+v", c.trace, c.server, c.client)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		c := converse(t, relay(), mustClient(t, tls12(p.carol)))
		if !c.server.Success || !c.client.Success || c.server.Method != wire.EAPTLS {
			t.Fatalf("trace %v\nserver %+v\nclient %+v", c.trace, c.server, c.client)
		}
		if len(c.server.MSK) != 64 || !bytes.Equal(c.server.MSK, c.client.MSK) {
			t.Fatal("relayed EAP-TLS MSK differs from the client's")
		}
	})
	t.Run("TLS revoked", func(t *testing.T) {
		c := converse(t, relay(), mustClient(t, tls12(p.dave)))
		if c.server.Success || !errors.Is(c.server.Err, ErrRejected) || c.client.Success {
			t.Fatalf("trace %v\nserver %+v\nclient %+v", c.trace, c.server, c.client)
		}
		// OpenSSL's reason, in FreeRADIUS's debug output (copied from
		// its stdout pipe asynchronously, so wait a little for it).
		if !log.waitFor("OpenSSL says error 23 : certificate revoked", 5*time.Second) {
			t.Error("FreeRADIUS did not refuse the certificate as revoked")
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		srv := mustServer(t, ServerConfig{RADIUS: &RADIUSConfig{Server: addr, Secret: []byte("wrong"),
			Timeout: 300 * time.Millisecond, Retries: -1}})
		req, _ := srv.Start()
		_, done, res, err := srv.Next(context.Background(), response(req.Identifier, wire.EAPIdentity, []byte("carol")))
		if err != nil || !done || res.Success || !errors.Is(res.Err, ErrRADIUS) {
			t.Fatalf("%v %+v %v", done, res, err)
		}
	})
}

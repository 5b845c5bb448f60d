package radius

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/interop/lab"
)

// ReadyTimeout bounds FreeRADIUS's start: it loads the dictionaries and
// OpenSSL, and reads the certificates, in well under a second here.
const ReadyTimeout = 20 * time.Second

// readyText is what FreeRADIUS prints once it listens (in -X mode).
const readyText = "Ready to process requests"

// binaryNames are the names of the server binary: Debian renames upstream's
// radiusd to freeradius. The sbin paths are tried too because a non-root
// PATH often lacks them.
var binaryNames = []string{"freeradius", "radiusd", "/usr/sbin/freeradius", "/usr/sbin/radiusd", "/usr/local/sbin/radiusd"}

// Binary returns the path of the FreeRADIUS server, or "" when none is
// installed. The FREERADIUS environment variable overrides the search.
func Binary() string {
	if p := os.Getenv("FREERADIUS"); p != "" {
		return p
	}
	for _, n := range binaryNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Require skips the test unless FreeRADIUS is installed.
func Require(t testing.TB) {
	t.Helper()
	if Binary() == "" {
		t.Skip("radius: test needs FreeRADIUS 3 (Debian package freeradius, binary freeradius or radiusd; or set $FREERADIUS)")
	}
}

// Server is a FreeRADIUS started by Start.
type Server struct {
	// Addr is where it takes authentication requests.
	Addr netip.AddrPort
	// Dir is its configuration directory.
	Dir string

	proc *lab.Process
}

// Start writes cfg into a temporary directory and runs FreeRADIUS in debug
// mode inside ns (on the host when ns is nil), waiting until it is ready.
// The test is skipped when FreeRADIUS is missing and fails when it does not
// start; the server is stopped when the test ends, and its debug log is
// printed if the test failed.
//
// Equivalent to: ip netns exec NS freeradius -X -d DIR -n radiusd
func Start(t testing.TB, ns *lab.Netns, cfg Config) *Server {
	t.Helper()
	Require(t)
	full, err := cfg.withDefaults()
	if err != nil {
		t.Fatalf("%v", err)
	}
	dir := t.TempDir()
	if err := cfg.Write(dir); err != nil {
		t.Fatalf("%v", err)
	}
	// -X: debug mode, in the foreground, one thread, log on stdout; every
	// packet is printed with its attributes, which is what Exchanges reads.
	proc := lab.StartProcess(t, ns, "freeradius", Binary(), "-X", "-d", dir, "-n", "radiusd")
	s := &Server{Addr: full.Listen, Dir: dir, proc: proc}
	s.WaitOutput(t, readyText, ReadyTimeout)
	return s
}

// CheckConfig runs FreeRADIUS's configuration check (-C) on a directory
// that Write filled, and returns its output. The error says why FreeRADIUS
// refused the configuration.
//
// Equivalent to: freeradius -XC -d DIR -n radiusd
func CheckConfig(ctx context.Context, dir string) (string, error) {
	bin := Binary()
	if bin == "" {
		return "", errors.New("radius: FreeRADIUS is not installed")
	}
	out, err := exec.CommandContext(ctx, bin, "-XC", "-d", dir, "-n", "radiusd").CombinedOutput()
	if err == nil && !strings.Contains(string(out), "Configuration appears to be OK") {
		err = errors.New(`no "Configuration appears to be OK"`)
	}
	if err != nil {
		return string(out), fmt.Errorf("radius: %s -XC -d %s: %w: %s", bin, dir, err, lastLines(string(out), 5))
	}
	return string(out), nil
}

// Output returns FreeRADIUS's debug log so far.
func (s *Server) Output() string { return s.proc.Output() }

// Process is the running server, for Stop or Done.
func (s *Server) Process() *lab.Process { return s.proc }

// WaitOutput waits until the debug log contains substr; the test fails if
// FreeRADIUS exits first or timeout passes.
func (s *Server) WaitOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	s.proc.WaitOutput(t, substr, timeout)
}

// Exchanges returns the requests FreeRADIUS logged so far and its replies.
func (s *Server) Exchanges() []Exchange { return ParseLog(s.Output()) }

// WaitReply waits until FreeRADIUS has sent a reply with the given code
// (AccessAccept, AccessReject) and returns the first such exchange. The
// test fails, naming what was seen instead, when timeout passes.
func (s *Server) WaitReply(t testing.TB, code string, timeout time.Duration) Exchange {
	t.Helper()
	var found Exchange
	var seen []Exchange
	ok := s.poll(timeout, func() bool {
		seen = s.Exchanges()
		for _, e := range seen {
			if e.Reply != nil && e.Reply.Code == code {
				found = e
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("radius: no %s from FreeRADIUS within %v; it answered: %s", code, timeout, Summary(seen))
	}
	return found
}

// poll calls cond every 20 ms until it is true or timeout passes; it stops
// early, with false, if FreeRADIUS exits. Its debug log is written from
// the server's stdout as it goes, so a reply shows up within a poll or two.
func (s *Server) poll(timeout time.Duration, cond func() bool) bool {
	for end := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if exited, _ := s.proc.Exited(); exited || time.Now().After(end) {
			return cond()
		}
	}
}

// lastLines returns the last n lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

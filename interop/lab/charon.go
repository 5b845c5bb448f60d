package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CharonConfig describes one lab charon. Everything not set here follows
// the recipe in the package documentation (kernel-libipsec, vici on a
// private socket, a file log, raised DoS thresholds).
type CharonConfig struct {
	// Name labels the charon in messages and logs; default "charon".
	Name string

	// SwanctlConf is the text of swanctl.conf: connections, secrets, pools,
	// authorities (swanctl.conf(5)). Remember that strongswan.conf syntax
	// ends a setting at the line break: "local { auth = psk  id = x }" on
	// one line does not parse.
	SwanctlConf string

	// Files are placed in the swanctl directory before charon starts, by
	// path relative to it: "x509/gw.pem", "x509ca/ca.pem",
	// "private/gw.key", "pubkey/peer.pub", "x509crl/ca.crl". swanctl
	// --load-all reads them from there.
	Files map[string][]byte

	// Options are strongswan.conf settings under "charon.", dotted keys for
	// nesting, applied over the lab defaults: "fragment_size": "1280",
	// "cookie_threshold_ip": "3", "retransmit_tries": "2",
	// "plugins.kernel-libipsec.allow_peer_ts": "yes".
	Options map[string]string

	// Plugins are loaded in addition to the lab's default set (see
	// defaultPlugins), e.g. "eap-ttls" or "sshkey".
	Plugins []string

	// LogLevels sets filelog levels per subsystem ("default", "ike",
	// "enc", "knl", ...) over the defaults default=1, ike=2, cfg=2. Levels
	// run from -1 (silent) to 3 (raw packets); 4 would log keys and is
	// refused.
	LogLevels map[string]int
}

// swanctlDirs are the subdirectories swanctl --load-all reads
// (swanctl.conf(5), "Files").
var swanctlDirs = []string{
	"conf.d", "x509", "x509ca", "x509aa", "x509ac", "x509crl", "x509ocsp",
	"pubkey", "private", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12",
}

// Charon is a running strongSwan IKE daemon inside a netns, driven through
// swanctl over its private vici socket.
type Charon struct {
	Name  string
	Netns *Netns

	// Dir holds everything of this charon: strongswan.conf, swanctl/,
	// run/ (its /run), charon.log.
	Dir string
	// SwanctlDir is SWANCTL_DIR for this charon.
	SwanctlDir string
	// ViciURI is the --uri for swanctl.
	ViciURI string
	// LogPath is charon's file log.
	LogPath string

	proc *Process
}

// charonStartTimeout bounds the wait for the vici socket after exec; charon
// is ready in about 50 ms here.
const charonStartTimeout = 15 * time.Second

// swanctlTimeout bounds local swanctl operations (load, list); charon
// answers them at once unless an IKE SA stays checked out.
const swanctlTimeout = 20 * time.Second

// StartCharon writes the configuration, starts charon inside ns and waits
// until its vici socket accepts connections. It does not load the
// configuration: call Load. When the test ends charon is stopped and, if
// the test failed, its log is printed.
//
// Equivalent to:
//
//	ip netns exec NS sh -c 'mount --bind DIR/run /run && exec env STRONGSWAN_CONF=DIR/strongswan.conf /usr/lib/ipsec/charon'
func StartCharon(t testing.TB, ns *Netns, cfg CharonConfig) *Charon {
	t.Helper()
	RequireStrongSwan(t)
	name := cfg.Name
	if name == "" {
		name = "charon"
	}
	// A short directory of its own rather than t.TempDir: the vici socket
	// path must fit sun_path (108 bytes), and test names can be long.
	dir, err := os.MkdirTemp("", "lab-charon-")
	if err != nil {
		t.Fatalf("lab: %s: %v", name, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &Charon{
		Name:       name,
		Netns:      ns,
		Dir:        dir,
		SwanctlDir: filepath.Join(dir, "swanctl"),
		ViciURI:    "unix://" + filepath.Join(dir, "run", "charon.vici"),
		LogPath:    filepath.Join(dir, "charon.log"),
	}
	if err := c.writeFiles(&cfg); err != nil {
		t.Fatalf("lab: %s: %v", name, err)
	}

	// The bind mount happens in the private mount namespace that ip netns
	// exec creates, so the host's /run is untouched; sh then execs charon,
	// which keeps the PID (and process group) StartCommand knows.
	cmd := ns.Command(context.Background(), "sh", "-c", `mount --bind "$0" /run && exec "$1"`,
		filepath.Join(dir, "run"), CharonPath())
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(dir, "strongswan.conf"))
	c.proc = StartCommand(t, name, cmd)
	t.Cleanup(func() {
		// Registered after StartCommand's cleanup, so it runs first: stop
		// charon, then print its log while the directory still exists.
		if err := c.proc.cleanupStop(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("lab: log of %s in %s (%s):\n%s", name, ns.Name, c.LogPath, tail(c.Log(), maxDump))
		}
	})

	sock := filepath.Join(dir, "run", "charon.vici")
	err = poll(charonStartTimeout, 10*time.Millisecond, func() (bool, error) {
		if exited, err := c.proc.Exited(); exited {
			return false, fmt.Errorf("charon exited during startup (%v)", err)
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return false, nil
		}
		conn.Close()
		return true, nil
	})
	if err != nil {
		t.Fatalf("lab: %s in %s: vici socket %s not ready: %v\noutput:\n%s\nlog:\n%s",
			name, ns.Name, sock, err, c.proc.Output(), tail(c.Log(), maxDump))
	}
	return c
}

func (c *Charon) writeFiles(cfg *CharonConfig) error {
	if err := os.Mkdir(filepath.Join(c.Dir, "run"), 0o700); err != nil {
		return err
	}
	for _, d := range append([]string{""}, swanctlDirs...) {
		if err := os.MkdirAll(filepath.Join(c.SwanctlDir, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(c.SwanctlDir, "swanctl.conf"), []byte(cfg.SwanctlConf), 0o600); err != nil {
		return err
	}
	for _, rel := range slices.Sorted(maps.Keys(cfg.Files)) {
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("file %q is not a relative path inside the swanctl directory", rel)
		}
		p := filepath.Join(c.SwanctlDir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, cfg.Files[rel], 0o600); err != nil {
			return err
		}
	}
	conf, err := strongswanConf(c.Dir, cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "strongswan.conf"), []byte(conf), 0o600)
}

// Swanctl runs swanctl against this charon: command is the command option
// (swanctl wants it first, e.g. "--list-conns"), args the rest. The output
// is stdout and stderr combined; the error quotes it.
func (c *Charon) Swanctl(ctx context.Context, command string, args ...string) (string, error) {
	argv := append([]string{command, "--uri", c.ViciURI}, args...)
	cmd := exec.CommandContext(ctx, "swanctl", argv...)
	cmd.Env = append(os.Environ(),
		"SWANCTL_DIR="+c.SwanctlDir,
		"STRONGSWAN_CONF="+filepath.Join(c.Dir, "strongswan.conf"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return string(out), fmt.Errorf("lab: %s: swanctl %s: %w: %s", c.Name, strings.Join(argv, " "), err,
			strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ErrLoad is returned (wrapped) by Load when swanctl reports that part of
// the configuration was rejected.
var ErrLoad = errors.New("lab: swanctl rejected part of the configuration")

// Load loads swanctl.conf and the credential files into charon.
//
// Equivalent to: swanctl --load-all --noprompt
func (c *Charon) Load() error {
	ctx, cancel := context.WithTimeout(context.Background(), swanctlTimeout)
	defer cancel()
	out, err := c.Swanctl(ctx, "--load-all", "--noprompt")
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		// swanctl exits non-zero (EINVAL) when a connection fails to load.
		return fmt.Errorf("%w: %w", ErrLoad, err)
	}
	if err != nil {
		return err
	}
	// swanctl exits 0 when a secret fails to parse (it is "ignored"); it
	// only says so. A test that loads a broken config must fail here, not later
	// with a puzzling NO_PROPOSAL_CHOSEN.
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "failed") || strings.Contains(line, "ignored") ||
			strings.Contains(line, "invalid") {
			return fmt.Errorf("%w: %s: %s", ErrLoad, c.Name, strings.TrimSpace(out))
		}
	}
	return nil
}

// timeoutSeconds turns ctx's deadline into swanctl's --timeout (whole
// seconds, at least 1); without a deadline it is def.
func timeoutSeconds(ctx context.Context, def time.Duration) string {
	d := def
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// Initiate starts the CHILD SA child of connection ike (either may be ""
// when the other identifies it; child "" with ike set brings up the IKE SA
// alone) and waits until it is established or failed, at most until ctx's
// deadline (30 s without one). The output is charon's log of the attempt
// as swanctl streams it.
//
// Equivalent to: swanctl --initiate --child CHILD --ike IKE --timeout N
func (c *Charon) Initiate(ctx context.Context, child, ike string) (string, error) {
	if child == "" && ike == "" {
		return "", fmt.Errorf("lab: %s: Initiate needs a child or an IKE SA name", c.Name)
	}
	args := []string{"--timeout", timeoutSeconds(ctx, 30*time.Second)}
	if child != "" {
		args = append(args, "--child", child)
	}
	if ike != "" {
		args = append(args, "--ike", ike)
	}
	return c.Swanctl(ctx, "--initiate", args...)
}

// Terminate deletes the IKE SAs of connection ike (and with them their
// CHILD SAs), waiting for the peer's answer to the INFORMATIONAL Delete at
// most until ctx's deadline.
//
// Equivalent to: swanctl --terminate --ike IKE --timeout N
func (c *Charon) Terminate(ctx context.Context, ike string) error {
	_, err := c.Swanctl(ctx, "--terminate", "--ike", ike, "--timeout", timeoutSeconds(ctx, 30*time.Second))
	return err
}

// ListSAs returns the IKE SAs charon holds now.
//
// Equivalent to: swanctl --list-sas --pretty
func (c *Charon) ListSAs() ([]IKESA, error) {
	ctx, cancel := context.WithTimeout(context.Background(), swanctlTimeout)
	defer cancel()
	out, err := c.Swanctl(ctx, "--list-sas", "--pretty")
	if err != nil {
		return nil, err
	}
	sas, err := parseListSAs(out)
	if err != nil {
		return nil, fmt.Errorf("lab: %s: %w", c.Name, err)
	}
	return sas, nil
}

// Log returns charon's log so far.
func (c *Charon) Log() string {
	b, err := os.ReadFile(c.LogPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", c.LogPath, err)
	}
	return string(b)
}

// Stop stops charon (SIGTERM, then SIGKILL after StopTimeout). It is
// idempotent and also done when the test ends.
func (c *Charon) Stop() error { return c.proc.Stop() }

// Process returns the charon process, e.g. to watch for an early exit.
func (c *Charon) Process() *Process { return c.proc }

// WaitIKESA waits until charon holds an IKE SA of connection name in state
// and returns it; the test fails after timeout with what charon held last.
func (c *Charon) WaitIKESA(t testing.TB, name, state string, timeout time.Duration) IKESA {
	t.Helper()
	var found IKESA
	c.wait(t, timeout, fmt.Sprintf("IKE SA %q in state %s", name, state), func(sas []IKESA) bool {
		for _, sa := range sas {
			if sa.Name == name && sa.State == state {
				found = sa
				return true
			}
		}
		return false
	})
	return found
}

// WaitChildSA waits until an IKE SA of connection ike has a CHILD SA child
// in state and returns both.
func (c *Charon) WaitChildSA(t testing.TB, ike, child, state string, timeout time.Duration) (IKESA, ChildSA) {
	t.Helper()
	var fi IKESA
	var fc ChildSA
	c.wait(t, timeout, fmt.Sprintf("CHILD SA %q of %q in state %s", child, ike, state), func(sas []IKESA) bool {
		for _, sa := range sas {
			if sa.Name != ike {
				continue
			}
			for _, ch := range sa.Children {
				if ch.Name == child && ch.State == state {
					fi, fc = sa, ch
					return true
				}
			}
		}
		return false
	})
	return fi, fc
}

// WaitNoIKESA waits until charon holds no IKE SA of connection name, or
// none at all when name is "".
func (c *Charon) WaitNoIKESA(t testing.TB, name string, timeout time.Duration) {
	t.Helper()
	what := fmt.Sprintf("removal of every IKE SA of %q", name)
	if name == "" {
		what = "removal of every IKE SA"
	}
	c.wait(t, timeout, what, func(sas []IKESA) bool {
		for _, sa := range sas {
			if name == "" || sa.Name == name {
				return false
			}
		}
		return true
	})
}

func (c *Charon) wait(t testing.TB, timeout time.Duration, what string, cond func([]IKESA) bool) {
	t.Helper()
	var last []IKESA
	var lastErr error
	err := poll(timeout, 50*time.Millisecond, func() (bool, error) {
		if exited, err := c.proc.Exited(); exited {
			return false, fmt.Errorf("charon exited (%v)", err)
		}
		sas, err := c.ListSAs()
		if err != nil {
			lastErr = err
			return false, nil
		}
		last, lastErr = sas, nil
		return cond(sas), nil
	})
	if err == nil {
		return
	}
	var held []string
	for _, sa := range last {
		held = append(held, sa.String())
	}
	msg := fmt.Sprintf("lab: %s in %s: no %s: %v; it held: [%s]", c.Name, c.Netns.Name, what, err, strings.Join(held, "; "))
	if lastErr != nil {
		msg += fmt.Sprintf("; last list error: %v", lastErr)
	}
	t.Fatal(msg)
}

// WaitLog waits until charon's log contains substr.
func (c *Charon) WaitLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	err := poll(timeout, 20*time.Millisecond, func() (bool, error) {
		if strings.Contains(c.Log(), substr) {
			return true, nil
		}
		if exited, err := c.proc.Exited(); exited {
			return false, fmt.Errorf("charon exited (%v)", err)
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("lab: %s in %s: log never said %q: %v", c.Name, c.Netns.Name, substr, err)
	}
}

package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// maxIfName is the longest interface name Linux accepts (IFNAMSIZ - 1). Netns
// names are kept within it as well so that a name can double as an
// interface or TUN name in scripts.
const maxIfName = 15

// commandTimeout bounds every short ip/nft/sysctl invocation; these finish in
// milliseconds unless the machine is wedged, and a test must not hang then.
const commandTimeout = 30 * time.Second

// nsCounter makes netns names unique within one test binary; the PID makes
// them unique across the test binaries that go test runs in parallel.
var nsCounter atomic.Uint32

// Netns is a named network namespace (the kind `ip netns add` creates,
// bind-mounted at /run/netns/NAME) that is deleted when the test ends.
type Netns struct {
	// Name is the namespace's name as `ip netns` knows it: unique on the
	// machine and at most 15 characters.
	Name string

	ifaces atomic.Uint32 // next ethN index, see Link
}

// NewNetns creates a network namespace named prefix + PID + "-" + counter,
// brings its loopback up, turns IPv6 duplicate address detection off for
// the interfaces to come, and deletes it (killing anything still running in
// it) when the test ends. The prefix is shortened as needed to keep the
// name within 15 characters.
//
// Equivalent to:
//
//	ip netns add NAME
//	ip -n NAME link set lo up
//	ip netns exec NAME sysctl -w net.ipv6.conf.default.accept_dad=0
func NewNetns(t testing.TB, prefix string) *Netns {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		name := netnsName(prefix, os.Getpid(), nsCounter.Add(1))
		out, err := runCommand(context.Background(), "ip", "netns", "add", name)
		if err != nil {
			// A stale namespace of a crashed run whose PID was reused:
			// take the next counter value rather than touching it.
			if strings.Contains(out, "File exists") {
				lastErr = err
				continue
			}
			t.Fatalf("lab: creating netns %s: %v", name, err)
		}
		ns := &Netns{Name: name}
		t.Cleanup(func() { ns.destroy(t) })
		ns.IP(t, "link", "set", "lo", "up")
		if _, err := os.Stat("/proc/sys/net/ipv6"); err == nil {
			// No duplicate address detection on the interfaces made
			// later (they inherit "default"): link-local addresses are
			// usable at once too, not tentative for a second. Nothing
			// else shares these links, so there is nothing to detect.
			ns.Sysctl(t, "net.ipv6.conf.default.accept_dad", "0")
		}
		return ns
	}
	t.Fatalf("lab: creating a netns with prefix %q: %v", prefix, lastErr)
	return nil
}

func netnsName(prefix string, pid int, n uint32) string {
	suffix := strconv.Itoa(pid) + "-" + strconv.FormatUint(uint64(n), 10)
	if room := maxIfName - len(suffix); len(prefix) > room {
		prefix = prefix[:max(room, 0)]
	}
	name := prefix + suffix
	if len(name) > maxIfName {
		name = name[len(name)-maxIfName:]
	}
	return name
}

// destroy kills whatever still runs inside the namespace (a process keeps a
// deleted namespace, and its veth and TUN devices, alive) and deletes it.
// Only processes inside this namespace are touched: the test created it, so
// they are the test's own.
func (ns *Netns) destroy(t testing.TB) {
	if out, err := runCommand(context.Background(), "ip", "netns", "pids", ns.Name); err == nil {
		for _, f := range strings.Fields(out) {
			// Never the test binary itself, whatever a thread of it did.
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if out, err := runCommand(context.Background(), "ip", "netns", "del", ns.Name); err != nil {
		t.Errorf("lab: deleting netns %s: %v (%s)", ns.Name, err, strings.TrimSpace(out))
	}
}

// String returns the namespace name.
func (ns *Netns) String() string { return ns.Name }

// Command returns a command that runs args inside the namespace. ip netns exec
// also gives the command a private mount namespace with /sys remounted for
// the netns and /etc/netns/NAME/* bind-mounted over /etc.
//
// Equivalent to: ip netns exec NAME args...
func (ns *Netns) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Run runs args inside the namespace and returns the combined output. The
// error carries the command line and its output.
func (ns *Netns) Run(ctx context.Context, args ...string) (string, error) {
	out, err := ns.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lab: ip netns exec %s %s: %w: %s",
			ns.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// IP runs `ip -n NAME args...` and fails the test if it fails.
func (ns *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runCommand(context.Background(), "ip", append([]string{"-n", ns.Name}, args...)...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// Route adds (or replaces) a route inside the namespace; dst is a prefix or
// "default", via a gateway address. The family follows the gateway.
//
// Equivalent to: ip -n NAME [-6] route replace DST via VIA
func (ns *Netns) Route(t testing.TB, dst, via string) {
	t.Helper()
	gw, err := netip.ParseAddr(via)
	if err != nil {
		t.Fatalf("lab: route %s via %q: %v", dst, via, err)
	}
	args := []string{"route", "replace", dst, "via", gw.String()}
	if gw.Is6() {
		args = append([]string{"-6"}, args...)
	}
	ns.IP(t, args...)
}

// Sysctl writes a sysctl of the namespace, key in dotted form
// (net.ipv4.ip_forward). It writes /proc/sys from a shell inside the netns
// so that it needs no procps; /proc/sys/net reflects the writer's netns.
func (ns *Netns) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	if strings.Contains(key, "..") || strings.ContainsAny(key, "/ ") {
		t.Fatalf("lab: bad sysctl key %q", key)
	}
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	if _, err := ns.Run(ctx, "sh", "-c", `printf '%s\n' "$1" > "$0"`, path, value); err != nil {
		t.Fatalf("lab: sysctl %s=%s in %s: %v", key, value, ns.Name, err)
	}
}

// Ping sends count echo requests to dst from inside the namespace and
// returns ping's output; each reply is awaited at most two seconds.
func (ns *Netns) Ping(ctx context.Context, dst string, count int, extra ...string) (string, error) {
	args := []string{"ping", "-n", "-c", strconv.Itoa(count), "-W", "2", "-i", "0.2"}
	args = append(args, extra...)
	return ns.Run(ctx, append(args, dst)...)
}

// Do runs f on an OS thread that has joined the namespace, and waits for
// it. Sockets f opens stay in the namespace after Do returns, so a test can
// listen or dial "inside" and use the connection from any goroutine.
// f must not start goroutines that expect to run in the namespace.
func (ns *Netns) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			errc <- ns.doLocked(f)
			// No UnlockOSThread: Go retires the thread when this
			// goroutine returns, taking the changed namespace with it.
			return
		}
		// This is the main thread, which Go never retires: a locked
		// goroutine that exits on it leaves it wedged, here in the test
		// namespace, where `ip netns pids` would then find the test
		// binary itself. Hold the main thread while a second goroutine,
		// which therefore runs on another thread, does the work.
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			errc <- ns.doLocked(f)
		}()
		<-done
		runtime.UnlockOSThread()
	}()
	return <-errc
}

// doLocked switches the calling, locked, non-main thread into ns and runs f.
func (ns *Netns) doLocked(f func() error) error {
	if unix.Gettid() == unix.Getpid() {
		return fmt.Errorf("lab: netns %s: refusing to switch the main thread", ns.Name)
	}
	fd, err := os.Open("/run/netns/" + ns.Name)
	if err != nil {
		return fmt.Errorf("lab: netns %s: %w", ns.Name, err)
	}
	defer fd.Close()
	if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("lab: setns %s: %w", ns.Name, err)
	}
	return f()
}

// Veth is a veth pair joining two namespaces, as made by Link.
type Veth struct {
	A, B   *Netns
	AIface string         // the interface name inside A
	BIface string         // the interface name inside B
	AAddrs []netip.Prefix // addresses on AIface
	BAddrs []netip.Prefix // addresses on BIface
}

// Link joins a and b with a veth pair, assigns the addresses and brings both
// ends up. aAddrs and bAddrs are comma-separated CIDR lists, IPv4 and/or
// IPv6 ("192.0.2.1/24,2001:db8::1/64"); either may be empty. IPv6 addresses
// are added with nodad so they are usable at once instead of staying
// tentative for the second or so that duplicate address detection takes.
//
// The ends are named ethN after the next free index in each namespace and
// are created directly inside their namespaces, so the names never clash
// with interfaces of the host or of other tests.
//
// Equivalent to:
//
//	ip link add ethN netns A type veth peer name ethM netns B
//	ip -n A addr add ADDR dev ethN [nodad]; ip -n A link set ethN up
//	(and the same in B)
func Link(t testing.TB, a, b *Netns, aAddrs, bAddrs string) *Veth {
	t.Helper()
	if a == b {
		t.Fatalf("lab: Link needs two different namespaces, got %s twice", a.Name)
	}
	pa, err := parsePrefixes(aAddrs)
	if err != nil {
		t.Fatalf("%v", err)
	}
	pb, err := parsePrefixes(bAddrs)
	if err != nil {
		t.Fatalf("%v", err)
	}
	v := &Veth{
		A: a, B: b,
		AIface: "eth" + strconv.FormatUint(uint64(a.ifaces.Add(1)-1), 10),
		BIface: "eth" + strconv.FormatUint(uint64(b.ifaces.Add(1)-1), 10),
		AAddrs: pa, BAddrs: pb,
	}
	if _, err := runCommand(context.Background(), "ip", "link", "add", v.AIface, "netns", a.Name,
		"type", "veth", "peer", "name", v.BIface, "netns", b.Name); err != nil {
		t.Fatalf("%v", err)
	}
	// No cleanup of its own: deleting either namespace deletes the pair.
	for _, end := range []struct {
		ns    *Netns
		iface string
		addrs []netip.Prefix
	}{{a, v.AIface, pa}, {b, v.BIface, pb}} {
		for _, p := range end.addrs {
			args := []string{"addr", "add", p.String(), "dev", end.iface}
			if p.Addr().Is6() {
				args = append(args, "nodad")
			}
			end.ns.IP(t, args...)
		}
		end.ns.IP(t, "link", "set", end.iface, "up")
	}
	return v
}

// Addr returns the first address of family v6 (false: IPv4) configured on
// ns's end of the pair, or the zero Addr.
func (v *Veth) Addr(ns *Netns, v6 bool) netip.Addr {
	var ps []netip.Prefix
	switch ns {
	case v.A:
		ps = v.AAddrs
	case v.B:
		ps = v.BAddrs
	}
	for _, p := range ps {
		if p.Addr().Is6() == v6 {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// Iface returns the name of ns's end of the pair.
func (v *Veth) Iface(ns *Netns) string {
	if ns == v.B {
		return v.BIface
	}
	return v.AIface
}

func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("lab: address %q is not CIDR: %w", f, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// runCommand runs a short host command with a bounded time and returns its
// combined output; the error names the command and quotes the output.
func runCommand(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v: %w", commandTimeout, err)
		}
		return string(out), fmt.Errorf("lab: %s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

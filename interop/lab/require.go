package lab

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/internal/corpus"
)

// RequireRoot skips the test unless it runs as root. Network namespaces,
// veth pairs, nftables and the TUN device of kernel-libipsec all need
// CAP_NET_ADMIN (and mount --bind needs CAP_SYS_ADMIN), which in practice
// means root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("lab: test needs root (network namespaces, veth, TUN, mount); running as uid %d", os.Geteuid())
	}
}

// RequireBinaries skips the test when any of the named programs is missing
// from PATH, naming every missing one and the Debian package that has it.
func RequireBinaries(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, describeBinary(name))
		}
	}
	if len(missing) > 0 {
		t.Skipf("lab: test needs %s", strings.Join(missing, ", "))
	}
}

// packageOf names the Debian package that ships a binary the lab uses, so a
// skip message tells the reader what to install.
var packageOf = map[string]string{
	"ip":      "iproute2",
	"nft":     "nftables",
	"ping":    "iputils-ping",
	"swanctl": "strongswan-swanctl",
	"charon":  "strongswan-charon",
	"tshark":  "tshark",
	"dumpcap": "wireshark-common",
	"tcpdump": "tcpdump",
	"sh":      "dash",
	"sysctl":  "procps",
}

func describeBinary(name string) string {
	if pkg, ok := packageOf[name]; ok {
		return name + " (package " + pkg + ")"
	}
	return name
}

// charonPaths are the places distributions install the charon daemon; it is
// not on PATH because it is meant to be started by a service manager.
var charonPaths = []string{
	"/usr/lib/ipsec/charon",           // Debian, Ubuntu
	"/usr/libexec/ipsec/charon",       // Fedora, upstream default
	"/usr/libexec/strongswan/charon",  // RHEL, Fedora (strongswan-charon)
	"/usr/lib/strongswan/charon",      // Arch
	"/usr/local/libexec/ipsec/charon", // a source build with the default prefix
}

// CharonPath returns the path of the charon daemon, or "" when none is
// installed. The STRONGSWAN_CHARON environment variable overrides the search.
func CharonPath() string {
	if p := os.Getenv("STRONGSWAN_CHARON"); p != "" {
		return p
	}
	for _, p := range charonPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// RequireStrongSwan skips the test unless it runs as root with charon,
// swanctl and ip available: everything StartCharon needs.
func RequireStrongSwan(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	RequireBinaries(t, "ip", "sh", "swanctl")
	if CharonPath() == "" {
		t.Skipf("lab: test needs the strongSwan charon daemon (package strongswan-charon, "+
			"plus libstrongswan-extra-plugins and libcharon-extra-plugins for kernel-libipsec); "+
			"looked in %s and $STRONGSWAN_CHARON", strings.Join(charonPaths, ", "))
	}
}

// RepoRoot returns the directory holding the module's go.mod, found by
// walking up from the working directory (go test runs in the package
// directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("lab: no go.mod above the working directory")
		}
		dir = parent
	}
}

// CorpusDir returns the shared third-party test corpus, <repo root>/../shared/corpus,
// falling back to /work/shared/corpus; the test is skipped when neither exists.
// The corpus holds GPL data that must not be copied into the repository, so
// it is read in place.
func CorpusDir(t testing.TB) string {
	t.Helper()
	return corpus.Dir(t)
}

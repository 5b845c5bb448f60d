package lab

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// defaultPlugins is what every lab charon loads (charon.load_modular with a
// load = yes per plugin, so nothing from /etc/strongswan.d leaks in).
// Left out on purpose:
//   - resolve: writes DNS servers received in a CP payload to /etc/resolv.conf,
//     which is the host's file (ip netns exec only bind-mounts
//     /etc/netns/NAME/*).
//   - stroke: the legacy ipsec.conf interface, listening on
//     /var/run/charon.ctl; swanctl/vici replaces it.
//   - connmark, forecast, farp, dhcp, bypass-lan, ha, led, lookip,
//     error-notify, eap-radius: they act on iptables, ARP, DHCP servers or
//     extra sockets that no lab scenario needs.
//
// kernel-libipsec is always in: the host kernel has no ESP, so charon does
// ESP in user space over a TUN device. It must come before kernel-netlink in
// charon's built-in order (it does) so that it, not netlink, provides the
// kernel-ipsec interface; kernel-netlink still handles addresses and routes.
var defaultPlugins = []string{
	"random", "nonce", "aes", "aesni", "sha1", "sha2", "md5", "hmac", "xcbc",
	"cmac", "ctr", "ccm", "gcm", "chapoly", "curve25519", "gmp", "openssl",
	"mgf1", "drbg", "kdf", "pem", "pkcs1", "pkcs7", "pkcs8", "pkcs12",
	"pubkey", "x509", "revocation", "constraints", "curl", "attr",
	"kernel-libipsec", "kernel-netlink", "socket-default", "vici", "updown",
	"counters", "eap-identity", "eap-md5", "eap-mschapv2", "eap-tls",
	"xauth-generic",
}

// defaultOptions are the lab's charon settings before CharonConfig.Options
// are applied over them.
var defaultOptions = map[string]string{
	// strongSwan as a responder sends COOKIEs after 3 half-open SAs from one
	// address and then silently drops after 5 (RFC 7296, Section 2.6 lets a
	// responder do so under load). A test opening many SAs from one
	// namespace is not an attack; a test of cookies sets these back.
	"cookie_threshold":    "10000",
	"cookie_threshold_ip": "10000",
	// Must exceed cookie_threshold_ip or charon raises it itself (and logs
	// that it did).
	"block_threshold": "10001",
}

// logSubsystems are charon's logging subsystems (strongswan.conf(5),
// "Loggers").
var logSubsystems = []string{
	"default", "dmn", "mgr", "ike", "chd", "job", "cfg", "knl", "net", "asn",
	"enc", "tnc", "imc", "imv", "pts", "tls", "esp", "lib",
}

// defaultLogLevels: level 1 everywhere, 2 where IKE negotiation and
// configuration matching explain themselves (proposal and TS selection,
// NAT detection, why a peer config did not match).
var defaultLogLevels = map[string]int{"default": 1, "ike": 2, "cfg": 2}

// maxLogLevel caps charon's log level: at level 4 ("private") charon logs
// SKEYSEED, SK_* and ESP keys, and the log is printed when a test fails.
const maxLogLevel = 3

// strongswanConf renders the strongswan.conf of a lab charon whose private
// files live under dir.
func strongswanConf(dir string, cfg *CharonConfig) (string, error) {
	root := newConfTree()
	set := func(key, value string) error { return root.set("charon."+key, value) }

	// Plugins are chosen one by one rather than taken from /etc so that the
	// lab behaves the same on every machine with the packages installed.
	if err := set("load_modular", "yes"); err != nil {
		return "", err
	}
	for _, p := range append(slices.Clone(defaultPlugins), cfg.Plugins...) {
		if err := set("plugins."+p+".load", "yes"); err != nil {
			return "", fmt.Errorf("lab: plugin %q: %w", p, err)
		}
	}
	// The control socket sits in the charon's private run directory, which
	// is the same inode inside (as /run) and outside (as DIR/run) the mount
	// namespace, so swanctl on the host reaches it under this path.
	if err := set("plugins.vici.socket", "unix://"+dir+"/run/charon.vici"); err != nil {
		return "", err
	}

	levels := maps.Clone(defaultLogLevels)
	maps.Copy(levels, cfg.LogLevels)
	for _, name := range slices.Sorted(maps.Keys(levels)) {
		lvl := levels[name]
		if !slices.Contains(logSubsystems, name) {
			return "", fmt.Errorf("lab: unknown charon log subsystem %q (want one of %s)", name, strings.Join(logSubsystems, " "))
		}
		if lvl < -1 || lvl > maxLogLevel {
			return "", fmt.Errorf("lab: charon log level %s=%d outside -1..%d (level 4 logs keys)", name, lvl, maxLogLevel)
		}
		if err := set("filelog.lab."+name, strconv.Itoa(lvl)); err != nil {
			return "", err
		}
	}
	for k, v := range map[string]string{
		"path":        dir + "/charon.log",
		"append":      "no",
		"flush_line":  "yes", // every line on disk at once: WaitLog and a crash lose nothing
		"time_format": "%H:%M:%S",
		"ike_name":    "yes", // prefix lines with the connection name and IKE SA ID
	} {
		if err := set("filelog.lab."+k, v); err != nil {
			return "", err
		}
	}

	opts := maps.Clone(defaultOptions)
	maps.Copy(opts, cfg.Options)
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if err := set(k, opts[k]); err != nil {
			return "", fmt.Errorf("lab: charon option %q: %w", k, err)
		}
	}

	var b strings.Builder
	b.WriteString("# strongswan.conf of a lab charon, written by interop/lab\n")
	root.render(&b, 0)
	return b.String(), nil
}

// confTree is a strongswan.conf section: settings and subsections by name.
// strongswan.conf has no dotted keys, so "plugins.vici.socket" becomes
// nested sections.
type confTree struct {
	values   map[string]string
	sections map[string]*confTree
}

func newConfTree() *confTree {
	return &confTree{values: map[string]string{}, sections: map[string]*confTree{}}
}

func (c *confTree) set(key, value string) error {
	parts := strings.Split(key, ".")
	for _, p := range parts {
		if !validConfName(p) {
			return fmt.Errorf("bad name %q in key %q", p, key)
		}
	}
	if strings.ContainsAny(value, "\n\r") {
		return fmt.Errorf("value of %q has a line break", key)
	}
	node := c
	for _, p := range parts[:len(parts)-1] {
		if _, ok := node.values[p]; ok {
			return fmt.Errorf("%q is a setting and a section", p)
		}
		next, ok := node.sections[p]
		if !ok {
			next = newConfTree()
			node.sections[p] = next
		}
		node = next
	}
	leaf := parts[len(parts)-1]
	if _, ok := node.sections[leaf]; ok {
		return fmt.Errorf("%q is a section and a setting", leaf)
	}
	node.values[leaf] = value
	return nil
}

func validConfName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (c *confTree) render(b *strings.Builder, depth int) {
	indent := strings.Repeat("\t", depth)
	for _, k := range slices.Sorted(maps.Keys(c.values)) {
		fmt.Fprintf(b, "%s%s = %s\n", indent, k, confValue(c.values[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(c.sections)) {
		fmt.Fprintf(b, "%s%s {\n", indent, k)
		c.sections[k].render(b, depth+1)
		fmt.Fprintf(b, "%s}\n", indent)
	}
}

// confValue quotes a value when strongswan.conf would otherwise misread it:
// # starts a comment, braces and = are syntax, and unquoted values lose
// surrounding blanks.
func confValue(v string) string {
	if v != "" && !strings.ContainsAny(v, "#{}=\"\\") && strings.TrimSpace(v) == v {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

// CertConn is the swanctl.conf connections section of a strongSwan
// initiator that behaves like a Windows client with a machine certificate:
// connection "home" from Local to Remote offering the Proposals and ESP
// proposals (strongSwan syntax, comma-separated), authenticating with
// client.pem, and one child SA "net" toward RemoteTS. The certificate files
// are the caller's (CharonConfig.Files).
type CertConn struct {
	Local, Remote  string
	Proposals, ESP string
	VIPs           string // vips = ..., e.g. "0.0.0.0" or "0.0.0.0, ::"; empty for none
	RemoteTS       string
	Extra          string // more settings of the connection, one per line
}

func (c CertConn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connections {\n\thome {\n\t\tlocal_addrs = %s\n\t\tremote_addrs = %s\n\t\tproposals = %s\n",
		c.Local, c.Remote, c.Proposals)
	if c.VIPs != "" {
		fmt.Fprintf(&b, "\t\tvips = %s\n", c.VIPs)
	}
	for _, line := range strings.Split(c.Extra, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(&b, "\t\t%s\n", line)
		}
	}
	fmt.Fprintf(&b, `		local {
			auth = pubkey
			certs = client.pem
		}
		remote {
			auth = pubkey
		}
		children {
			net {
				remote_ts = %s
				esp_proposals = %s
			}
		}
	}
}
`, c.RemoteTS, c.ESP)
	return b.String()
}

// CertInitiatorConn is CertConn asking for one IPv4 virtual address, as
// Windows clients do.
func CertInitiatorConn(local, remote, ike, esp, remoteTS string) string {
	return CertConn{Local: local, Remote: remote, Proposals: ike, ESP: esp, VIPs: "0.0.0.0", RemoteTS: remoteTS}.String()
}

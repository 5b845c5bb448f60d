package vm

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/interop/lab"
)

// Plain ESP (no UDP encapsulation) cannot be tested with a strongSwan on
// the host: kernel-libipsec always encapsulates, and the host kernel has no
// ESP for kernel-netlink. So a second strongSwan runs inside the guest, in
// a network namespace of its own with kernel-netlink, joined to the
// responder by a veth pair: both ends then do ESP in the same Debian
// kernel, with nothing between them that could look like a NAT.
//
//	guest root ns: responder, veth0 198.51.100.1/24 ── veth1 198.51.100.2/24, charon (ns "ini")
const (
	plainResponder = "198.51.100.1"
	plainInitiator = "198.51.100.2"
	guestVici      = "unix:///run/charon.vici"
)

const libgccS = "/lib/x86_64-linux-gnu/libgcc_s.so.1"

// strongSwan's files in the guest: the daemon, swanctl, and the plugins a
// PSK initiator with kernel ESP needs.
var guestPlugins = []string{"random", "nonce", "openssl", "kdf", "kernel-netlink", "socket-default", "vici"}

const guestStrongswanConf = `charon {
	load = random nonce openssl kdf kernel-netlink socket-default vici
	plugins {
		vici {
			socket = ` + guestVici + `
		}
	}
	filelog {
		guest {
			path = /run/charon.log
			time_format = %T
			default = 1
			ike = 2
			flush_line = yes
		}
	}
}
swanctl {
	# PSK only: no credential plugins (the default list names plugins
	# the guest does not have).
	load = random
}
`

// addStrongSwan puts charon, swanctl, their plugins and libraries and the
// configuration into the guest image.
func addStrongSwan(img *Initramfs) error {
	charon := lab.CharonPath()
	if err := img.Program("/usr/lib/ipsec/charon", charon); err != nil {
		return err
	}
	if err := img.Program("/usr/sbin/swanctl", "/usr/sbin/swanctl"); err != nil {
		return err
	}
	for _, p := range guestPlugins {
		so := "/usr/lib/ipsec/plugins/libstrongswan-" + p + ".so"
		if err := img.Program(so, so); err != nil {
			return err
		}
	}
	// glibc loads libgcc_s with dlopen for pthread_cancel, which charon
	// and swanctl use when they stop threads; ldd cannot see that.
	if err := img.File(libgccS, libgccS); err != nil {
		return err
	}
	// OpenSSL 3 looks for its legacy provider (for MODP-1024's friends);
	// optional.
	if legacy := "/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so"; fileExists(legacy) {
		if err := img.File(legacy, legacy); err != nil {
			return err
		}
	}
	img.Bytes("/etc/strongswan.conf", []byte(guestStrongswanConf), 0o644)
	conns := map[string]string{}
	for _, s := range plainSuites {
		conns[s.name] = s.esp
	}
	conf := strings.ReplaceAll(pskConn(plainInitiator, conns), "remote_addrs = "+guestAddr, "remote_addrs = "+plainResponder)
	img.Bytes("/etc/swanctl/swanctl.conf", []byte(conf), 0o600)
	return nil
}

// plainSuites are the host suites plus extended sequence numbers (RFC
// 4303, Section 2.2.1), which strongSwan's kernel-netlink negotiates and
// the kernel implements with the authencesn template for separate
// integrity algorithms.
var plainSuites = append(append([]suite{}, suites...),
	suite{name: "cbcesn", esp: "aes128-sha256-esn", proposal: "ESP:AES_CBC-128/HMAC_SHA2_256_128/ESN", esn: true,
		kernelAlgs: suites[0].kernelAlgs, kernelAlgBits: suites[0].kernelAlgBits},
	suite{name: "gcmesn", esp: "aes128gcm16-esn", proposal: "ESP:AES_GCM_16-128/ESN", esn: true,
		kernelAlgs: suites[1].kernelAlgs, kernelAlgBits: suites[1].kernelAlgBits},
)

// startGuestCharon builds the initiator's namespace in the guest and starts
// charon there.
func startGuestCharon(t *testing.T, g *guest) {
	t.Helper()
	ctl := g.ctl.with(t)
	ctl.run("/bin/sh", "-c", `set -e
/sbin/ip netns add ini
/sbin/ip link add veth0 type veth peer name veth1 netns ini
/sbin/ip addr add `+plainResponder+`/24 dev veth0
/sbin/ip link set veth0 up
/sbin/ip -n ini link set lo up
/sbin/ip -n ini addr add `+plainInitiator+`/24 dev veth1
/sbin/ip -n ini link set veth1 up
/sbin/ip netns exec ini env STRONGSWAN_CONF=/etc/strongswan.conf /usr/lib/ipsec/charon </dev/null >/run/charon.out 2>&1 &
`)
	lab.Eventually(t, 30*time.Second, "charon in the guest opening its vici socket", func() (bool, error) {
		out, err := ctl.exec("/usr/sbin/swanctl", "--stats", "--uri", guestVici)
		if err != nil {
			return false, fmt.Errorf("%v: %s (charon: %s)", err, out, ctl.run("/bin/cat", "/run/charon.out"))
		}
		return true, nil
	})
	ctl.run("/usr/sbin/swanctl", "--load-all", "--uri", guestVici)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := ctl.exec("/bin/cat", "/run/charon.log")
			t.Logf("charon log in the guest:\n%s", out)
		}
	})
}

// swanctlChild is a child SA as `swanctl --list-sas` prints it.
type swanctlChild struct {
	Mode, Proposal string // "TUNNEL" (or "TUNNEL-in-UDP"), "ESP:AES_CBC-128/HMAC_SHA2_256_128"
	SPIIn, SPIOut  uint32
	LocalTS        string
}

var (
	reChildLine = regexp.MustCompile(`reqid \d+, INSTALLED, (\S+), (ESP:\S+)`)
	reSPI       = regexp.MustCompile(`^\s+(in|out)\s+([0-9a-f]{8}),`)
	reLocalTS   = regexp.MustCompile(`^\s+local\s+(\d+\.\d+\.\d+\.\d+/32)$`)
)

func parseSwanctlChild(out string) (swanctlChild, error) {
	var c swanctlChild
	for _, line := range strings.Split(out, "\n") {
		if m := reChildLine.FindStringSubmatch(line); m != nil {
			c.Mode, c.Proposal = strings.TrimSuffix(m[1], ","), m[2]
		} else if m := reSPI.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseUint(m[2], 16, 32)
			if m[1] == "in" {
				c.SPIIn = uint32(v)
			} else {
				c.SPIOut = uint32(v)
			}
		} else if m := reLocalTS.FindStringSubmatch(line); m != nil {
			c.LocalTS = m[1]
		}
	}
	if c.SPIIn == 0 || c.SPIOut == 0 {
		return c, fmt.Errorf("no installed child SA in:\n%s", out)
	}
	return c, nil
}

// plainTunnel is tunnel for the in-guest initiator: plain ESP both ways.
func plainTunnel(t *testing.T, g *guest, s suite, wantProposal string) {
	ctl := g.ctl.with(t)
	out := ctl.run("/usr/sbin/swanctl", "--initiate", "--child", s.name, "--ike", s.name, "--timeout", "30", "--uri", guestVici)
	require.Contains(t, out, "initiate completed successfully")
	child, err := parseSwanctlChild(ctl.run("/usr/sbin/swanctl", "--list-sas", "--ike", s.name, "--uri", guestVici))
	require.NoError(t, err)
	assert.Equal(t, "TUNNEL", child.Mode, "no UDP encapsulation without a NAT")
	assert.Equal(t, wantProposal, child.Proposal)
	vip := strings.TrimSuffix(child.LocalTS, "/32")
	require.NotEmpty(t, vip, "virtual IP")

	pout := ctl.run("/sbin/ip", "netns", "exec", "ini", "/bin/ping", "-c", "5", "-A", "-W", "5", "-I", vip, guestInside)
	assert.Contains(t, pout, "5 packets received")

	states := ctl.xfrmStates()
	require.Len(t, states, 2)
	var in, outSt ipState
	for _, st := range states {
		if st.Dst == netip.MustParseAddr(plainResponder) {
			in = st
		} else {
			outSt = st
		}
	}
	assert.Equal(t, child.SPIOut, in.SPI, "our inbound SPI is strongSwan's outbound")
	assert.Equal(t, child.SPIIn, outSt.SPI, "our outbound SPI is strongSwan's inbound")
	for _, st := range []ipState{in, outSt} {
		assert.Equal(t, s.esn, strings.Contains(st.Flags, "esn"), "ESN flag in %q", st.Flags)
		assert.Empty(t, st.Encap, "plain ESP: no encapsulation")
		assert.Equal(t, s.kernelAlgs, st.Algs)
		assert.Equal(t, s.kernelAlgBits, st.AlgBits)
		assert.Equal(t, "tunnel", st.Mode)
	}
	assert.GreaterOrEqual(t, in.Packets, uint64(5))
	assert.GreaterOrEqual(t, outSt.Packets, uint64(5))
	// strongSwan's own kernel states in its namespace: the same SPIs,
	// plain ESP too.
	theirs, err := parseIPXfrmState(ctl.run("/sbin/ip", "-n", "ini", "-s", "xfrm", "state", "list", "nokeys"))
	require.NoError(t, err)
	require.Len(t, theirs, 2)
	for _, st := range theirs {
		assert.Contains(t, []uint32{in.SPI, outSt.SPI}, st.SPI)
		assert.Empty(t, st.Encap)
	}
	t.Logf("%s plain ESP: SPIs %08x_i %08x_o, %d/%d packets in/out", s.name, in.SPI, outSt.SPI, in.Packets, outSt.Packets)

	ctl.run("/usr/sbin/swanctl", "--terminate", "--ike", s.name, "--timeout", "20", "--uri", guestVici)
	waitKernelEmpty(t, g, "after the in-guest initiator's delete")
}

// requireStrongSwanFiles reports whether the host's strongSwan can be
// copied into the guest.
func haveStrongSwanFiles() bool {
	for _, p := range append([]string{"/usr/sbin/swanctl", libgccS}, guestPlugins...) {
		if !strings.HasPrefix(p, "/") {
			p = "/usr/lib/ipsec/plugins/libstrongswan-" + p + ".so"
		}
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// missingKernelSupport unloads the template ESP with ESN needs
// (authencesn, not yet used, so unloadable) and has strongSwan ask for
// such a child SA: the install must fail with an error naming the missing
// kernel support, the peer must get no child SA, and nothing, not even the
// allocated SPI, may stay in the kernel.
func missingKernelSupport(t *testing.T, g *guest) {
	ctl := g.ctl.with(t)
	ctl.run("/bin/rmmod", "authencesn")
	defer ctl.run("/bin/insmod", "/lib/modules/authencesn.ko")
	out, err := ctl.exec("/usr/sbin/swanctl", "--initiate", "--child", "cbcesn", "--ike", "cbcesn", "--timeout", "30", "--uri", guestVici)
	require.Error(t, err, "the child SA must fail:\n%s", out)
	assert.Contains(t, out, "NO_PROPOSAL_CHOSEN", "strongSwan's view")
	console := g.Console()
	assert.Contains(t, console, "kernel has no crypto transform for cbc(aes) + hmac(sha256) (ESP builds it with CONFIG_CRYPTO_AUTHENCESN")
	waitKernelEmpty(t, g, "after a failed install")
	ctl.run("/usr/sbin/swanctl", "--terminate", "--ike", "cbcesn", "--timeout", "20", "--uri", guestVici)
	for _, line := range strings.Split(console, "\n") {
		if strings.Contains(line, "installing ESP SAs") {
			t.Logf("responder: %s", strings.TrimSpace(line))
		}
	}
}

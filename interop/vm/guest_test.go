package vm

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/interop/lab"
)

// The guest's network, seen from the host namespace that holds its tap:
//
//	host ns (tap0 192.0.2.1/24) ──── guest eth0 192.0.2.2/24, lo 10.99.1.1/32
//
// The responder in the guest hands out virtual IPs from 10.99.200.0/24 and
// offers 10.99.1.0/24 as its side of the tunnel.
const (
	hostAddr    = "192.0.2.1"
	guestAddr   = "192.0.2.2"
	guestNet    = "10.99.1.0/24"
	guestInside = "10.99.1.1"
	vipPool     = "10.99.200.0/24"
	controlPort = "8080"
	labPSK      = "vm-interop-psk-not-a-secret-0123456789"
	// bootTimeout bounds boot to the responder being ready: about 3 s
	// measured, much more on a loaded machine under TCG.
	bootTimeout = 90 * time.Second
)

// guestInit is the guest's /init after the prelude: network, then the
// responder, restarted when it dies (a crash test kills it) and powering
// the guest off when it exits cleanly.
const guestInit = `
/sbin/ip link set lo up
/sbin/ip addr add ` + guestInside + `/32 dev lo
/sbin/ip link set eth0 up
/sbin/ip addr add ` + guestAddr + `/24 dev eth0
/sbin/ip route add default via ` + hostAddr + `
echo "RESULT kernel $(uname -r) network up at $(cut -d' ' -f1 /proc/uptime) s"
while :; do
	/vmresponder -psk ` + labPSK + ` -pool4 ` + vipPool + ` -local-ts ` + guestNet + ` -control 0.0.0.0:` + controlPort + `
	rc=$?
	[ $rc -eq 0 ] && break
	echo "RESULT vmresponder exited with status $rc, restarting"
done
echo "RESULT poweroff"
poweroff -f
`

// guest is a booted guest with the responder ready.
type guest struct {
	*Guest
	ctl  *control
	host *lab.Netns
}

// bootGuest builds the guest image (Debian's kernel, fetched once into the
// cache) with the responder and boots it behind a tap in a new namespace.
func bootGuest(t *testing.T) *guest {
	t.Helper()
	Require(t)
	cache, err := CacheDir()
	require.NoError(t, err)
	k, err := FetchKernel(cache)
	if err != nil {
		t.Skipf("vm: no Debian kernel package available (apt-get download): %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vmresponder")
	root, err := lab.RepoRoot()
	require.NoError(t, err)
	build := exec.Command("go", "build", "-o", bin, "./interop/vm/internal/vmresponder")
	build.Dir = root
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build vmresponder:\n%s", out)

	img, prelude, err := BaseImage(k, XFRMModules...)
	require.NoError(t, err)
	require.NoError(t, img.File("/vmresponder", bin))
	if haveStrongSwanFiles() {
		require.NoError(t, addStrongSwan(img))
	}
	img.Bytes("/init", []byte(prelude+guestInit), 0o755)
	initrd := filepath.Join(dir, "initramfs.cpio")
	require.NoError(t, img.WriteFile(initrd))

	host := lab.NewNetns(t, "vmh")
	AddTap(t, host, "tap0", hostAddr+"/24")
	g := &guest{Guest: Boot(t, GuestConfig{Kernel: k, Initramfs: initrd, Netns: host, Tap: "tap0"}), host: host}
	g.WaitConsole(t, "vmresponder ready", bootTimeout)
	if strings.Contains(g.Console(), "RESULT insmod") {
		t.Fatalf("vm: kernel modules failed to load in the guest:\n%s", g.Console())
	}
	g.ctl = newControl(t, host, guestAddr+":"+controlPort)
	g.ctl.waitReady(30 * time.Second)
	t.Logf("guest kernel %s ready", k.Release)
	return g
}

// shutdown stops the responder, which powers the guest off.
func (g *guest) shutdown(t *testing.T) {
	t.Helper()
	g.ctl.post("/exit")
	g.WaitExit(t, 30*time.Second)
}

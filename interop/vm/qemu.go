package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/interop/lab"
)

// Host programs and files a guest needs, with the Debian packages that
// have them.
const (
	qemuBinary = "qemu-system-x86_64" // qemu-system-x86
	busyboxBin = "/bin/busybox"       // busybox-static
	qbootROM   = "/usr/share/qemu/qboot.rom"
	ipBinary   = "/usr/sbin/ip" // iproute2
)

// Require skips the test unless it runs as root with QEMU, a static
// busybox and apt/dpkg available, naming what is missing.
func Require(t testing.TB) {
	t.Helper()
	lab.RequireRoot(t)
	var missing []string
	for _, p := range []struct{ path, pkg string }{
		{qemuBinary, "qemu-system-x86"}, {busyboxBin, "busybox-static"}, {qbootROM, "qemu-system-data"},
		{ipBinary, "iproute2"}, {"apt-get", "apt"}, {"dpkg-deb", "dpkg"}, {"ldd", "libc-bin"},
	} {
		var err error
		if strings.HasSuffix(p.path, ".rom") {
			_, err = os.Stat(p.path)
		} else {
			_, err = exec.LookPath(p.path)
		}
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", p.path, p.pkg))
		}
	}
	if len(missing) == 0 {
		// busybox must be the static build: the guest has no libc for it.
		if out, err := exec.Command("ldd", busyboxBin).CombinedOutput(); err == nil && !strings.Contains(string(out), "not a dynamic executable") {
			missing = append(missing, busyboxBin+" built statically (Debian package busybox-static, not busybox)")
		}
	}
	if len(missing) > 0 {
		t.Skipf("vm: test needs %s", strings.Join(missing, ", "))
	}
}

// XFRMModules are the guest kernel modules for kernel ESP with the
// algorithms of the recommended policy and a virtio NIC, per
// ../shared/LAB.md. jitterentropy_rng and drbg matter: without a random
// number generator the IV generators (seqiv, echainiv) cannot be built and
// every state add fails.
var XFRMModules = []string{
	// sha3_generic first: jitterentropy_rng allocates sha3-256 when it
	// loads (Debian's 6.1 has the SHA-3 conditioning backported) but
	// names no dependency on it, and fails with ENOENT without it.
	"sha3_generic", "jitterentropy_rng",
	// The ciphers and hashes before drbg, whose CTR and HMAC flavours
	// need ctr(aes) and sha512 when they load.
	"aesni-intel", "ctr", "sha512_generic", "drbg",
	// authencesn is what ESP with extended sequence numbers and a
	// separate integrity algorithm uses.
	"xfrm_user", "esp4", "authenc", "authencesn", "echainiv", "seqiv", "gcm", "ghash-generic", "sha256_ssse3",
	"virtio_pci", "virtio_net", "veth",
}

// BaseImage returns an initramfs with busybox, Debian's ip(8) (busybox's
// has no xfrm), and the given kernel modules with their dependencies, and
// the shell lines that mount the pseudo file systems and load the modules.
// The caller adds its programs and an /init that starts with the prelude.
func BaseImage(k *Kernel, modules ...string) (*Initramfs, string, error) {
	r := NewInitramfs()
	// busybox's ip stays out: its applet would shadow Debian's in ash.
	if err := r.Busybox(busyboxBin, "ip"); err != nil {
		return nil, "", err
	}
	if err := r.Program("/sbin/ip", ipBinary); err != nil {
		return nil, "", err
	}
	mods, err := OpenModules(k.ModulesDir)
	if err != nil {
		return nil, "", err
	}
	files, err := mods.Resolve(modules...)
	if err != nil {
		return nil, "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexport PATH=/sbin:/bin\n")
	b.WriteString("mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev\n")
	b.WriteString("mount -t tmpfs run /run; mount -t tmpfs tmp /tmp; ln -s /run /var/run\n")
	b.WriteString("echo \"RESULT init at $(cut -d' ' -f1 /proc/uptime) s\"\n")
	for _, f := range files {
		guest := "/lib/modules/" + filepath.Base(f)
		if err := r.File(guest, f); err != nil {
			return nil, "", err
		}
		fmt.Fprintf(&b, "insmod %s || echo \"RESULT insmod %s failed\"\n", guest, filepath.Base(f))
	}
	b.WriteString("echo \"RESULT modules loaded at $(cut -d' ' -f1 /proc/uptime) s\"\n")
	for _, d := range []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var", "/etc"} {
		r.Dir(d)
	}
	return r, b.String(), nil
}

// AddTap creates a TAP device in ns for a guest's NIC, with the host side
// address given (CIDR), and brings it up. QEMU attaches to it by name, so
// the device exists, addressed, before the guest boots.
//
// Equivalent to:
//
//	ip -n NS tuntap add dev NAME mode tap
//	ip -n NS addr add ADDR dev NAME; ip -n NS link set NAME up
func AddTap(t testing.TB, ns *lab.Netns, name, addr string) {
	t.Helper()
	ns.IP(t, "tuntap", "add", "dev", name, "mode", "tap")
	ns.IP(t, "addr", "add", addr, "dev", name)
	ns.IP(t, "link", "set", name, "up")
}

// GuestConfig describes one QEMU guest.
type GuestConfig struct {
	Kernel    *Kernel
	Initramfs string // path of the cpio archive (see Initramfs.WriteFile)
	// Netns is where QEMU runs; Tap, a device in it, is the guest's
	// virtio NIC (eth0 inside).
	Netns *lab.Netns
	Tap   string
	// MemoryMiB and CPUs default to 512 and 2.
	MemoryMiB, CPUs int
}

// Guest is a running QEMU guest.
type Guest struct {
	proc *lab.Process
}

// Boot starts QEMU with software emulation (TCG: this project's hosts'
// KVM cannot run stock kernels, see ../shared/LAB.md) and the serial
// console on its standard output. The guest is killed when the test ends;
// its console is logged if the test failed.
//
// Equivalent to:
//
//	ip netns exec NS qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 2 -nodefaults -display none \
//	    -serial stdio -no-reboot -bios /usr/share/qemu/qboot.rom -kernel vmlinux -initrd initramfs.cpio \
//	    -append "console=ttyS0 panic=-1 quiet" -netdev tap,id=n0,ifname=TAP,script=no,downscript=no \
//	    -device virtio-net-pci,netdev=n0
func Boot(t testing.TB, cfg GuestConfig) *Guest {
	t.Helper()
	mem, cpus := cfg.MemoryMiB, cfg.CPUs
	if mem == 0 {
		mem = 512
	}
	if cpus == 0 {
		cpus = 2
	}
	args := []string{qemuBinary,
		"-accel", "tcg", "-cpu", "max", "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-bios", qbootROM, "-kernel", cfg.Kernel.Image, "-initrd", cfg.Initramfs,
		"-append", "console=ttyS0 panic=-1 quiet",
	}
	if cfg.Tap != "" {
		args = append(args, "-netdev", "tap,id=n0,ifname="+cfg.Tap+",script=no,downscript=no",
			"-device", "virtio-net-pci,netdev=n0")
	}
	return &Guest{proc: lab.StartProcess(t, cfg.Netns, "qemu-guest", args...)}
}

// Console returns everything the guest wrote to its serial console.
func (g *Guest) Console() string { return g.proc.Output() }

// WaitConsole waits until the console shows substr.
func (g *Guest) WaitConsole(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	g.proc.WaitOutput(t, substr, timeout)
}

// WaitExit waits until the guest powered off, and fails the test after
// timeout.
func (g *Guest) WaitExit(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-g.proc.Done():
	case <-time.After(timeout):
		t.Fatalf("vm: guest did not power off within %v; console:\n%s", timeout, g.Console())
	}
}

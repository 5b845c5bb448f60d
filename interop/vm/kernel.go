package vm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Kernel is Debian's amd64 kernel package, unpacked.
type Kernel struct {
	// Package is the package name, e.g. linux-image-6.1.0-56-amd64.
	Package string
	// Release is what uname -r says, e.g. 6.1.0-56-amd64.
	Release string
	// Image is what QEMU boots: boot/vmlinux, the uncompressed kernel,
	// when it could be extracted, else the bzImage boot/vmlinuz-RELEASE.
	Image string
	// ModulesDir is lib/modules/RELEASE.
	ModulesDir string
}

// metaPackage is the package that always depends on Debian's current
// kernel for the architecture.
const metaPackage = "linux-image-amd64"

// CacheDir is where downloaded kernels are kept: $IKELAB_CACHE if set,
// else ikelab under the user's cache directory (~/.cache/ikelab).
func CacheDir() (string, error) {
	if d := os.Getenv("IKELAB_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vm: no cache directory: %w", err)
	}
	return filepath.Join(d, "ikelab"), nil
}

// FetchKernel returns Debian's current kernel, unpacked under
// cacheDir/kernels. The first call downloads the package with apt-get
// download and unpacks it with dpkg-deb (70 MB, a few seconds); later calls
// find it there. When apt cannot say which package is current (no package
// lists, no network), the newest kernel already in the cache is used.
//
// Equivalent to:
//
//	apt-get download $(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image/ {print $2}')
//	dpkg-deb -x linux-image-*.deb DIR
func FetchKernel(cacheDir string) (*Kernel, error) {
	dir := filepath.Join(cacheDir, "kernels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	pkg, aptErr := currentKernelPackage()
	if aptErr != nil {
		cached := cachedKernels(dir)
		if len(cached) == 0 {
			return nil, aptErr
		}
		pkg = cached[len(cached)-1]
	}
	root := filepath.Join(dir, pkg)
	if _, err := os.Stat(filepath.Join(root, ".complete")); err != nil {
		if err := unpackKernel(dir, pkg); err != nil {
			return nil, err
		}
		pruneKernels(dir, pkg)
	}
	return openKernel(root, pkg)
}

// pruneKernels removes the kernels that Debian has replaced (400 MB each
// unpacked) and what interrupted downloads left, keeping keep.
func pruneKernels(dir, keep string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Name() == keep:
		case strings.Contains(e.Name(), ".tmp-"):
			// Another run may be unpacking right now; only old ones go.
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(p)
			}
		default:
			if _, err := os.Stat(filepath.Join(p, ".complete")); err == nil {
				os.RemoveAll(p)
			}
		}
	}
}

// currentKernelPackage asks apt which kernel linux-image-amd64 depends on.
func currentKernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", metaPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("vm: apt-cache depends %s: %v: %s", metaPackage, err, bytes.TrimSpace(out))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("vm: apt-cache depends %s names no kernel package:\n%s", metaPackage, out)
}

// cachedKernels lists the completely unpacked kernels, oldest name first.
func cachedKernels(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), ".complete")); err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// unpackKernel downloads pkg and unpacks it into dir/pkg, atomically: a
// concurrent or interrupted run never sees half a kernel.
func unpackKernel(dir, pkg string) error {
	tmp, err := os.MkdirTemp(dir, pkg+".tmp-")
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(tmp)
	// apt-get download writes into the working directory; as root it
	// warns that the _apt sandbox user cannot write there, which is fine.
	cmd := exec.Command("apt-get", "download", "-q", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vm: apt-get download %s: %v: %s", pkg, err, bytes.TrimSpace(out))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("vm: apt-get download %s left %d packages", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("vm: dpkg-deb -x %s: %v: %s", debs[0], err, bytes.TrimSpace(out))
	}
	if err := extractVmlinux(root); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, ".complete"), []byte(pkg+"\n"), 0o644); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if err := os.Rename(root, filepath.Join(dir, pkg)); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, pkg, ".complete")); statErr == nil {
			return nil // another run got there first
		}
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}

// xzMagic starts an xz stream (the .xz file format, section 2.1.1.1).
var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// extractVmlinux unpacks the uncompressed kernel from the bzImage's
// payload (Debian compresses it with xz) as boot/vmlinux: QEMU boots it
// directly through its PVH entry point, which is about 2 s faster under
// TCG than having the guest decompress itself. Without xz(1) the bzImage
// is used instead.
//
// Equivalent to: tail -c +OFFSET vmlinuz | xz -dc --single-stream > vmlinux
func extractVmlinux(root string) error {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return fmt.Errorf("vm: %s has %d kernel images", root, len(images))
	}
	if _, err := exec.LookPath("xz"); err != nil {
		return nil
	}
	data, err := os.ReadFile(images[0])
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	i := bytes.Index(data, xzMagic)
	if i < 0 {
		return nil // not xz: boot the bzImage
	}
	cmd := exec.Command("xz", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(data[i:])
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vm: decompressing %s: %v: %s", images[0], err, stderr.String())
	}
	// An ELF executable, or the payload was something else.
	if !bytes.HasPrefix(out.Bytes(), []byte("\x7fELF")) {
		return fmt.Errorf("vm: %s: the xz payload is not an ELF kernel", images[0])
	}
	return os.WriteFile(filepath.Join(root, "boot", "vmlinux"), out.Bytes(), 0o644)
}

func openKernel(root, pkg string) (*Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return nil, fmt.Errorf("vm: %s has %d kernel images", root, len(images))
	}
	release := strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	mods := filepath.Join(root, "lib", "modules", release)
	if _, err := os.Stat(mods); err != nil {
		return nil, errors.Join(fmt.Errorf("vm: %s has no modules for %s", root, release), err)
	}
	k := &Kernel{Package: pkg, Release: release, Image: images[0], ModulesDir: mods}
	if vmlinux := filepath.Join(root, "boot", "vmlinux"); fileExists(vmlinux) {
		k.Image = vmlinux
	}
	return k, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Initramfs collects the files of a guest's root file system and writes
// them as a cpio archive in the "newc" format the kernel
// unpacks into its rootfs (Documentation/driver-api/early-userspace/
// buffer-format.rst). Parent directories are created implicitly.
type Initramfs struct {
	entries map[string]entry
}

type entry struct {
	mode   uint32 // file type and permission bits, as in st_mode
	data   []byte // file contents, or the symlink target
	source string // host file to read the contents from, if data is nil
}

// File type bits of st_mode (sys/stat.h).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
)

// NewInitramfs returns an empty archive.
func NewInitramfs() *Initramfs { return &Initramfs{entries: map[string]entry{}} }

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// Dir adds a directory.
func (r *Initramfs) Dir(p string) {
	p = clean(p)
	for d := p; d != "." && d != ""; d = path.Dir(d) {
		if _, ok := r.entries[d]; !ok {
			r.entries[d] = entry{mode: modeDir | 0o755}
		}
	}
}

// Bytes adds a file with the given contents and permissions.
func (r *Initramfs) Bytes(p string, data []byte, perm uint32) {
	p = clean(p)
	r.Dir(path.Dir(p))
	r.entries[p] = entry{mode: modeRegular | perm, data: data}
}

// File adds the host file src as p, keeping its permission bits.
func (r *Initramfs) File(p, src string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("vm: initramfs: %w", err)
	}
	p = clean(p)
	r.Dir(path.Dir(p))
	r.entries[p] = entry{mode: modeRegular | uint32(fi.Mode().Perm()), source: src}
	return nil
}

// Symlink adds p pointing at target.
func (r *Initramfs) Symlink(p, target string) {
	p = clean(p)
	r.Dir(path.Dir(p))
	r.entries[p] = entry{mode: modeSymlink | 0o777, data: []byte(target)}
}

// lddLine matches the library lines of ldd(1): "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
// and the interpreter line "/lib64/ld-linux-x86-64.so.2 (0x...)".
var lddLine = regexp.MustCompile(`(?:=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// Program adds the dynamically linked host program src as p, with every
// shared library ldd(1) names at the path it names, so the guest's dynamic
// loader finds them where the host's does. Symlinked libraries are stored
// as the files they point to.
func (r *Initramfs) Program(p, src string) error {
	if err := r.File(p, src); err != nil {
		return err
	}
	return r.Libraries(src)
}

// Libraries adds the shared libraries the host file src needs (a program
// or a library loaded with dlopen, like a strongSwan plugin).
func (r *Initramfs) Libraries(src string) error {
	out, err := exec.Command("ldd", src).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil
		}
		return fmt.Errorf("vm: ldd %s: %v: %s", src, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := lddLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		real, err := filepath.EvalSymlinks(m[1])
		if err != nil {
			return fmt.Errorf("vm: library of %s: %w", src, err)
		}
		if err := r.File(m[1], real); err != nil {
			return err
		}
	}
	return nil
}

// Busybox adds a static busybox as /bin/busybox with links for all its
// applets in /bin and /sbin, except those named in skip (so that a real
// program of that name can be installed instead).
func (r *Initramfs) Busybox(src string, skip ...string) error {
	if err := r.File("/bin/busybox", src); err != nil {
		return err
	}
	out, err := exec.Command(src, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("vm: %s --list-full: %w", src, err)
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	for _, line := range strings.Fields(string(out)) {
		name := path.Base(line)
		if skipped[name] || name == "busybox" {
			continue
		}
		// Applets all live in /bin here: one PATH entry, no surprises.
		r.Symlink("/bin/"+name, "/bin/busybox")
	}
	return nil
}

// Write writes the archive to w, gzip-compressed if compress is set.
// Under TCG the guest inflates at some 10 MB/s, so an uncompressed archive
// boots faster when the host can afford the memory.
func (r *Initramfs) Write(w io.Writer, compress bool) error {
	var zw *gzip.Writer
	if compress {
		var err error
		if zw, err = gzip.NewWriterLevel(w, gzip.BestSpeed); err != nil {
			return err
		}
		w = zw
	}
	cw := &cpioWriter{w: bufio.NewWriterSize(w, 1<<20)}
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	// Sorted, so that parents come before their children and the archive
	// is the same for the same contents.
	sort.Strings(names)
	for _, n := range names {
		e := r.entries[n]
		data := e.data
		if data == nil && e.source != "" {
			var err error
			if data, err = os.ReadFile(e.source); err != nil {
				return fmt.Errorf("vm: initramfs %s: %w", n, err)
			}
		}
		if err := cw.add(n, e.mode, data); err != nil {
			return err
		}
	}
	if err := cw.add("TRAILER!!!", 0, nil); err != nil {
		return err
	}
	if err := cw.w.Flush(); err != nil {
		return err
	}
	if zw != nil {
		return zw.Close()
	}
	return nil
}

// WriteFile writes the archive to a file, gzip-compressed if the name ends
// in .gz.
func (r *Initramfs) WriteFile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := r.Write(f, strings.HasSuffix(name, ".gz")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpioWriter writes "newc" records: a 110-octet ASCII header of 13 hex
// fields, the NUL-terminated name padded to four octets, the data padded
// to four octets.
type cpioWriter struct {
	w   *bufio.Writer
	ino uint32
	off int64
}

func (c *cpioWriter) add(name string, mode uint32, data []byte) error {
	c.ino++
	nlink := 1
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	if err := c.write([]byte(hdr)); err != nil {
		return err
	}
	if err := c.write(append([]byte(name), 0)); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.off += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	if rem := c.off % 4; rem != 0 {
		return c.write(make([]byte, 4-rem))
	}
	return nil
}

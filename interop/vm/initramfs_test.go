package vm

import (
	"bytes"
	"compress/gzip"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type cpioEntry struct {
	mode uint32
	data string
}

// readNewc parses a "newc" archive the way the kernel's unpacker does
// (init/initramfs.c): 110-octet header, name and data each padded to four
// octets, up to TRAILER!!!.
func readNewc(t *testing.T, b []byte) (map[string]cpioEntry, []string) {
	t.Helper()
	out := map[string]cpioEntry{}
	var order []string
	off := 0
	field := func(i int) int {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		require.NoError(t, err)
		return int(v)
	}
	for {
		require.LessOrEqual(t, off+110, len(b), "truncated header")
		require.Equal(t, "070701", string(b[off:off+6]), "magic at %d", off)
		mode, size, namesize := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+namesize-1])
		require.Equal(t, byte(0), b[off+110+namesize-1], "NUL after %q", name)
		dataOff := (off + 110 + namesize + 3) &^ 3
		if name == "TRAILER!!!" {
			require.Equal(t, 0, (dataOff+size)%4)
			return out, order
		}
		out[name] = cpioEntry{mode: uint32(mode), data: string(b[dataOff : dataOff+size])}
		order = append(order, name)
		off = (dataOff + size + 3) &^ 3
	}
}

func TestInitramfsNewcFormat(t *testing.T) {
	r := NewInitramfs()
	r.Bytes("/init", []byte("#!/bin/sh\necho hi\n"), 0o755)
	r.Bytes("etc/swanctl/swanctl.conf", []byte("x"), 0o600)
	r.Symlink("/bin/sh", "/bin/busybox")
	r.Dir("/proc")
	var buf bytes.Buffer
	require.NoError(t, r.Write(&buf, false))
	got, order := readNewc(t, buf.Bytes())
	assert.Equal(t, cpioEntry{mode: modeRegular | 0o755, data: "#!/bin/sh\necho hi\n"}, got["init"])
	assert.Equal(t, cpioEntry{mode: modeRegular | 0o600, data: "x"}, got["etc/swanctl/swanctl.conf"])
	assert.Equal(t, cpioEntry{mode: modeSymlink | 0o777, data: "/bin/busybox"}, got["bin/sh"])
	for _, d := range []string{"etc", "etc/swanctl", "bin", "proc"} {
		assert.Equal(t, uint32(modeDir|0o755), got[d].mode, "implicit directory %s", d)
	}
	// Parents before children: the kernel creates files in archive order.
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	assert.Less(t, pos["etc"], pos["etc/swanctl"])
	assert.Less(t, pos["etc/swanctl"], pos["etc/swanctl/swanctl.conf"])

	// The same archive through gzip.
	var gz bytes.Buffer
	require.NoError(t, r.Write(&gz, true))
	zr, err := gzip.NewReader(&gz)
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, buf.Bytes(), plain, "deterministic archive")
}

// TestModulesResolve needs an unpacked kernel in the cache (the VM test
// fetches one); dependencies must come before their users.
func TestModulesResolve(t *testing.T) {
	cache, err := CacheDir()
	require.NoError(t, err)
	kernels := cachedKernels(filepath.Join(cache, "kernels"))
	if len(kernels) == 0 {
		t.Skip("vm: no kernel in the cache yet; TestKernelXFRM downloads one")
	}
	k, err := openKernel(filepath.Join(cache, "kernels", kernels[len(kernels)-1]), kernels[len(kernels)-1])
	require.NoError(t, err)
	m, err := OpenModules(k.ModulesDir)
	require.NoError(t, err)
	files, err := m.Resolve(XFRMModules...)
	require.NoError(t, err)
	pos := map[string]int{}
	for i, f := range files {
		pos[modName(f)] = i
	}
	for _, dep := range [][2]string{{"xfrm_algo", "esp4"}, {"xfrm_algo", "xfrm_user"}, {"virtio_ring", "virtio_net"}, {"cryptd", "aesni_intel"}} {
		d, okD := pos[dep[0]]
		u, okU := pos[dep[1]]
		require.True(t, okD && okU, "%v resolved: %v", dep, files)
		assert.Less(t, d, u, "%s before %s", dep[0], dep[1])
	}
	for _, f := range files {
		assert.True(t, strings.HasSuffix(f, ".ko"), f)
	}
	// Built-in modules need no file; unknown ones are errors.
	_, err = m.Resolve("cbc")
	assert.NoError(t, err, "cbc is built into Debian's kernel")
	_, err = m.Resolve("no_such_module")
	assert.ErrorContains(t, err, "module no_such_module not found")
}

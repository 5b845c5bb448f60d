package bench

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCryptoShare profiles ECDSA signatures and a loop of plain
// arithmetic, apart and together (testdata/profiled, built without the
// race detector), and checks the share cryptoShare finds.
func TestCryptoShare(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command (go build, go tool pprof)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "profiled")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/profiled").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	share := func(mode, d string) float64 {
		path := filepath.Join(dir, mode+".pprof")
		out, err := exec.Command(bin, "-mode", mode, "-for", d, "-out", path).CombinedOutput()
		require.NoError(t, err, "profiled -mode %s:\n%s", mode, out)
		s, err := cryptoShare(path)
		require.NoError(t, err)
		t.Logf("%s: %.2f", mode, s)
		return s
	}

	// A second of CPU is about 100 samples: the garbage collector's few
	// (signing allocates) cannot pass the margins.
	assert.Greater(t, share("sign", "1s"), 0.9, "signing only")
	assert.Less(t, share("spin", "1s"), 0.1, "no cryptography")
	assert.InDelta(t, 0.5, share("both", "2s"), 0.25, "as much time in each")

	_, err = cryptoShare(filepath.Join(dir, "missing.pprof"))
	assert.Error(t, err)
}

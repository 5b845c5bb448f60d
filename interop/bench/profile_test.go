package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// profileOf writes a CPU profile of work, run for d, and returns its path.
func profileOf(t *testing.T, d time.Duration, work func()) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, pprof.StartCPUProfile(f))
	for end := time.Now().Add(d); time.Now().Before(end); {
		work()
	}
	pprof.StopCPUProfile()
	require.NoError(t, f.Close())
	return path
}

// spin is work with no cryptography in it.
//
//go:noinline
func spin() {
	x := uint64(1)
	for i := range 2000 {
		x = x*6364136223846793005 + uint64(i)
	}
	sink = x
}

var sink uint64

// TestCryptoShare profiles ECDSA signatures and a loop of plain
// arithmetic, apart and together, and checks the share cryptoShare finds.
func TestCryptoShare(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command (go tool pprof)")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("signed octets"))
	sign := func() {
		_, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		require.NoError(t, err)
	}

	share, err := cryptoShare(profileOf(t, 300*time.Millisecond, sign))
	require.NoError(t, err)
	assert.Greater(t, share, 0.9, "signing only")

	share, err = cryptoShare(profileOf(t, 300*time.Millisecond, spin))
	require.NoError(t, err)
	assert.Less(t, share, 0.1, "no cryptography")

	// Alternating: as much time in each, by construction of the loop.
	both := func() {
		start := time.Now()
		sign()
		for spent := time.Since(start); time.Since(start) < 2*spent; {
			spin()
		}
	}
	share, err = cryptoShare(profileOf(t, 600*time.Millisecond, both))
	require.NoError(t, err)
	assert.InDelta(t, 0.5, share, 0.25, "half and half")
	t.Logf("half and half: %.2f", share)

	_, err = cryptoShare(filepath.Join(t.TempDir(), "missing.pprof"))
	assert.Error(t, err)
}

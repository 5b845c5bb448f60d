package bench

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, as proc(5) warns.
	line := "4242 (weird) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 17 0 100 1000 200\n"
	d, err := parseStatCPU([]byte(line))
	require.NoError(t, err)
	assert.Equal(t, cpuTimes{User: 2500 * time.Millisecond, System: 750 * time.Millisecond}, d, "utime 250, stime 75 ticks at 100 Hz")
	assert.Equal(t, 3250*time.Millisecond, d.Total())
	assert.Equal(t, cpuTimes{User: time.Second, System: 250 * time.Millisecond}, d.Sub(cpuTimes{User: 1500 * time.Millisecond, System: 500 * time.Millisecond}))

	for _, bad := range []string{"", "4242 no parens S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 1 0"} {
		_, err := parseStatCPU([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestCPUTimeOfSelf(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	// Burn measurable CPU: /proc counts in 10 ms ticks.
	end := time.Now().Add(60 * time.Millisecond)
	x := 0
	for time.Now().Before(end) {
		x++
	}
	after, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, after.Total(), before.Total(), "CPU time grows while spinning (%d loops)", x)
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tresponder\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t5\n"
	n, err := parseVmRSS([]byte(status))
	require.NoError(t, err)
	assert.Equal(t, int64(12345*1024), n)

	_, err = parseVmRSS([]byte("Name:\tkthreadd\nThreads:\t1\n"))
	assert.Error(t, err)
	_, err = parseVmRSS([]byte("VmRSS:\t12 MB\n"))
	assert.Error(t, err)

	self, err := rss(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, self, int64(1<<20), "the test binary holds more than 1 MiB")
}

func TestMarkdown(t *testing.T) {
	c := Cell{Suite: "ECP-256 + ECDSA P-256", Responder: "ikelab", Established: 10000, Failed: 0, Rate: 1234.4,
		P50: 25 * time.Millisecond, P99: 80 * time.Millisecond, Wall: 8 * time.Second, CPU: 4 * time.Second,
		RSSIdle: 10 << 20, RSSLoaded: 10<<20 + 10000*20*1024, CryptoBound: 4460, CryptoShare: 0.614}
	assert.Equal(t, 400*time.Microsecond, c.CPUPerHandshake())
	assert.InDelta(t, 2500, c.CoreRate(), 1e-9)
	assert.InDelta(t, 0.5, c.Busy(), 1e-9)
	assert.InDelta(t, 20*1024, c.MemPerSA(), 1e-9)
	charon := c
	charon.Responder, charon.CryptoShare = "strongSwan", 0
	md := Markdown([]Cell{c, charon})
	assert.Contains(t, md, "| ECP-256 + ECDSA P-256 | ikelab | 10,000 (0) | 1,234 | 25.0 / 80.0 ms | 0.400 ms | 50% | 2,500 hs/s (56% of 4,460) | 61% | 20.0 KiB |")
	assert.Contains(t, md, "| strongSwan | 10,000 (0) | 1,234 | 25.0 / 80.0 ms | 0.400 ms | 50% | 2,500 hs/s (56% of 4,460) | n/a | 20.0 KiB |")
	assert.Equal(t, 4, strings.Count(md, "\n"))

	assert.Equal(t, "0", thousands(0))
	assert.Equal(t, "999", thousands(999))
	assert.Equal(t, "1,000", thousands(1000))
	assert.Equal(t, "-12,345,678", thousands(-12345678))
	assert.Zero(t, Cell{}.CPUPerHandshake())
	assert.Zero(t, Cell{}.CoreRate())
}

// Summary orders each measure of repeated runs and gives the median;
// charon's runs, with no profile, have no cryptography line.
func TestSummary(t *testing.T) {
	run := func(cpu time.Duration, bound, share float64) Cell {
		return Cell{Established: 1000, CPU: cpu, CryptoBound: bound, CryptoShare: share, RSSLoaded: 1000 * 12 * 1024}
	}
	// 0.5 ms per handshake is 2,000/s: 50% of 4,000, 80% of 2,500.
	got := Summary([]Cell{run(500*time.Millisecond, 4000, 0.70), run(500*time.Millisecond, 2500, 0.75), run(400*time.Millisecond, 4000, 0.72)})
	assert.Equal(t, `  % of the same-run crypto bound: 50, 62, 80%; median 62%
  cryptography in the profile: 70, 72, 75%; median 72%
  CPU per handshake: 0.400, 0.500, 0.500 ms; median 0.500 ms
  crypto bound: 2500, 4000, 4000 hs/s; median 4000 hs/s
  memory per IKE SA: 12.0, 12.0, 12.0 KiB; median 12.0 KiB`, got)

	charon := Summary([]Cell{run(time.Second, 4000, 0), run(3*time.Second, 4000, 0)})
	assert.NotContains(t, charon, "cryptography")
	assert.Contains(t, charon, "CPU per handshake: 1.000, 3.000 ms; median 2.000 ms")
	assert.Empty(t, Summary(nil))
}

func TestParseUDPRcvbufErrors(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
		"Udp: 2000 3 17 2000 17 0 0 0 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
		"UdpLite: 0 0 0 0 99 0 0 0 0\n"
	n, err := parseUDPRcvbufErrors(snmp)
	require.NoError(t, err)
	assert.Equal(t, int64(17), n)
	_, err = parseUDPRcvbufErrors("Ip: Forwarding\nIp: 1\n")
	assert.Error(t, err)

	self, err := os.ReadFile("/proc/net/snmp")
	require.NoError(t, err)
	_, err = parseUDPRcvbufErrors(string(self))
	assert.NoError(t, err, "this machine's /proc/net/snmp")
}

func TestSustainedRate(t *testing.T) {
	assert.Zero(t, sustainedRate(nil))
	assert.InDelta(t, 4000, sustainedRate([]float64{250_000}), 1e-9)
	// 4,000/s and 2,000/s for a second each: 6,000 handshakes in two
	// seconds, not the best second's 4,000/s nor 1/mean(ns) = 2,667/s.
	assert.InDelta(t, 3000, sustainedRate([]float64{250_000, 500_000}), 1e-9)
}

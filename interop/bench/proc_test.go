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

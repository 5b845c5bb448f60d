package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/policy"
)

const loadPSK = "load-test-psk-0123456789abcdef"

// startLoadResponder runs an engine on loopback with a PSK and a pool, on
// a port derived from the process ID (apart from main_test.go's range).
func startLoadResponder(t *testing.T) (string, *ike.Engine) {
	t.Helper()
	port := uint16(40000 + os.Getpid()%20000)
	u, err := ike.ListenUDP([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, port, port+1)
	if err != nil {
		t.Skipf("cannot listen on loopback port %d: %v", port, err)
	}
	p, err := policy.Builtin("recommended")
	require.NoError(t, err)
	e, err := ike.NewEngine(ike.Config{Policy: p, PSK: []byte(loadPSK),
		Pool4: netip.MustParsePrefix("10.99.0.0/16"), CookieThresholdIP: 1000, BlockThresholdIP: 1001}, u)
	require.NoError(t, err)
	u.Serve(e)
	t.Cleanup(func() { e.Close(); u.Close() })
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String(), e
}

// TestLoadRun: every handshake of a load run establishes, with its child
// SA and a virtual IP; the report says so, with latencies; the SAs are
// deleted at the end.
func TestLoadRun(t *testing.T) {
	server, e := startLoadResponder(t)
	var out, errb bytes.Buffer
	code := run([]string{"load", "--server", server, "--psk", loadPSK, "--id", "fqdn:load.lab",
		"--proposal", "aes128gcm16-prfsha256-ecp256", "--esp", "aes128gcm16",
		"--sources", "127.0.0.1,127.0.0.2", "--handshakes", "40", "--concurrency", "8", "--json", "--quiet"}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", errb.String(), out.String())
	var r LoadReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	assert.Equal(t, 40, r.Attempted)
	assert.Equal(t, 40, r.Established)
	assert.Zero(t, r.Failed)
	assert.Equal(t, 2, r.Sources)
	assert.Equal(t, "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256", r.Proposal)
	assert.Equal(t, "ESP:AES_GCM_16_128/NO_EXT_SEQ", r.ESP)
	assert.Positive(t, r.Rate)
	assert.Positive(t, r.Latency.P50)
	assert.LessOrEqual(t, r.Latency.P50, r.Latency.P99)
	assert.LessOrEqual(t, r.Latency.P99, r.Latency.Max)
	assert.Zero(t, r.Held, "no --hold")
	assert.Eventually(t, func() bool { return len(e.SAs()) == 0 }, 5*time.Second, 20*time.Millisecond,
		"the SAs were deleted at the end of the run")
}

// TestLoadHoldAndReport: with --hold the report file is written once the
// handshakes are done, while the responder still holds every SA.
func TestLoadHoldAndReport(t *testing.T) {
	server, e := startLoadResponder(t)
	report := filepath.Join(t.TempDir(), "report.json")
	done := make(chan int)
	var out, errb bytes.Buffer
	go func() {
		done <- run([]string{"load", "--server", server, "--psk", loadPSK, "--id", "fqdn:load.lab",
			"--proposal", "aes128gcm16-prfsha256-ecp256", "--esp", "aes128gcm16",
			"--handshakes", "20", "--concurrency", "4", "--hold", "2s", "--no-delete", "--report", report, "--quiet"}, &out, &errb)
	}()
	var r LoadReport
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(report)
		return err == nil && json.Unmarshal(data, &r) == nil
	}, 20*time.Second, 20*time.Millisecond, "report written")
	assert.Equal(t, 20, r.Established)
	assert.Equal(t, 20, r.Held)
	assert.Len(t, e.SAs(), 20, "the responder holds the SAs during --hold")
	require.Equal(t, 0, <-done, "stderr: %s", errb.String())
	assert.Contains(t, out.String(), "20 of 20 handshakes established")
	assert.Len(t, e.SAs(), 20, "--no-delete leaves them to the responder")
}

// TestLoadFailuresByReason: a wrong key fails every handshake, counted
// under the notification the responder sent; the exit status is 1.
func TestLoadFailuresByReason(t *testing.T) {
	server, _ := startLoadResponder(t)
	var out, errb bytes.Buffer
	code := run([]string{"load", "--server", server, "--psk", "not-the-key-0123456789abcdef", "--id", "fqdn:load.lab",
		"--proposal", "aes128gcm16-prfsha256-ecp256", "--esp", "aes128gcm16",
		"--handshakes", "6", "--concurrency", "3", "--json", "--quiet"}, &out, &errb)
	assert.Equal(t, 1, code)
	var r LoadReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	assert.Equal(t, 6, r.Failed)
	assert.Zero(t, r.Established)
	assert.Equal(t, map[string]int{"refused in IKE_AUTH with AUTHENTICATION_FAILED": 6}, r.Failures)
}

func TestLoadUsage(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run([]string{"load", "--psk", "x"}, &out, &errb))
	assert.Contains(t, errb.String(), "--server is required")
	assert.Equal(t, 2, run([]string{"load", "--server", "192.0.2.1", "--psk", "x", "--sources", "nonsense"}, &out, &errb))
	assert.Contains(t, errb.String(), "neither an address nor a prefix")
}

func TestParseSources(t *testing.T) {
	got, err := parseSources("198.18.0.0/29, 198.18.1.7,2001:db8::/126")
	require.NoError(t, err)
	var s []string
	for _, a := range got {
		s = append(s, a.String())
	}
	assert.Equal(t, []string{"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5", "198.18.0.6",
		"198.18.1.7", "2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"}, s,
		"IPv4 network and broadcast addresses left out; IPv6 has none")
	got, err = parseSources("198.18.0.8/31")
	require.NoError(t, err)
	assert.Len(t, got, 2, "a /31 has two usable addresses (RFC 3021)")
	got, err = parseSources("")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{{}}, got, "no sources: the routing table chooses")
	_, err = parseSources("10.0.0.0/8")
	assert.ErrorContains(t, err, "more than 65,536")
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	assert.Equal(t, Percentiles{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}, p)
	assert.Equal(t, time.Duration(100)*time.Millisecond, ds[0], "the input is not reordered")
	assert.Equal(t, Percentiles{P50: 7, P90: 7, P99: 7, Max: 7, Mean: 7}, percentiles([]time.Duration{7 * time.Millisecond}))
	assert.Equal(t, Percentiles{}, percentiles(nil))
}

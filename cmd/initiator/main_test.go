package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/policy"
)

// startResponder runs an engine on loopback with a PSK, on a port derived
// from the process ID so that parallel test binaries do not collide.
func startResponder(t *testing.T, pol string) string {
	t.Helper()
	port := uint16(20000 + os.Getpid()%20000)
	u, err := ike.ListenUDP([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, port, port+1)
	if err != nil {
		t.Skipf("cannot listen on loopback port %d: %v", port, err)
	}
	p, err := policy.Builtin(pol)
	require.NoError(t, err)
	e, err := ike.NewEngine(ike.Config{Policy: p, PSK: []byte("initiator-test-psk-0123456789"),
		Pool4: netip.MustParsePrefix("10.99.0.0/24")}, u)
	require.NoError(t, err)
	u.Serve(e)
	t.Cleanup(func() { e.Close(); u.Close() })
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String()
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errb))
	assert.Contains(t, errb.String(), "--server is required")
	assert.Equal(t, 2, run([]string{"--server", "192.0.2.1", "--profile", "windows95", "--psk", "x"}, &out, &errb))
	assert.Contains(t, errb.String(), "unknown profile")
}

func TestEstablishedJSON(t *testing.T) {
	server := startResponder(t, "recommended")
	var out, errb bytes.Buffer
	code := run([]string{"--server", server, "--psk", "initiator-test-psk-0123456789", "--id", "fqdn:client.lab",
		"--windows", "EncryptionMethod=AES128,IntegrityCheckMethod=SHA256,DHGroup=Group14,CipherTransformConstants=AES128,AuthenticationTransformConstants=SHA256128,PfsGroup=PFS2048",
		"--json"}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", errb.String(), out.String())
	var o Outcome
	require.NoError(t, json.Unmarshal(out.Bytes(), &o))
	assert.True(t, o.Established)
	assert.Equal(t, "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", o.IKE)
	assert.Equal(t, "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ", o.ESP)
	assert.Equal(t, []string{"10.99.0.2"}, o.VirtualIPs)
	assert.Equal(t, "windows-custom", o.Profile)
}

// TestRefusedWindowsError: Windows 10's defaults against the recommended
// policy fail the way a Windows client reports it: 13868.
func TestRefusedWindowsError(t *testing.T) {
	server := startResponder(t, "recommended")
	var out, errb bytes.Buffer
	code := run([]string{"--server", server, "--psk", "initiator-test-psk-0123456789", "--profile", "windows10-default"}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(out.String(), "refused: NO_PROPOSAL_CHOSEN in IKE_SA_INIT; a Windows client would show error 13868"), out.String())
}

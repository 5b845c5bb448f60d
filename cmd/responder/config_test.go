package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// TestCheckReportsLines: `responder check` names the file and line of
// every problem, and accepts the lab default.
func TestCheckReportsLines(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	cfg, err := initLab(labOptions(dir), &out)
	require.NoError(t, err)
	out.Reset()
	require.Equal(t, 0, run([]string{"check", "--config", cfg}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "ok (policy recommended)")
	assert.Contains(t, out.String(), "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048")

	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown_key", "listen: 0.0.0.0\nbogus: 1\npsk: x\n", []string{"bad.yaml:", "line 2", "bogus"}},
		{"bad_address_and_pool", "listen: 300.1.1.1\npsk: x\npool4: 10.0.0.0/33\n", []string{"bad.yaml:1: listen", "bad.yaml:3: pool4"}},
		{"unknown_proposal_keyword", "psk: x\npolicy:\n  ike: [aes128-sha999-modp2048]\n  esp: [aes128-sha256]\n", []string{"bad.yaml:2: policy", "sha999"}},
		{"no_authentication", "listen: 127.0.0.1\n", []string{"bad.yaml: trust", "no way to authenticate peers"}},
		{"missing_certificate", "psk: x\nidentity:\n  certificate: nope.pem\n  key: nope.key\n", []string{"bad.yaml:2: identity", "nope.pem"}},
		{"windows_names", "psk: x\npolicy:\n  windows:\n    EncryptionMethod: AES512\n", []string{"bad.yaml:2: policy", "AES512"}},
		{"tiny_fragments", "psk: x\nfragment_size: 100\n", []string{"bad.yaml:2: fragment_size"}},
		{"negative_gc_percent", "psk: x\ngc_percent: -1\n", []string{"bad.yaml:2: gc_percent"}},
		{"unknown_log_level", "psk: x\nlog_level: verbose\n", []string{"bad.yaml:2: log_level", `"verbose"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "bad.yaml", tc.yaml)
			var out, errb bytes.Buffer
			assert.Equal(t, 1, run([]string{"check", "--config", p}, &out, &errb))
			for _, w := range tc.want {
				assert.Contains(t, errb.String(), w)
			}
		})
	}
}

// log_level names a slog level; an unknown name is an error, not info.
func TestLogLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{"": slog.LevelInfo, "info": slog.LevelInfo,
		"debug": slog.LevelDebug, "warning": slog.LevelWarn, "warn": slog.LevelWarn, "error": slog.LevelError} {
		got, err := (&Config{LogLevel: name}).logLevel()
		require.NoError(t, err, "%q", name)
		assert.Equal(t, want, got, "%q", name)
	}
	for _, name := range []string{"verbose", "INFO", "2"} {
		_, err := (&Config{LogLevel: name}).logLevel()
		assert.Error(t, err, "%q", name)
	}
}

// gc_percent sets the responder's GOGC, 200 unless configured.
func TestGCPercent(t *testing.T) {
	assert.Equal(t, 200, (&Config{}).gcPercent())
	assert.Equal(t, 100, (&Config{GCPercent: 100}).gcPercent())
}

// TestLabInit writes the PKI, the config and Windows files whose settings
// are exactly the policy's.
func TestLabInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"lab", "init", "--dir", dir, "--server-ip", "192.0.2.2"}, &out, &errb), errb.String())
	for _, f := range []string{labConfigName, labScriptName, labProfileName, "rsa/root.cer", "rsa/server.pem", "ecdsa/server.pem", "rsa/client-client1.ikelab.test.pfx"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	script, err := os.ReadFile(filepath.Join(dir, labScriptName))
	require.NoError(t, err)
	// The seed's recommended client settings, exactly.
	assert.Contains(t, string(script), "-ServerAddress '192.0.2.2'", "the client dials the address the certificate names")
	assert.Contains(t, string(script), "Set-VpnConnectionIPsecConfiguration -ConnectionName 'ikelab' -AuthenticationTransformConstants SHA256128 -CipherTransformConstants AES128 -EncryptionMethod AES128 -IntegrityCheckMethod SHA256 -DHGroup Group14 -PfsGroup PFS2048 -Force")
	xml, err := os.ReadFile(filepath.Join(dir, labProfileName))
	require.NoError(t, err)
	assert.Contains(t, string(xml), "<DHGroup>Group14</DHGroup>")
	// Idempotent: a second run keeps the files.
	before, _ := os.ReadFile(filepath.Join(dir, "rsa/server.pem"))
	require.Equal(t, 0, run([]string{"lab", "init", "--dir", dir}, &out, &errb))
	after, _ := os.ReadFile(filepath.Join(dir, "rsa/server.pem"))
	assert.Equal(t, before, after)
	assert.True(t, strings.Contains(out.String(), "pfx password"))
}

// TestPolicyExport prints the Windows settings for the policies.
func TestPolicyExport(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"policy", "export"}, &out, &errb), errb.String())
	assert.Equal(t, "Set-VpnConnectionIPsecConfiguration -ConnectionName 'ikelab' -AuthenticationTransformConstants SHA256128 -CipherTransformConstants AES128 -EncryptionMethod AES128 -IntegrityCheckMethod SHA256 -DHGroup Group14 -PfsGroup PFS2048 -Force\n", out.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"policy", "export", "--builtin", "windows-default", "--format", "profilexml"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "<CryptographySuite>")
	assert.Contains(t, out.String(), "warning", "weak settings are flagged")
	p := writeFile(t, t.TempDir(), "c.yaml", "psk: x\npolicy:\n  windows:\n    EncryptionMethod: GCMAES256\n    IntegrityCheckMethod: SHA384\n    DHGroup: ECP384\n    CipherTransformConstants: GCMAES256\n    AuthenticationTransformConstants: GCMAES256\n    PfsGroup: ECP384\n")
	out.Reset()
	require.Equal(t, 0, run([]string{"policy", "export", "--config", p, "--name", "corp vpn"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "-ConnectionName 'corp vpn'")
	assert.Contains(t, out.String(), "-EncryptionMethod GCMAES256")
	assert.Contains(t, out.String(), "-DHGroup ECP384")
	assert.Equal(t, 2, run([]string{"policy", "export", "--format", "xml"}, &out, &errb))
}

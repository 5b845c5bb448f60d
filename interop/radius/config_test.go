package radius

import (
	"context"
	"encoding/pem"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/internal/labpki"
)

func testClient() Client {
	return Client{Name: "nas", Addr: netip.MustParsePrefix("203.0.113.1/32"), Secret: "s3cret"}
}

func TestConfigValidation(t *testing.T) {
	hash := [16]byte{1}
	tls := &TLS{CertFile: "c", KeyFile: "k", CAFiles: []string{"ca"}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no_clients", Config{}, "no clients"},
		{"client_name_with_blank", Config{Clients: []Client{{Name: "a b", Addr: testClient().Addr, Secret: "x"}}}, "name"},
		{"duplicate_client", Config{Clients: []Client{testClient(), testClient()}}, "listed twice"},
		{"client_without_address", Config{Clients: []Client{{Name: "nas", Secret: "x"}}}, "no address"},
		{"mapped_client_address", Config{Clients: []Client{{Name: "nas", Addr: netip.MustParsePrefix("::ffff:203.0.113.1/128"), Secret: "x"}}}, "IPv4 form"},
		{"empty_secret", Config{Clients: []Client{{Name: "nas", Addr: testClient().Addr}}}, "secret"},
		{"quote_in_secret", Config{Clients: []Client{{Name: "nas", Addr: testClient().Addr, Secret: `a"b`}}}, "secret"},
		{"expansion_in_secret", Config{Clients: []Client{{Name: "nas", Addr: testClient().Addr, Secret: "a${confdir}"}}}, "secret"},
		{"user_without_password", Config{Clients: []Client{testClient()}, Users: []User{{Name: "carol"}}}, "exactly one"},
		{"user_with_both", Config{Clients: []Client{testClient()}, Users: []User{{Name: "carol", Password: "p", NTHash: &hash}}}, "exactly one"},
		{"user_name_with_blank", Config{Clients: []Client{testClient()}, Users: []User{{Name: "carol x", Password: "p"}}}, "user name"},
		{"duplicate_user", Config{Clients: []Client{testClient()}, Users: []User{{Name: "c", Password: "p"}, {Name: "c", Password: "q"}}}, "listed twice"},
		{"newline_in_password", Config{Clients: []Client{testClient()}, Users: []User{{Name: "c", Password: "p\nq"}}}, "password"},
		{"tls_default_without_tls", Config{Clients: []Client{testClient()}}, "without a TLS configuration"},
		{"unknown_default_type", Config{Clients: []Client{testClient()}, DefaultEAPType: "peap", TLS: tls}, "want mschapv2 or tls"},
		{"tls_without_ca", Config{Clients: []Client{testClient()}, TLS: &TLS{CertFile: "c", KeyFile: "k"}}, "CA file"},
		{"tls_version", Config{Clients: []Client{testClient()}, TLS: &TLS{CertFile: "c", KeyFile: "k", CAFiles: []string{"ca"}, MaxVersion: "1.1"}}, "want 1.2 or 1.3"},
		{"tls_versions_inverted", Config{Clients: []Client{testClient()}, TLS: &TLS{CertFile: "c", KeyFile: "k", CAFiles: []string{"ca"}, MinVersion: "1.3", MaxVersion: "1.2"}}, "empty"},
		{"fragment_size", Config{Clients: []Client{testClient()}, TLS: &TLS{CertFile: "c", KeyFile: "k", CAFiles: []string{"ca"}, FragmentSize: 50}}, "fragment size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "radius: "), err.Error())
			assert.Error(t, tc.cfg.Write(t.TempDir()), "Write validates too")
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Clients: []Client{testClient()}, Users: []User{{Name: "carol", Password: "p"}}}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1812", c.Listen.String())
	assert.Equal(t, "mschapv2", c.DefaultEAPType, "users and no TLS: MSCHAPv2")

	c, err = Config{Listen: netip.MustParseAddrPort("[::ffff:198.51.100.2]:0"), Clients: []Client{testClient()},
		TLS: &TLS{CertFile: "c", KeyFile: "k", CAFiles: []string{"ca"}}}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.2:1812", c.Listen.String(), "unmapped, default port")
	assert.Equal(t, "tls", c.DefaultEAPType, "no users: TLS")
	assert.Equal(t, "1.2", c.TLS.MinVersion)
	assert.Equal(t, "1.2", c.TLS.MaxVersion)
	assert.Equal(t, DefaultFragmentSize, c.TLS.FragmentSize)
}

// TestWrite checks the generated files and, when FreeRADIUS is installed,
// that it accepts them (its -C check loads every module and certificate).
func TestWrite(t *testing.T) {
	pki, err := labpki.Generate(labpki.Options{Dir: filepath.Join(t.TempDir(), "pki")})
	require.NoError(t, err)
	hash := [16]byte{0x8a, 0x46, 0xa5, 0x1b}
	cfg := Config{
		Listen: netip.MustParseAddrPort("127.0.0.1:18120"),
		Clients: []Client{testClient(),
			{Name: "v6-nas", Addr: netip.MustParsePrefix("2001:db8::1/128"), Secret: "other secret"}},
		Users: []User{
			{Name: "carol", NTHash: &hash},
			{Name: "dave", Password: "dave pass"},
		},
		DefaultEAPType: "tls",
		TLS:            TLSFromFamily(pki.ECDSA),
	}
	dir := t.TempDir()
	require.NoError(t, cfg.Write(dir))

	users, err := os.ReadFile(filepath.Join(dir, "users"))
	require.NoError(t, err)
	assert.Equal(t, "carol\tNT-Password := 0x8a46a51b000000000000000000000000\ndave\tCleartext-Password := \"dave pass\"\n", string(users))

	conf, err := os.ReadFile(filepath.Join(dir, "radiusd.conf"))
	require.NoError(t, err)
	for _, want := range []string{
		"client nas {\n\tipaddr = 203.0.113.1/32\n\tsecret = \"s3cret\"",
		"client v6-nas {\n\tipv6addr = 2001:db8::1/128\n\tsecret = \"other secret\"",
		"require_message_authenticator = yes",
		"default_eap_type = tls",
		"check_crl = yes",
		"suppress_secrets = yes",
		"ipaddr = 127.0.0.1\n\t\tport = 18120",
		`raddbdir = "` + dir + `"`,
	} {
		assert.Contains(t, string(conf), want)
	}
	fi, err := os.Stat(filepath.Join(dir, "radiusd.conf"))
	require.NoError(t, err)
	assert.Zero(t, fi.Mode().Perm()&0o077, "FreeRADIUS refuses a radiusd.conf others can write")

	// The CA file holds the root and, converted from DER, its CRL.
	ca, err := os.ReadFile(filepath.Join(dir, "certs", "ca.pem"))
	require.NoError(t, err)
	var types []string
	for rest := ca; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		types = append(types, b.Type)
	}
	assert.Equal(t, []string{"CERTIFICATE", "X509 CRL"}, types)

	if Binary() == "" {
		t.Skip("radius: FreeRADIUS is not installed (Debian package freeradius), so its -C check of the written configuration is skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := CheckConfig(ctx, dir)
	require.NoError(t, err, "%s", out)
	assert.Contains(t, out, "Linked to sub-module rlm_eap_tls")
	assert.Contains(t, out, "Linked to sub-module rlm_eap_mschapv2")
}

// TestWriteWithoutTLS: an MSCHAPv2-only server has no tls-config at all,
// and FreeRADIUS accepts that.
func TestWriteWithoutTLS(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Config{Clients: []Client{testClient()}, Users: []User{{Name: "carol", Password: "p"}}}.Write(dir))
	conf, err := os.ReadFile(filepath.Join(dir, "radiusd.conf"))
	require.NoError(t, err)
	assert.NotContains(t, string(conf), "tls-config")
	assert.Contains(t, string(conf), "default_eap_type = mschapv2")
	if Binary() == "" {
		t.Skip("radius: FreeRADIUS is not installed (Debian package freeradius), so its -C check is skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := CheckConfig(ctx, dir)
	require.NoError(t, err, "%s", out)
}

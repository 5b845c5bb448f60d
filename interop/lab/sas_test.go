package lab

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/list-sas-pretty.txt is the output of swanctl --list-sas --pretty
// of strongSwan 5.9.8 from a lab run, with a remote-id made awkward on
// purpose (blanks, "=", a trailing "{"), a second IPv6 VIP, a TS with a
// port and a half-open IKE SA added by hand.
func TestParseListSAs(t *testing.T) {
	out, err := os.ReadFile("testdata/list-sas-pretty.txt")
	require.NoError(t, err)
	sas, err := parseListSAs(string(out))
	require.NoError(t, err)
	require.Len(t, sas, 2)

	home := sas[0]
	assert.Equal(t, "home", home.Name)
	assert.Equal(t, uint32(1), home.UniqueID)
	assert.Equal(t, 2, home.Version)
	assert.Equal(t, IKEStateEstablished, home.State)
	assert.Equal(t, netip.MustParseAddr("192.0.2.1"), home.LocalHost)
	assert.Equal(t, uint16(4500), home.LocalPort)
	assert.Equal(t, "alice@lab", home.LocalID)
	assert.Equal(t, netip.MustParseAddr("192.0.2.2"), home.RemoteHost)
	assert.Equal(t, "C=CH, O=strongSwan Project, CN=gw = x {", home.RemoteID)
	assert.True(t, home.Initiator)
	assert.Equal(t, uint64(0x6a4c6e814e54c03d), home.InitiatorSPI)
	assert.Equal(t, uint64(0xd1c8d8e99a3ca40f), home.ResponderSPI)
	assert.False(t, home.NATLocal)
	assert.True(t, home.NATRemote)
	assert.True(t, home.NATAny)
	assert.Equal(t, "AES_CBC", home.EncrAlg)
	assert.Equal(t, 128, home.EncrKeySize)
	assert.Equal(t, "HMAC_SHA2_256_128", home.IntegAlg)
	assert.Equal(t, "PRF_HMAC_SHA2_256", home.PRFAlg)
	assert.Equal(t, "MODP_2048", home.DHGroup)
	assert.Equal(t, 9, home.Established)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.99.200.1"), netip.MustParseAddr("2001:db8:99::1")}, home.LocalVIPs)
	assert.Empty(t, home.RemoteVIPs)
	assert.Equal(t, "13866", home.Raw["rekey-time"])

	require.Len(t, home.Children, 1)
	c, ok := home.Child("net")
	require.True(t, ok)
	assert.Equal(t, uint32(2), c.UniqueID)
	assert.Equal(t, uint32(1), c.ReqID)
	assert.Equal(t, ChildStateInstalled, c.State)
	assert.Equal(t, "TUNNEL", c.Mode)
	assert.Equal(t, "ESP", c.Protocol)
	assert.True(t, c.Encap)
	assert.Equal(t, uint32(0x880e21aa), c.SPIIn)
	assert.Equal(t, uint32(0x201be31c), c.SPIOut)
	assert.Equal(t, "AES_CBC", c.EncrAlg)
	assert.Equal(t, 128, c.EncrKeySize)
	assert.Equal(t, "HMAC_SHA2_256_128", c.IntegAlg)
	assert.Equal(t, uint64(168), c.BytesIn)
	assert.Equal(t, uint64(2), c.PacketsIn)
	assert.Equal(t, uint64(168), c.BytesOut)
	assert.Equal(t, uint64(2), c.PacketsOut)
	assert.Equal(t, []string{"10.99.200.1/32"}, c.LocalTS)
	assert.Equal(t, []string{"10.99.1.0/24", "10.99.2.0/24[tcp/http]"}, c.RemoteTS)
	_, ok = home.Child("other")
	assert.False(t, ok)

	rw := sas[1]
	assert.Equal(t, "rw", rw.Name)
	assert.Equal(t, IKEStateConnecting, rw.State)
	assert.Equal(t, netip.MustParseAddr("2001:db8::2"), rw.LocalHost)
	assert.False(t, rw.Initiator)
	assert.Equal(t, uint64(1), rw.InitiatorSPI)
	assert.Zero(t, rw.ResponderSPI)
	assert.Empty(t, rw.Children)
	assert.Contains(t, rw.String(), "rw[7] CONNECTING [2001:db8::2]:500...[2001:db8::1]:500")
}

func TestParseListSAsEmpty(t *testing.T) {
	sas, err := parseListSAs("list-sas reply {\n}\n")
	require.NoError(t, err)
	assert.Empty(t, sas)
}

// Every truncation that cuts a section or list short, and every line that
// is none of the known shapes, must be an error rather than a partial SA.
func TestParseListSAsRejectsBrokenOutput(t *testing.T) {
	out, err := os.ReadFile("testdata/list-sas-pretty.txt")
	require.NoError(t, err)
	lines := strings.SplitAfter(string(out), "\n")
	for n := 1; n < len(lines)-3; n++ {
		// Cuts that end exactly after a complete message are valid.
		prefix := strings.Join(lines[:n], "")
		if strings.HasSuffix(prefix, "\n}\n") {
			continue
		}
		_, err := parseListSAs(prefix)
		assert.Error(t, err, "truncated after %d lines", n)
	}
	for _, bad := range []string{
		"list-sa event {\n  home {\n    garbage line\n  }\n}\n",
		"}\n",
		"list-sa event {\n  home {\n    uniqueid = x1\n  }\n}\n",
		"list-sa event {\n  home {\n    local-host = 300.1.1.1\n  }\n}\n",
		"list-sa event {\n  home {\n    initiator-spi = 11223344556677889\n  }\n}\n",
		"list-sa event {\n  home {\n    local-port = 65536\n  }\n}\n",
		"list-sa event {\n  home {\n    child-sas {\n      c-1 {\n        spi-in = 1ffffffff\n      }\n    }\n  }\n}\n",
	} {
		_, err := parseListSAs(bad)
		assert.Error(t, err, "%q", bad)
	}
}

package profile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
)

// TestWindows10DefaultMatchesCapture: the profile offers exactly the
// Windows capture's 12 proposals in its order (../shared/corpus,
// zeek-spicy-ipsec/ipsec_client.pcap).
func TestWindows10DefaultMatchesCapture(t *testing.T) {
	p, err := Builtin("windows10-default")
	require.NoError(t, err)
	ike, esp, err := p.Proposals()
	require.NoError(t, err)
	want := []string{
		"IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
		"IKE:3DES_CBC/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024",
		"IKE:3DES_CBC/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_1024",
		"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
		"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024",
		"IKE:AES_CBC_128/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_1024",
		"IKE:AES_CBC_192/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
		"IKE:AES_CBC_192/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024",
		"IKE:AES_CBC_192/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_1024",
		"IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
		"IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024",
		"IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_1024",
	}
	require.Len(t, ike, len(want))
	for i, pr := range ike {
		assert.Equal(t, want[i], pr.String())
		assert.Equal(t, uint8(i+1), pr.Number)
	}
	for _, pr := range esp {
		for _, tr := range pr.Transforms {
			assert.NotEqual(t, wire.TransformKE, tr.Type, "IKE_AUTH carries no KE transforms")
		}
	}
	assert.Equal(t, [][]byte{wire.VendorMSNT5v9, wire.VendorMSNegDiscovery, wire.VendorMSInitContact, wire.VendorMS01528bbbv2}, p.VendorIDs)
	assert.False(t, p.SendIDr, "Windows never sends IDr")
	assert.Contains(t, p.CPRequest, wire.MS_INTERNAL_IP4_SERVER)
	assert.Equal(t, 48, p.NonceLen)
}

func TestBuiltinsParse(t *testing.T) {
	for _, n := range Names() {
		p, err := Builtin(n)
		require.NoError(t, err)
		ike, esp, err := p.Proposals()
		require.NoError(t, err, n)
		assert.NotEmpty(t, ike, n)
		assert.NotEmpty(t, esp, n)
	}
	_, err := Builtin("windows95")
	assert.ErrorContains(t, err, "windows10-default")
}

// TestRecommendedAgainstProfiles: what the recommended policy makes of
// each Windows profile's IKE offer.
func TestRecommendedAgainstProfiles(t *testing.T) {
	rec, err := policy.Builtin("recommended")
	require.NoError(t, err)
	for name, wantOK := range map[string]bool{"windows10-default": false, "windows11-default": false, "windows-dh2048": true} {
		p, err := Builtin(name)
		require.NoError(t, err)
		ike, _, err := p.Proposals()
		require.NoError(t, err)
		c, err := rec.SelectIKE(ike, ike[0].Transforms[len(ike[0].Transforms)-1].ID)
		assert.Equal(t, wantOK, err == nil, "%s: %v", name, err)
		if wantOK {
			assert.Equal(t, "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", c.Proposal.String())
		}
	}
}

// TestFromWindowsSeedLine: the seed's Set-VpnConnectionIPsecConfiguration.
func TestFromWindowsSeedLine(t *testing.T) {
	p, err := FromWindows(policy.Windows{AuthenticationTransformConstants: "SHA256128", CipherTransformConstants: "AES128",
		EncryptionMethod: "AES128", IntegrityCheckMethod: "SHA256", DHGroup: "Group14", PfsGroup: "PFS2048"})
	require.NoError(t, err)
	ike, esp, err := p.Proposals()
	require.NoError(t, err)
	require.Len(t, ike, 1)
	assert.Equal(t, "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", ike[0].String())
	require.Len(t, esp, 1)
	assert.Equal(t, "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ", esp[0].String())
	assert.True(t, p.Windows)
}

func TestFromProfileXML(t *testing.T) {
	doc := `<VPNProfile><NativeProfile><CryptographySuite>
  <AuthenticationTransformConstants>GCMAES128</AuthenticationTransformConstants>
  <CipherTransformConstants>GCMAES128</CipherTransformConstants>
  <EncryptionMethod>AES_GCM_128</EncryptionMethod>
  <IntegrityCheckMethod>SHA256</IntegrityCheckMethod>
  <DHGroup>ECP256</DHGroup>
  <PfsGroup>ECP256</PfsGroup>
</CryptographySuite></NativeProfile></VPNProfile>`
	p, err := FromProfileXML([]byte(doc))
	require.NoError(t, err)
	ike, _, err := p.Proposals()
	require.NoError(t, err)
	assert.Equal(t, "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256", ike[0].String())
	_, err = FromProfileXML([]byte("<VPNProfile/>"))
	assert.Error(t, err)
}

func TestWindowsError(t *testing.T) {
	code, _ := WindowsError(wire.NO_PROPOSAL_CHOSEN, false)
	assert.Equal(t, 13868, code)
	code, _ = WindowsError(wire.AUTHENTICATION_FAILED, false)
	assert.Equal(t, 13801, code)
	code, _ = WindowsError(0, true)
	assert.Equal(t, 809, code)
}

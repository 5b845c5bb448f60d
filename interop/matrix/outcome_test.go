package matrix

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/ike/wire"
)

func TestOutcomeDiff(t *testing.T) {
	want := Outcome{Result: Established, IKE: suiteAES128SHA256MODP2048, ESP: espAES128SHA256, PFS: "MODP_2048"}
	assert.Empty(t, want.Diff(want))
	got := want
	got.ESP, got.Insecure = espAES256SHA1, true
	assert.Equal(t, []string{
		`ESP suite: want "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ", got "ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ"`,
		`insecure: want "false", got "true"`,
	}, want.Diff(got))
	refused := Outcome{Result: Refused, Exchange: "IKE_SA_INIT", Notify: "NO_PROPOSAL_CHOSEN", WindowsError: 13868}
	assert.Len(t, refused.Diff(want), 7, "every field differs except insecure")
}

func TestOutcomeSummary(t *testing.T) {
	assert.Equal(t, "established", Outcome{Result: Established, IKE: suiteGCM128ECP256}.Summary())
	assert.Equal(t, "refused: NO_PROPOSAL_CHOSEN in IKE_SA_INIT (Windows 13868)",
		Outcome{Result: Refused, Exchange: "IKE_SA_INIT", Notify: "NO_PROPOSAL_CHOSEN", WindowsError: 13868}.Summary())
	assert.Equal(t, "child SA refused: NO_PROPOSAL_CHOSEN in IKE_AUTH",
		Outcome{Result: ChildRefused, Exchange: "IKE_AUTH", Notify: "NO_PROPOSAL_CHOSEN"}.Summary())
}

// TestWeakIn: the insecure flag comes from crypto.IsWeak applied to the
// negotiated suites, read back from strongSwan's names.
func TestWeakIn(t *testing.T) {
	for _, tc := range []struct {
		suites []string
		weak   []string
	}{
		{[]string{suiteAES256SHA256MODP1024, espAES256SHA1}, []string{"MODP_1024", "HMAC_SHA1_96"}},
		{[]string{"IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"}, []string{"3DES_CBC", "HMAC_SHA1_96", "PRF_HMAC_SHA1", "MODP_1024"}},
		{[]string{suiteAES128SHA256MODP2048, espAES128SHA256}, nil},
		{[]string{suiteGCM128ECP256, espGCM128}, nil},
		{[]string{"IKE:AES_CBC_192/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384"}, nil},
		{[]string{""}, nil},
	} {
		weak, err := weakIn(tc.suites...)
		require.NoError(t, err, "%v", tc.suites)
		assert.Equal(t, tc.weak, weak, "%v", tc.suites)
	}
	for _, bad := range []string{"AES_CBC_128", "IKE:AES_CBC_128/NOT_A_TRANSFORM", "IKE:ENCR_250"} {
		_, err := weakIn(bad)
		assert.Error(t, err, bad)
	}
}

// TestSuiteAlgorithmsRoundTrip: every name the wire package gives an
// implemented transform reads back to that transform.
func TestSuiteAlgorithmsRoundTrip(t *testing.T) {
	for _, a := range []policy.Algorithm{
		{Type: wire.TransformENCR, ID: wire.ENCR_AES_CBC, KeyBits: 256},
		{Type: wire.TransformENCR, ID: wire.ENCR_AES_GCM_16, KeyBits: 128},
		{Type: wire.TransformENCR, ID: wire.ENCR_3DES},
		{Type: wire.TransformINTEG, ID: wire.AUTH_HMAC_SHA2_512_256},
		{Type: wire.TransformPRF, ID: wire.PRF_HMAC_SHA2_384},
		{Type: wire.TransformKE, ID: wire.CURVE_25519},
		{Type: wire.TransformKE, ID: wire.MODP_2048},
		{Type: wire.TransformESN, ID: wire.ESN_NO},
	} {
		algs, err := suiteAlgorithms("IKE:" + a.String())
		require.NoError(t, err, a.String())
		assert.Equal(t, []policy.Algorithm{a}, algs)
	}
}

func TestNotifyNames(t *testing.T) {
	for _, n := range []wire.NotifyType{wire.NO_PROPOSAL_CHOSEN, wire.AUTHENTICATION_FAILED, wire.TS_UNACCEPTABLE, wire.INVALID_KE_PAYLOAD} {
		got, ok := notifyByName(n.String())
		assert.True(t, ok, n.String())
		assert.Equal(t, n, got)
		got, ok = notifyByShort(n.Short())
		assert.True(t, ok, n.Short())
		assert.Equal(t, n, got)
	}
	// strongSwan's abbreviations, as its logs print them.
	n, ok := notifyByShort("NO_PROP")
	assert.True(t, ok)
	assert.Equal(t, wire.NO_PROPOSAL_CHOSEN, n)
	n, ok = notifyByShort("AUTH_FAILED")
	assert.True(t, ok)
	assert.Equal(t, wire.AUTHENTICATION_FAILED, n)
	_, ok = notifyByName("")
	assert.False(t, ok)
	_, ok = notifyByName("NOT_A_NOTIFY")
	assert.False(t, ok)
}

// TestAgreedPFS: the rekey group comes from the client's ESP proposals
// and the server policy, as a CREATE_CHILD_SA responder would select it.
func TestAgreedPFS(t *testing.T) {
	rec, err := policy.Builtin("recommended")
	require.NoError(t, err)
	winDef, err := policy.Builtin("windows-default")
	require.NoError(t, err)
	hardened, err := Client{Windows: hardenedWindows}.Resolve()
	require.NoError(t, err)
	gcm, err := Client{Windows: gcmWindows}.Resolve()
	require.NoError(t, err)
	win10, err := profile.Builtin("windows10-default")
	require.NoError(t, err)

	for _, tc := range []struct {
		prof *profile.Profile
		pol  *policy.Policy
		want string
	}{
		{hardened, rec, "MODP_2048"},
		{gcm, rec, "ECP_256"},
		{win10, winDef, "none"},
		{win10, rec, "none"},
	} {
		got, err := agreedPFS(tc.prof, tc.pol)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s under %s", tc.prof.Name, tc.pol.Name)
	}
	// A client asking for PFS 2048 under a policy whose ESP proposals
	// have no key exchange cannot rekey with PFS.
	_, err = agreedPFS(hardened, winDef)
	assert.Error(t, err)
}

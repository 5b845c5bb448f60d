package matrix

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/ike/wire"
)

// TestScenarioTable checks what can be checked without a lab: IDs are
// unique and usable as file names, every client and policy resolves, and
// each expectation is complete for its result.
func TestScenarioTable(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range Scenarios() {
		t.Run(sc.ID, func(t *testing.T) {
			assert.False(t, seen[sc.ID], "duplicate ID")
			seen[sc.ID] = true
			assert.NotContains(t, sc.ID, "/")
			assert.Equal(t, strings.ToLower(sc.ID), sc.ID)
			assert.NotEmpty(t, sc.Title)
			assert.NotEmpty(t, sc.Explain)
			_, err := sc.Client.Resolve()
			require.NoError(t, err)
			_, err = policy.Builtin(sc.Policy)
			require.NoError(t, err)
			e := sc.Expect
			switch e.Result {
			case Established:
				assert.NotEmpty(t, e.IKE)
				assert.NotEmpty(t, e.ESP)
				assert.NotEmpty(t, e.PFS)
				assert.Empty(t, e.Notify)
				assert.Zero(t, e.WindowsError)
			case ChildRefused:
				assert.NotEmpty(t, e.IKE)
				assert.Empty(t, e.ESP)
				assert.Equal(t, "IKE_AUTH", e.Exchange)
				assert.NotEmpty(t, e.Notify)
			case Refused:
				assert.Empty(t, e.IKE)
				assert.NotEmpty(t, e.Exchange)
				assert.NotEmpty(t, e.Notify)
				assert.NotZero(t, e.WindowsError, "every scenario client is Windows")
			default:
				t.Fatalf("result %q is not expected of any scenario", e.Result)
			}
		})
	}
	assert.Len(t, seen, 7, "the scenarios issue 8 names")
}

// TestScenarioSuitesMatchPolicyEngine selects, in process, what a
// responder with the scenario's policy selects from the client's offer
// (the KE payload of the client's first proposal, one INVALID_KE_PAYLOAD
// round allowed), and compares with the table. Credential refusals
// happen after this point, so their suites must negotiate.
func TestScenarioSuitesMatchPolicyEngine(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc.ID, func(t *testing.T) {
			prof, err := sc.Client.Resolve()
			require.NoError(t, err)
			pol, err := policy.Builtin(sc.Policy)
			require.NoError(t, err)
			ikeProps, espProps, err := prof.Proposals()
			require.NoError(t, err)

			ke := firstKE(ikeProps[0])
			c, err := pol.SelectIKE(ikeProps, ke)
			if sc.Expect.Result == Refused && sc.Expect.Exchange == "IKE_SA_INIT" {
				var np *policy.NoProposalError
				require.ErrorAs(t, err, &np)
				assert.Equal(t, sc.Expect.Notify, np.Notify().String())
				return
			}
			require.NoError(t, err)
			if c.KE.ID != ke {
				// INVALID_KE_PAYLOAD and a retry with the group it names.
				c, err = pol.SelectIKE(ikeProps, c.KE.ID)
				require.NoError(t, err)
			}
			for i := range espProps {
				espProps[i].SPI = []byte{0x0a, 0x0b, 0x0c, 0x0d} // the initiator's inbound SPI
			}
			esp, espErr := pol.SelectESP(espProps, false, wire.KE_NONE)
			switch sc.Expect.Result {
			case Refused:
				// Refused in IKE_AUTH for the certificate: the
				// algorithms themselves agree.
				require.NoError(t, espErr)
				return
			case ChildRefused:
				assert.Equal(t, sc.Expect.IKE, c.Proposal.String())
				var np *policy.NoProposalError
				require.ErrorAs(t, espErr, &np)
				assert.Equal(t, sc.Expect.Notify, np.Notify().String())
				assert.Contains(t, np.Reason, "HMAC_SHA1_96", "refused for SHA-1, not for something else")
				return
			}
			assert.Equal(t, sc.Expect.IKE, c.Proposal.String())
			require.NoError(t, espErr)
			assert.Equal(t, sc.Expect.ESP, esp.Proposal.String())
			pfs, err := agreedPFS(prof, pol)
			require.NoError(t, err)
			assert.Equal(t, sc.Expect.PFS, pfs)
			weak, err := weakIn(sc.Expect.IKE, sc.Expect.ESP)
			require.NoError(t, err)
			assert.Equal(t, sc.Expect.Insecure, len(weak) > 0, "insecure flag against %v", weak)
		})
	}
}

func firstKE(p wire.Proposal) wire.TransformID {
	for _, tr := range p.Transforms {
		if tr.Type == wire.TransformKE {
			return tr.ID
		}
	}
	return wire.KE_NONE
}

// TestClientInitiatorArgs: the --windows value carries every
// Set-VpnConnectionIPsecConfiguration parameter, in cmd/initiator's
// NAME=VALUE,... form; built-in profiles use --profile.
func TestClientInitiatorArgs(t *testing.T) {
	assert.Equal(t, []string{"--profile", "windows-dh2048"}, Client{Profile: "windows-dh2048"}.initiatorArgs())
	args := Client{Windows: hardenedWindows}.initiatorArgs()
	require.Len(t, args, 2)
	assert.Equal(t, "--windows", args[0])
	assert.Equal(t, "EncryptionMethod=AES128,IntegrityCheckMethod=SHA256,DHGroup=Group14,"+
		"CipherTransformConstants=AES128,AuthenticationTransformConstants=SHA256128,PfsGroup=PFS2048", args[1])
	assert.Equal(t, "Set-VpnConnectionIPsecConfiguration -ConnectionName 'ikelab' -AuthenticationTransformConstants SHA256128"+
		" -CipherTransformConstants AES128 -EncryptionMethod AES128 -IntegrityCheckMethod SHA256 -DHGroup Group14"+
		" -PfsGroup PFS2048 -Force", Client{Windows: hardenedWindows}.PowerShell())
	assert.Empty(t, Client{Profile: "windows10-default"}.PowerShell())
}

// TestHardenedClientIsLabInitLine: the hardened client is what `responder
// lab init` tells a Windows admin to run for the recommended policy.
func TestHardenedClientIsLabInitLine(t *testing.T) {
	pol, err := policy.Builtin("recommended")
	require.NoError(t, err)
	w, err := pol.ToWindows()
	require.NoError(t, err)
	assert.Equal(t, strings.ToLower(w.EncryptionMethod), strings.ToLower(hardenedWindows.EncryptionMethod))
	assert.Equal(t, strings.ToLower(w.IntegrityCheckMethod), strings.ToLower(hardenedWindows.IntegrityCheckMethod))
	assert.Equal(t, strings.ToLower(w.DHGroup), strings.ToLower(hardenedWindows.DHGroup))
	assert.Equal(t, strings.ToLower(w.CipherTransformConstants), strings.ToLower(hardenedWindows.CipherTransformConstants))
	assert.Equal(t, strings.ToLower(w.AuthenticationTransformConstants), strings.ToLower(hardenedWindows.AuthenticationTransformConstants))
	assert.Equal(t, strings.ToLower(w.PfsGroup), strings.ToLower(hardenedWindows.PfsGroup))
}

// TestWaysAndCredentials covers the names the report and test names use.
func TestWaysAndCredentials(t *testing.T) {
	slugs := map[string]bool{}
	for _, w := range Ways {
		assert.NotContains(t, w.String(), "way(")
		slugs[w.Slug()] = true
	}
	assert.Len(t, slugs, 3)
	assert.True(t, IkelabToIkelab.ikelabInitiates() && IkelabToIkelab.ikelabResponds())
	assert.True(t, IkelabToStrongSwan.ikelabInitiates() && !IkelabToStrongSwan.ikelabResponds())
	assert.True(t, !StrongSwanToIkelab.ikelabInitiates() && StrongSwanToIkelab.ikelabResponds())
	for _, c := range []Credential{RSAClient, ECDSAClient, RSARevoked, OtherRoot} {
		assert.NotContains(t, c.String(), "credential(")
	}
}

// TestWindowsErrors: the codes the report shows for a Windows client
// come from ike/profile's mapping; other clients show none.
func TestWindowsErrors(t *testing.T) {
	win, err := profile.Builtin("windows10-default")
	require.NoError(t, err)
	plain := profile.Custom([]string{"aes128-sha256-modp2048"}, []string{"aes128-sha256"})
	assert.Equal(t, 13868, windowsError(win, "NO_PROPOSAL_CHOSEN", false))
	assert.Equal(t, 13801, windowsError(win, "AUTHENTICATION_FAILED", false))
	assert.Equal(t, 809, windowsError(win, "", true))
	assert.Zero(t, windowsError(win, "", false))
	assert.Zero(t, windowsError(plain, "NO_PROPOSAL_CHOSEN", false))
}

// agreedPFS is the group a child SA rekey with PFS would use between this
// client and this policy: the client's ESP proposals with their key
// exchange transforms, selected by the policy as a CREATE_CHILD_SA
// responder would (RFC 7296, Section 1.3.1), with the KE payload of the
// client's first group. "none" when the client asks for no PFS.
func agreedPFS(prof *profile.Profile, pol *policy.Policy) (string, error) {
	var offered []wire.Proposal
	group := wire.KE_NONE
	for _, s := range prof.ESP {
		ps, err := policy.ParseProposals(wire.ProtoESP, s)
		if err != nil {
			return "", err
		}
		for _, p := range ps {
			if group == wire.KE_NONE && len(p.KE) > 0 {
				group = p.KE[0].ID
			}
			offered = append(offered, p.Wire(uint8(len(offered)+1), []byte{0, 0, 0, 1}))
		}
	}
	if group == wire.KE_NONE {
		return "none", nil
	}
	c, err := pol.SelectESP(offered, true, group)
	if err != nil {
		return "", fmt.Errorf("matrix: no rekey with PFS %s under policy %s: %w",
			wire.TransformName(wire.TransformKE, group), pol.Name, err)
	}
	if c.KE == (policy.Algorithm{}) {
		return "none", nil
	}
	return c.KE.String(), nil
}

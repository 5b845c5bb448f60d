package matrix

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
)

// TestResponderConfHasThePolicy: the strongSwan responder offers exactly
// the policy's proposals, in its order, and checks CRLs strictly.
func TestResponderConfHasThePolicy(t *testing.T) {
	pol, err := policy.Builtin("recommended")
	require.NoError(t, err)
	conf := responderConf(pol)
	assert.Contains(t, conf, "proposals = aes128-sha256-modp2048,aes256-sha256-modp2048,"+
		"aes128gcm16-prfsha256-ecp256,aes256gcm16-prfsha384-ecp384\n")
	assert.Contains(t, conf, "esp_proposals = aes128-sha256-modp2048-ecp256-ecp384,"+
		"aes128gcm16-ecp256-ecp384-modp2048,aes256gcm16-ecp384-ecp256-modp2048\n")
	assert.Contains(t, conf, "revocation = strict")
	assert.Contains(t, conf, "local_ts = "+serverNet)
	assert.Contains(t, conf, "addrs = "+vipPool)

	// Keywords parse back into the same policy: "the same policy".
	ike, esp := policyProposals(pol)
	back, err := policy.FromConfig(policy.Config{IKE: []string{ike}, ESP: []string{esp}})
	require.NoError(t, err)
	require.Len(t, back.IKE, len(pol.IKE))
	require.Len(t, back.ESP, len(pol.ESP))
	for i := range pol.IKE {
		assert.Equal(t, pol.IKE[i].String(), back.IKE[i].String())
	}
	for i := range pol.ESP {
		assert.Equal(t, pol.ESP[i].String(), back.ESP[i].String())
	}
}

// TestInitiatorConfKeepsProfileOrder: a strongSwan initiator offers the
// profile's proposals in the profile's order and, for Windows, fragments
// and signs as Windows does.
func TestInitiatorConfKeepsProfileOrder(t *testing.T) {
	prof, err := profile.Builtin("windows10-default")
	require.NoError(t, err)
	conf := initiatorConf(prof)
	assert.Contains(t, conf, "proposals = "+strings.Join(prof.IKE, ",")+"\n")
	assert.True(t, strings.HasPrefix(prof.IKE[0], "3des-sha1-modp1024"), "Windows offers 3DES first")
	assert.Contains(t, conf, "esp_proposals = aes256-sha1,aes128-sha1,3des-sha1\n")
	assert.Contains(t, conf, "vips = 0.0.0.0")
	assert.Equal(t, map[string]string{"fragment_size": "580", "signature_authentication": "no"}, initiatorOptions(prof))
	assert.NotEmpty(t, strongSwanLimits(prof))

	plain := profile.Custom([]string{"aes128-sha256-modp2048"}, []string{"aes128-sha256"})
	assert.Equal(t, map[string]string{"fragment_size": "1232"}, initiatorOptions(plain))
	assert.Empty(t, strongSwanLimits(plain))
}

// Lines of real lab charon logs (ike level 2), shortened.
const (
	initiatorChildRefusedLog = `15:02:30 01[CFG] <home|1> selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
15:02:30 01[ENC] <home|1> generating IKE_AUTH request 1 [ IDi CERT CERTREQ AUTH CPRQ(ADDR) SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]
15:02:30 10[ENC] <home|1> parsed IKE_AUTH response 1 [ EF(1/2) ]
15:02:30 11[ENC] <home|1> parsed IKE_AUTH response 1 [ IDr CERT AUTH CPRP(ADDR) N(NO_PROP) ]
15:02:30 11[IKE] <home|1> IKE_SA home[1] established between 192.0.2.1[O=ikelab lab, CN=client1.ikelab.test]...192.0.2.2[O=ikelab lab, CN=vpn.ikelab.test]
15:02:30 11[IKE] <home|1> received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built
15:02:30 01[ENC] <home|1> generating INFORMATIONAL request 2 [ D ]
15:02:30 16[ENC] <home|1> parsed INFORMATIONAL response 2 [ ]
`
	responderAuthFailedLog = `15:02:33 11[ENC] <1> parsed IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) V V V V ]
15:02:33 11[CFG] <1> selected proposal: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
15:02:33 11[ENC] <1> generating IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) CERTREQ N(FRAG_SUP) N(CHDLESS_SUP) N(MULT_AUTH) ]
15:02:33 02[ENC] <1> parsed IKE_AUTH request 1 [ IDi CERT N(INIT_CONTACT) CERTREQ AUTH N(MOBIKE_SUP) CPRQ(ADDR DNS NBNS SRV ADDR6 DNS6 SRV6) SA TSi TSr ]
15:02:33 02[CFG] <rw|1> certificate was revoked on Nov 28 15:02:10 UTC 2026, reason: key compromise
15:02:33 02[ENC] <rw|1> generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]
`
	responderEstablishedLog = `15:02:19 01[CFG] <1> selected proposal: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
15:02:19 11[IKE] <rw|1> IKE_SA rw[1] established between 192.0.2.2[O=ikelab lab, CN=vpn.ikelab.test]...192.0.2.1[O=ikelab lab, CN=client1.ikelab.test]
15:02:19 11[CFG] <rw|1> selected proposal: ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ
15:02:19 11[IKE] <rw|1> CHILD_SA net{1} established with SPIs 322e4b86_i eb700250_o and TS 10.99.1.0/24 === 10.99.200.1/32
15:02:19 11[ENC] <rw|1> generating IKE_AUTH response 1 [ IDr CERT AUTH CPRP(ADDR DNS) N(MOBIKE_SUP) N(NO_ADD_ADDR) SA TSi TSr ]
`
	initiatorInitRefusedLog = `15:02:11 01[ENC] <home|1> generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]
15:02:11 12[ENC] <home|1> parsed IKE_SA_INIT response 0 [ N(NO_PROP) ]
15:02:11 12[IKE] <home|1> received NO_PROPOSAL_CHOSEN notify error
`
)

func TestParseCharonLog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		log       string
		responder bool
		want      Outcome
	}{
		{"initiator, child refused", initiatorChildRefusedLog, false,
			Outcome{Result: ChildRefused, IKE: suiteAES256SHA256MODP2048, Exchange: "IKE_AUTH", Notify: "NO_PROPOSAL_CHOSEN"}},
		{"initiator, IKE_SA_INIT refused", initiatorInitRefusedLog, false,
			Outcome{Result: Refused, Exchange: "IKE_SA_INIT", Notify: "NO_PROPOSAL_CHOSEN"}},
		{"responder, certificate revoked", responderAuthFailedLog, true,
			Outcome{Result: Refused, Exchange: "IKE_AUTH", Notify: "AUTHENTICATION_FAILED"}},
		{"responder, established", responderEstablishedLog, true,
			Outcome{Result: Established, IKE: suiteAES128SHA256MODP2048, ESP: espAES128SHA256}},
		{"nothing happened", "15:02:11 00[DMN] Starting IKE charon daemon\n", false, Outcome{Result: Failed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := parseCharonLog(tc.log)
			assert.Equal(t, tc.want, v.outcome(tc.responder))
		})
	}
	// The side matters: a responder's log holds the notifications it
	// sent, not received ones.
	v := parseCharonLog(initiatorInitRefusedLog)
	assert.Equal(t, Outcome{Result: Failed}, v.outcome(true))
	v = parseCharonLog(initiatorChildRefusedLog)
	assert.Len(t, v.Messages, 5)
	assert.Equal(t, []string{"MOBIKE_SUP", "NO_ADD_ADDR", "EAP_ONLY", "MSG_ID_SYN_SUP"}, v.Messages[0].Notifies)
}

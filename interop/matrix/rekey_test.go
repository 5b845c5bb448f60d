package matrix

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/interop/lab"
)

func TestRekeyCheckString(t *testing.T) {
	both := func(a, b string) []Rekey {
		return []Rekey{{By: "strongSwan", Group: a}, {By: "ikelab", Group: b}}
	}
	for _, tc := range []struct {
		c     RekeyCheck
		group string
		want  string
	}{
		{RekeyCheck{Rekeys: both("MODP_2048", "MODP_2048"), Verified: true}, "MODP_2048", "verified (MODP_2048)"},
		{RekeyCheck{Rekeys: both("none", "none"), Verified: true}, "none", "verified (none)"},
		{RekeyCheck{NotApplicable: "no child SA to rekey"}, "", "not applicable: no child SA to rekey"},
		{RekeyCheck{}, "", "not verified: no rekey completed"},
		// Both groups show when the ends disagree; the run failed.
		{RekeyCheck{Rekeys: both("MODP_2048", "ECP_256")}, "MODP_2048, ECP_256", "not verified (MODP_2048, ECP_256): see the problems"},
		// A rekey that ran but failed a check is never "verified".
		{RekeyCheck{Rekeys: both("ECP_256", "ECP_256")}, "ECP_256", "not verified (ECP_256): see the problems"},
	} {
		assert.Equal(t, tc.want, tc.c.String())
		assert.Equal(t, tc.group, tc.c.Group())
	}
}

// TestRekeyNotApplicable: only strongSwan → ikelab can rekey, and only an
// established child SA.
func TestRekeyNotApplicable(t *testing.T) {
	up := Outcome{Result: Established}
	assert.Empty(t, rekeyNotApplicable(StrongSwanToIkelab, up))
	assert.Contains(t, rekeyNotApplicable(IkelabToIkelab, up), "cmd/initiator neither starts a rekey nor answers")
	assert.Contains(t, rekeyNotApplicable(IkelabToStrongSwan, up), "strongSwan's CREATE_CHILD_SA")
	for _, w := range Ways {
		assert.Contains(t, rekeyNotApplicable(w, Outcome{Result: ChildRefused}), "refused in IKE_AUTH")
		assert.Contains(t, rekeyNotApplicable(w, Outcome{Result: Refused}), "not established")
		assert.Contains(t, rekeyNotApplicable(w, Outcome{Result: Failed}), "not established")
	}
	// Every established scenario of the table gets a check or a reason
	// in every way.
	for _, sc := range Scenarios() {
		for _, w := range Ways {
			if rekeyNotApplicable(w, sc.Expect) == "" {
				assert.NotEmpty(t, sc.Expect.PFS, "%s %s rekeys without an expected group", sc.ID, w)
			}
		}
	}
}

// TestChildStateSettled walks through what the polls of one run see: the
// IKE_AUTH child SA, a strongSwan rekey in flight, the old SA kept as
// DELETED by strongSwan, the audit lagging, and the ikelab rekey done.
func TestChildStateSettled(t *testing.T) {
	child := func(state string, in, out uint32, group string) lab.ChildSA {
		return lab.ChildSA{Name: "net", State: state, SPIIn: in, SPIOut: out, DHGroup: group}
	}
	responder := func(children ...responderChild) []responderSA {
		return []responderSA{{SPIi: "0102030405060708", State: "ESTABLISHED", Children: children}}
	}
	rekeyed := func(spis ...[]string) []auditRecord {
		var out []auditRecord
		for _, s := range spis {
			out = append(out, auditRecord{Event: "child_rekeyed", ChildSPIs: s})
		}
		return out
	}
	first := child(lab.ChildStateInstalled, 0xaaaaaaaa, 0xbbbbbbbb, "")
	second := child(lab.ChildStateInstalled, 0xcccccccc, 0xdddddddd, "MODP_2048")
	// The responder's SPIs are strongSwan's, swapped.
	firstR := responderChild{SPIIn: "bbbbbbbb", SPIOut: "aaaaaaaa"}
	secondR := responderChild{SPIIn: "dddddddd", SPIOut: "cccccccc"}
	secondAudit := []string{"dddddddd_i", "cccccccc_o"}
	oldDeleted := child(lab.ChildStateDeleted, first.SPIIn, first.SPIOut, "")

	for _, tc := range []struct {
		name   string
		s      childState
		old    *lab.ChildSA
		rekeys int
		want   *lab.ChildSA
	}{
		{"IKE_AUTH child SA on both ends",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{first}, ikelab: responder(firstR)}, nil, 0, &first},
		{"the responder does not hold it yet",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{first}}, nil, 0, nil},
		{"SPIs not swapped",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{first},
				ikelab: responder(responderChild{SPIIn: "aaaaaaaa", SPIOut: "bbbbbbbb"})}, nil, 0, nil},
		{"IKE SA not established",
			childState{ikeState: "REKEYING", strongSwan: []lab.ChildSA{first}, ikelab: responder(firstR)}, nil, 0, nil},
		{"rekey in flight: both installed",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{first, second},
				ikelab: responder(secondR, firstR), rekeyed: rekeyed(secondAudit)}, &first, 1, nil},
		{"old SA rekeying",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{child(lab.ChildStateRekeying, first.SPIIn, first.SPIOut, "")},
				ikelab: responder(firstR)}, &first, 1, nil},
		{"the responder still holds the rekeyed SA",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{oldDeleted, second},
				ikelab:  responder(responderChild{SPIIn: "bbbbbbbb", SPIOut: "aaaaaaaa", Rekeyed: true}, secondR),
				rekeyed: rekeyed(secondAudit)}, &first, 1, nil},
		{"audit lags",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{oldDeleted, second}, ikelab: responder(secondR)}, &first, 1, nil},
		{"audit names other SPIs",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{oldDeleted, second}, ikelab: responder(secondR),
				rekeyed: rekeyed([]string{"cccccccc_i", "dddddddd_o"})}, &first, 1, nil},
		{"rekeyed; strongSwan keeps the old SA as DELETED",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{oldDeleted, second}, ikelab: responder(secondR),
				rekeyed: rekeyed(secondAudit)}, &first, 1, &second},
		{"no new SA: the old one is still the installed one",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{first}, ikelab: responder(firstR),
				rekeyed: rekeyed(secondAudit)}, &first, 1, nil},
		{"two IKE SAs at the responder",
			childState{ikeState: "ESTABLISHED", strongSwan: []lab.ChildSA{second},
				ikelab: append(responder(secondR), responder()...), rekeyed: rekeyed(secondAudit)}, &first, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.s.settled(tc.old, tc.rekeys)
			if tc.want == nil {
				assert.False(t, ok, "%s", &tc.s)
				return
			}
			require.True(t, ok, "%s", &tc.s)
			assert.Equal(t, *tc.want, got)
		})
	}
}

func TestChildStateString(t *testing.T) {
	s := childState{ikeState: "ESTABLISHED",
		strongSwan: []lab.ChildSA{{State: lab.ChildStateInstalled, SPIIn: 0xc1, SPIOut: 0xd2, DHGroup: "ECP_256"}},
		ikelab:     []responderSA{{SPIi: "0102030405060708", State: "ESTABLISHED", Children: []responderChild{{SPIIn: "000000d2", SPIOut: "000000c1", Rekeyed: true}}}},
		errs:       []string{"swanctl: timeout"}}
	assert.Equal(t, "strongSwan's IKE SA ESTABLISHED with child SAs [INSTALLED 000000c1_i 000000d2_o ECP_256]; "+
		"the responder's [IKE 0102030405060708 ESTABLISHED: 000000d2_i 000000c1_o (rekeyed)]; "+
		"0 child_rekeyed audit records; errors: swanctl: timeout", s.String())
}

func TestKEGroupName(t *testing.T) {
	for cell, want := range map[string]string{
		"":      "none",
		"14":    "MODP_2048",
		"19":    "ECP_256",
		"0x0e":  "MODP_2048",
		"14,19": "MODP_2048+ECP_256",
	} {
		got, err := keGroupName(cell)
		require.NoError(t, err, cell)
		assert.Equal(t, want, got, cell)
	}
	_, err := keGroupName("MODP_2048")
	assert.Error(t, err)
}

// A strongSwan initiator's log of the IKE_AUTH child SA and two rekeys
// (the lab's, shortened): the first from strongSwan, the second from the
// ikelab responder.
const initiatorRekeyLog = `15:31:31 12[CFG] <home|1> selected proposal: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
15:31:31 13[IKE] <home|1> IKE_SA home[1] established between 192.0.2.1[O=ikelab lab, CN=client1.ikelab.test]...192.0.2.2[O=ikelab lab, CN=vpn.ikelab.test]
15:31:31 13[CFG] <home|1> selected proposal: ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ
15:31:31 13[IKE] <home|1> CHILD_SA net{1} established with SPIs fd991919_i d3e851cf_o and TS 10.99.200.2/32 === 10.99.1.0/24
15:31:31 11[ENC] <home|1> generating CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No KE TSi TSr ]
15:31:31 16[ENC] <home|1> parsed CREATE_CHILD_SA response 2 [ SA No KE TSi TSr ]
15:31:31 16[CFG] <home|1> selected proposal: ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ
15:31:31 16[IKE] <home|1> inbound CHILD_SA net{2} established with SPIs 8ed0449c_i 1db53a64_o and TS 10.99.200.2/32 === 10.99.1.0/24
15:31:31 16[ENC] <home|1> generating INFORMATIONAL request 3 [ D ]
15:31:31 10[ENC] <home|1> parsed INFORMATIONAL response 3 [ D ]
15:31:37 15[ENC] <home|1> parsed CREATE_CHILD_SA request 0 [ N(REKEY_SA) SA No KE TSi TSr ]
15:31:37 15[CFG] <home|1> selected proposal: ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ
15:31:37 15[ENC] <home|1> generating CREATE_CHILD_SA response 0 [ SA No KE TSi TSr ]
`

// TestParseCharonLogRekeys: the ESP suite is the IKE_AUTH child SA's,
// whatever rekeys follow; theirs, with the PFS group, are kept apart.
func TestParseCharonLogRekeys(t *testing.T) {
	v := parseCharonLog(initiatorRekeyLog)
	assert.Equal(t, Outcome{Result: Established, IKE: suiteAES128SHA256MODP2048, ESP: espAES128SHA256}, v.outcome(false))
	assert.Equal(t, []string{"ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ",
		"ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ"}, v.RekeyESP)
	var exchanges []string
	for _, m := range v.Messages {
		exchanges = append(exchanges, m.Exchange)
	}
	assert.Equal(t, "CREATE_CHILD_SA CREATE_CHILD_SA INFORMATIONAL INFORMATIONAL CREATE_CHILD_SA CREATE_CHILD_SA",
		strings.Join(exchanges, " "))
}

func TestWireSummaryNamesRekeyGroups(t *testing.T) {
	w := WireCheck{Messages: 18, SK: 16, Verified: 16, ESPPackets: 3, ESPVerified: 3,
		RekeyKE: []string{"MODP_2048", "MODP_2048", "MODP_2048", "MODP_2048"}}
	assert.Equal(t, "18 IKEv2 msgs, 16/16 SK decrypted+ICV ok, 3/3 ESP decrypted+ICV ok, KE in 4 CREATE_CHILD_SA msgs: MODP_2048", w.Summary())
	w.RekeyKE = []string{"none", "none"}
	assert.Contains(t, w.Summary(), "KE in 2 CREATE_CHILD_SA msgs: none")
}

package interop

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/interop/lab"
)

// rekeyConn is certConn with short lifetimes so that strongSwan rekeys
// the child SA (with PFS) and the IKE SA within seconds.
func rekeyConn(ike, esp string, ikeRekey, childRekey time.Duration) string {
	c := certConn(ike, esp)
	// strongSwan's hard lifetimes default to 110% of the rekey time with a
	// random jitter; make them long so that every rekey is a rekey.
	c = strings.Replace(c, "\t\tvips = 0.0.0.0\n", fmt.Sprintf("\t\tvips = 0.0.0.0\n\t\trekey_time = %ds\n\t\tover_time = 60s\n\t\trand_time = 0s\n", int(ikeRekey.Seconds())), 1)
	return strings.Replace(c, "\t\t\t\tesp_proposals", fmt.Sprintf("\t\t\t\trekey_time = %ds\n\t\t\t\tlife_time = 120s\n\t\t\t\trand_time = 0s\n\t\t\t\tesp_proposals", int(childRekey.Seconds())), 1)
}

func countEvents(r *rig, event string) int {
	n := 0
	for _, a := range r.audits() {
		if a["event"] == event {
			n++
		}
	}
	return n
}

// TestStrongSwanRekeyResponder: strongSwan rekeys the child SA with PFS
// and the IKE SA, several times; both sides agree after each, and nothing
// is left when the initiator deletes.
func TestStrongSwanRekeyResponder(t *testing.T) {
	for _, tc := range []struct{ name, ike, esp, group string }{
		{"MODP2048_PFS", "aes128-sha256-modp2048", "aes128-sha256-modp2048", "MODP_2048"},
		{"ECP256_PFS", "aes128gcm16-prfsha256-ecp256", "aes128gcm16-ecp256", "ECP_256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, fmt.Sprintf(trustYAML, "ecdsa"))
			c := r.startCharon(rekeyConn(tc.ike, tc.esp, 5*time.Second, 2*time.Second), certFiles(t, r.pki.ECDSA, r.pki.ECDSA.Clients[0]))
			r.initiate(true)
			first := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			require.Len(t, first.Children, 1)
			firstChild := first.Children[0]

			lab.Eventually(t, 30*time.Second, "two child rekeys and one IKE rekey", func() (bool, error) {
				return countEvents(r, "child_rekeyed") >= 2 && countEvents(r, "ike_rekeyed") >= 1, nil
			})
			// Let the rekey settle, then compare both views.
			time.Sleep(500 * time.Millisecond)
			now := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			assert.NotEqual(t, first.ResponderSPI, now.ResponderSPI, "IKE SA rekeyed: new SPIs")
			assert.Equal(t, tc.group, now.DHGroup)
			var installed []lab.ChildSA
			for _, ch := range now.Children {
				if ch.State == lab.ChildStateInstalled {
					installed = append(installed, ch)
				}
			}
			require.NotEmpty(t, installed)
			last := installed[len(installed)-1]
			assert.NotEqual(t, firstChild.SPIIn, last.SPIIn, "child SA rekeyed: new SPIs")
			assert.Equal(t, tc.group, last.DHGroup, "PFS group on rekey")
			// The responder's audit names the SPIs strongSwan uses.
			var spis []string
			for _, a := range r.audits() {
				if a["event"] == "child_rekeyed" {
					if l, ok := a["child_spis"].([]any); ok {
						for _, x := range l {
							spis = append(spis, fmt.Sprint(x))
						}
					}
				}
			}
			assert.Contains(t, spis, fmt.Sprintf("%08x_o", last.SPIIn), "responder's outbound SPI is strongSwan's inbound")

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, c.Terminate(ctx, "home"))
			c.WaitNoIKESA(t, "", 10*time.Second)
			r.waitAudit("deleted")
			r.checkWire(8)
		})
	}
}

// TestStrongSwanRekeyInitiatedByResponder: the responder's policy
// lifetime makes it rekey the child SA itself, with PFS in the IKE SA's
// group first (as Windows expects); strongSwan accepts, the old SA goes.
func TestStrongSwanRekeyInitiatedByResponder(t *testing.T) {
	yaml := strings.Replace(fmt.Sprintf(trustYAML, "ecdsa"), "  builtin: recommended\n", "  builtin: recommended\n  child_lifetime: 3s\n", 1)
	r := newRig(t, yaml)
	c := r.startCharon(rekeyConn("aes128gcm16-prfsha256-ecp256", "aes128gcm16-ecp256", time.Hour, time.Hour),
		certFiles(t, r.pki.ECDSA, r.pki.ECDSA.Clients[0]))
	r.initiate(true)
	first := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	require.Len(t, first.Children, 1)
	lab.Eventually(t, 20*time.Second, "two child rekeys started by the responder", func() (bool, error) {
		return countEvents(r, "child_rekeyed") >= 2, nil
	})
	time.Sleep(500 * time.Millisecond)
	now := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	assert.Equal(t, first.ResponderSPI, now.ResponderSPI, "same IKE SA")
	var installed []lab.ChildSA
	for _, ch := range now.Children {
		if ch.State == lab.ChildStateInstalled {
			installed = append(installed, ch)
		}
	}
	require.Len(t, installed, 1, "the old child SAs are deleted after each rekey: %v", now.Children)
	assert.NotEqual(t, first.Children[0].SPIIn, installed[0].SPIIn)
	assert.Equal(t, "ECP_256", installed[0].DHGroup, "PFS in the IKE SA's group")
	assert.Contains(t, c.Log(), "rekeying") // strongSwan logs the rekey it answered
	r.checkWire(8)
}

// TestStrongSwanIKERekeyInitiatedByResponder: the responder's IKE lifetime
// makes it rekey the IKE SA, in the current group first; it becomes the
// original initiator of the new SA (RFC 7296, Section 2.18) and rekeys
// again from there. The child SA moves along and stays up.
func TestStrongSwanIKERekeyInitiatedByResponder(t *testing.T) {
	yaml := strings.Replace(fmt.Sprintf(trustYAML, "ecdsa"), "  builtin: recommended\n", "  builtin: recommended\n  ike_lifetime: 3s\n", 1)
	r := newRig(t, yaml)
	c := r.startCharon(rekeyConn("aes128gcm16-prfsha256-ecp256", "aes128gcm16-ecp256", time.Hour, time.Hour),
		certFiles(t, r.pki.ECDSA, r.pki.ECDSA.Clients[0]))
	r.initiate(true)
	first := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	require.Len(t, first.Children, 1)
	lab.Eventually(t, 20*time.Second, "two IKE rekeys started by the responder", func() (bool, error) {
		return countEvents(r, "ike_rekeyed") >= 2, nil
	})
	time.Sleep(500 * time.Millisecond)
	sas, err := c.ListSAs()
	require.NoError(t, err)
	require.Len(t, sas, 1, "old IKE SAs deleted: %v", sas)
	now := sas[0]
	assert.Equal(t, lab.IKEStateEstablished, now.State)
	assert.NotEqual(t, first.ResponderSPI, now.ResponderSPI)
	assert.NotEqual(t, first.InitiatorSPI, now.InitiatorSPI)
	assert.Equal(t, "ECP_256", now.DHGroup, "the IKE SA's group on the first try")
	require.Len(t, now.Children, 1, "the child SA moved to the new IKE SA")
	assert.Equal(t, first.Children[0].SPIIn, now.Children[0].SPIIn)
	// The child still answers: a liveness check over the newest IKE SA.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Terminate(ctx, "home"))
	c.WaitNoIKESA(t, "", 10*time.Second)
	r.waitAudit("deleted")
	r.checkWire(10)
}

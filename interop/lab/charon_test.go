package lab

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The lab's road-warrior scenario: the initiator asks for a virtual IP from
// the responder's pool and reaches the responder's protected subnet, on
// which the responder holds protectedAddr (libipsec needs a local address
// inside its local selector, see the package documentation).
const (
	protectedNet  = "10.99.1.0/24"
	protectedAddr = "10.99.1.1"
	vipPool       = "10.99.200.0/24"
	labPSK        = "lab-psk-not-a-secret-0123456789"
)

func initiatorConf(local, remote string) string {
	return fmt.Sprintf(`connections {
	home {
		local_addrs = %s
		remote_addrs = %s
		proposals = aes128-sha256-modp2048
		vips = 0.0.0.0
		local {
			auth = psk
			id = alice@lab.example
		}
		remote {
			auth = psk
			id = gw@lab.example
		}
		children {
			net {
				remote_ts = %s
				esp_proposals = aes128-sha256
			}
		}
	}
}
secrets {
	ike-lab {
		id-1 = alice@lab.example
		id-2 = gw@lab.example
		secret = %q
	}
}
`, local, remote, protectedNet, labPSK)
}

func responderConf(local string) string {
	return fmt.Sprintf(`connections {
	rw {
		local_addrs = %s
		proposals = aes128-sha256-modp2048
		pools = lab-pool
		local {
			auth = psk
			id = gw@lab.example
		}
		remote {
			auth = psk
			id = alice@lab.example
		}
		children {
			net {
				local_ts = %s
				esp_proposals = aes128-sha256
			}
		}
	}
}
pools {
	lab-pool {
		addrs = %s
	}
}
secrets {
	ike-lab {
		id-1 = alice@lab.example
		id-2 = gw@lab.example
		secret = %q
	}
}
`, local, protectedNet, vipPool, labPSK)
}

// findSA returns the only IKE SA of connection name.
func findSA(t *testing.T, c *Charon, name string) IKESA {
	t.Helper()
	sas, err := c.ListSAs()
	require.NoError(t, err)
	var found []IKESA
	for _, sa := range sas {
		if sa.Name == name {
			found = append(found, sa)
		}
	}
	require.Len(t, found, 1, "%s holds %v", c.Name, sas)
	return found[0]
}

// assertSuite checks the negotiated IKE and ESP algorithms of one side.
func assertSuite(t *testing.T, side string, sa IKESA) ChildSA {
	t.Helper()
	assert.Equal(t, IKEStateEstablished, sa.State, side)
	assert.Equal(t, 2, sa.Version, side)
	assert.Equal(t, "AES_CBC", sa.EncrAlg, side)
	assert.Equal(t, 128, sa.EncrKeySize, side)
	assert.Equal(t, "HMAC_SHA2_256_128", sa.IntegAlg, side)
	assert.Equal(t, "PRF_HMAC_SHA2_256", sa.PRFAlg, side)
	assert.Equal(t, "MODP_2048", sa.DHGroup, side)
	require.Len(t, sa.Children, 1, side)
	c := sa.Children[0]
	assert.Equal(t, "net", c.Name, side)
	assert.Equal(t, ChildStateInstalled, c.State, side)
	assert.Equal(t, "TUNNEL", c.Mode, side)
	assert.Equal(t, "ESP", c.Protocol, side)
	// kernel-libipsec always encapsulates ESP in UDP (RFC 3948).
	assert.True(t, c.Encap, side)
	assert.Equal(t, "AES_CBC", c.EncrAlg, side)
	assert.Equal(t, 128, c.EncrKeySize, side)
	assert.Equal(t, "HMAC_SHA2_256_128", c.IntegAlg, side)
	return c
}

// roadWarrior brings up the tunnel between ini and rsp, checks both sides'
// view of it, pings through it and tears it down; it returns the two IKE
// SAs as they were while established.
func roadWarrior(t *testing.T, from *Netns, ini, rsp *Charon) (IKESA, IKESA) {
	t.Helper()
	require.NoError(t, rsp.Load())
	require.NoError(t, ini.Load())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := ini.Initiate(ctx, "net", "home")
	require.NoError(t, err, "initiate:\n%s", out)
	assert.Contains(t, out, "initiate completed successfully")

	iSA := ini.WaitIKESA(t, "home", IKEStateEstablished, 5*time.Second)
	assert.Equal(t, iSA.UniqueID, findSA(t, ini, "home").UniqueID, "one IKE SA only")
	// The responder answers IKE_AUTH before it logs the SA as established;
	// give it a moment rather than racing it.
	rsp.WaitChildSA(t, "rw", "net", ChildStateInstalled, 10*time.Second)
	rSA := findSA(t, rsp, "rw")

	iChild := assertSuite(t, "initiator", iSA)
	rChild := assertSuite(t, "responder", rSA)
	assert.True(t, iSA.Initiator)
	assert.False(t, rSA.Initiator)
	assert.NotZero(t, iSA.InitiatorSPI)
	assert.NotZero(t, iSA.ResponderSPI)
	assert.Equal(t, iSA.InitiatorSPI, rSA.InitiatorSPI)
	assert.Equal(t, iSA.ResponderSPI, rSA.ResponderSPI)
	assert.Equal(t, iSA.LocalID, rSA.RemoteID)
	assert.Equal(t, "alice@lab.example", iSA.LocalID)
	assert.Equal(t, "gw@lab.example", iSA.RemoteID)
	assert.Equal(t, iChild.SPIIn, rChild.SPIOut)
	assert.Equal(t, iChild.SPIOut, rChild.SPIIn)

	// The virtual IP came from the pool and both sides agree on it.
	require.Len(t, iSA.LocalVIPs, 1)
	vip := iSA.LocalVIPs[0]
	assert.True(t, netip.MustParsePrefix(vipPool).Contains(vip), "VIP %s outside %s", vip, vipPool)
	assert.Equal(t, []netip.Addr{vip}, rSA.RemoteVIPs)
	assert.Equal(t, []string{vip.String() + "/32"}, iChild.LocalTS)
	assert.Equal(t, []string{protectedNet}, iChild.RemoteTS)
	assert.Equal(t, []string{protectedNet}, rChild.LocalTS)
	assert.Equal(t, []string{vip.String() + "/32"}, rChild.RemoteTS)

	// Through the tunnel: the kernel routes the protected net into
	// charon's TUN device with the VIP as source; the counters must move
	// by at least the pings on both sides.
	const pings = 3
	out, err = from.Ping(ctx, protectedAddr, pings)
	require.NoError(t, err, "ping through the tunnel")
	assert.Contains(t, out, fmt.Sprintf("%d received", pings))
	_, iAfter := ini.WaitChildSA(t, "home", "net", ChildStateInstalled, 5*time.Second)
	_, rAfter := rsp.WaitChildSA(t, "rw", "net", ChildStateInstalled, 5*time.Second)
	assert.GreaterOrEqual(t, iAfter.PacketsOut-iChild.PacketsOut, uint64(pings))
	assert.GreaterOrEqual(t, iAfter.PacketsIn-iChild.PacketsIn, uint64(pings))
	assert.GreaterOrEqual(t, rAfter.PacketsIn-rChild.PacketsIn, uint64(pings))
	assert.GreaterOrEqual(t, rAfter.PacketsOut-rChild.PacketsOut, uint64(pings))
	assert.Greater(t, iAfter.BytesOut, iChild.BytesOut)

	require.NoError(t, ini.Terminate(ctx, "home"))
	ini.WaitNoIKESA(t, "", 10*time.Second)
	rsp.WaitNoIKESA(t, "", 10*time.Second)
	// With the CHILD SA gone the protected net is unreachable again.
	_, err = from.Ping(ctx, protectedAddr, 1)
	assert.Error(t, err, "ping after terminate")
	return iSA, rSA
}

// Proofs 2 and 4: strongSwan initiator in A, strongSwan responder in B,
// both kernel-libipsec, PSK, a VIP from the pool; the veth capture of the
// whole run dissects cleanly.
func TestStrongSwanRoadWarrior(t *testing.T) {
	RequireStrongSwan(t)
	RequireBinaries(t, "ping", "dumpcap", "tshark")
	a, b := NewNetns(t, "swi"), NewNetns(t, "swr")
	v := Link(t, a, b, "192.0.2.1/24", "192.0.2.2/24")
	b.IP(t, "addr", "add", protectedAddr+"/32", "dev", "lo")

	pcap := filepath.Join(t.TempDir(), "veth.pcapng")
	capture := StartCapture(t, a, v.AIface, pcap)

	rsp := StartCharon(t, b, CharonConfig{Name: "responder", SwanctlConf: responderConf("192.0.2.2")})
	ini := StartCharon(t, a, CharonConfig{Name: "initiator", SwanctlConf: initiatorConf("192.0.2.1", "192.0.2.2")})
	iSA, rSA := roadWarrior(t, a, ini, rsp)

	assert.Equal(t, netip.MustParseAddr("192.0.2.1"), iSA.LocalHost)
	assert.Equal(t, netip.MustParseAddr("192.0.2.2"), iSA.RemoteHost)
	assert.Equal(t, netip.MustParseAddr("192.0.2.1"), rSA.RemoteHost)
	// No NAT on the path, yet libipsec moved IKE to 4500 (it fakes one:
	// the responder sees the initiator "behind a NAT"). The initiator's
	// own address was reported truthfully, so it is not behind one.
	assert.Equal(t, uint16(4500), iSA.LocalPort)
	assert.Equal(t, uint16(4500), iSA.RemotePort)
	assert.False(t, iSA.NATLocal)
	assert.True(t, rSA.NATRemote)

	// Proof 4: the capture of the run.
	require.NoError(t, capture.Stop())
	rep, err := Dissect(t, pcap, "")
	require.NoError(t, err)
	t.Logf("capture: %d frames, IKEv2 %v, %d ESP", rep.Frames, rep.Exchanges, rep.ESPPackets)
	assert.Equal(t, 2, rep.Exchanges["IKE_SA_INIT"])
	assert.Equal(t, 2, rep.Exchanges["IKE_AUTH"])
	assert.GreaterOrEqual(t, rep.Exchanges["INFORMATIONAL"], 2, "the Delete and its answer")
	total := 0
	for _, n := range rep.Exchanges {
		total += n
	}
	assert.Equal(t, rep.IKEv2Messages, total)
	assert.Equal(t, rep.IKEv2Messages-2, rep.SKPayloads, "every message after IKE_SA_INIT is encrypted")
	assert.GreaterOrEqual(t, rep.ESPPackets, 2*3, "the pings in ESP-in-UDP")
	assert.Zero(t, rep.Decrypted, "no keys were given")
	assert.Zero(t, rep.Malformed)
	assert.Empty(t, rep.ExpertErrors)
}

// Proof 3: the same through a masquerading router. The initiator learns it
// is behind a NAT (nat-local), its IKE SA runs on 4500, and the responder
// sees the router's public address as the peer.
func TestStrongSwanBehindNAT(t *testing.T) {
	RequireStrongSwan(t)
	RequireBinaries(t, "ping", "nft")
	n := NATRouter(t, "swn")
	n.Server.IP(t, "addr", "add", protectedAddr+"/32", "dev", "lo")

	rsp := StartCharon(t, n.Server, CharonConfig{Name: "responder", SwanctlConf: responderConf(n.ServerAddr.String())})
	ini := StartCharon(t, n.Client, CharonConfig{Name: "initiator",
		SwanctlConf: initiatorConf(n.ClientAddr.String(), n.ServerAddr.String())})
	iSA, rSA := roadWarrior(t, n.Client, ini, rsp)

	assert.Equal(t, n.ClientAddr, iSA.LocalHost)
	assert.Equal(t, uint16(4500), iSA.LocalPort)
	assert.Equal(t, n.ServerAddr, iSA.RemoteHost)
	assert.Equal(t, uint16(4500), iSA.RemotePort)
	assert.True(t, iSA.NATLocal, "initiator did not detect the NAT in front of it")
	assert.True(t, iSA.NATAny)

	assert.Equal(t, n.RouterOutside, rSA.RemoteHost, "responder should see the router's address")
	assert.NotZero(t, rSA.RemotePort)
	assert.True(t, rSA.NATRemote)
	assert.False(t, rSA.NATLocal)
	assert.Contains(t, ini.Log(), "local host is behind NAT")
	assert.Contains(t, rsp.Log(), "remote host is behind NAT")
}

// Load must fail loudly on configurations that swanctl rejects: a section
// written on one line (strongswan.conf syntax ends a setting at the line
// break; swanctl exits non-zero) and a secret without a value (swanctl only
// says "ignored" and exits 0).
func TestCharonLoadRejectsBrokenConfig(t *testing.T) {
	RequireStrongSwan(t)
	ns := NewNetns(t, "swb")
	for _, tc := range []struct{ name, conf, says string }{
		{"one-line section", `connections {
	x {
		local { auth = psk  id = a }
		remote {
			auth = psk
		}
	}
}
`, "loading connection 'x' failed"},
		{"secret without value", `secrets {
	ike-x {
		id = a
	}
}
`, "ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := StartCharon(t, ns, CharonConfig{Name: "broken", SwanctlConf: tc.conf})
			err := c.Load()
			require.ErrorIs(t, err, ErrLoad)
			assert.Contains(t, err.Error(), tc.says)
			sas, err := c.ListSAs()
			require.NoError(t, err)
			assert.Empty(t, sas)
			require.NoError(t, c.Stop())
			exited, _ := c.Process().Exited()
			assert.True(t, exited)
		})
	}
}

// recordTB stands in for a test whose failure is the point: Fatal records
// the message and ends the goroutine, as testing.T's does.
type recordTB struct {
	testing.TB
	msg string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failureOf runs f with a recordTB and returns the message it failed with,
// or "" if it did not fail.
func failureOf(t *testing.T, f func(tb testing.TB)) string {
	rec := &recordTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec.msg
}

// A wait that times out fails with what it waited for, how long, and what
// charon held instead.
func TestCharonWaitFailureNamesWhatDidNotHappen(t *testing.T) {
	RequireStrongSwan(t)
	c := StartCharon(t, NewNetns(t, "sww"), CharonConfig{Name: "idle"})
	require.NoError(t, c.Load())

	start := time.Now()
	msg := failureOf(t, func(tb testing.TB) { c.WaitIKESA(tb, "home", IKEStateEstablished, 300*time.Millisecond) })
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, msg, `no IKE SA "home" in state ESTABLISHED`)
	assert.Contains(t, msg, "timed out after 300ms")
	assert.Contains(t, msg, "it held: []")

	msg = failureOf(t, func(tb testing.TB) { c.WaitLog(tb, "no such line", 200*time.Millisecond) })
	assert.Contains(t, msg, `log never said "no such line"`)

	msg = failureOf(t, func(tb testing.TB) { c.WaitNoIKESA(tb, "", time.Second) })
	assert.Empty(t, msg, "no SAs: the wait succeeds at once")

	msg = failureOf(t, func(tb testing.TB) {
		Eventually(tb, 200*time.Millisecond, "the impossible", func() (bool, error) {
			return false, fmt.Errorf("still impossible")
		})
	})
	assert.Equal(t, "lab: the impossible did not happen within 200ms; last error: still impossible", msg)
}

// The log level that would print keys is refused before charon starts.
func TestCharonRefusesKeyLogging(t *testing.T) {
	_, err := strongswanConf(t.TempDir(), &CharonConfig{LogLevels: map[string]int{"default": 4}})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "level 4 logs keys"), err.Error())
}

// BenchmarkStrongSwanRoadWarrior measures, per iteration, one IKE SA with
// its CHILD SA brought up (MODP-2048, PSK, a VIP from the pool) and deleted
// again between two lab charons over a veth; the start of both charons up
// to loaded configurations is reported as start-ms.
func BenchmarkStrongSwanRoadWarrior(b *testing.B) {
	RequireStrongSwan(b)
	start := time.Now()
	a, r := NewNetns(b, "bni"), NewNetns(b, "bnr")
	Link(b, a, r, "192.0.2.1/24", "192.0.2.2/24")
	r.IP(b, "addr", "add", protectedAddr+"/32", "dev", "lo")
	rsp := StartCharon(b, r, CharonConfig{Name: "responder", SwanctlConf: responderConf("192.0.2.2"),
		LogLevels: map[string]int{"default": 0, "ike": 0, "cfg": 0}})
	ini := StartCharon(b, a, CharonConfig{Name: "initiator", SwanctlConf: initiatorConf("192.0.2.1", "192.0.2.2"),
		LogLevels: map[string]int{"default": 0, "ike": 0, "cfg": 0}})
	require.NoError(b, rsp.Load())
	require.NoError(b, ini.Load())
	startup := time.Since(start)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	for b.Loop() {
		if out, err := ini.Initiate(ctx, "net", "home"); err != nil {
			b.Fatalf("initiate: %v\n%s", err, out)
		}
		if err := ini.Terminate(ctx, "home"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(startup.Microseconds())/1000, "start-ms")
}

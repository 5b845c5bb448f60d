//go:build linux

package xfrm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/interop/lab"
	"github.com/ikelab/ikelab/sa"
)

// These tests run against the real kernel in a fresh network namespace
// each. On a kernel without ESP (this project's hosts, see LAB.md) states
// cannot be added, so they check the error path there and the full path
// where ESP exists; interop/vm runs the full path under a Debian kernel.

func requireNetns(t *testing.T) {
	t.Helper()
	lab.RequireRoot(t)
	lab.RequireBinaries(t, "ip")
}

// newInNetns opens an installer inside a new namespace.
func newInNetns(t *testing.T, ns *lab.Netns, opts Options) *Installer {
	t.Helper()
	var x *Installer
	require.NoError(t, ns.Do(func() error {
		var err error
		x, err = New(opts)
		return err
	}))
	t.Cleanup(func() { x.Close() })
	return x
}

// ipXfrm runs `ip -n NS xfrm args...`: the kernel's view, read by another
// program than ours.
func ipXfrm(t *testing.T, ns *lab.Netns, args ...string) string {
	t.Helper()
	return ns.IP(t, append([]string{"xfrm"}, args...)...)
}

// kernelHasESP asks ip(8), not this package, whether the kernel takes an
// AES-CBC/HMAC-SHA256 ESP state.
func kernelHasESP(t *testing.T) bool {
	t.Helper()
	ns := lab.NewNetns(t, "xesp")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := ns.Run(ctx, "ip", "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x1000",
		"mode", "tunnel", "enc", "cbc(aes)", "0x"+strings.Repeat("11", 16), "auth-trunc", "hmac(sha256)", "0x"+strings.Repeat("22", 32), "128")
	return err == nil
}

func TestProbeMatchesKernel(t *testing.T) {
	requireNetns(t)
	has := kernelHasESP(t)
	err := Probe()
	if has {
		assert.NoError(t, err, "ip(8) adds ESP states, so the probe must pass")
		return
	}
	require.Error(t, err)
	var se *SupportError
	require.True(t, errors.As(err, &se), "typed error: %v", err)
	assert.Contains(t, err.Error(), "kernel has no ESP (CONFIG_INET_ESP)")
	t.Logf("probe on this kernel: %v", err)
}

func TestStartModes(t *testing.T) {
	requireNetns(t)
	has := kernelHasESP(t)
	ns := lab.NewNetns(t, "xstart")
	var logs bytes.Buffer
	opts := Options{Log: slog.New(slog.NewTextHandler(&logs, nil))}
	for _, mode := range []Mode{Off, Auto, Required} {
		var x *Installer
		err := ns.Do(func() error {
			var err error
			x, err = Start(mode, opts)
			return err
		})
		switch {
		case mode == Off:
			assert.NoError(t, err)
			assert.Nil(t, x)
		case has:
			require.NoError(t, err, mode.String())
			require.NotNil(t, x)
			require.NoError(t, x.Close())
		case mode == Auto:
			assert.NoError(t, err)
			assert.Nil(t, x, "negotiate only")
			assert.Contains(t, logs.String(), "kernel has no ESP (CONFIG_INET_ESP)", "the warning names what is missing")
		default:
			assert.Nil(t, x)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "xfrm: kernel has no ESP (CONFIG_INET_ESP): "), err.Error())
			t.Logf("required mode on this kernel: %v", err)
		}
	}
}

// roadWarriorIn is roadWarrior with outer addresses of a test namespace.
func roadWarriorIn(encr wire.TransformID, bits int, integ wire.TransformID, spiIn uint32) *sa.Child {
	c := roadWarrior(encr, bits, integ)
	c.Local = netip.MustParseAddrPort("192.0.2.2:4500")
	c.Remote = netip.MustParseAddrPort("192.0.2.1:4500")
	c.SPIIn = spiIn
	return c
}

// TestInstallAndRemove installs a child SA through the public API: on a
// kernel with ESP it must appear in `ip xfrm` and vanish on Remove; without
// ESP the install must fail with an error naming CONFIG_INET_ESP and leave
// nothing behind, not even the allocated SPI.
func TestInstallAndRemove(t *testing.T) {
	requireNetns(t)
	has := kernelHasESP(t)
	ns := lab.NewNetns(t, "xinst")
	x := newInNetns(t, ns, Options{})
	c := roadWarriorIn(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128, 0)
	spi, err := x.AllocSPI(c.Local.Addr(), c.Remote.Addr())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, spi, uint32(0x100), "RFC 4303, Section 2.1: 1..255 are reserved")
	c.SPIIn = spi
	larval := ipXfrm(t, ns, "state")
	assert.Contains(t, larval, fmt.Sprintf("spi 0x%08x reqid %d", spi, DefaultReqIDBase), "the kernel holds the SPI:\n%s", larval)

	err = x.Install(c)
	if !has {
		require.Error(t, err)
		t.Logf("install on this kernel: %v", err)
		var se *SupportError
		require.True(t, errors.As(err, &se), "typed error: %v", err)
		assert.Contains(t, err.Error(), "xfrm: adding inbound state 192.0.2.1->192.0.2.2 spi ")
		assert.Contains(t, err.Error(), "kernel has no ESP (CONFIG_INET_ESP)")
		assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "state")), "no state left, the allocated SPI included")
		assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "policy")), "no policy left")
		assert.Empty(t, x.reqids, "reqid released")
		return
	}
	require.NoError(t, err)
	states := ipXfrm(t, ns, "state")
	assert.Contains(t, states, fmt.Sprintf("spi 0x%08x", spi))
	assert.Contains(t, states, fmt.Sprintf("spi 0x%08x", c.SPIOut))
	assert.Contains(t, states, "encap type espinudp sport 4500 dport 4500")
	assert.Equal(t, 3, strings.Count(ipXfrm(t, ns, "policy"), "tmpl src"))
	cs, err := x.AllCounters()
	require.NoError(t, err)
	assert.Len(t, cs, 2)
	require.NoError(t, x.Remove(c))
	assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "state")))
	assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "policy")))
}

func TestAllocSPIDistinct(t *testing.T) {
	requireNetns(t)
	ns := lab.NewNetns(t, "xspi")
	x := newInNetns(t, ns, Options{})
	local, remote := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1")
	seen := map[uint32]bool{}
	for i := 0; i < 20; i++ {
		spi, err := x.AllocSPI(local, remote)
		require.NoError(t, err)
		assert.False(t, seen[spi], "SPI %08x handed out twice", spi)
		seen[spi] = true
	}
	assert.Equal(t, 20, strings.Count(ipXfrm(t, ns, "state"), "proto esp"))
	require.NoError(t, x.Cleanup())
	assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "state")))
}

// TestPoliciesInstalledAndRemoved drives the policy half of Install and
// Remove against the kernel (the state half needs ESP): the in, out and fwd
// policies of a child SA appear as `ip xfrm policy` shows them, a second
// child with the same selectors takes them over and gives them back, and
// the last user removes them.
func TestPoliciesInstalledAndRemoved(t *testing.T) {
	requireNetns(t)
	ns := lab.NewNetns(t, "xpol")
	x := newInNetns(t, ns, Options{})
	c := roadWarriorIn(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128, 0x1000)
	c.LocalTS = append(c.LocalTS, ts4("10.99.2.1", "10.99.2.6", 6, 443, 443))
	first, err := policies(c, DefaultReqIDBase+1)
	require.NoError(t, err)
	x.mu.Lock()
	for _, p := range first {
		require.NoError(t, x.addPolicy(p), p.String())
	}
	x.mu.Unlock()

	out := ipXfrm(t, ns, "policy")
	// 10.99.1.0/24 once, 10.99.2.1..6 as four prefixes with TCP 443: five
	// selectors, three directions each.
	assert.Equal(t, 15, strings.Count(out, "tmpl src"), out)
	assert.Contains(t, out, "src 10.99.1.0/24 dst 10.99.200.7/32 \n\tdir out priority 799779")
	assert.Contains(t, out, "tmpl src 192.0.2.2 dst 192.0.2.1\n\t\tproto esp reqid 484442113 mode tunnel")
	assert.Contains(t, out, "src 10.99.200.7/32 dst 10.99.1.0/24 \n\tdir fwd priority 799779")
	assert.Contains(t, out, "src 10.99.2.2/31 dst 10.99.200.7/32 proto tcp sport 443 \n\tdir out")
	assert.Contains(t, out, "src 10.99.200.7/32 dst 10.99.2.2/31 proto tcp dport 443 \n\tdir in")

	// The same client reconnects before its old SA is gone.
	second, err := policies(c, DefaultReqIDBase+2)
	require.NoError(t, err)
	x.mu.Lock()
	for _, p := range second {
		require.NoError(t, x.addPolicy(p))
	}
	x.mu.Unlock()
	out = ipXfrm(t, ns, "policy")
	assert.Equal(t, 15, strings.Count(out, "tmpl src"))
	assert.Equal(t, 15, strings.Count(out, "reqid 484442114"), "the newest SA owns the policies")

	x.mu.Lock()
	for _, p := range second {
		require.NoError(t, x.dropPolicy(p))
	}
	x.mu.Unlock()
	out = ipXfrm(t, ns, "policy")
	assert.Equal(t, 15, strings.Count(out, "reqid 484442113"), "back to the first SA:\n%s", out)

	x.mu.Lock()
	for _, p := range first {
		require.NoError(t, x.dropPolicy(p))
	}
	x.mu.Unlock()
	assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "policy")))
	assert.Empty(t, x.policies)
}

// TestCleanupAfterCrash: a daemon dies with SPIs and policies in the
// kernel; the next one removes exactly those at start-up and leaves another
// daemon's alone.
func TestCleanupAfterCrash(t *testing.T) {
	requireNetns(t)
	ns := lab.NewNetns(t, "xcrash")
	ipXfrm(t, ns, "policy", "add", "src", "10.1.0.0/16", "dst", "10.2.0.0/16", "dir", "out",
		"tmpl", "src", "192.0.2.2", "dst", "192.0.2.9", "proto", "esp", "reqid", "5", "mode", "tunnel")
	ipXfrm(t, ns, "state", "allocspi", "src", "192.0.2.9", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel", "reqid", "5")

	crashed := newInNetns(t, ns, Options{})
	for i := 0; i < 3; i++ {
		_, err := crashed.AllocSPI(netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1"))
		require.NoError(t, err)
	}
	c := roadWarriorIn(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128, 0x1000)
	pols, err := policies(c, DefaultReqIDBase+1)
	require.NoError(t, err)
	crashed.mu.Lock()
	for _, p := range pols {
		require.NoError(t, crashed.addPolicy(p))
	}
	crashed.mu.Unlock()
	// The crash: sockets gone, nothing removed.
	crashed.mon.stop()
	crashed.c.close()
	crashed.closed = true
	require.Equal(t, 4, strings.Count(ipXfrm(t, ns, "state"), "proto esp"))
	require.Equal(t, 4, strings.Count(ipXfrm(t, ns, "policy"), "tmpl src"))

	restarted := newInNetns(t, ns, Options{})
	require.NoError(t, restarted.Cleanup())
	states, policies := ipXfrm(t, ns, "state"), ipXfrm(t, ns, "policy")
	assert.Equal(t, 1, strings.Count(states, "proto esp"), states)
	assert.Contains(t, states, "reqid 5 ", "the other daemon's SPI stays")
	assert.Equal(t, 1, strings.Count(policies, "tmpl src"), policies)
	assert.Contains(t, policies, "reqid 5 ", "the other daemon's policy stays")
}

// TestExpireEventsArrive: the kernel drops an allocated SPI that was never
// installed after net.core.xfrm_acq_expires and says so with
// XFRM_MSG_EXPIRE; the listener must receive it, forget the SPI, and not
// report it as a child SA's expiry.
func TestExpireEventsArrive(t *testing.T) {
	requireNetns(t)
	ns := lab.NewNetns(t, "xexp")
	ns.Sysctl(t, "net.core.xfrm_acq_expires", "1")
	x := newInNetns(t, ns, Options{})
	spi, err := x.AllocSPI(netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1"))
	require.NoError(t, err)
	lab.Eventually(t, 10*time.Second, "the kernel's expire message for the unused SPI", func() (bool, error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		return x.expireEvents > 0 && len(x.larval) == 0, nil
	})
	assert.NotContains(t, ipXfrm(t, ns, "state"), fmt.Sprintf("0x%08x", spi))
	select {
	case e := <-x.Expires():
		t.Fatalf("delivered %v for an SPI that was never installed", e)
	default:
	}
}

// TestExpireDelivery checks the bookkeeping of an expiry for an installed
// child SA with the kernel's message simulated (a real state needs ESP;
// interop/vm has the real thing).
func TestExpireDelivery(t *testing.T) {
	requireNetns(t)
	ns := lab.NewNetns(t, "xdel")
	x := newInNetns(t, ns, Options{})
	c := roadWarriorIn(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128, 0x1000)
	in, out, err := x.opts.states(c, DefaultReqIDBase+1)
	require.NoError(t, err)
	rec := &installed{engineReqID: c.ReqID, reqid: DefaultReqIDBase + 1, in: in.withoutKeys(), out: out.withoutKeys()}
	x.mu.Lock()
	x.children[spiKey{in.Dst, in.SPI}] = rec
	x.bySPI[spiKey{in.Dst, in.SPI}] = rec
	x.bySPI[spiKey{out.Dst, out.SPI}] = rec
	x.mu.Unlock()

	e, ok := x.expired(spiKey{out.Dst, out.SPI}, false)
	require.True(t, ok)
	assert.Equal(t, Expire{SPI: c.SPIOut, Inbound: false, SPIIn: c.SPIIn, ReqID: 7, Hard: false}, e)
	_, ok = x.expired(spiKey{in.Dst, in.SPI}, false)
	assert.False(t, ok, "one soft expiry per child SA")
	e, ok = x.expired(spiKey{in.Dst, in.SPI}, true)
	require.True(t, ok)
	assert.Equal(t, Expire{SPI: c.SPIIn, Inbound: true, SPIIn: c.SPIIn, ReqID: 7, Hard: true}, e)
	assert.True(t, rec.inGone)
	_, ok = x.expired(spiKey{in.Dst, 0xdead}, true)
	assert.False(t, ok, "not ours")

	// Neither state is in this kernel: resync marks the outbound one gone
	// too, but the hard expiry was already reported.
	assert.Empty(t, x.resync())
	assert.True(t, rec.outGone)
	require.NoError(t, x.Remove(c), "states the kernel deleted are not an error")

	// A child SA whose states vanished without an event (lost to a
	// receive buffer overrun): resync reports it once.
	c2 := roadWarriorIn(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128, 0x2000)
	c2.SPIOut = 0x3000
	in2, out2, err := x.opts.states(c2, DefaultReqIDBase+2)
	require.NoError(t, err)
	rec2 := &installed{engineReqID: 8, reqid: DefaultReqIDBase + 2, in: in2.withoutKeys(), out: out2.withoutKeys()}
	x.mu.Lock()
	x.children[spiKey{in2.Dst, in2.SPI}] = rec2
	x.bySPI[spiKey{in2.Dst, in2.SPI}] = rec2
	x.bySPI[spiKey{out2.Dst, out2.SPI}] = rec2
	x.mu.Unlock()
	got := x.resync()
	require.Len(t, got, 1)
	assert.True(t, got[0].Hard)
	assert.Equal(t, c2.SPIIn, got[0].SPIIn)
	assert.Empty(t, x.resync())
}

func TestReleaseSPI(t *testing.T) {
	requireNetns(t)
	ns := lab.NewNetns(t, "xrel")
	x := newInNetns(t, ns, Options{})
	local, remote := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1")
	spi, err := x.AllocSPI(local, remote)
	require.NoError(t, err)
	require.NoError(t, x.ReleaseSPI(local, remote, spi))
	assert.Empty(t, strings.TrimSpace(ipXfrm(t, ns, "state")), "the larval state is gone at once")
	assert.Error(t, x.ReleaseSPI(local, remote, spi), "only once")
}

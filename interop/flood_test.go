package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/interop/flood"
	"github.com/ikelab/ikelab/interop/lab"
)

// This file proves the defences of RFC 7296, Section 2.6 on a real
// network: the COOKIE round trip with strongSwan, alone and combined with
// INVALID_KE_PAYLOAD, and a flood from spoofed sources.

// pskConn is a swanctl connection "home" authenticating with labPSK.
func pskConn(local, remote, proposals string) string {
	return fmt.Sprintf(`connections {
	home {
		local_addrs = %s
		remote_addrs = %s
		proposals = %s
		vips = 0.0.0.0
		local {
			auth = psk
			id = alice@lab.example
		}
		remote {
			auth = psk
			id = %s
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
		secret = %q
	}
}
`, local, remote, proposals, remote, serverNet, labPSK)
}

// initRound is one IKE_SA_INIT request and the response to it, as
// captured.
type initRound struct {
	req, resp *wire.Message
}

// initRounds pairs the IKE_SA_INIT requests and responses of a capture in
// order. A retransmitted request (the same octets again) belongs to the
// round of its first copy, and every answer to it must be the first answer
// again, byte for byte (RFC 7296, Section 2.1): charon retransmits when it
// drops a response that arrived while it was still busy with the request
// ("already processing"), which a fast responder makes likely.
func initRounds(t *testing.T, path string) []initRound {
	t.Helper()
	var out []initRound
	for _, d := range readIKE(t, path) {
		if d.Msg.Exchange != wire.IKE_SA_INIT {
			continue
		}
		if !d.Msg.IsResponse() {
			if n := len(out); n == 0 || !bytes.Equal(out[n-1].req.Raw, d.Msg.Raw) {
				out = append(out, initRound{req: d.Msg})
			}
			continue
		}
		require.NotEmpty(t, out, "a response before any request")
		last := &out[len(out)-1]
		if last.resp != nil {
			assert.Equal(t, last.resp.Raw, d.Msg.Raw, "a retransmission answered as the first time")
			continue
		}
		last.resp = d.Msg
	}
	return out
}

// distinctAudits drops records that repeat an earlier one but for their
// time: a stateless answer (COOKIE, INVALID_KE_PAYLOAD) to a retransmitted
// request is recorded again.
func distinctAudits(recs []map[string]any) []map[string]any {
	var out []map[string]any
	seen := map[string]bool{}
	for _, a := range recs {
		c := maps.Clone(a)
		delete(c, "time")
		k := fmt.Sprint(c) // fmt prints maps sorted by key
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

func firstNotify(m *wire.Message) (*wire.Notify, bool) {
	if len(m.Payloads) == 0 {
		return nil, false
	}
	n, ok := m.Payloads[0].(*wire.Notify)
	return n, ok
}

func nonceOf(m *wire.Message) []byte {
	for _, p := range m.Payloads {
		if n, ok := p.(*wire.Nonce); ok {
			return n.Data
		}
	}
	return nil
}

func keGroupOf(m *wire.Message) wire.TransformID {
	for _, p := range m.Payloads {
		if k, ok := p.(*wire.KE); ok {
			return k.Group
		}
	}
	return 0
}

// TestNetCookies: with cookie_threshold 0 every IKE_SA_INIT must return a
// COOKIE first (RFC 7296, Section 2.6). strongSwan retries with it and the
// SA comes up. With a KE guess the policy does not take first, the COOKIE
// and INVALID_KE_PAYLOAD rounds combine as Section 2.6.1 shows: the
// initiator keeps the cookie and its nonce, changes only KEi, and the
// responder accepts the same cookie with the new key share.
func TestNetCookies(t *testing.T) {
	cases := []struct {
		name, proposals string
		// want lists the answers, in order, to the IKE_SA_INIT requests.
		want []wire.NotifyType
	}{
		{"Always", "aes128-sha256-modp2048", []wire.NotifyType{wire.COOKIE, 0}},
		{"WithInvalidKE", "aes128-sha256-curve25519-modp2048", []wire.NotifyType{wire.COOKIE, wire.INVALID_KE_PAYLOAD, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lab.RequireStrongSwan(t)
			cl, sv := lab.NewNetns(t, "cki"), lab.NewNetns(t, "cks")
			v := lab.Link(t, cl, sv, clientAddr+"/24", serverAddr+"/24")
			r := startResponderIn(t, sv, v.Iface(sv), nil, fmt.Sprintf("listen: %s\npool4: %s\nlocal_ts: [%s]\n"+
				"policy:\n  builtin: recommended\npsk: %s\ncookie_threshold: 0\n", serverAddr, vipPool, serverNet, labPSK), true)
			c := r.startClient(cl, pskConn(clientAddr, serverAddr, tc.proposals), nil, nil)
			r.initiate(true)
			sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			assert.Equal(t, "MODP_2048", sa.DHGroup)
			assert.Contains(t, r.responderLog(), "answering IKE_SA_INIT with a COOKIE")
			assert.Len(t, distinctAudits(r.auditWith("ike_sa_init")), len(tc.want)-1, "no audit, and no state, for the COOKIE round")
			r.checkWire(2 + 2*len(tc.want)) // the IKE_SA_INIT rounds and IKE_AUTH

			rounds := initRounds(t, r.capture.Path)
			require.Len(t, rounds, len(tc.want), "IKE_SA_INIT rounds")
			var cookie []byte
			for i, rd := range rounds {
				require.NotNil(t, rd.resp, "round %d answered", i)
				assert.Equal(t, rounds[0].req.SPIi, rd.req.SPIi, "one SPIi throughout")
				assert.Equal(t, nonceOf(rounds[0].req), nonceOf(rd.req), "Ni kept across retries (round %d)", i)
				if i > 0 {
					n, ok := firstNotify(rd.req)
					require.True(t, ok && n.NotifyType == wire.COOKIE, "round %d request starts with the COOKIE", i)
					assert.Equal(t, cookie, n.Data, "the cookie returned as received")
				}
				n, isNotify := firstNotify(rd.resp)
				if want := tc.want[i]; want != 0 {
					require.True(t, isNotify, "round %d answered with a notification", i)
					assert.Equal(t, want, n.NotifyType, "round %d", i)
					assert.True(t, rd.resp.SPIr.IsZero(), "a stateless answer has no SPIr")
					assert.Len(t, rd.resp.Payloads, 1)
					if want == wire.COOKIE {
						cookie = n.Data
						assert.Len(t, cookie, 33, "version octet and HMAC-SHA-256")
					}
					continue
				}
				assert.False(t, rd.resp.SPIr.IsZero(), "round %d created the IKE SA", i)
				assert.Equal(t, wire.MODP_2048, keGroupOf(rd.req))
			}
		})
	}
}

// Addresses of TestNetFlood. Everything lives in the test's namespaces:
// the legitimate client and the responder on one link, the flooder on
// another, and the spoofed sources in the RFC 2544 benchmarking block,
// routed by the responder back to the flooder, where nobody owns them.
const (
	floodClientAddr = "10.77.1.1"
	floodServerAddr = "10.77.1.2"
	flooderAddr     = "10.77.0.1"
	floodLinkAddr   = "10.77.0.2"
	floodSources    = "198.18.0.0/16"
)

// Flood parameters: 40,000 IKE_SA_INIT requests at 5,000 a second from up
// to 65,534 addresses, for 8 seconds (20 at most).
const (
	floodCount    = 40_000
	floodRate     = 5_000
	floodDuration = 20 * time.Second
)

// floodRSSBound is the most resident memory the responder may reach during
// the flood. Its baseline (a Go binary with a config, sockets and the lab
// PKI in memory) is 15 to 25 MiB here. Below the cookie threshold (10
// half-open SAs by default) it keeps a few KiB per SA; above it, no state
// at all: each datagram is handled on its socket's reader goroutine and
// answered with a COOKIE, so a flood costs only garbage the GC reclaims.
// Had the responder kept even 2 KiB per request, 40,000 requests would
// need 80 MiB more than the baseline. 64 MiB leaves room for the GC's
// headroom (GOGC=100 lets the heap double) without admitting per-request
// state.
const floodRSSBound = 64 << 20

// procMemory reads VmRSS and VmHWM (peak RSS) of a process, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing %s %q: %w", key, val, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// TestNetFlood: thousands of IKE_SA_INIT requests from spoofed sources hit
// the responder with its default thresholds. It switches to stateless
// COOKIEs (RFC 7296, Section 2.6) after ten half-open SAs, its memory
// stays bounded, and a strongSwan client connects during the flood,
// answering the COOKIE as any initiator must.
func TestNetFlood(t *testing.T) {
	lab.RequireStrongSwan(t)
	cl, sv, fl := lab.NewNetns(t, "fdc"), lab.NewNetns(t, "fds"), lab.NewNetns(t, "fdf")
	cv := lab.Link(t, cl, sv, floodClientAddr+"/24", floodServerAddr+"/24")
	fv := lab.Link(t, fl, sv, flooderAddr+"/30", floodLinkAddr+"/30")
	fl.Route(t, floodServerAddr+"/32", floodLinkAddr)
	// Replies to the spoofed sources go back to the flooder, which does not
	// forward: they die there, after the Sink has counted them.
	sv.Route(t, floodSources, flooderAddr)
	fl.Sysctl(t, "net.ipv4.ip_forward", "0")

	// Info level: no per-packet debug lines; the capture is on the
	// client's link only, where the legitimate exchange runs.
	r := startResponderIn(t, sv, cv.Iface(sv), nil, fmt.Sprintf("listen: %s\npool4: %s\nlocal_ts: [%s]\n"+
		"policy:\n  builtin: recommended\npsk: %s\n", floodServerAddr, vipPool, serverNet, labPSK), false)
	c := r.startClient(cl, pskConn(floodClientAddr, floodServerAddr, "aes128gcm16-prfsha256-ecp256"), nil, nil)
	pid := r.responder.Pid()
	baseRSS, _, err := procMemory(pid)
	require.NoError(t, err)

	req, err := flood.InitRequest("aes128gcm16-prfsha256-ecp256", netip.MustParseAddrPort("198.18.0.1:500"),
		netip.MustParseAddrPort(floodServerAddr+":500"))
	require.NoError(t, err)
	sink, err := flood.Listen(fl, fv.Iface(fl))
	require.NoError(t, err)
	defer sink.Close()

	// Sample the responder's resident memory while the flood runs.
	samplerDone := make(chan struct{})
	var peakRSS int64
	var samplerWG sync.WaitGroup
	samplerWG.Add(1)
	go func() {
		defer samplerWG.Done()
		for {
			if rss, _, err := procMemory(pid); err == nil && rss > peakRSS {
				peakRSS = rss
			}
			select {
			case <-samplerDone:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	type result struct {
		st  flood.Stats
		err error
	}
	floodDone := make(chan result, 1)
	go func() {
		st, err := flood.Run(context.Background(), flood.Config{Netns: fl, Sources: netip.MustParsePrefix(floodSources),
			Target: netip.MustParseAddrPort(floodServerAddr + ":500"), Request: req,
			Count: floodCount, Rate: floodRate, Duration: floodDuration, Seed: 5})
		floodDone <- result{st, err}
	}()

	lab.Eventually(t, 10*time.Second, "the responder answering the flood with COOKIEs", func() (bool, error) {
		if n := sink.Replies().Cookies; n < 2000 {
			return false, fmt.Errorf("%d COOKIEs so far", n)
		}
		return true, nil
	})
	start := time.Now()
	r.initiate(true)
	sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	connectTime := time.Since(start)
	connected := time.Now()
	require.Len(t, sa.Children, 1)
	midFlood := sink.Replies()

	res := <-floodDone
	require.NoError(t, res.err)
	st := res.st
	close(samplerDone)
	samplerWG.Wait()
	// Replies still in flight when the flood ended.
	time.Sleep(500 * time.Millisecond)
	replies := sink.Close()
	_, hwm, err := procMemory(pid)
	require.NoError(t, err)

	t.Logf("flood: %d IKE_SA_INIT sent (%d refused by the kernel) from %d addresses in %v: %.0f/s",
		st.Sent, st.SendErrors, st.Sources, st.End.Sub(st.Start).Round(time.Millisecond), st.Rate())
	t.Logf("replies: %d COOKIEs (%.0f/s), %d half-open SAs created, %d errors, %d other",
		replies.Cookies, float64(replies.Cookies)/replies.Last.Sub(replies.First).Seconds(), replies.Accepted, replies.Errors, replies.Other)
	t.Logf("strongSwan connected in %v, %v before the flood ended, %d COOKIEs into it",
		connectTime.Round(time.Millisecond), st.End.Sub(connected).Round(time.Millisecond), midFlood.Cookies)
	t.Logf("responder memory: %.1f MiB before, %.1f MiB peak sampled, VmHWM %.1f MiB (bound %d MiB)",
		mib(baseRSS), mib(peakRSS), mib(hwm), floodRSSBound>>20)
	logSize := len(r.responderLog())
	t.Logf("responder log: %d octets at level info", logSize)

	assert.GreaterOrEqual(t, st.Sent, floodCount*9/10, "the flood was sent")
	assert.Greater(t, st.Sources, floodCount/2, "from many addresses")
	assert.True(t, connected.Before(st.End), "strongSwan connected while the flood ran")
	assert.LessOrEqual(t, replies.Accepted, 10, "half-open SAs only up to the cookie threshold")
	assert.GreaterOrEqual(t, replies.Cookies+replies.Accepted, st.Sent*9/10, "the responder answered the flood")
	assert.Zero(t, replies.Errors)
	assert.Less(t, hwm, int64(floodRSSBound), "peak resident memory")
	assert.Contains(t, r.responderLog(), "answering IKE_SA_INIT with a COOKIE")
	assert.Contains(t, r.responderLog(), "similar lines suppressed", "one line a second speaks for the rest")
	// Before the responder rate-limited them, the per-request lines of
	// this flood made an 8 MB log; what remains is a line a second and
	// the exchanges it admitted.
	assert.Less(t, logSize, 256<<10, "the flood cannot fill the log")
	assert.Contains(t, c.Log(), "COOKIE", "strongSwan was asked for a COOKIE too")
	a := r.waitAudit("established")
	assert.Equal(t, floodClientAddr+":500", a["peer"])
	// The legitimate client's link: the COOKIE round, the admitted
	// IKE_SA_INIT and IKE_AUTH, well-formed and decryptable.
	r.checkWire(6)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

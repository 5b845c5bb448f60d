package vm

import (
	"bufio"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ipState is one state as `ip -s xfrm state list nokeys` prints it: the
// guest kernel's own account, read independently of the installer.
type ipState struct {
	Src, Dst   netip.Addr
	SPI, ReqID uint32
	Mode       string
	Flags      string
	// Algorithms by kind ("aead", "enc", "auth-trunc") and the ICV or
	// truncation length ip prints after them.
	Algs    map[string]string
	AlgBits map[string]int
	// Encap is "espinudp" with its ports for NAT-T states.
	Encap        string
	Sport, Dport uint16
	ReplayWindow int
	// Lifetime config (0 for INF) and counters.
	SoftBytes, HardBytes uint64
	SoftTime, HardTime   uint64
	Bytes, Packets       uint64
}

var (
	reStateHead = regexp.MustCompile(`^src (\S+) dst (\S+)$`)
	reStateID   = regexp.MustCompile(`^proto esp spi 0x([0-9a-f]+)(?:\(\d+\))? reqid (\d+)(?:\(0x[0-9a-f]+\))? mode (\S+)`)
	reReplay    = regexp.MustCompile(`^replay-window (\d+) seq 0x[0-9a-f]+(?: flag (.*?))?(?: \(0x[0-9a-f]+\))?$`)
	reESNWindow = regexp.MustCompile(`^replay_window (\d+),`)
	reAlg       = regexp.MustCompile(`^(aead|enc|auth-trunc|auth) (\S+) (?:<<Keys hidden>>|0x[0-9a-f]+)(?: \(\d+ bits\))?(?: (\d+))?$`)
	reEncap     = regexp.MustCompile(`^encap type (\S+) sport (\d+) dport (\d+)`)
	reBytes     = regexp.MustCompile(`^limit: soft (\S+)\(bytes\), hard (\S+)\(bytes\)$`)
	reTime      = regexp.MustCompile(`^expire add: soft (\d+)\(sec\), hard (\d+)\(sec\)$`)
	reCurrent   = regexp.MustCompile(`^(\d+)\(bytes\), (\d+)\(packets\)$`)
)

func parseIPXfrmState(out string) ([]ipState, error) {
	var states []ipState
	var cur *ipState
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := reStateHead.FindStringSubmatch(line); m != nil {
			states = append(states, ipState{Algs: map[string]string{}, AlgBits: map[string]int{}})
			cur = &states[len(states)-1]
			var err1, err2 error
			cur.Src, err1 = netip.ParseAddr(m[1])
			cur.Dst, err2 = netip.ParseAddr(m[2])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad state head %q", line)
			}
			continue
		}
		if cur == nil {
			if line != "" {
				return nil, fmt.Errorf("text before the first state: %q", line)
			}
			continue
		}
		if m := reStateID.FindStringSubmatch(line); m != nil {
			spi, _ := strconv.ParseUint(m[1], 16, 32)
			reqid, _ := strconv.ParseUint(m[2], 10, 32)
			cur.SPI, cur.ReqID, cur.Mode = uint32(spi), uint32(reqid), m[3]
		} else if m := reReplay.FindStringSubmatch(line); m != nil {
			cur.ReplayWindow, _ = strconv.Atoi(m[1])
			cur.Flags = m[2]
		} else if m := reESNWindow.FindStringSubmatch(line); m != nil {
			cur.ReplayWindow, _ = strconv.Atoi(m[1])
		} else if m := reAlg.FindStringSubmatch(line); m != nil {
			cur.Algs[m[1]] = m[2]
			if m[3] != "" {
				cur.AlgBits[m[1]], _ = strconv.Atoi(m[3])
			}
		} else if m := reEncap.FindStringSubmatch(line); m != nil {
			cur.Encap = m[1]
			sp, _ := strconv.ParseUint(m[2], 10, 16)
			dp, _ := strconv.ParseUint(m[3], 10, 16)
			cur.Sport, cur.Dport = uint16(sp), uint16(dp)
		} else if m := reBytes.FindStringSubmatch(line); m != nil {
			cur.SoftBytes, cur.HardBytes = limit(m[1]), limit(m[2])
		} else if m := reTime.FindStringSubmatch(line); m != nil {
			cur.SoftTime, cur.HardTime = limit(m[1]), limit(m[2])
		} else if m := reCurrent.FindStringSubmatch(line); m != nil {
			cur.Bytes, cur.Packets = limit(m[1]), limit(m[2])
		}
	}
	for _, s := range states {
		if s.SPI == 0 {
			return nil, fmt.Errorf("state %s->%s without an SPI line", s.Src, s.Dst)
		}
	}
	return states, nil
}

func limit(s string) uint64 {
	if s == "(INF)" {
		return 0
	}
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

// ipPolicy is one policy as `ip xfrm policy` prints it.
type ipPolicy struct {
	Sel, Dir         string
	TmplSrc, TmplDst string
	ReqID            uint32
	Mode             string
}

var (
	rePolicyDir  = regexp.MustCompile(`^dir (\S+) priority \d+`)
	rePolicyTmpl = regexp.MustCompile(`^tmpl src (\S+) dst (\S+)$`)
	rePolicyProt = regexp.MustCompile(`^proto esp reqid (\d+) mode (\S+)$`)
)

func parseIPXfrmPolicy(out string) []ipPolicy {
	var ps []ipPolicy
	var cur *ipPolicy
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(raw, "src ") {
			ps = append(ps, ipPolicy{Sel: line})
			cur = &ps[len(ps)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := rePolicyDir.FindStringSubmatch(line); m != nil {
			cur.Dir = m[1]
		} else if m := rePolicyTmpl.FindStringSubmatch(line); m != nil {
			cur.TmplSrc, cur.TmplDst = m[1], m[2]
		} else if m := rePolicyProt.FindStringSubmatch(line); m != nil {
			r, _ := strconv.ParseUint(m[1], 10, 32)
			cur.ReqID, cur.Mode = uint32(r), m[2]
		}
	}
	return ps
}

// Output of iproute2 6.1 in the guest, for the parsers.
const sampleStates = `src 192.0.2.2 dst 192.0.2.1
	proto esp spi 0x00002000(8192) reqid 5(0x00000005) mode tunnel
	replay-window 0 seq 0x00000000 flag esn (0x10000000)
	auth-trunc hmac(sha256) <<Keys hidden>> 128
	enc cbc(aes) <<Keys hidden>>
	anti-replay esn context:
	 seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0
	 replay_window 64, bitmap-length 2
	 00000000 00000000 
	sel src 0.0.0.0/0 dst 0.0.0.0/0 uid 0
	lifetime config:
	  limit: soft 1000(bytes), hard 2000(bytes)
	  limit: soft (INF)(packets), hard (INF)(packets)
	  expire add: soft 100(sec), hard 200(sec)
	  expire use: soft 0(sec), hard 0(sec)
	lifetime current:
	  336(bytes), 4(packets)
	  add 2026-11-28 15:08:58 use -
	stats:
	  replay-window 0 replay 0 failed 0
src 192.0.2.1 dst 192.0.2.2
	proto esp spi 0x00001000(4096) reqid 5(0x00000005) mode tunnel
	replay-window 32 seq 0x00000000 flag af-unspec (0x00100000)
	aead rfc4106(gcm(aes)) <<Keys hidden>> 128
	encap type espinudp sport 4500 dport 4500 addr 0.0.0.0
	anti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000
	lifetime config:
	  limit: soft (INF)(bytes), hard (INF)(bytes)
	  limit: soft (INF)(packets), hard (INF)(packets)
	  expire add: soft 0(sec), hard 0(sec)
	  expire use: soft 0(sec), hard 0(sec)
	lifetime current:
	  0(bytes), 0(packets)
	  add 2026-11-28 15:08:58 use -
	stats:
	  replay-window 0 replay 0 failed 0
`

const samplePolicies = `src 10.99.200.1/32 dst 10.99.1.0/24 
	dir fwd priority 799779 
	tmpl src 192.0.2.1 dst 192.0.2.2
		proto esp reqid 484442113 mode tunnel
src 10.99.1.0/24 dst 10.99.200.1/32 
	dir out priority 799779 
	tmpl src 192.0.2.2 dst 192.0.2.1
		proto esp reqid 484442113 mode tunnel
`

func TestParseIPXfrmState(t *testing.T) {
	st, err := parseIPXfrmState(sampleStates)
	require.NoError(t, err)
	require.Len(t, st, 2)
	esn, gcm := st[0], st[1]
	assert.Equal(t, uint32(0x2000), esn.SPI)
	assert.Equal(t, "192.0.2.2", esn.Src.String())
	assert.Equal(t, uint32(5), esn.ReqID)
	assert.Equal(t, "esn", esn.Flags)
	assert.Equal(t, 64, esn.ReplayWindow)
	assert.Equal(t, map[string]string{"auth-trunc": "hmac(sha256)", "enc": "cbc(aes)"}, esn.Algs)
	assert.Equal(t, 128, esn.AlgBits["auth-trunc"])
	assert.Equal(t, [4]uint64{1000, 2000, 100, 200}, [4]uint64{esn.SoftBytes, esn.HardBytes, esn.SoftTime, esn.HardTime})
	assert.Equal(t, [2]uint64{336, 4}, [2]uint64{esn.Bytes, esn.Packets})
	assert.Equal(t, "af-unspec", gcm.Flags)
	assert.Equal(t, "rfc4106(gcm(aes))", gcm.Algs["aead"])
	assert.Equal(t, 128, gcm.AlgBits["aead"])
	assert.Equal(t, "espinudp", gcm.Encap)
	assert.Equal(t, [2]uint16{4500, 4500}, [2]uint16{gcm.Sport, gcm.Dport})
	assert.Equal(t, 32, gcm.ReplayWindow)

	_, err = parseIPXfrmState("garbage\n")
	assert.Error(t, err)
}

func TestParseIPXfrmPolicy(t *testing.T) {
	ps := parseIPXfrmPolicy(samplePolicies)
	require.Len(t, ps, 2)
	assert.Equal(t, ipPolicy{Sel: "src 10.99.200.1/32 dst 10.99.1.0/24", Dir: "fwd", TmplSrc: "192.0.2.1", TmplDst: "192.0.2.2", ReqID: 484442113, Mode: "tunnel"}, ps[0])
	assert.Equal(t, "out", ps[1].Dir)
}

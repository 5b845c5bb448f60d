// Package flood sends a bounded flood of IKE_SA_INIT requests from spoofed
// source addresses, for the interop test that proves the responder's
// defences of RFC 7296, Section 2.6 (stateless COOKIEs above a half-open
// threshold) on a real network.
//
// It is built so that it cannot leave the lab:
//
//   - The raw socket is opened inside a lab network namespace, never in the
//     host's, so the datagrams go only where that namespace's routes lead.
//   - Spoofed sources must lie in address space that is private (RFC 1918)
//     or reserved for benchmarking (RFC 2544, 198.18.0.0/15), and so does
//     the target; anything else is refused before a socket is opened.
//   - Every flood is bounded by a packet count and a duration, both
//     required and both capped, and ends by itself.
//
// The replies to spoofed sources are routed back into the flooding
// namespace by the test's topology, where nothing owns those addresses and
// forwarding is off, so they die there; a Sink counts them on the way in.
package flood

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/interop/lab"
)

// Hard caps on one flood, far above what a test needs and low enough that a
// mistaken configuration cannot run for long.
const (
	MaxCount    = 1_000_000
	MaxDuration = 2 * time.Minute
	MaxRate     = 200_000 // packets per second
)

// allowedSpace is where spoofed sources and the target may lie: RFC 1918
// private networks and the RFC 2544 benchmarking block. Documentation and
// public space are refused, since a route could lead there.
var allowedSpace = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
}

// ErrUnsafe is returned (wrapped) for a configuration that could reach
// outside the lab or would not end by itself.
var ErrUnsafe = errors.New("flood: refusing an unsafe flood")

// Config is one flood.
type Config struct {
	// Netns is where the raw socket is opened. Required.
	Netns *lab.Netns
	// Sources are the spoofed source addresses, drawn uniformly at random
	// (IPv4; inside allowedSpace).
	Sources netip.Prefix
	// SourcePort is the UDP source port of every datagram (default 500,
	// as a real initiator).
	SourcePort uint16
	// Target is the responder's address and port (inside allowedSpace).
	Target netip.AddrPort
	// Request is an IKE_SA_INIT request (see InitRequest); every datagram
	// carries a copy with a fresh random SPIi.
	Request []byte
	// Count and Duration bound the flood: it ends after Count datagrams
	// or after Duration, whichever comes first. Both are required.
	Count    int
	Duration time.Duration
	// Rate is the pace in datagrams per second (default 5000).
	Rate int
	// Seed makes the sources and SPIs reproducible.
	Seed uint64
}

// Stats is what a flood did.
type Stats struct {
	// Sent counts datagrams the kernel accepted; SendErrors those it
	// refused (ENOBUFS when the device queue is full).
	Sent, SendErrors int
	// Sources counts distinct spoofed addresses used.
	Sources int
	// Start and End bracket the flood.
	Start, End time.Time
}

// Rate returns the achieved rate in datagrams per second.
func (s Stats) Rate() float64 {
	d := s.End.Sub(s.Start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.Sent) / d
}

func (c *Config) check() error {
	switch {
	case c.Netns == nil:
		return fmt.Errorf("%w: no network namespace (a flood never runs in the host's)", ErrUnsafe)
	case !c.Sources.IsValid() || !c.Sources.Addr().Is4():
		return fmt.Errorf("%w: source prefix %v is not IPv4", ErrUnsafe, c.Sources)
	case !inside(c.Sources):
		return fmt.Errorf("%w: source prefix %v is outside private and benchmarking space", ErrUnsafe, c.Sources)
	case !c.Target.Addr().Is4() || !inside(netip.PrefixFrom(c.Target.Addr(), 32)):
		return fmt.Errorf("%w: target %v is outside private and benchmarking space", ErrUnsafe, c.Target)
	case c.Count <= 0 || c.Count > MaxCount:
		return fmt.Errorf("%w: count %d not in 1..%d", ErrUnsafe, c.Count, MaxCount)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("%w: duration %v not in (0, %v]", ErrUnsafe, c.Duration, MaxDuration)
	case c.Rate < 0 || c.Rate > MaxRate:
		return fmt.Errorf("%w: rate %d not in 1..%d", ErrUnsafe, c.Rate, MaxRate)
	case len(c.Request) < ikeHeaderLen:
		return fmt.Errorf("flood: request of %d octets is no IKE message", len(c.Request))
	}
	return nil
}

// inside reports whether p lies entirely within allowedSpace.
func inside(p netip.Prefix) bool {
	for _, a := range allowedSpace {
		if a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// Run sends the flood and returns when it is over: after Count datagrams,
// after Duration, or when ctx ends.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	if cfg.SourcePort == 0 {
		cfg.SourcePort = 500
	}
	if cfg.Rate == 0 {
		cfg.Rate = 5000
	}
	if err := cfg.check(); err != nil {
		return Stats{}, err
	}
	// IPPROTO_RAW implies IP_HDRINCL: we write the IPv4 header, with the
	// spoofed source, ourselves (raw(7)).
	var fd int
	err := cfg.Netns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("flood: raw socket in %s: %w", cfg.Netns.Name, err)
	}
	defer unix.Close(fd)

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	to := &unix.SockaddrInet4{Addr: cfg.Target.Addr().As4()}
	b := newBuilder(cfg.Request, cfg.Target)
	used := map[netip.Addr]struct{}{}
	st := Stats{Start: time.Now()}
	deadline := st.Start.Add(cfg.Duration)
	// Pace in 1 ms steps: every step sends what the rate allows by then.
	for st.Sent+st.SendErrors < cfg.Count {
		now := time.Now()
		if now.After(deadline) || ctx.Err() != nil {
			break
		}
		due := min(cfg.Count, int(now.Sub(st.Start).Seconds()*float64(cfg.Rate))+1)
		for st.Sent+st.SendErrors < due {
			src := randomAddr(rng, cfg.Sources)
			used[src] = struct{}{}
			pkt := b.packet(netip.AddrPortFrom(src, cfg.SourcePort), rng.Uint64())
			if err := unix.Sendto(fd, pkt, 0, to); err != nil {
				st.SendErrors++
				continue
			}
			st.Sent++
		}
		time.Sleep(time.Millisecond)
	}
	st.End = time.Now()
	st.Sources = len(used)
	return st, nil
}

// randomAddr draws a host address of p (not its first or last address).
func randomAddr(rng *rand.Rand, p netip.Prefix) netip.Addr {
	base := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	if hostBits < 2 {
		return p.Addr()
	}
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n |= 1 + rng.Uint32N(uint32(1)<<hostBits-2)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

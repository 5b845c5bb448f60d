package xfrm

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/sa"
)

// Defaults for Options.
const (
	// DefaultReqIDBase and DefaultReqIDCount are the kernel reqids the
	// daemon owns unless told otherwise: far above strongSwan's (which
	// counts from 1) and libreswan's (which counts from 16384).
	DefaultReqIDBase  = 0x1ce00000
	DefaultReqIDCount = 1 << 20
	// DefaultReplayWindow is strongSwan's and the Linux default of 32
	// packets (RFC 4303, Section 3.4.3 asks for at least 32).
	DefaultReplayWindow = 32
	// maxLegacyReplayWindow is the largest window struct
	// xfrm_replay_state can express; larger ones go in an
	// xfrm_replay_state_esn even without ESN, as strongSwan does.
	maxLegacyReplayWindow = 32
	// maxReplayWindow bounds the bitmap the kernel allocates per state
	// (XFRMA_REPLAY_ESN_MAX allows 4096 octets).
	maxReplayWindow = 4096 * 8
	// policyPriorityBase ranks our policies: more specific selectors get
	// lower numbers, which the kernel tries first (the idea of strongSwan's
	// and libreswan's priorities; see priority).
	policyPriorityBase = 200000
)

// Options configures an Installer.
type Options struct {
	// ReqIDBase and ReqIDCount delimit the kernel reqids the installer
	// owns: ReqIDBase itself marks allocated SPIs, ReqIDBase+1 onwards
	// label child SAs. Cleanup deletes every state and policy in the range,
	// so it must not overlap another IKE daemon's. Default
	// DefaultReqIDBase and DefaultReqIDCount.
	ReqIDBase, ReqIDCount uint32
	// ReplayWindow is the anti-replay window of inbound states in packets
	// (RFC 4303, Section 3.4.3); 0 takes DefaultReplayWindow.
	ReplayWindow uint32
	// SoftFraction sets the soft lifetime of a child SA without one as a
	// fraction of its hard lifetime (time and bytes); 0 takes 0.9.
	SoftFraction float64
	// Log receives one line per state and policy change, never keys.
	Log *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.ReqIDBase == 0 {
		o.ReqIDBase = DefaultReqIDBase
	}
	if o.ReqIDCount == 0 {
		o.ReqIDCount = DefaultReqIDCount
	}
	if o.ReqIDCount < 2 || o.ReqIDBase > ^uint32(0)-o.ReqIDCount {
		return fmt.Errorf("xfrm: reqid range %#x+%d is unusable", o.ReqIDBase, o.ReqIDCount)
	}
	if o.ReplayWindow == 0 {
		o.ReplayWindow = DefaultReplayWindow
	}
	if o.ReplayWindow > maxReplayWindow {
		return fmt.Errorf("xfrm: replay window %d exceeds the kernel's %d", o.ReplayWindow, maxReplayWindow)
	}
	if o.SoftFraction == 0 {
		o.SoftFraction = 0.9
	}
	if o.SoftFraction <= 0 || o.SoftFraction > 1 {
		return fmt.Errorf("xfrm: soft lifetime fraction %v is not in (0, 1]", o.SoftFraction)
	}
	return nil
}

// owns reports whether a kernel reqid is in the installer's range.
func (o *Options) owns(reqid uint32) bool {
	return reqid >= o.ReqIDBase && reqid-o.ReqIDBase < o.ReqIDCount
}

// algo is one algorithm of a state, as the kernel names it.
type algo struct {
	Name string
	Key  []byte
	// Bits is the truncated ICV length of an integrity algorithm or the
	// ICV length of an AEAD; unused for a plain cipher.
	Bits int
}

// lifetime holds a state's limits; zero means none.
type lifetime struct {
	SoftTime, HardTime   time.Duration
	SoftBytes, HardBytes uint64
}

// stateSpec is one direction of a child SA as it goes into the kernel.
type stateSpec struct {
	Src, Dst     netip.Addr
	SPI          uint32
	ReqID        uint32
	Mode         sa.Mode
	Crypt, Auth  *algo
	AEAD         *algo
	Encap        *encap
	ESN          bool
	ReplayWindow uint32
	Inbound      bool
	Life         lifetime
}

// encap is ESP-in-UDP (RFC 3948), ports as this state's packets carry them.
type encap struct{ SrcPort, DstPort uint16 }

// id names the state without keys, for errors and logs.
func (s *stateSpec) id() string {
	return fmt.Sprintf("%s->%s spi 0x%08x", s.Src, s.Dst, s.SPI)
}

func (s *stateSpec) algNames() []string {
	var n []string
	for _, a := range []*algo{s.AEAD, s.Crypt, s.Auth} {
		if a != nil {
			n = append(n, a.Name)
		}
	}
	return n
}

// String renders the state as the ip(8) command that would add it, with
// the keys left out.
func (s *stateSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "src %s dst %s proto esp spi 0x%08x reqid %d mode %s", s.Src, s.Dst, s.SPI, s.ReqID, s.Mode)
	if s.ESN {
		b.WriteString(" flag esn")
	}
	fmt.Fprintf(&b, " replay-window %d", s.ReplayWindow)
	if s.AEAD != nil {
		fmt.Fprintf(&b, " aead '%s' KEY %d", s.AEAD.Name, s.AEAD.Bits)
	}
	if s.Crypt != nil {
		fmt.Fprintf(&b, " enc '%s' KEY", s.Crypt.Name)
	}
	if s.Auth != nil {
		fmt.Fprintf(&b, " auth-trunc '%s' KEY %d", s.Auth.Name, s.Auth.Bits)
	}
	if s.Encap != nil {
		fmt.Fprintf(&b, " encap espinudp %d %d 0.0.0.0", s.Encap.SrcPort, s.Encap.DstPort)
	}
	if l := s.Life; l != (lifetime{}) {
		fmt.Fprintf(&b, " time-soft %d time-hard %d", int64(l.SoftTime.Seconds()), int64(l.HardTime.Seconds()))
		if l.HardBytes != 0 {
			fmt.Fprintf(&b, " byte-soft %d byte-hard %d", l.SoftBytes, l.HardBytes)
		}
	}
	return b.String()
}

// states builds the inbound and outbound states of c under kernel reqid.
func (o *Options) states(c *sa.Child, reqid uint32) (in, out *stateSpec, err error) {
	local, remote := c.Local.Addr().Unmap(), c.Remote.Addr().Unmap()
	if !local.IsValid() || !remote.IsValid() || local.Is4() != remote.Is4() {
		return nil, nil, fmt.Errorf("xfrm: child SA addresses %s and %s are not of one family", c.Local, c.Remote)
	}
	// RFC 4303, Section 2.1: SPIs 1..255 are reserved and 0 means none.
	if c.SPIIn < 256 || c.SPIOut < 256 {
		return nil, nil, fmt.Errorf("xfrm: child SA SPIs %08x/%08x include a reserved value", c.SPIIn, c.SPIOut)
	}
	if c.Mode != sa.Tunnel && c.Mode != sa.Transport {
		return nil, nil, fmt.Errorf("xfrm: child SA mode %v is not supported", c.Mode)
	}
	algsIn, algsOut, err := algorithms(c)
	if err != nil {
		return nil, nil, err
	}
	window := o.ReplayWindow
	life := o.lifetime(c)
	in = &stateSpec{Src: remote, Dst: local, SPI: c.SPIIn, ReqID: reqid, Mode: c.Mode, ESN: c.ESN,
		ReplayWindow: window, Inbound: true, Life: life}
	out = &stateSpec{Src: local, Dst: remote, SPI: c.SPIOut, ReqID: reqid, Mode: c.Mode, ESN: c.ESN,
		ReplayWindow: 0, Life: life}
	if c.ESN {
		// The kernel keeps the high sequence bits in the ESN replay
		// state, which it needs in both directions and refuses with a
		// zero window.
		out.ReplayWindow = window
	}
	in.AEAD, in.Crypt, in.Auth = algsIn[0], algsIn[1], algsIn[2]
	out.AEAD, out.Crypt, out.Auth = algsOut[0], algsOut[1], algsOut[2]
	if c.Encap {
		// RFC 3948, Section 2.1: ESP rides in UDP between the IKE ports
		// the NAT mapped, so the same ports as the IKE SA.
		in.Encap = &encap{SrcPort: c.Remote.Port(), DstPort: c.Local.Port()}
		out.Encap = &encap{SrcPort: c.Local.Port(), DstPort: c.Remote.Port()}
		if in.Encap.SrcPort == 0 || in.Encap.DstPort == 0 {
			return nil, nil, fmt.Errorf("xfrm: NAT-T child SA without UDP ports (%s, %s)", c.Local, c.Remote)
		}
	}
	return in, out, nil
}

// algorithms returns [aead, crypt, auth] for each direction, checking that
// the keys have the lengths the kernel algorithms take.
func algorithms(c *sa.Child) (in, out [3]*algo, err error) {
	enc, err := crypto.KernelEncr(c.Encr, c.EncrKeyBits)
	if err != nil {
		return in, out, fmt.Errorf("xfrm: ESP encryption: %w", err)
	}
	encLen, integLen, err := crypto.ESPKeyLengths(c.Encr, c.EncrKeyBits, c.Integ)
	if err != nil {
		return in, out, fmt.Errorf("xfrm: ESP transforms: %w", err)
	}
	if enc.KeyBits != 8*encLen {
		return in, out, fmt.Errorf("xfrm: %s takes %d key bits, keying material gives %d", enc.Name, enc.KeyBits, 8*encLen)
	}
	for _, k := range [][]byte{c.EncKeyIn, c.EncKeyOut} {
		if len(k) != encLen {
			return in, out, fmt.Errorf("xfrm: %s key of %d octets, want %d", enc.Name, len(k), encLen)
		}
	}
	if enc.AEAD() {
		in[0] = &algo{Name: enc.Name, Key: c.EncKeyIn, Bits: enc.ICVBits}
		out[0] = &algo{Name: enc.Name, Key: c.EncKeyOut, Bits: enc.ICVBits}
		return in, out, nil
	}
	integ, err := crypto.KernelInteg(c.Integ)
	if err != nil {
		return in, out, fmt.Errorf("xfrm: ESP integrity: %w", err)
	}
	for _, k := range [][]byte{c.IntegKeyIn, c.IntegKeyOut} {
		if len(k) != integLen {
			return in, out, fmt.Errorf("xfrm: %s key of %d octets, want %d", integ.Name, len(k), integLen)
		}
	}
	in[1] = &algo{Name: enc.Name, Key: c.EncKeyIn}
	out[1] = &algo{Name: enc.Name, Key: c.EncKeyOut}
	in[2] = &algo{Name: integ.Name, Key: c.IntegKeyIn, Bits: integ.TruncBits}
	out[2] = &algo{Name: integ.Name, Key: c.IntegKeyOut, Bits: integ.TruncBits}
	return in, out, nil
}

// lifetime derives the kernel limits from the child's lifetimes: the hard
// ones as negotiated by policy, the soft ones (when the SA should be
// rekeyed, RFC 7296, Section 2.8) as given or a fraction of the hard ones.
func (o *Options) lifetime(c *sa.Child) lifetime {
	l := lifetime{HardTime: c.HardLife, SoftTime: c.SoftLife, HardBytes: c.HardBytes}
	if l.SoftTime == 0 && l.HardTime != 0 {
		l.SoftTime = time.Duration(float64(l.HardTime) * o.SoftFraction).Truncate(time.Second)
	}
	if l.HardTime != 0 && (l.SoftTime <= 0 || l.SoftTime > l.HardTime) {
		l.SoftTime = l.HardTime
	}
	if l.HardBytes != 0 {
		l.SoftBytes = uint64(float64(l.HardBytes) * o.SoftFraction)
	}
	return l
}

// policySpec is one kernel policy with its single ESP template.
type policySpec struct {
	Dir      dir
	Sel      selector
	Priority uint32
	// The template: outer addresses in tunnel mode, mode and reqid.
	TmplSrc, TmplDst netip.Addr
	Mode             sa.Mode
	ReqID            uint32
}

// dir is a policy direction (XFRM_POLICY_IN, _OUT, _FWD).
type dir uint8

const (
	dirIn  dir = 0
	dirOut dir = 1
	dirFwd dir = 2
)

func (d dir) String() string {
	switch d {
	case dirIn:
		return "in"
	case dirOut:
		return "out"
	case dirFwd:
		return "fwd"
	}
	return fmt.Sprintf("dir%d", d)
}

// policyKey is what makes a policy unique in the kernel (the selector and
// the direction; net/xfrm/xfrm_policy.c, xfrm_policy_insert).
type policyKey struct {
	Dir dir
	Sel selector
}

func (p *policySpec) key() policyKey { return policyKey{p.Dir, p.Sel} }

// String renders the policy as the ip(8) command that would add it.
func (p *policySpec) String() string {
	return fmt.Sprintf("%s dir %s priority %d tmpl src %s dst %s proto esp reqid %d mode %s",
		p.Sel, p.Dir, p.Priority, p.TmplSrc, p.TmplDst, p.ReqID, p.Mode)
}

// policies builds the policies of c under kernel reqid: out for what we
// send, in for what we receive and, in tunnel mode, fwd for what we receive
// and route on (RFC 4301, Section 5.2 checks decapsulated traffic against
// the SPD; Linux does so with in and fwd policies).
func policies(c *sa.Child, reqid uint32) ([]*policySpec, error) {
	sels, err := selectors(c.LocalTS, c.RemoteTS)
	if err != nil {
		return nil, err
	}
	local, remote := c.Local.Addr().Unmap(), c.Remote.Addr().Unmap()
	var out []*policySpec
	for _, s := range sels {
		prio := priority(s)
		out = append(out,
			&policySpec{Dir: dirOut, Sel: s, Priority: prio, TmplSrc: local, TmplDst: remote, Mode: c.Mode, ReqID: reqid},
			&policySpec{Dir: dirIn, Sel: s.reverse(), Priority: prio, TmplSrc: remote, TmplDst: local, Mode: c.Mode, ReqID: reqid})
		if c.Mode == sa.Tunnel {
			out = append(out, &policySpec{Dir: dirFwd, Sel: s.reverse(), Priority: prio, TmplSrc: remote, TmplDst: local, Mode: c.Mode, ReqID: reqid})
		}
	}
	return out, nil
}

// priority ranks a selector: longer prefixes first, then selectors with a
// protocol, then those with ports.
func priority(s selector) uint32 {
	p := uint32(policyPriorityBase - s.Src.Prefix.Bits() - s.Dst.Prefix.Bits())
	p <<= 2
	if s.Src.Mask == 0 && s.Dst.Mask == 0 {
		p += 2
	}
	if s.Proto == 0 {
		p++
	}
	return p
}

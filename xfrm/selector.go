package xfrm

import (
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/ikelab/ikelab/ike/wire"
)

// IKEv2 traffic selectors are address and port ranges (RFC 7296, Section
// 3.13.1); XFRM selectors are a prefix and a port under a mask per side
// (struct xfrm_selector). A range therefore becomes the fewest prefixes and
// port/mask blocks that cover it exactly, never more than it: a wider kernel
// selector would let traffic through that the peer did not agree to.

// maxPolicySelectors bounds the selectors one child SA may expand to: a
// pathological range (1.0.0.1..254.255.255.254 with ports 1..65534) would
// otherwise become thousands of kernel policies.
const maxPolicySelectors = 256

// side is one end of a kernel selector.
type side struct {
	Prefix netip.Prefix
	// Port and Mask select ports p with p&Mask == Port; Mask 0 is any.
	Port, Mask uint16
}

// selector is one XFRM selector, Src and Dst as the packet has them.
type selector struct {
	Src, Dst side
	Proto    uint8
}

// u128 is an address as a 128-bit number, for range arithmetic.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	b := a.As16()
	var v u128
	for i := 0; i < 8; i++ {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[8+i])
	}
	return v
}

func (v u128) addr(is4 bool) netip.Addr {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(v.hi >> (8 * i))
		b[15-i] = byte(v.lo >> (8 * i))
	}
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (v u128) less(w u128) bool { return v.hi < w.hi || v.hi == w.hi && v.lo < w.lo }

// trailingZeros counts the low zero bits (128 for zero).
func (v u128) trailingZeros() int {
	if v.lo != 0 {
		return bits.TrailingZeros64(v.lo)
	}
	return 64 + bits.TrailingZeros64(v.hi)
}

// plusBlock returns v + 2^n - 1 (the last address of a block of 2^n
// starting at v) and whether it did not overflow.
func (v u128) plusBlock(n int) (u128, bool) {
	var add u128
	switch {
	case n == 0:
		return v, true
	case n >= 128:
		add = u128{^uint64(0), ^uint64(0)}
	case n >= 64:
		add = u128{1<<(n-64) - 1, ^uint64(0)}
	default:
		add = u128{0, 1<<n - 1}
	}
	lo, c := bits.Add64(v.lo, add.lo, 0)
	hi, c2 := bits.Add64(v.hi, add.hi, c)
	return u128{hi, lo}, c2 == 0
}

func (v u128) next() (u128, bool) {
	lo, c := bits.Add64(v.lo, 1, 0)
	hi, c2 := bits.Add64(v.hi, 0, c)
	return u128{hi, lo}, c2 == 0
}

// rangePrefixes returns the fewest prefixes that cover start..end exactly.
// Both ends must be of one family and start <= end.
func rangePrefixes(start, end netip.Addr) []netip.Prefix {
	is4 := start.Is4()
	width := 128
	if is4 {
		width = 32
	}
	// IPv4 addresses sit in the low 32 bits of the ::ffff:0:0/96 range,
	// so the block arithmetic below is the same for both families as long
	// as blocks stay within the low width bits.
	cur, last := toU128(start), toU128(end)
	var out []netip.Prefix
	for !last.less(cur) {
		n := min(cur.trailingZeros(), width)
		for n > 0 {
			if e, ok := cur.plusBlock(n); ok && !last.less(e) {
				break
			}
			n--
		}
		out = append(out, netip.PrefixFrom(cur.addr(is4), width-n))
		e, _ := cur.plusBlock(n)
		var ok bool
		if cur, ok = e.next(); !ok || (is4 && cur.lo>>32 != 0xffff) {
			break // wrapped past the end of the address space
		}
	}
	return out
}

// portBlocks returns the fewest port/mask pairs that cover lo..hi exactly;
// the whole range is the single pair 0/0.
func portBlocks(lo, hi uint16) []side {
	var out []side
	cur, last := uint32(lo), uint32(hi)
	for cur <= last {
		n := 16
		if cur != 0 {
			n = bits.TrailingZeros32(cur)
		}
		for n > 0 && cur+(1<<n)-1 > last {
			n--
		}
		out = append(out, side{Port: uint16(cur), Mask: uint16(0xffff << n)})
		cur += 1 << n
	}
	return out
}

// selRange returns a selector's addresses in the form of its type: IPv4
// for TS_IPV4_ADDR_RANGE, 16-octet for TS_IPV6_ADDR_RANGE (where
// ::ffff:0:0/96 stays IPv6), and whether they form a range.
func selRange(sel wire.Selector) (start, end netip.Addr, ok bool) {
	start, end = sel.Start, sel.End
	if !start.IsValid() || !end.IsValid() {
		return start, end, false
	}
	if sel.TSType == wire.TS_IPV4_ADDR_RANGE {
		start, end = start.Unmap(), end.Unmap()
		if !start.Is4() || !end.Is4() {
			return start, end, false
		}
	} else {
		start, end = netip.AddrFrom16(start.As16()), netip.AddrFrom16(end.As16())
	}
	return start, end, !end.Less(start)
}

// sides expands one traffic selector into kernel selector ends.
func sides(sel wire.Selector) ([]side, error) {
	if sel.TSType != wire.TS_IPV4_ADDR_RANGE && sel.TSType != wire.TS_IPV6_ADDR_RANGE {
		return nil, fmt.Errorf("xfrm: traffic selector type %s cannot be installed", sel.TSType)
	}
	start, end, ok := selRange(sel)
	if !ok {
		return nil, fmt.Errorf("xfrm: traffic selector %s is not a valid address range", sel)
	}
	if sel.EndPort < sel.StartPort {
		return nil, fmt.Errorf("xfrm: traffic selector %s has an empty port range", sel)
	}
	ports := []side{{}}
	if !(sel.StartPort == 0 && sel.EndPort == 0xffff) {
		switch sel.IPProtocol {
		case 0:
			return nil, fmt.Errorf("xfrm: traffic selector %s restricts ports without a protocol", sel)
		case 1, 58:
			// RFC 7296, Section 3.13.1 packs ICMP type and code into the
			// port; XFRM keeps them in two selector fields. Nobody we
			// interoperate with asks for this, so refuse it plainly.
			return nil, fmt.Errorf("xfrm: ICMP type/code selector %s is not supported", sel)
		}
		ports = portBlocks(sel.StartPort, sel.EndPort)
	}
	var out []side
	for _, p := range rangePrefixes(start, end) {
		for _, pt := range ports {
			out = append(out, side{Prefix: p, Port: pt.Port, Mask: pt.Mask})
		}
	}
	return out, nil
}

// selectors returns the kernel selectors for traffic from the local to the
// remote selectors (the out direction): every pair of the same address
// family and compatible protocol. RFC 4301, Section 4.4.1.1: an SA's
// selectors are the cross product of the local and remote lists.
func selectors(local, remote []wire.Selector) ([]selector, error) {
	var out []selector
	for _, l := range local {
		ls, err := sides(l)
		if err != nil {
			return nil, err
		}
		for _, r := range remote {
			if l.TSType != r.TSType {
				continue
			}
			proto := l.IPProtocol
			switch {
			case l.IPProtocol == r.IPProtocol, r.IPProtocol == 0:
			case l.IPProtocol == 0:
				proto = r.IPProtocol
			default:
				continue // TCP here and UDP there: no packet matches both
			}
			rs, err := sides(r)
			if err != nil {
				return nil, err
			}
			for _, a := range ls {
				for _, b := range rs {
					out = append(out, selector{Src: a, Dst: b, Proto: proto})
					if len(out) > maxPolicySelectors {
						return nil, fmt.Errorf("xfrm: traffic selectors %v === %v need more than %d kernel policies", local, remote, maxPolicySelectors)
					}
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("xfrm: traffic selectors %v === %v have no address family or protocol in common", local, remote)
	}
	return out, nil
}

// reverse swaps the ends: the selector of the in and fwd directions.
func (s selector) reverse() selector { return selector{Src: s.Dst, Dst: s.Src, Proto: s.Proto} }

// String renders the selector as `ip xfrm policy` takes it.
func (s selector) String() string {
	str := fmt.Sprintf("src %s dst %s", s.Src.Prefix, s.Dst.Prefix)
	if s.Proto != 0 {
		str += fmt.Sprintf(" proto %d", s.Proto)
	}
	// ip(8) takes only a single port; masks are shown as port/mask.
	for _, p := range []struct {
		name string
		side
	}{{"sport", s.Src}, {"dport", s.Dst}} {
		switch p.Mask {
		case 0:
		case 0xffff:
			str += fmt.Sprintf(" %s %d", p.name, p.Port)
		default:
			str += fmt.Sprintf(" %s %d/0x%04x", p.name, p.Port, p.Mask)
		}
	}
	return str
}

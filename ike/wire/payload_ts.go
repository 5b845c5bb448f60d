package wire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// TSType is the TS Type of a traffic selector (RFC 7296, Section 3.13.1).
type TSType uint8

const (
	TS_IPV4_ADDR_RANGE TSType = 7
	TS_IPV6_ADDR_RANGE TSType = 8
	TS_FC_ADDR_RANGE   TSType = 9  // RFC 4595
	TS_SECLABEL        TSType = 10 // RFC 9478
)

// TS is a Traffic Selector payload, TSi or TSr (RFC 7296, Section 3.13).
type TS struct {
	Generic
	Responder bool // TSr rather than TSi
	Reserved  [3]byte
	Selectors []Selector
}

// Selector is one traffic selector. For address ranges Start/End are the
// addresses and ports; other types keep their octets in Raw.
type Selector struct {
	TSType     TSType
	IPProtocol uint8
	StartPort  uint16
	EndPort    uint16
	Start, End netip.Addr
	Raw        []byte // selector body after the length field, for other types
}

func (p *TS) Type() PayloadType {
	if p.Responder {
		return PayloadTSr
	}
	return PayloadTSi
}

func (p *TS) Summary() string { return p.Type().String() }

func (p *TS) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var n uint8
	if !s.ReadUint8(&n) || !s.CopyBytes(p.Reserved[:]) {
		return syntaxErr(p.Type(), "truncated header (%d octets)", len(body))
	}
	if n == 0 {
		return syntaxErr(p.Type(), "no traffic selectors")
	}
	p.Selectors = make([]Selector, 0, n) // n < 256: bounded
	for i := 1; i <= int(n); i++ {
		var typ, proto uint8
		var length uint16
		if !s.ReadUint8(&typ) || !s.ReadUint8(&proto) || !s.ReadUint16(&length) {
			return syntaxErr(p.Type(), "selector %d: truncated header", i)
		}
		var rest cryptobyte.String
		if length < 4 || !s.ReadBytes((*[]byte)(&rest), int(length)-4) {
			return syntaxErr(p.Type(), "selector %d: length %d does not fit", i, length)
		}
		sel := Selector{TSType: TSType(typ), IPProtocol: proto}
		var alen int
		switch sel.TSType {
		case TS_IPV4_ADDR_RANGE:
			alen = 4
		case TS_IPV6_ADDR_RANGE:
			alen = 16
		default:
			sel.Raw = rest
			p.Selectors = append(p.Selectors, sel)
			continue
		}
		// RFC 7296, Section 3.13.1: ports then two addresses; the length is
		// 16 octets for IPv4 and 40 for IPv6.
		var start, end []byte
		if len(rest) != 4+2*alen || !rest.ReadUint16(&sel.StartPort) || !rest.ReadUint16(&sel.EndPort) ||
			!rest.ReadBytes(&start, alen) || !rest.ReadBytes(&end, alen) {
			return syntaxErr(p.Type(), "selector %d: %s of length %d", i, sel.TSType, length)
		}
		sel.Start, _ = netip.AddrFromSlice(start)
		sel.End, _ = netip.AddrFromSlice(end)
		p.Selectors = append(p.Selectors, sel)
	}
	if !s.Empty() {
		return syntaxErr(p.Type(), "%d octets after %d selectors", len(s), n)
	}
	return nil
}

func (p *TS) appendBody(b []byte) ([]byte, error) {
	if len(p.Selectors) == 0 || len(p.Selectors) > 255 {
		return nil, fmt.Errorf("wire: %d traffic selectors", len(p.Selectors))
	}
	b = append(b, uint8(len(p.Selectors)))
	b = append(b, p.Reserved[:]...)
	for _, sel := range p.Selectors {
		start := len(b)
		b = append(b, uint8(sel.TSType), sel.IPProtocol, 0, 0)
		switch sel.TSType {
		case TS_IPV4_ADDR_RANGE, TS_IPV6_ADDR_RANGE:
			want4 := sel.TSType == TS_IPV4_ADDR_RANGE
			if !sel.Start.IsValid() || !sel.End.IsValid() || sel.Start.Is4() != want4 || sel.End.Is4() != want4 {
				return nil, fmt.Errorf("wire: %s with addresses %v-%v", sel.TSType, sel.Start, sel.End)
			}
			b = binary.BigEndian.AppendUint16(b, sel.StartPort)
			b = binary.BigEndian.AppendUint16(b, sel.EndPort)
			b = append(b, sel.Start.AsSlice()...)
			b = append(b, sel.End.AsSlice()...)
		default:
			b = append(b, sel.Raw...)
		}
		if len(b)-start > 0xffff {
			return nil, fmt.Errorf("wire: traffic selector too long")
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b, nil
}

func (t TSType) String() string {
	switch t {
	case TS_IPV4_ADDR_RANGE:
		return "TS_IPV4_ADDR_RANGE"
	case TS_IPV6_ADDR_RANGE:
		return "TS_IPV6_ADDR_RANGE"
	case TS_FC_ADDR_RANGE:
		return "TS_FC_ADDR_RANGE"
	case TS_SECLABEL:
		return "TS_SECLABEL"
	}
	return fmt.Sprintf("TS_TYPE_%d", uint8(t))
}

// String formats an address-range selector as strongSwan does:
// "10.0.0.0/24", "10.1.0.1..10.1.0.9[17/500]", "0.0.0.0/0" (protocol by number).
func (sel Selector) String() string { return string(sel.AppendTo(make([]byte, 0, 40))) }

// AppendTo appends what String returns to b.
func (sel Selector) AppendTo(b []byte) []byte {
	if sel.TSType != TS_IPV4_ADDR_RANGE && sel.TSType != TS_IPV6_ADDR_RANGE {
		return append(hex.AppendEncode(append(append(b, sel.TSType.String()...), '('), sel.Raw), ')')
	}
	if pfx, ok := rangePrefix(sel.Start, sel.End); ok {
		b = pfx.AppendTo(b)
	} else {
		b = appendAddrOrInvalid(append(appendAddrOrInvalid(b, sel.Start), ".."...), sel.End)
	}
	u := func(b []byte, v uint16) []byte { return strconv.AppendUint(b, uint64(v), 10) }
	switch {
	case sel.IPProtocol == 0 && sel.StartPort == 0 && sel.EndPort == 0xffff:
		return b
	case sel.StartPort == 0 && sel.EndPort == 0xffff:
		return append(u(append(b, '['), uint16(sel.IPProtocol)), ']')
	case sel.StartPort == sel.EndPort:
		return append(u(append(u(append(b, '['), uint16(sel.IPProtocol)), '/'), sel.StartPort), ']')
	default:
		b = u(append(u(append(b, '['), uint16(sel.IPProtocol)), '/'), sel.StartPort)
		return append(u(append(b, '-'), sel.EndPort), ']')
	}
}

// appendAddrOrInvalid appends a as netip.Addr.String prints it, which
// for the zero Addr is "invalid IP" (AppendTo appends nothing).
func appendAddrOrInvalid(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "invalid IP"...)
	}
	return a.AppendTo(b)
}

// rangePrefix returns the prefix that covers exactly start..end, if any.
func rangePrefix(start, end netip.Addr) (netip.Prefix, bool) {
	for bits := start.BitLen(); bits >= 0; bits-- {
		p, err := start.Prefix(bits)
		if err != nil || !p.IsValid() || p.Addr() != start {
			break
		}
		last := lastAddr(p)
		if last == end {
			return p, true
		}
		if end.Less(last) {
			break
		}
	}
	return netip.Prefix{}, false
}

// PrefixSelector returns the address-range selector that covers p, all
// protocols and ports.
func PrefixSelector(p netip.Prefix) Selector {
	t := TS_IPV4_ADDR_RANGE
	if p.Addr().Is6() {
		t = TS_IPV6_ADDR_RANGE
	}
	return Selector{TSType: t, EndPort: 0xffff, Start: p.Masked().Addr(), End: lastAddr(p)}
}

// lastAddr returns the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	for i := p.Bits(); i < len(a)*8; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	out, _ := netip.AddrFromSlice(a)
	return out
}

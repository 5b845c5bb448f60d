package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// CFGType is the CFG Type of a Configuration payload (RFC 7296, Section 3.15).
type CFGType uint8

const (
	CFG_REQUEST CFGType = 1
	CFG_REPLY   CFGType = 2
	CFG_SET     CFGType = 3
	CFG_ACK     CFGType = 4
)

// CPAttrType is a configuration attribute type (RFC 7296, Section 3.15.1;
// IANA "IKEv2 Configuration Payload Attribute Types").
type CPAttrType uint16

const (
	INTERNAL_IP4_ADDRESS    CPAttrType = 1
	INTERNAL_IP4_NETMASK    CPAttrType = 2
	INTERNAL_IP4_DNS        CPAttrType = 3
	INTERNAL_IP4_NBNS       CPAttrType = 4
	INTERNAL_IP4_DHCP       CPAttrType = 6
	APPLICATION_VERSION     CPAttrType = 7
	INTERNAL_IP6_ADDRESS    CPAttrType = 8
	INTERNAL_IP6_DNS        CPAttrType = 10
	INTERNAL_IP6_DHCP       CPAttrType = 12
	INTERNAL_IP4_SUBNET     CPAttrType = 13
	SUPPORTED_ATTRIBUTES    CPAttrType = 14
	INTERNAL_IP6_SUBNET     CPAttrType = 15
	MIP6_HOME_PREFIX        CPAttrType = 16 // RFC 5026
	INTERNAL_IP6_LINK       CPAttrType = 17 // RFC 5739
	INTERNAL_IP6_PREFIX     CPAttrType = 18 // RFC 5739
	HOME_AGENT_ADDRESS      CPAttrType = 19 // RFC 5555
	P_CSCF_IP4_ADDRESS      CPAttrType = 20 // RFC 7651
	P_CSCF_IP6_ADDRESS      CPAttrType = 21
	FTT_KAT                 CPAttrType = 22
	EXTERNAL_SOURCE_IP4_NAT CPAttrType = 23
	TIMEOUT_PERIOD_LIVENESS CPAttrType = 24
	INTERNAL_DNS_DOMAIN     CPAttrType = 25 // RFC 8598
	INTERNAL_DNSSEC_TA      CPAttrType = 26 // RFC 8598

	// Microsoft's private attributes, sent empty by every Windows client;
	// strongSwan answers them with the gateway's internal address.
	MS_INTERNAL_IP4_SERVER CPAttrType = 23456
	MS_INTERNAL_IP6_SERVER CPAttrType = 23457
)

type cpAttrInfo struct {
	name, short string
	lens        []int // permitted value lengths; nil: any
}

// RFC 7296, Section 3.15.1 fixes the value lengths of the address
// attributes ("0 or 4 octets" and so on).
var cpAttrs = map[CPAttrType]cpAttrInfo{
	INTERNAL_IP4_ADDRESS:    {"INTERNAL_IP4_ADDRESS", "ADDR", []int{0, 4}},
	INTERNAL_IP4_NETMASK:    {"INTERNAL_IP4_NETMASK", "MASK", []int{0, 4}},
	INTERNAL_IP4_DNS:        {"INTERNAL_IP4_DNS", "DNS", []int{0, 4}},
	INTERNAL_IP4_NBNS:       {"INTERNAL_IP4_NBNS", "NBNS", []int{0, 4}},
	INTERNAL_IP4_DHCP:       {"INTERNAL_IP4_DHCP", "DHCP", []int{0, 4}},
	APPLICATION_VERSION:     {"APPLICATION_VERSION", "VER", nil},
	INTERNAL_IP6_ADDRESS:    {"INTERNAL_IP6_ADDRESS", "ADDR6", []int{0, 17}},
	INTERNAL_IP6_DNS:        {"INTERNAL_IP6_DNS", "DNS6", []int{0, 16}},
	INTERNAL_IP6_DHCP:       {"INTERNAL_IP6_DHCP", "DHCP6", []int{0, 16}},
	INTERNAL_IP4_SUBNET:     {"INTERNAL_IP4_SUBNET", "SUBNET", []int{0, 8}},
	SUPPORTED_ATTRIBUTES:    {"SUPPORTED_ATTRIBUTES", "SUPP", nil},
	INTERNAL_IP6_SUBNET:     {"INTERNAL_IP6_SUBNET", "SUBNET6", []int{0, 17}},
	MIP6_HOME_PREFIX:        {"MIP6_HOME_PREFIX", "HOME6", nil},
	INTERNAL_IP6_LINK:       {"INTERNAL_IP6_LINK", "LINK6", nil},
	INTERNAL_IP6_PREFIX:     {"INTERNAL_IP6_PREFIX", "PREFIX6", nil},
	HOME_AGENT_ADDRESS:      {"HOME_AGENT_ADDRESS", "HA", nil},
	P_CSCF_IP4_ADDRESS:      {"P_CSCF_IP4_ADDRESS", "PCSCF", []int{0, 4}},
	P_CSCF_IP6_ADDRESS:      {"P_CSCF_IP6_ADDRESS", "PCSCF6", []int{0, 16}},
	FTT_KAT:                 {"FTT_KAT", "FTT_KAT", nil},
	EXTERNAL_SOURCE_IP4_NAT: {"EXTERNAL_SOURCE_IP4_NAT_INFO", "EXT_NAT", nil},
	TIMEOUT_PERIOD_LIVENESS: {"TIMEOUT_PERIOD_FOR_LIVENESS_CHECK", "LIVENESS", nil},
	INTERNAL_DNS_DOMAIN:     {"INTERNAL_DNS_DOMAIN", "DOMAIN", nil},
	INTERNAL_DNSSEC_TA:      {"INTERNAL_DNSSEC_TA", "DNSSEC_TA", nil},
	MS_INTERNAL_IP4_SERVER:  {"MS_INTERNAL_IP4_SERVER", "(23456)", []int{0, 4}},
	MS_INTERNAL_IP6_SERVER:  {"MS_INTERNAL_IP6_SERVER", "(23457)", []int{0, 16, 17}},
}

func (t CPAttrType) String() string {
	if a, ok := cpAttrs[t]; ok {
		return a.name
	}
	return fmt.Sprintf("CP_ATTRIBUTE_%d", uint16(t))
}

func (t CPAttrType) short() string {
	if a, ok := cpAttrs[t]; ok {
		return a.short
	}
	return fmt.Sprintf("(%d)", uint16(t))
}

// CP is the Configuration payload (RFC 7296, Section 3.15).
type CP struct {
	Generic
	CFGType    CFGType
	Reserved   [3]byte
	Attributes []CPAttribute
}

// CPAttribute is a configuration attribute. Its leading reserved bit is
// kept so that a decoded payload re-encodes unchanged.
type CPAttribute struct {
	Type        CPAttrType
	ReservedBit bool
	Value       []byte
}

func (p *CP) Type() PayloadType { return PayloadCP }

// Summary uses strongSwan's form: "CPRQ(ADDR DNS NBNS (23456) ADDR6)".
func (p *CP) Summary() string { return string(p.appendSummary(nil)) }

func (p *CP) appendSummary(b []byte) []byte {
	switch p.CFGType {
	case CFG_REQUEST:
		b = append(b, "CPRQ"...)
	case CFG_REPLY:
		b = append(b, "CPRP"...)
	case CFG_SET:
		b = append(b, "CPS"...)
	case CFG_ACK:
		b = append(b, "CPA"...)
	default:
		b = strconv.AppendUint(append(b, "CP"...), uint64(p.CFGType), 10)
	}
	b = append(b, '(')
	for i, a := range p.Attributes {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a.Type.short()...)
	}
	return append(b, ')')
}

func (p *CP) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var t uint8
	if !s.ReadUint8(&t) || !s.CopyBytes(p.Reserved[:]) {
		return syntaxErr(PayloadCP, "truncated header (%d octets)", len(body))
	}
	p.CFGType = CFGType(t)
	for !s.Empty() {
		var at uint16
		var a CPAttribute
		if !s.ReadUint16(&at) || !s.ReadUint16LengthPrefixed((*cryptobyte.String)(&a.Value)) {
			return syntaxErr(PayloadCP, "truncated attribute after %d attributes", len(p.Attributes))
		}
		a.Type, a.ReservedBit = CPAttrType(at&0x7fff), at&0x8000 != 0
		if err := a.check(); err != nil {
			return err
		}
		p.Attributes = append(p.Attributes, a)
	}
	return nil
}

func (a *CPAttribute) check() error {
	info, ok := cpAttrs[a.Type]
	if !ok || info.lens == nil {
		return nil
	}
	for _, n := range info.lens {
		if len(a.Value) == n {
			return nil
		}
	}
	return syntaxErr(PayloadCP, "%s of %d octets, must be one of %v", a.Type, len(a.Value), info.lens)
}

func (p *CP) appendBody(b []byte) ([]byte, error) {
	b = append(b, uint8(p.CFGType))
	b = append(b, p.Reserved[:]...)
	for _, a := range p.Attributes {
		if err := a.check(); err != nil {
			return nil, err
		}
		if len(a.Value) > 0xffff {
			return nil, fmt.Errorf("wire: %s of %d octets", a.Type, len(a.Value))
		}
		t := uint16(a.Type) & 0x7fff
		if a.ReservedBit {
			t |= 0x8000
		}
		b = binary.BigEndian.AppendUint16(b, t)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, nil
}

// Addr returns the address an IPv4/IPv6 address attribute carries (the
// prefix-length octet of INTERNAL_IP6_ADDRESS is dropped).
func (a *CPAttribute) Addr() (netip.Addr, bool) {
	v := a.Value
	if len(v) == 17 {
		v = v[:16]
	}
	if len(v) != 4 && len(v) != 16 {
		return netip.Addr{}, false
	}
	return netip.AddrFromSlice(v)
}

// String formats an attribute for dumps: "INTERNAL_IP4_ADDRESS 10.0.0.1".
func (a *CPAttribute) String() string {
	if len(a.Value) == 0 {
		return a.Type.String()
	}
	// Text attributes first: a 4-octet version string is not an address.
	if a.Type == APPLICATION_VERSION || a.Type == INTERNAL_DNS_DOMAIN {
		return fmt.Sprintf("%s %q", a.Type, a.Value)
	}
	if addr, ok := a.Addr(); ok {
		if len(a.Value) == 17 {
			return fmt.Sprintf("%s %s/%d", a.Type, addr, a.Value[16])
		}
		return fmt.Sprintf("%s %s", a.Type, addr)
	}
	return fmt.Sprintf("%s %x", a.Type, a.Value)
}

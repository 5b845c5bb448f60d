package lab

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IKE SA states as vici reports them (strongSwan ike_sa_state_t).
const (
	IKEStateCreated     = "CREATED"
	IKEStateConnecting  = "CONNECTING"
	IKEStateEstablished = "ESTABLISHED"
	IKEStatePassive     = "PASSIVE"
	IKEStateRekeying    = "REKEYING"
	IKEStateRekeyed     = "REKEYED"
	IKEStateDeleting    = "DELETING"
	IKEStateDestroying  = "DESTROYING"
)

// CHILD SA states as vici reports them (strongSwan child_sa_state_t).
const (
	ChildStateCreated    = "CREATED"
	ChildStateRouted     = "ROUTED"
	ChildStateInstalling = "INSTALLING"
	ChildStateInstalled  = "INSTALLED"
	ChildStateUpdating   = "UPDATING"
	ChildStateRekeying   = "REKEYING"
	ChildStateRekeyed    = "REKEYED"
	ChildStateRetrying   = "RETRYING"
	ChildStateDeleting   = "DELETING"
	ChildStateDeleted    = "DELETED"
	ChildStateDestroying = "DESTROYING"
)

// IKESA is one IKE SA as charon's vici list-sas reports it. Algorithm names
// are strongSwan's (AES_CBC, HMAC_SHA2_256_128, PRF_HMAC_SHA2_256,
// MODP_2048); numbers are as printed, in seconds for times.
type IKESA struct {
	Name     string // the connection name
	UniqueID uint32
	Version  int
	State    string

	LocalHost  netip.Addr
	LocalPort  uint16
	LocalID    string
	RemoteHost netip.Addr
	RemotePort uint16
	RemoteID   string
	// RemoteEAPID and RemoteXAuthID are the identities proven in EAP or
	// XAuth rounds, if any.
	RemoteEAPID, RemoteXAuthID string

	Initiator    bool // this charon initiated the IKE SA
	InitiatorSPI uint64
	ResponderSPI uint64

	// NAT detection results (RFC 7296, Section 2.23): NATLocal means this
	// side is behind a NAT, NATRemote the peer; NATFake that charon faked
	// one (encap = yes); NATAny any of these. kernel-libipsec always fakes
	// a NAT on the initiator's side, see the package documentation.
	NATLocal, NATRemote, NATFake, NATAny bool

	EncrAlg      string
	EncrKeySize  int
	IntegAlg     string
	IntegKeySize int
	PRFAlg       string
	DHGroup      string

	Established int // seconds since establishment
	RekeyTime   int // seconds until rekeying
	ReauthTime  int // seconds until reauthentication

	LocalVIPs  []netip.Addr // virtual IPs this side got (initiator with vips)
	RemoteVIPs []netip.Addr // virtual IPs this side assigned to the peer

	Children []ChildSA

	// Raw holds every scalar key as printed, including those without a
	// field above.
	Raw map[string]string
}

// ChildSA is one CHILD SA of an IKESA.
type ChildSA struct {
	Name     string // the child config name (the vici section is name-uniqueid)
	UniqueID uint32
	ReqID    uint32
	State    string
	Mode     string // TUNNEL, TRANSPORT, BEET, ...
	Protocol string // ESP or AH
	Encap    bool   // ESP in UDP (RFC 3948)

	SPIIn, SPIOut uint32

	EncrAlg      string
	EncrKeySize  int
	IntegAlg     string
	IntegKeySize int
	DHGroup      string // PFS group, if any
	ESN          bool

	BytesIn, PacketsIn, BytesOut, PacketsOut uint64

	RekeyTime, LifeTime, InstallTime int

	// Traffic selectors as strongSwan prints them: a prefix, optionally
	// followed by [protocol/port].
	LocalTS, RemoteTS []string

	Raw map[string]string
}

// Child returns the CHILD SA with the given config name, if there is one.
func (sa *IKESA) Child(name string) (ChildSA, bool) {
	for _, c := range sa.Children {
		if c.Name == name {
			return c, true
		}
	}
	return ChildSA{}, false
}

// String summarises the SA for failure messages.
func (sa IKESA) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s[%d] %s %s...%s", sa.Name, sa.UniqueID, sa.State,
		netip.AddrPortFrom(sa.LocalHost, sa.LocalPort), netip.AddrPortFrom(sa.RemoteHost, sa.RemotePort))
	for _, c := range sa.Children {
		fmt.Fprintf(&b, " {%s[%d] %s %v === %v}", c.Name, c.UniqueID, c.State, c.LocalTS, c.RemoteTS)
	}
	return b.String()
}

// viciSection is the tree swanctl --pretty prints: settings, lists and
// subsections, in order.
type viciSection struct {
	name     string
	values   map[string]string
	lists    map[string][]string
	sections []*viciSection
}

func newViciSection(name string) *viciSection {
	return &viciSection{name: name, values: map[string]string{}, lists: map[string][]string{}}
}

// parseViciPretty parses the output of swanctl --pretty: one message per
// top-level section ("list-sa event {", "list-sas reply {"), each line one
// of "name {", "}", "key = value", "key = [", a list item, or "]". Unlike
// --raw, which puts everything on one line without quoting, each value here
// ends at the line break, so IDs containing blanks or "=" parse correctly.
func parseViciPretty(out string) ([]*viciSection, error) {
	root := newViciSection("")
	stack := []*viciSection{root}
	listKey := "" // non-empty while inside "key = [" ... "]"
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		cur := stack[len(stack)-1]
		switch {
		case line == "":
		case listKey != "":
			if line == "]" {
				listKey = ""
			} else {
				cur.lists[listKey] = append(cur.lists[listKey], line)
			}
		case line == "}":
			if len(stack) == 1 {
				return nil, fmt.Errorf("lab: vici output line %d: unbalanced }", lineNo)
			}
			stack = stack[:len(stack)-1]
		default:
			if key, value, ok := strings.Cut(line, " = "); ok && !strings.Contains(key, " ") {
				if value == "[" {
					listKey = key
					cur.lists[key] = []string{}
				} else {
					cur.values[key] = value
				}
				continue
			}
			if name, ok := strings.CutSuffix(line, " {"); ok && name != "" {
				s := newViciSection(name)
				cur.sections = append(cur.sections, s)
				stack = append(stack, s)
				continue
			}
			return nil, fmt.Errorf("lab: vici output line %d: cannot parse %q", lineNo, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lab: reading vici output: %w", err)
	}
	if len(stack) != 1 || listKey != "" {
		return nil, fmt.Errorf("lab: vici output ends inside a section or list")
	}
	return root.sections, nil
}

// parseListSAs turns swanctl --list-sas --pretty output into IKE SAs: every
// "list-sa event" message carries one IKE SA section named after its
// connection.
func parseListSAs(out string) ([]IKESA, error) {
	msgs, err := parseViciPretty(out)
	if err != nil {
		return nil, err
	}
	var sas []IKESA
	for _, m := range msgs {
		if m.name != "list-sa event" {
			continue
		}
		for _, s := range m.sections {
			sa, err := ikeSAFromSection(s)
			if err != nil {
				return nil, err
			}
			sas = append(sas, sa)
		}
	}
	return sas, nil
}

// fieldReader converts vici values, remembering the first conversion error
// so that the caller checks once.
type fieldReader struct {
	s   *viciSection
	err error
}

func (r *fieldReader) fail(key, v string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("lab: vici section %q: %s = %q: %w", r.s.name, key, v, err)
	}
}

func (r *fieldReader) str(key string) string { return r.s.values[key] }

func (r *fieldReader) yes(key string) bool { return r.s.values[key] == "yes" }

func (r *fieldReader) uint(key string, bits int) uint64 {
	v, ok := r.s.values[key]
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		r.fail(key, v, err)
	}
	return n
}

func (r *fieldReader) int(key string) int {
	v, ok := r.s.values[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(key, v, err)
	}
	return n
}

func (r *fieldReader) hex(key string, bits int) uint64 {
	v, ok := r.s.values[key]
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(v, 16, bits)
	if err != nil {
		r.fail(key, v, err)
	}
	return n
}

func (r *fieldReader) addr(key string) netip.Addr {
	v, ok := r.s.values[key]
	if !ok {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		r.fail(key, v, err)
	}
	return a
}

func (r *fieldReader) addrs(key string) []netip.Addr {
	var out []netip.Addr
	for _, v := range r.s.lists[key] {
		a, err := netip.ParseAddr(v)
		if err != nil {
			r.fail(key, v, err)
			continue
		}
		out = append(out, a)
	}
	return out
}

func ikeSAFromSection(s *viciSection) (IKESA, error) {
	r := &fieldReader{s: s}
	sa := IKESA{
		Name:          s.name,
		UniqueID:      uint32(r.uint("uniqueid", 32)),
		Version:       r.int("version"),
		State:         r.str("state"),
		LocalHost:     r.addr("local-host"),
		LocalPort:     uint16(r.uint("local-port", 16)),
		LocalID:       r.str("local-id"),
		RemoteHost:    r.addr("remote-host"),
		RemotePort:    uint16(r.uint("remote-port", 16)),
		RemoteID:      r.str("remote-id"),
		RemoteEAPID:   r.str("remote-eap-id"),
		RemoteXAuthID: r.str("remote-xauth-id"),
		Initiator:     r.yes("initiator"),
		InitiatorSPI:  r.hex("initiator-spi", 64),
		ResponderSPI:  r.hex("responder-spi", 64),
		NATLocal:      r.yes("nat-local"),
		NATRemote:     r.yes("nat-remote"),
		NATFake:       r.yes("nat-fake"),
		NATAny:        r.yes("nat-any"),
		EncrAlg:       r.str("encr-alg"),
		EncrKeySize:   r.int("encr-keysize"),
		IntegAlg:      r.str("integ-alg"),
		IntegKeySize:  r.int("integ-keysize"),
		PRFAlg:        r.str("prf-alg"),
		DHGroup:       r.str("dh-group"),
		Established:   r.int("established"),
		RekeyTime:     r.int("rekey-time"),
		ReauthTime:    r.int("reauth-time"),
		LocalVIPs:     r.addrs("local-vips"),
		RemoteVIPs:    r.addrs("remote-vips"),
		Raw:           s.values,
	}
	for _, sec := range s.sections {
		if sec.name != "child-sas" {
			continue
		}
		for _, cs := range sec.sections {
			c, err := childSAFromSection(cs)
			if err != nil {
				return IKESA{}, err
			}
			sa.Children = append(sa.Children, c)
		}
	}
	return sa, r.err
}

func childSAFromSection(s *viciSection) (ChildSA, error) {
	r := &fieldReader{s: s}
	c := ChildSA{
		Name:         r.str("name"),
		UniqueID:     uint32(r.uint("uniqueid", 32)),
		ReqID:        uint32(r.uint("reqid", 32)),
		State:        r.str("state"),
		Mode:         r.str("mode"),
		Protocol:     r.str("protocol"),
		Encap:        r.yes("encap"),
		SPIIn:        uint32(r.hex("spi-in", 32)),
		SPIOut:       uint32(r.hex("spi-out", 32)),
		EncrAlg:      r.str("encr-alg"),
		EncrKeySize:  r.int("encr-keysize"),
		IntegAlg:     r.str("integ-alg"),
		IntegKeySize: r.int("integ-keysize"),
		DHGroup:      r.str("dh-group"),
		ESN:          r.str("esn") == "1" || r.yes("esn"),
		BytesIn:      r.uint("bytes-in", 64),
		PacketsIn:    r.uint("packets-in", 64),
		BytesOut:     r.uint("bytes-out", 64),
		PacketsOut:   r.uint("packets-out", 64),
		RekeyTime:    r.int("rekey-time"),
		LifeTime:     r.int("life-time"),
		InstallTime:  r.int("install-time"),
		LocalTS:      s.lists["local-ts"],
		RemoteTS:     s.lists["remote-ts"],
		Raw:          s.values,
	}
	if c.Name == "" {
		// Older charons name only the section, "name-uniqueid".
		c.Name = s.name
		if i := strings.LastIndexByte(s.name, '-'); i > 0 {
			c.Name = s.name[:i]
		}
	}
	return c, r.err
}

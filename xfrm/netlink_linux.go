package xfrm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/sa"
)

// requestTimeout bounds one netlink request; the kernel answers XFRM
// requests at once, so a timeout means something is badly wrong.
const requestTimeout = 5 * time.Second

// conn is an XFRM netlink socket, opened in the network namespace of the
// calling thread and bound to it for good.
type conn struct {
	sock    *nl.NetlinkSocket
	sockets map[int]*nl.SocketHandle
}

// dial opens an XFRM netlink socket with extended acknowledgements, so that
// errors carry the kernel's explanation.
func dial() (*conn, error) {
	// Subscribe without groups is a plain, non-blocking socket whose reads
	// and writes honour deadlines and wake up on Close.
	s, err := nl.Subscribe(unix.NETLINK_XFRM)
	if err != nil {
		return nil, socketError(err)
	}
	tv := unix.NsecToTimeval(requestTimeout.Nanoseconds())
	s.SetSendTimeout(&tv)
	s.SetReceiveTimeout(&tv)
	// Best effort: kernels before 4.12 have no extended acks.
	_ = s.SetExtAck(true)
	return &conn{sock: s, sockets: map[int]*nl.SocketHandle{unix.NETLINK_XFRM: {Socket: s}}}, nil
}

func (c *conn) close() { c.sock.Close() }

// request starts a message of type typ on this socket.
func (c *conn) request(typ, flags int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(typ, flags)
	req.Sockets = c.sockets
	return req
}

// xfrmAddr encodes an address in an xfrm_address_t: IPv4 in the first four
// octets, IPv6 in all sixteen. The zero Addr is all zeros.
func xfrmAddr(a netip.Addr) nl.XfrmAddress {
	var x nl.XfrmAddress
	switch {
	case !a.IsValid():
	case a.Is4():
		b := a.As4()
		copy(x[:], b[:])
	default:
		b := a.As16()
		copy(x[:], b[:])
	}
	return x
}

func afOf(a netip.Addr) uint16 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func kernelMode(m sa.Mode) uint8 {
	if m == sa.Transport {
		return 0 // XFRM_MODE_TRANSPORT
	}
	return 1 // XFRM_MODE_TUNNEL
}

// be16 stores a port as the kernel's __be16 fields expect it in memory.
func be16(v uint16) uint16 { return nl.Swap16(v) }

func xfrmSelector(s selector) nl.XfrmSelector {
	return nl.XfrmSelector{
		Daddr: xfrmAddr(s.Dst.Prefix.Addr()), Saddr: xfrmAddr(s.Src.Prefix.Addr()),
		Dport: be16(s.Dst.Port), DportMask: be16(s.Dst.Mask),
		Sport: be16(s.Src.Port), SportMask: be16(s.Src.Mask),
		Family:     afOf(s.Src.Prefix.Addr()),
		PrefixlenD: uint8(s.Dst.Prefix.Bits()), PrefixlenS: uint8(s.Src.Prefix.Bits()),
		Proto: s.Proto,
	}
}

func lifetimeCfg(l lifetime) nl.XfrmLifetimeCfg {
	cfg := nl.XfrmLifetimeCfg{
		SoftByteLimit: nl.XFRM_INF, HardByteLimit: nl.XFRM_INF,
		SoftPacketLimit: nl.XFRM_INF, HardPacketLimit: nl.XFRM_INF,
		SoftAddExpiresSeconds: uint64(l.SoftTime / time.Second),
		HardAddExpiresSeconds: uint64(l.HardTime / time.Second),
	}
	if l.HardBytes != 0 {
		cfg.SoftByteLimit, cfg.HardByteLimit = l.SoftBytes, l.HardBytes
	}
	return cfg
}

// Flags of struct xfrm_usersa_info (linux/xfrm.h).
const (
	stateFlagAFUnspec = nl.XFRM_STATE_AF_UNSPEC
	stateFlagESN      = nl.XFRM_STATE_ESN
)

// addState sends XFRM_MSG_NEWSA, or XFRM_MSG_UPDSA to complete a state
// whose SPI the kernel allocated.
//
// Equivalent to:
//
//	ip xfrm state {add|update} src SRC dst DST proto esp spi SPI reqid REQID mode MODE \
//	    [flag esn] replay-window N {aead NAME KEY ICV | enc NAME KEY auth-trunc NAME KEY TRUNC} \
//	    [encap espinudp SPORT DPORT 0.0.0.0] [time-soft S time-hard H byte-soft B byte-hard B]
func (c *conn) addState(s *stateSpec, update bool) error {
	typ := nl.XFRM_MSG_NEWSA
	if update {
		typ = nl.XFRM_MSG_UPDSA
	}
	req := c.request(typ, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	info := &nl.XfrmUsersaInfo{
		Id:     nl.XfrmId{Daddr: xfrmAddr(s.Dst), Spi: nl.Swap32(s.SPI), Proto: unix.IPPROTO_ESP},
		Saddr:  xfrmAddr(s.Src),
		Lft:    lifetimeCfg(s.Life),
		Reqid:  s.ReqID,
		Family: afOf(s.Dst),
		Mode:   kernelMode(s.Mode),
	}
	if s.Mode == sa.Tunnel {
		// An empty selector of no family: the tunnel carries IPv4 and
		// IPv6 alike, whatever the outer family (the policies decide what
		// enters it). Without the flag the kernel would give the selector
		// the outer family.
		info.Flags |= stateFlagAFUnspec
	}
	useESNReplay := s.ESN || s.ReplayWindow > maxLegacyReplayWindow
	if s.ESN {
		info.Flags |= stateFlagESN
	}
	if !useESNReplay {
		info.ReplayWindow = uint8(s.ReplayWindow)
	}
	req.AddData(info)
	if s.AEAD != nil {
		a := &nl.XfrmAlgoAEAD{AlgKeyLen: uint32(8 * len(s.AEAD.Key)), AlgICVLen: uint32(s.AEAD.Bits), AlgKey: s.AEAD.Key}
		copy(a.AlgName[:len(a.AlgName)-1], s.AEAD.Name)
		req.AddData(nl.NewRtAttr(nl.XFRMA_ALG_AEAD, a.Serialize()))
	}
	if s.Crypt != nil {
		a := &nl.XfrmAlgo{AlgKeyLen: uint32(8 * len(s.Crypt.Key)), AlgKey: s.Crypt.Key}
		copy(a.AlgName[:len(a.AlgName)-1], s.Crypt.Name)
		req.AddData(nl.NewRtAttr(nl.XFRMA_ALG_CRYPT, a.Serialize()))
	}
	if s.Auth != nil {
		a := &nl.XfrmAlgoAuth{AlgKeyLen: uint32(8 * len(s.Auth.Key)), AlgTruncLen: uint32(s.Auth.Bits), AlgKey: s.Auth.Key}
		copy(a.AlgName[:len(a.AlgName)-1], s.Auth.Name)
		req.AddData(nl.NewRtAttr(nl.XFRMA_ALG_AUTH_TRUNC, a.Serialize()))
	}
	if s.Encap != nil {
		e := &nl.XfrmEncapTmpl{EncapType: unix.UDP_ENCAP_ESPINUDP, EncapSport: be16(s.Encap.SrcPort), EncapDport: be16(s.Encap.DstPort)}
		req.AddData(nl.NewRtAttr(nl.XFRMA_ENCAP, e.Serialize()))
	}
	if useESNReplay {
		req.AddData(nl.NewRtAttr(nl.XFRMA_REPLAY_ESN_VAL, replayESN(s.ReplayWindow)))
	}
	_, err := req.Execute(unix.NETLINK_XFRM, 0)
	wipe(req)
	return err
}

// replayESN encodes struct xfrm_replay_state_esn for a fresh state: all
// sequence numbers zero and a zeroed bitmap of window bits.
func replayESN(window uint32) []byte {
	words := (window + 31) / 32
	b := make([]byte, 24+4*words)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], words) // bmp_len
	// oseq, seq, oseq_hi, seq_hi stay zero.
	ne.PutUint32(b[20:], window) // replay_window
	return b
}

// wipe zeroes the serialised key material a request still references.
func wipe(req *nl.NetlinkRequest) {
	for _, d := range req.Data {
		if a, ok := d.(*nl.RtAttr); ok {
			switch a.Type {
			case nl.XFRMA_ALG_AEAD, nl.XFRMA_ALG_CRYPT, nl.XFRMA_ALG_AUTH_TRUNC:
				clear(a.Data)
			}
		}
	}
}

// allocSPI sends XFRM_MSG_ALLOCSPI: the kernel picks an unused SPI for dst
// and keeps a larval state for it until the state is completed with
// XFRM_MSG_UPDSA or net.core.xfrm_acq_expires (30 s) passes.
//
// Equivalent to: ip xfrm state allocspi src SRC dst DST proto esp mode tunnel reqid REQID min 0x100 max 0xffffffff
func (c *conn) allocSPI(src, dst netip.Addr, reqid uint32) (uint32, error) {
	// No NLM_F_ACK: the answer is the new state, and errors come anyway.
	req := c.request(nl.XFRM_MSG_ALLOCSPI, 0)
	info := &nl.XfrmUserSpiInfo{
		XfrmUsersaInfo: nl.XfrmUsersaInfo{
			Id:     nl.XfrmId{Daddr: xfrmAddr(dst), Proto: unix.IPPROTO_ESP},
			Saddr:  xfrmAddr(src),
			Reqid:  reqid,
			Family: afOf(dst),
			Mode:   kernelMode(sa.Tunnel),
		},
		// RFC 4303, Section 2.1: 1..255 are reserved by IANA.
		Min: 0x100, Max: 0xffffffff,
	}
	req.AddData(info)
	msgs, err := req.Execute(unix.NETLINK_XFRM, nl.XFRM_MSG_NEWSA)
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 || len(msgs[0]) < nl.SizeofXfrmUsersaInfo {
		return 0, fmt.Errorf("xfrm: short XFRM_MSG_ALLOCSPI answer")
	}
	return nl.Swap32(nl.DeserializeXfrmUsersaInfo(msgs[0]).Id.Spi), nil
}

// delState sends XFRM_MSG_DELSA.
//
// Equivalent to: ip xfrm state delete src SRC dst DST proto esp spi SPI
func (c *conn) delState(src, dst netip.Addr, spi uint32) error {
	req := c.request(nl.XFRM_MSG_DELSA, unix.NLM_F_ACK)
	req.AddData(&nl.XfrmUsersaId{Daddr: xfrmAddr(dst), Spi: nl.Swap32(spi), Family: afOf(dst), Proto: unix.IPPROTO_ESP})
	if src.IsValid() {
		a := xfrmAddr(src)
		req.AddData(nl.NewRtAttr(nl.XFRMA_SRCADDR, a[:]))
	}
	_, err := req.Execute(unix.NETLINK_XFRM, 0)
	return err
}

// kernelState is what a dump or get reports of a state.
type kernelState struct {
	Src, Dst   netip.Addr
	SPI, ReqID uint32
	Proto      uint8
	Life       nl.XfrmLifetimeCfg
	Cur        nl.XfrmLifetimeCur
	Stats      nl.XfrmStats
	Marked     bool
}

func parseState(m []byte) (kernelState, error) {
	if len(m) < nl.SizeofXfrmUsersaInfo {
		return kernelState{}, fmt.Errorf("xfrm: short state message (%d octets)", len(m))
	}
	info := nl.DeserializeXfrmUsersaInfo(m)
	ks := kernelState{
		Src: addrFrom(info.Saddr, info.Family), Dst: addrFrom(info.Id.Daddr, info.Family),
		SPI: nl.Swap32(info.Id.Spi), ReqID: info.Reqid, Proto: info.Id.Proto,
		Life: info.Lft, Cur: info.Curlft, Stats: info.Stats,
	}
	attrs, err := nl.ParseRouteAttr(m[nl.SizeofXfrmUsersaInfo:])
	if err != nil {
		return kernelState{}, fmt.Errorf("xfrm: state attributes: %w", err)
	}
	for _, a := range attrs {
		if a.Attr.Type == nl.XFRMA_MARK {
			ks.Marked = true
		}
	}
	return ks, nil
}

func addrFrom(x nl.XfrmAddress, af uint16) netip.Addr {
	if af == unix.AF_INET {
		return netip.AddrFrom4([4]byte(x[:4]))
	}
	return netip.AddrFrom16([16]byte(x[:]))
}

// getState sends XFRM_MSG_GETSA for one state.
//
// Equivalent to: ip -s xfrm state get dst DST proto esp spi SPI
func (c *conn) getState(dst netip.Addr, spi uint32) (kernelState, error) {
	req := c.request(nl.XFRM_MSG_GETSA, 0)
	req.AddData(&nl.XfrmUsersaId{Daddr: xfrmAddr(dst), Spi: nl.Swap32(spi), Family: afOf(dst), Proto: unix.IPPROTO_ESP})
	msgs, err := req.Execute(unix.NETLINK_XFRM, nl.XFRM_MSG_NEWSA)
	if err != nil {
		return kernelState{}, err
	}
	if len(msgs) == 0 {
		return kernelState{}, syscall.ESRCH
	}
	return parseState(msgs[0])
}

// states dumps every state of the namespace.
//
// Equivalent to: ip -s xfrm state
func (c *conn) states() ([]kernelState, error) {
	req := c.request(nl.XFRM_MSG_GETSA, unix.NLM_F_DUMP)
	msgs, err := req.Execute(unix.NETLINK_XFRM, nl.XFRM_MSG_NEWSA)
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return nil, err
	}
	out := make([]kernelState, 0, len(msgs))
	for _, m := range msgs {
		ks, perr := parseState(m)
		if perr != nil {
			return nil, perr
		}
		out = append(out, ks)
	}
	return out, err
}

// addPolicy sends XFRM_MSG_NEWPOLICY, or XFRM_MSG_UPDPOLICY to replace a
// policy with the same selector and direction.
//
// Equivalent to:
//
//	ip xfrm policy {add|update} src SRC dst DST [proto P [sport S] [dport D]] dir DIR priority PRIO \
//	    tmpl src TSRC dst TDST proto esp reqid REQID mode MODE
func (c *conn) addPolicy(p *policySpec, update bool) error {
	typ := nl.XFRM_MSG_NEWPOLICY
	if update {
		typ = nl.XFRM_MSG_UPDPOLICY
	}
	req := c.request(typ, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.AddData(&nl.XfrmUserpolicyInfo{
		Sel: xfrmSelector(p.Sel),
		Lft: nl.XfrmLifetimeCfg{SoftByteLimit: nl.XFRM_INF, HardByteLimit: nl.XFRM_INF,
			SoftPacketLimit: nl.XFRM_INF, HardPacketLimit: nl.XFRM_INF},
		Priority: p.Priority,
		Dir:      uint8(p.Dir),
		Action:   0, // XFRM_POLICY_ALLOW
	})
	tmpl := &nl.XfrmUserTmpl{
		XfrmId: nl.XfrmId{Daddr: xfrmAddr(p.TmplDst), Proto: unix.IPPROTO_ESP},
		Family: afOf(p.TmplDst),
		Saddr:  xfrmAddr(p.TmplSrc),
		Reqid:  p.ReqID,
		Mode:   kernelMode(p.Mode),
		// Any algorithm: the state, found by reqid, decides.
		Aalgos: ^uint32(0), Ealgos: ^uint32(0), Calgos: ^uint32(0),
	}
	req.AddData(nl.NewRtAttr(nl.XFRMA_TMPL, tmpl.Serialize()))
	_, err := req.Execute(unix.NETLINK_XFRM, 0)
	return err
}

// delPolicy sends XFRM_MSG_DELPOLICY for a selector and direction, or for
// a kernel index when index is not zero.
//
// Equivalent to: ip xfrm policy delete {src SRC dst DST ... | index INDEX} dir DIR
func (c *conn) delPolicy(d dir, sel selector, index uint32) error {
	req := c.request(nl.XFRM_MSG_DELPOLICY, unix.NLM_F_ACK)
	id := &nl.XfrmUserpolicyId{Index: index, Dir: uint8(d)}
	if index == 0 {
		id.Sel = xfrmSelector(sel)
	}
	req.AddData(id)
	_, err := req.Execute(unix.NETLINK_XFRM, 0)
	return err
}

// kernelPolicy is what a dump reports of a policy.
type kernelPolicy struct {
	Index  uint32
	Dir    dir
	ReqIDs []uint32 // of its templates
	Marked bool
}

// policies dumps every policy of the namespace.
//
// Equivalent to: ip xfrm policy
func (c *conn) policies() ([]kernelPolicy, error) {
	req := c.request(nl.XFRM_MSG_GETPOLICY, unix.NLM_F_DUMP)
	msgs, err := req.Execute(unix.NETLINK_XFRM, nl.XFRM_MSG_NEWPOLICY)
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return nil, err
	}
	out := make([]kernelPolicy, 0, len(msgs))
	for _, m := range msgs {
		if len(m) < nl.SizeofXfrmUserpolicyInfo {
			return nil, fmt.Errorf("xfrm: short policy message (%d octets)", len(m))
		}
		info := nl.DeserializeXfrmUserpolicyInfo(m)
		kp := kernelPolicy{Index: info.Index, Dir: dir(info.Dir)}
		attrs, perr := nl.ParseRouteAttr(m[nl.SizeofXfrmUserpolicyInfo:])
		if perr != nil {
			return nil, fmt.Errorf("xfrm: policy attributes: %w", perr)
		}
		for _, a := range attrs {
			switch a.Attr.Type {
			case nl.XFRMA_TMPL:
				for v := a.Value; len(v) >= nl.SizeofXfrmUserTmpl; v = v[nl.SizeofXfrmUserTmpl:] {
					kp.ReqIDs = append(kp.ReqIDs, nl.DeserializeXfrmUserTmpl(v).Reqid)
				}
			case nl.XFRMA_MARK:
				kp.Marked = true
			}
		}
		out = append(out, kp)
	}
	return out, err
}

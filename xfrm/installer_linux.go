package xfrm

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"

	"github.com/ikelab/ikelab/sa"
)

// Installer puts child SAs into the kernel's XFRM tables of the network
// namespace it was created in. It is safe for concurrent use; kernel
// requests are made one at a time.
type Installer struct {
	opts Options
	c    *conn
	mon  *monitor

	mu       sync.Mutex
	closed   bool
	children map[spiKey]*installed // by inbound state
	bySPI    map[spiKey]*installed // both directions, for expiry and counters
	larval   map[spiKey]bool       // SPIs allocated but not yet installed
	reqids   map[uint32]bool       // kernel reqids in use
	nextReq  uint32
	policies map[policyKey][]*policySpec // users of a kernel policy, the last one installed
	// expireEvents counts the kernel's expire messages about states in
	// our range, delivered or not.
	expireEvents int
}

var _ sa.Installer = (*Installer)(nil)

// spiKey identifies a state: the kernel looks states up by destination,
// SPI and protocol (RFC 4301, Section 4.1).
type spiKey struct {
	dst netip.Addr
	spi uint32
}

// installed is one child SA in the kernel.
type installed struct {
	engineReqID uint32
	reqid       uint32
	in, out     *stateSpec // keys dropped once installed
	inGone      bool       // hard-expired by the kernel
	outGone     bool
	// softSent and hardSent: both states of a child expire together, but
	// the SA layer hears of each kind once.
	softSent, hardSent bool
	policies           []*policySpec
}

// New opens an installer on the network namespace of the calling thread and
// starts listening for the kernel's expire events. It neither probes nor
// cleans up: Start does both.
func New(opts Options) (*Installer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	c, err := dial()
	if err != nil {
		return nil, err
	}
	x := &Installer{
		opts: opts, c: c,
		children: map[spiKey]*installed{}, bySPI: map[spiKey]*installed{},
		larval: map[spiKey]bool{}, reqids: map[uint32]bool{},
		policies: map[policyKey][]*policySpec{},
	}
	if x.mon, err = startMonitor(x); err != nil {
		c.close()
		return nil, err
	}
	return x, nil
}

// AllocSPI has the kernel pick the inbound SPI of a child SA between remote
// (the sender) and local, keeping it reserved until Install completes the
// state.
//
// Equivalent to: ip xfrm state allocspi src REMOTE dst LOCAL proto esp mode tunnel reqid BASE
func (x *Installer) AllocSPI(local, remote netip.Addr) (uint32, error) {
	local, remote = local.Unmap(), remote.Unmap()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return 0, errClosed
	}
	spi, err := x.c.allocSPI(remote, local, x.opts.ReqIDBase)
	if err != nil {
		return 0, fmt.Errorf("xfrm: allocating an SPI for %s->%s: %w", remote, local, err)
	}
	x.larval[spiKey{local, spi}] = true
	return spi, nil
}

var errClosed = errors.New("xfrm: installer closed")

// ReleaseSPI gives back an SPI from AllocSPI whose child SA will not be
// installed because the negotiation failed, so that its larval state does
// not linger until net.core.xfrm_acq_expires (30 s) runs out.
//
// Equivalent to: ip xfrm state delete src REMOTE dst LOCAL proto esp spi SPI
func (x *Installer) ReleaseSPI(local, remote netip.Addr, spi uint32) error {
	local, remote = local.Unmap(), remote.Unmap()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errClosed
	}
	k := spiKey{local, spi}
	if !x.larval[k] {
		return fmt.Errorf("xfrm: SPI %08x was not allocated or is installed", spi)
	}
	delete(x.larval, k)
	if err := x.c.delState(remote, local, spi); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("xfrm: releasing SPI %08x: %w", spi, err)
	}
	return nil
}

// Install adds the inbound and outbound states of c and its policies. On
// failure nothing of c stays in the kernel, the SPI reserved by AllocSPI
// included, and the error names missing kernel support (*SupportError).
//
// Equivalent to (see the package documentation for the parameters):
//
//	ip xfrm state update src REMOTE dst LOCAL proto esp spi SPI_IN reqid Q mode MODE ...
//	ip xfrm state add src LOCAL dst REMOTE proto esp spi SPI_OUT reqid Q mode MODE ...
//	ip xfrm policy add src LTS dst RTS dir out tmpl src LOCAL dst REMOTE proto esp reqid Q mode MODE
//	ip xfrm policy add src RTS dst LTS dir in tmpl src REMOTE dst LOCAL proto esp reqid Q mode MODE
//	ip xfrm policy add src RTS dst LTS dir fwd tmpl src REMOTE dst LOCAL proto esp reqid Q mode MODE
func (x *Installer) Install(c *sa.Child) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errClosed
	}
	inKey := spiKey{c.Local.Addr().Unmap(), c.SPIIn}
	if x.children[inKey] != nil {
		return fmt.Errorf("xfrm: child SA with inbound SPI %08x is already installed", c.SPIIn)
	}
	larval := x.larval[inKey]
	delete(x.larval, inKey)
	dropLarval := func() {
		if larval {
			x.c.delState(c.Remote.Addr().Unmap(), inKey.dst, c.SPIIn)
		}
	}
	reqid, err := x.allocReqID()
	if err != nil {
		dropLarval()
		return err
	}
	rec, err := x.install(c, reqid, larval)
	if err != nil {
		delete(x.reqids, reqid)
		x.opts.logger().Warn(fmt.Sprintf("installing ESP SAs %08x_i %08x_o failed: %v", c.SPIIn, c.SPIOut, err))
		return err
	}
	x.children[inKey] = rec
	x.bySPI[spiKey{rec.in.Dst, rec.in.SPI}] = rec
	x.bySPI[spiKey{rec.out.Dst, rec.out.SPI}] = rec
	x.opts.logger().Info(fmt.Sprintf("installed ESP SAs %08x_i %08x_o (reqid %d) with %d policies: %s",
		c.SPIIn, c.SPIOut, reqid, len(rec.policies), c))
	return nil
}

// install does the kernel work of Install, undoing it on failure.
func (x *Installer) install(c *sa.Child, reqid uint32, larval bool) (*installed, error) {
	in, out, err := x.opts.states(c, reqid)
	var pols []*policySpec
	if err == nil {
		pols, err = policies(c, reqid)
	}
	if err != nil {
		if larval {
			x.c.delState(c.Remote.Addr().Unmap(), c.Local.Addr().Unmap(), c.SPIIn)
		}
		return nil, err
	}
	log := x.opts.logger()
	// The inbound state first: it completes the larval state that holds
	// the SPI (UPDSA); if that timed out meanwhile, it is added anew.
	err = x.c.addState(in, larval)
	if larval && errors.Is(err, syscall.ESRCH) {
		larval = false
		err = x.c.addState(in, false)
	}
	if err != nil {
		if larval {
			x.c.delState(in.Src, in.Dst, in.SPI)
		}
		return nil, stateError("adding inbound", in, err)
	}
	verb := "add"
	if larval {
		verb = "update"
	}
	log.Debug("ip xfrm state " + verb + " " + in.String())
	if err := x.c.addState(out, false); err != nil {
		x.c.delState(in.Src, in.Dst, in.SPI)
		return nil, stateError("adding outbound", out, err)
	}
	log.Debug("ip xfrm state add " + out.String())
	rec := &installed{engineReqID: c.ReqID, reqid: reqid, in: in.withoutKeys(), out: out.withoutKeys()}
	for _, p := range pols {
		if err := x.addPolicy(p); err != nil {
			for _, added := range rec.policies {
				x.dropPolicy(added)
			}
			x.c.delState(in.Src, in.Dst, in.SPI)
			x.c.delState(out.Src, out.Dst, out.SPI)
			return nil, fmt.Errorf("xfrm: adding policy %s: %w", p, err)
		}
		rec.policies = append(rec.policies, p)
		log.Debug("ip xfrm policy add " + p.String())
	}
	return rec, nil
}

// withoutKeys returns a copy of the state that keeps no key material.
func (s *stateSpec) withoutKeys() *stateSpec {
	c := *s
	strip := func(a *algo) *algo {
		if a == nil {
			return nil
		}
		return &algo{Name: a.Name, Bits: a.Bits}
	}
	c.AEAD, c.Crypt, c.Auth = strip(s.AEAD), strip(s.Crypt), strip(s.Auth)
	return &c
}

// allocReqID picks a free kernel reqid above the base.
func (x *Installer) allocReqID() (uint32, error) {
	n := x.opts.ReqIDCount - 1
	for i := uint32(0); i < n; i++ {
		x.nextReq = x.nextReq%n + 1
		r := x.opts.ReqIDBase + x.nextReq
		if !x.reqids[r] {
			x.reqids[r] = true
			return r, nil
		}
	}
	return 0, fmt.Errorf("xfrm: all %d reqids of the range %#x are in use", n, x.opts.ReqIDBase)
}

// addPolicy installs p, or, when another child SA already has a policy
// with the same selector and direction (a peer that reconnected before its
// old SA was deleted), points that policy at p's SA until p's child goes.
func (x *Installer) addPolicy(p *policySpec) error {
	k := p.key()
	users := x.policies[k]
	if err := x.c.addPolicy(p, len(users) > 0); err != nil {
		return err
	}
	x.policies[k] = append(users, p)
	return nil
}

// dropPolicy removes one user of a policy: the kernel policy goes with its
// last user, and otherwise falls back to the newest remaining one.
func (x *Installer) dropPolicy(p *policySpec) error {
	k := p.key()
	users := x.policies[k]
	i := -1
	for j, u := range users {
		if u == p {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	wasActive := i == len(users)-1
	users = append(users[:i:i], users[i+1:]...)
	if len(users) == 0 {
		delete(x.policies, k)
		if err := x.c.delPolicy(p.Dir, p.Sel, 0); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("xfrm: deleting policy %s: %w", p, err)
		}
		return nil
	}
	x.policies[k] = users
	if wasActive {
		if err := x.c.addPolicy(users[len(users)-1], true); err != nil {
			return fmt.Errorf("xfrm: restoring policy %s: %w", users[len(users)-1], err)
		}
	}
	return nil
}

// Remove deletes c's policies and both its states. States the kernel
// already deleted on hard expiry are skipped.
//
// Equivalent to:
//
//	ip xfrm policy delete src LTS dst RTS dir out   (and in, fwd)
//	ip xfrm state delete src REMOTE dst LOCAL proto esp spi SPI_IN
//	ip xfrm state delete src LOCAL dst REMOTE proto esp spi SPI_OUT
func (x *Installer) Remove(c *sa.Child) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	rec := x.children[spiKey{c.Local.Addr().Unmap(), c.SPIIn}]
	if rec == nil {
		return fmt.Errorf("xfrm: child SA with inbound SPI %08x is not installed", c.SPIIn)
	}
	err := x.remove(rec)
	x.opts.logger().Info(fmt.Sprintf("removed ESP SAs %08x_i %08x_o (reqid %d)", rec.in.SPI, rec.out.SPI, rec.reqid))
	return err
}

func (x *Installer) remove(rec *installed) error {
	var errs []error
	// Policies first, so no packet meets a policy whose state is gone.
	for _, p := range rec.policies {
		if err := x.dropPolicy(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range []struct {
		st   *stateSpec
		gone bool
	}{{rec.in, rec.inGone}, {rec.out, rec.outGone}} {
		if s.gone {
			continue
		}
		if err := x.c.delState(s.st.Src, s.st.Dst, s.st.SPI); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, stateError("deleting", s.st, err))
		}
	}
	delete(x.children, spiKey{rec.in.Dst, rec.in.SPI})
	delete(x.bySPI, spiKey{rec.in.Dst, rec.in.SPI})
	delete(x.bySPI, spiKey{rec.out.Dst, rec.out.SPI})
	delete(x.reqids, rec.reqid)
	return errors.Join(errs...)
}

// Cleanup deletes every state and policy of the namespace whose reqid is in
// the installer's range: what this daemon installed, and what an earlier
// run left behind when it crashed. Call it at start-up (Start does) and at
// shutdown (Close does).
//
// Equivalent to, for each state and policy of ours:
//
//	ip xfrm policy delete index INDEX dir DIR
//	ip xfrm state delete src SRC dst DST proto esp spi SPI
func (x *Installer) Cleanup() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errClosed
	}
	return x.cleanup()
}

func (x *Installer) cleanup() error {
	var errs []error
	var nPol, nState int
	pols, err := x.c.policies()
	if err != nil {
		errs = append(errs, fmt.Errorf("xfrm: listing policies: %w", err))
	}
	for _, p := range pols {
		if p.Marked || !x.ownsAny(p.ReqIDs) {
			continue
		}
		if err := x.c.delPolicy(p.Dir, selector{}, p.Index); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("xfrm: deleting policy index %d dir %s: %w", p.Index, p.Dir, err))
			continue
		}
		nPol++
	}
	states, err := x.c.states()
	if err != nil {
		errs = append(errs, fmt.Errorf("xfrm: listing states: %w", err))
	}
	for _, s := range states {
		if s.Marked || s.Proto != syscall.IPPROTO_ESP || !x.opts.owns(s.ReqID) {
			continue
		}
		if err := x.c.delState(s.Src, s.Dst, s.SPI); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("xfrm: deleting state %s->%s spi 0x%08x: %w", s.Src, s.Dst, s.SPI, err))
			continue
		}
		nState++
	}
	if nPol+nState > 0 {
		x.opts.logger().Info(fmt.Sprintf("removed %d states and %d policies of reqids %#x+%d", nState, nPol, x.opts.ReqIDBase, x.opts.ReqIDCount))
	}
	clear(x.children)
	clear(x.bySPI)
	clear(x.larval)
	clear(x.reqids)
	clear(x.policies)
	return errors.Join(errs...)
}

func (x *Installer) ownsAny(reqids []uint32) bool {
	for _, r := range reqids {
		if x.opts.owns(r) {
			return true
		}
	}
	return false
}

// Close removes everything of ours from the kernel (Cleanup), stops the
// expire listener and closes the socket. The daemon calls it after the
// engine has deleted its IKE SAs.
func (x *Installer) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	err := x.cleanup()
	x.closed = true
	x.mu.Unlock()
	x.mon.stop()
	x.c.close()
	return err
}

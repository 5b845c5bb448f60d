// Package sa holds the records of IKE and child SAs, their states and the
// interface through which negotiated child SAs reach a kernel (or a fake).
// It knows nothing of the wire format beyond the transform identifiers.
package sa

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// State is the life-cycle state of an IKE SA (RFC 7296, Section 1).
type State int

const (
	// HalfOpen: IKE_SA_INIT answered, IKE_AUTH not yet received.
	HalfOpen State = iota
	// Established: both peers authenticated.
	Established
	// Deleting: an INFORMATIONAL delete is in flight.
	Deleting
	// Dead: removed from the table; kept only by references still held.
	Dead
)

var stateNames = [...]string{"HALF_OPEN", "ESTABLISHED", "DELETING", "DEAD"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("STATE_%d", int(s))
}

// Mode is the IPsec mode of a child SA (RFC 7296, Section 1.3.1).
type Mode int

const (
	Tunnel Mode = iota
	Transport
)

func (m Mode) String() string {
	if m == Transport {
		return "transport"
	}
	return "tunnel"
}

// Child is one negotiated ESP child SA pair, as handed to an Installer.
// Keys are secret: never log a Child with %v.
type Child struct {
	// ReqID ties the two states and the policies of the pair together in
	// the kernel, and marks them as this daemon's for clean-up.
	ReqID uint32
	Mode  Mode
	// Local and Remote are the outer addresses (the IKE SA's).
	Local, Remote netip.AddrPort
	// Encap is set when NAT-T applies: ESP travels in UDP (RFC 3948).
	Encap bool
	// SPIIn is the SPI the peer sends with (ours); SPIOut the peer's.
	SPIIn, SPIOut uint32
	Encr          wire.TransformID
	EncrKeyBits   int
	Integ         wire.TransformID
	ESN           bool
	// Keys as derived from KEYMAT (RFC 7296, Section 2.17): In protects
	// traffic from the peer, Out traffic to it. Encryption keys carry
	// the AEAD salt.
	EncKeyIn, IntegKeyIn, EncKeyOut, IntegKeyOut []byte
	// LocalTS and RemoteTS are the narrowed traffic selectors.
	LocalTS, RemoteTS []wire.Selector
	// Lifetimes from policy (0: none).
	SoftLife, HardLife time.Duration
	HardBytes          uint64
	Created            time.Time
	// Rekeyed is set once a replacement exists; the SA goes when the
	// peer deletes it (RFC 7296, Section 2.8).
	Rekeyed bool

	timer *time.Timer
}

// String describes the child SA without keys.
func (c *Child) String() string {
	return fmt.Sprintf("ESP %s SPIs %08x_i %08x_o %s %v === %v", c.Mode, c.SPIIn, c.SPIOut,
		wire.TransformName(wire.TransformENCR, c.Encr), c.LocalTS, c.RemoteTS)
}

// An Installer puts child SAs into effect: the kernel's XFRM in
// production, a recorder in tests, nothing at all in negotiate-only mode.
type Installer interface {
	// AllocSPI returns a fresh inbound SPI for a child SA (the kernel's
	// XFRM_MSG_ALLOCSPI), so that it cannot collide with another.
	AllocSPI(local, remote netip.Addr) (uint32, error)
	// Install adds inbound and outbound states and the policies for c.
	Install(c *Child) error
	// Remove deletes what Install added.
	Remove(c *Child) error
}

// An SPIReleaser gives back an SPI from AllocSPI that no child SA used (a
// negotiation that failed after the SPI was chosen). Installers whose
// SPIs are kernel objects implement it; the engine calls it when it can.
type SPIReleaser interface {
	ReleaseSPI(local, remote netip.Addr, spi uint32) error
}

// SetTimer stops the child SA's lifetime timer, if it has one, and keeps
// t instead, so that t is stopped with the child.
func (c *Child) SetTimer(t *time.Timer) {
	c.StopTimer()
	c.timer = t
}

// Timer returns the child SA's lifetime timer, nil once it was stopped.
func (c *Child) Timer() *time.Timer { return c.timer }

// StopTimer stops the child SA's lifetime timer.
func (c *Child) StopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

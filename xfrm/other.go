//go:build !linux

package xfrm

import (
	"errors"
	"net/netip"

	"github.com/ikelab/ikelab/sa"
)

// errNotLinux is what every operation returns off Linux: XFRM is the
// Linux kernel's IPsec stack.
var errNotLinux = errors.New("xfrm: kernel IPsec through XFRM exists only on Linux")

// Installer is not available off Linux.
type Installer struct{}

var _ sa.Installer = (*Installer)(nil)

// Probe reports that there is no XFRM.
func Probe(...Suite) error { return errNotLinux }

// New fails off Linux.
func New(Options) (*Installer, error) { return nil, errNotLinux }

func (*Installer) AllocSPI(_, _ netip.Addr) (uint32, error)   { return 0, errNotLinux }
func (*Installer) ReleaseSPI(_, _ netip.Addr, _ uint32) error { return errNotLinux }
func (*Installer) Install(*sa.Child) error                    { return errNotLinux }
func (*Installer) Remove(*sa.Child) error                     { return errNotLinux }
func (*Installer) Cleanup() error                             { return errNotLinux }
func (*Installer) Close() error                               { return nil }
func (*Installer) Expires() <-chan Expire                     { return nil }
func (*Installer) Counters(uint32) (Counters, error)          { return Counters{}, errNotLinux }
func (*Installer) AllCounters() ([]Counters, error)           { return nil, errNotLinux }

package sa

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
)

// Memory is an Installer that keeps child SAs in memory: the negotiate-only
// mode for hosts without kernel ESP, and the fake the engine is tested with.
type Memory struct {
	mu       sync.Mutex
	children map[uint32]*Child // by inbound SPI
}

// NewMemory returns an empty in-memory installer.
func NewMemory() *Memory { return &Memory{children: map[uint32]*Child{}} }

// AllocSPI returns a random SPI unused by this installer, never below 256
// (RFC 4303, Section 2.1 reserves 1..255).
func (m *Memory) AllocSPI(_, _ netip.Addr) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < 64; i++ {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		spi := binary.BigEndian.Uint32(b[:])
		if _, used := m.children[spi]; spi >= 256 && !used {
			return spi, nil
		}
	}
	return 0, fmt.Errorf("sa: no free SPI")
}

// Install records c.
func (m *Memory) Install(c *Child) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.children[c.SPIIn]; dup {
		return fmt.Errorf("sa: SPI %08x already installed", c.SPIIn)
	}
	m.children[c.SPIIn] = c
	return nil
}

// Remove forgets c.
func (m *Memory) Remove(c *Child) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.children[c.SPIIn]; !ok {
		return fmt.Errorf("sa: SPI %08x not installed", c.SPIIn)
	}
	delete(m.children, c.SPIIn)
	return nil
}

// Children returns the installed child SAs.
func (m *Memory) Children() []*Child {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Child, 0, len(m.children))
	for _, c := range m.children {
		out = append(out, c)
	}
	return out
}

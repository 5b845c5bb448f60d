package sa

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryInstaller(t *testing.T) {
	m := NewMemory()
	a := netip.MustParseAddr("192.0.2.1")
	seen := map[uint32]bool{}
	for i := 0; i < 100; i++ {
		spi, err := m.AllocSPI(a, a)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, spi, uint32(256), "RFC 4303, Section 2.1: SPIs 1..255 are reserved")
		c := &Child{SPIIn: spi}
		require.NoError(t, m.Install(c))
		assert.False(t, seen[spi])
		seen[spi] = true
	}
	assert.Len(t, m.Children(), 100)
	c := m.Children()[0]
	assert.Error(t, m.Install(&Child{SPIIn: c.SPIIn}), "an SPI is installed once")
	require.NoError(t, m.Remove(c))
	assert.Error(t, m.Remove(c), "removing twice is an error")
	assert.Len(t, m.Children(), 99)
}

func TestChildTimer(t *testing.T) {
	c := &Child{}
	fired := make(chan struct{}, 2)
	first := time.AfterFunc(time.Hour, func() { fired <- struct{}{} })
	c.SetTimer(first)
	c.SetTimer(time.AfterFunc(10*time.Millisecond, func() { fired <- struct{}{} })) // replaces the first
	assert.False(t, first.Stop(), "the replaced timer was stopped")
	<-fired
	c.SetTimer(time.AfterFunc(10*time.Millisecond, func() { fired <- struct{}{} }))
	c.StopTimer()
	assert.Nil(t, c.Timer())
	select {
	case <-fired:
		t.Fatal("a stopped timer fired")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "ESTABLISHED", Established.String())
	assert.Equal(t, "STATE_9", State(9).String())
	assert.Equal(t, "transport", Transport.String())
	c := &Child{SPIIn: 0xc0ffee00, SPIOut: 0x1, EncKeyIn: []byte{0xde, 0xad}}
	assert.NotContains(t, c.String(), "dead", "keys never appear in a child's description")
	assert.Contains(t, c.String(), "c0ffee00_i")
}

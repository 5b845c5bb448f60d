package ike

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
)

// The reaper hands out deadlines in order, gives back exactly the SPIs
// that are due, and its timer fires for the head's deadline.
func TestReaper(t *testing.T) {
	var fired atomic.Int32
	r := &reaper{fire: func() { fired.Add(1) }}
	defer r.stop()
	spi := func(b byte) wire.SPI { return wire.SPI{b} }

	a1 := r.add(spi(1), time.Hour)
	a2 := r.add(spi(2), time.Hour)
	a3 := r.add(spi(3), time.Hour)
	require.False(t, a2.Before(a1))
	require.False(t, a3.Before(a2))
	assert.Equal(t, 3, r.pending())

	assert.Empty(t, r.due(a1.Add(-time.Nanosecond), nil), "nothing is due before the first deadline")
	assert.Equal(t, []wire.SPI{spi(1)}, r.due(a1, nil))
	assert.Equal(t, []wire.SPI{spi(2), spi(3)}, r.due(a3, nil))
	assert.Zero(t, r.pending())

	// An empty queue starts again at the front; the timer fires for a
	// short deadline.
	r.add(spi(4), time.Millisecond)
	assert.Equal(t, 1, r.pending())
	require.Eventually(t, func() bool { return fired.Load() > 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []wire.SPI{spi(4)}, r.due(time.Now(), nil))

	// After stop nothing is queued or armed.
	r.stop()
	r.add(spi(5), time.Millisecond)
	assert.Zero(t, r.pending())
}

// The queue's consumed front is reclaimed: a long run of SAs that come
// and go leaves neither the entries nor a flood's capacity behind.
func TestReaperCompacts(t *testing.T) {
	r := &reaper{fire: func() {}}
	defer r.stop()
	const n = 3000
	for i := range n {
		r.add(wire.SPI{byte(i), byte(i >> 8)}, time.Hour)
	}
	taken := 0
	for r.pending() > 0 {
		taken += len(r.due(r.queue[r.head].at, nil))
		require.LessOrEqual(t, r.head, len(r.queue)-r.head, "the consumed front never outgrows what is pending")
		require.Equal(t, n, taken+r.pending())
	}
	assert.Nil(t, r.queue, "the flood's queue was let go")
}

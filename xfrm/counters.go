package xfrm

import "time"

// Counters is the kernel's view of one of our states: traffic, drops and
// the lifetimes it enforces (struct xfrm_lifetime_cur, xfrm_stats and
// xfrm_lifetime_cfg as `ip -s xfrm state` prints them).
type Counters struct {
	SPI     uint32
	Inbound bool
	// ReqID is the child SA's sa.Child.ReqID; KernelReqID the state's.
	ReqID, KernelReqID uint32

	// Bytes and Packets the state protected (for ESP, bytes of the inner
	// packets).
	Bytes, Packets uint64
	// Added is when the state was installed, LastUsed when it last
	// carried a packet (zero if never).
	Added, LastUsed time.Time

	// Drops: outside the replay window, replayed, failed integrity check.
	OutOfWindow, Replayed, IntegrityFailed uint32

	// Limits as installed; zero means none.
	SoftTime, HardTime   time.Duration
	SoftBytes, HardBytes uint64
}

package xfrm

import "fmt"

// Expire is a lifetime event of one of our states (XFRM_MSG_EXPIRE).
type Expire struct {
	// SPI and Inbound identify the state: SPIIn or SPIOut of the child.
	SPI     uint32
	Inbound bool
	// SPIIn is the child SA's inbound SPI (sa.Child.SPIIn), which names
	// it whichever of its states expired: pass it to the engine's
	// ChildExpired. ReqID is its sa.Child.ReqID.
	SPIIn, ReqID uint32
	// Hard is set when the hard lifetime ran out: the kernel has deleted
	// the state, and the child SA must go (RFC 7296, Section 1.4.1: delete
	// it and tell the peer). Otherwise the soft lifetime ran out, the time
	// to rekey (Section 2.8).
	Hard bool
}

func (e Expire) String() string {
	kind := "soft"
	if e.Hard {
		kind = "hard"
	}
	dir := "o"
	if e.Inbound {
		dir = "i"
	}
	return fmt.Sprintf("%s expiry of ESP SA %08x_%s", kind, e.SPI, dir)
}

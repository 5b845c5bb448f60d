package ike

import (
	"fmt"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// reassembly collects the decrypted fragments of one message (RFC 7383,
// Section 2.6.1), bounded in count and size.
type reassembly struct {
	msgID   uint32
	started time.Time
	total   uint16
	first   wire.PayloadType
	parts   map[uint16][]byte
	size    int
}

func newReassembly(msgID uint32, now time.Time) *reassembly {
	return &reassembly{msgID: msgID, started: now, parts: map[uint16][]byte{}}
}

// expired reports whether the reassembly has waited longer than
// FragmentTimeout for its missing fragments.
func (r *reassembly) expired(now time.Time) bool { return now.Sub(r.started) > FragmentTimeout }

// add keeps one verified fragment. Duplicates are ignored; a fragment whose
// total disagrees with earlier ones restarts reassembly, as the sender may
// have re-fragmented with a smaller size (RFC 7383, Section 2.6.1).
func (r *reassembly) add(f *wire.EncryptedFragment, plain []byte) (whole []byte, first wire.PayloadType, done bool, err error) {
	if f.Total > MaxFragments {
		return nil, 0, false, fmt.Errorf("ike: message in %d fragments exceeds the limit of %d", f.Total, MaxFragments)
	}
	// RFC 7383, Section 2.5: fragments are numbered 1 to Total. The parser
	// enforces it; it is checked again here because completion counts the
	// fragments held, and one numbered outside 1..Total would complete a
	// message with a hole in it.
	if f.Number == 0 || f.Number > f.Total {
		return nil, 0, false, fmt.Errorf("ike: fragment number %d outside 1..%d", f.Number, f.Total)
	}
	if r.total != 0 && f.Total != r.total {
		*r = *newReassembly(r.msgID, r.started)
	}
	r.total = f.Total
	if _, dup := r.parts[f.Number]; dup {
		return nil, 0, false, nil
	}
	if r.size+len(plain) > MaxReassembled {
		return nil, 0, false, fmt.Errorf("ike: reassembled message exceeds %d octets", MaxReassembled)
	}
	if f.Number == 1 {
		r.first = f.NextPayload
	}
	r.parts[f.Number] = plain
	r.size += len(plain)
	if len(r.parts) < int(r.total) {
		return nil, 0, false, nil
	}
	whole = make([]byte, 0, r.size)
	for i := uint16(1); i <= r.total; i++ {
		whole = append(whole, r.parts[i]...)
	}
	return whole, r.first, true, nil
}

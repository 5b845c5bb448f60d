package eap

import (
	"encoding/binary"

	"github.com/ikelab/ikelab/ike/wire"
)

// tlsTypeData builds EAP-TLS Type-Data (RFC 5216, Section 3.1): Flags,
// the TLS Message Length when L is set, then TLS data.
func tlsTypeData(flags uint8, total int, data []byte) []byte {
	n := 1 + len(data)
	if flags&wire.TLSFlagLength != 0 {
		n += 4
	}
	b := make([]byte, 1, n)
	b[0] = flags
	if flags&wire.TLSFlagLength != 0 {
		b = binary.BigEndian.AppendUint32(b, uint32(total))
	}
	return append(b, data...)
}

// tlsAck is the empty EAP-TLS message that acknowledges a fragment, or
// tells the other side that we have nothing to send (RFC 5216, Section
// 2.1.5 and Section 2.1.3).
var tlsAck = []byte{0}

// isAck reports whether f is an acknowledgement: no flags, no data.
func isAck(f *wire.EAPTLSFrame) bool { return f.Flags == 0 && len(f.TLSData) == 0 }

// fragmenter sends one TLS message in fragments of at most size octets
// (RFC 5216, Section 2.1.5): the first of several carries L and the total
// length, every one but the last carries M, and the other side
// acknowledges each one but the last with an empty message.
type fragmenter struct {
	msg  []byte
	off  int
	size int
}

func (f *fragmenter) load(msg []byte) { f.msg, f.off = msg, 0 }

// pending reports whether fragments remain to be sent.
func (f *fragmenter) pending() bool { return f.off < len(f.msg) }

// next returns the Type-Data of the next fragment.
func (f *fragmenter) next() []byte {
	n := min(f.size, len(f.msg)-f.off)
	first, more := f.off == 0, f.off+n < len(f.msg)
	var flags uint8
	if first && more {
		flags |= wire.TLSFlagLength
	}
	if more {
		flags |= wire.TLSFlagMore
	}
	b := tlsTypeData(flags, len(f.msg), f.msg[f.off:f.off+n])
	f.off += n
	if !more {
		f.msg, f.off = nil, 0
	}
	return b
}

// reassembler collects the fragments of one TLS message from the other
// side, within the configured size and fragment limits.
type reassembler struct {
	buf              []byte
	total            int // announced by the L flag; 0 if none
	frags            int
	active           bool // a fragment with M was received
	maxMsg, maxFrags int
}

// add takes one EAP-TLS frame. It returns the whole message once its last
// fragment arrived; nil and false while more are expected.
func (r *reassembler) add(f *wire.EAPTLSFrame) ([]byte, bool, error) {
	if f.Flags&wire.TLSFlagStart != 0 {
		return nil, false, failf(ErrProtocol, nil, "tls: start flag out of turn")
	}
	if f.Flags&wire.TLSFlagLength != 0 {
		switch {
		case r.active && int64(f.TotalLength) != int64(r.total):
			return nil, false, failf(ErrProtocol, nil, "tls: TLS message length changed from %d to %d", r.total, f.TotalLength)
		case int64(f.TotalLength) > int64(r.maxMsg):
			return nil, false, failf(ErrLimit, nil, "tls: TLS message of %d octets announced, limit %d", f.TotalLength, r.maxMsg)
		case f.TotalLength == 0:
			return nil, false, failf(ErrProtocol, nil, "tls: TLS message length 0")
		}
		r.total = int(f.TotalLength)
	}
	n := len(r.buf) + len(f.TLSData)
	switch {
	case n > r.maxMsg:
		return nil, false, failf(ErrLimit, nil, "tls: TLS message of more than %d octets", r.maxMsg)
	case r.total > 0 && n > r.total:
		return nil, false, failf(ErrProtocol, nil, "tls: %d octets of data for an announced length of %d", n, r.total)
	case len(f.TLSData) == 0:
		return nil, false, failf(ErrProtocol, nil, "tls: fragment without data")
	}
	r.frags++
	if r.frags > r.maxFrags {
		return nil, false, failf(ErrLimit, nil, "tls: more than %d fragments", r.maxFrags)
	}
	r.buf = append(r.buf, f.TLSData...)
	if f.Flags&wire.TLSFlagMore != 0 {
		r.active = true
		return nil, false, nil
	}
	if r.total > 0 && len(r.buf) != r.total {
		return nil, false, failf(ErrProtocol, nil, "tls: %d octets of data for an announced length of %d", len(r.buf), r.total)
	}
	msg := r.buf
	*r = reassembler{maxMsg: r.maxMsg, maxFrags: r.maxFrags}
	return msg, true, nil
}

package ike

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"

	"github.com/ikelab/ikelab/ike/wire"
)

// natHash is the NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | Port)
// (RFC 7296, Section 2.23). SHA-1 is fixed by the RFC; it is a
// fingerprint here, not a security function.
func natHash(spii, spir wire.SPI, ap netip.AddrPort) []byte {
	var in [8 + 8 + 16 + 2]byte
	b := append(append(in[:0], spii[:]...), spir[:]...)
	switch a := ap.Addr().Unmap(); {
	case a.Is4():
		a4 := a.As4()
		b = append(b, a4[:]...)
	case a.Is6():
		a16 := a.As16()
		b = append(b, a16[:]...)
	}
	h := sha1.Sum(binary.BigEndian.AppendUint16(b, ap.Port()))
	return h[:]
}

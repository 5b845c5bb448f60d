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
	h := sha1.New()
	h.Write(spii[:])
	h.Write(spir[:])
	h.Write(ap.Addr().Unmap().AsSlice())
	var port [2]byte
	binary.BigEndian.PutUint16(port[:], ap.Port())
	h.Write(port[:])
	return h.Sum(nil)
}

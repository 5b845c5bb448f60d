package ike

import (
	"encoding/binary"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/ike/wskeys"
	"github.com/ikelab/ikelab/sa"
)

// handleInformational answers INFORMATIONAL requests (RFC 7296, Section
// 1.4): deletes of the IKE SA or of child SAs, and empty liveness checks.
func (s *ikeSA) handleInformational(inner []wire.Payload) ([]wire.Payload, error) {
	var resp []wire.Payload
	var ourSPIs [][]byte
	for _, pl := range inner {
		d, ok := pl.(*wire.Delete)
		if !ok {
			continue
		}
		switch d.Protocol {
		case wire.ProtoIKE:
			// Section 1.4.1: the response is empty; the SA and its
			// children go away with it.
			s.log("received DELETE for IKE_SA, deleting")
			s.state = sa.Deleting
			s.auditEnd("deleted", "initiator deleted the IKE SA")
			return nil, nil
		case wire.ProtoESP:
			for _, spi := range d.SPIs {
				out := binary.BigEndian.Uint32(spi)
				if c := s.childOut(out); c != nil {
					s.log("received DELETE for ESP CHILD_SA with SPI %08x, deleting %08x_i", out, c.SPIIn)
					s.dropChild(c)
					delete(s.rekeying, c)
					ourSPIs = append(ourSPIs, binary.BigEndian.AppendUint32(nil, c.SPIIn))
				}
			}
		}
	}
	if len(ourSPIs) > 0 {
		resp = append(resp, &wire.Delete{Protocol: wire.ProtoESP, SPISize: 4, SPIs: ourSPIs})
	}
	return resp, nil
}

// exportESPKeys writes Wireshark esp_sa rows when key export is on.
func (s *ikeSA) exportESPKeys(c *sa.Child) {
	w := s.e.cfg.ESPKeyLog
	if w == nil {
		return
	}
	for _, dir := range []struct {
		src, dst     string
		spi          uint32
		encKey, iKey []byte
	}{
		{s.remote.Addr().Unmap().String(), s.local.Addr().Unmap().String(), c.SPIIn, c.EncKeyIn, c.IntegKeyIn},
		{s.local.Addr().Unmap().String(), s.remote.Addr().Unmap().String(), c.SPIOut, c.EncKeyOut, c.IntegKeyOut},
	} {
		row := wskeys.ESPSA{Src: dir.src, Dst: dir.dst, SPI: dir.spi, Encr: c.Encr, EncrKeyBits: c.EncrKeyBits,
			EncKey: dir.encKey, Integ: c.Integ, IntegKey: dir.iKey}
		if err := wskeys.WriteESP(w, &row); err != nil {
			s.log("ESP key export: %v", err)
			return
		}
	}
}

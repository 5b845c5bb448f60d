package ike

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
)

// handleCreateChild answers CREATE_CHILD_SA (RFC 7296, Sections 1.3 and
// 2.8): a new child SA, the rekey of a child SA (N(REKEY_SA)), or the
// rekey of the IKE SA itself (an SA payload with protocol IKE).
func (s *ikeSA) handleCreateChild(inner []wire.Payload) ([]wire.Payload, error) {
	var (
		req       childRequest
		rekeySPI  []byte
		rekeyESP  bool
		sawNonce  bool
		nonceData []byte
	)
	for _, pl := range inner {
		switch pl := pl.(type) {
		case *wire.SA:
			req.sa = pl
		case *wire.KE:
			req.ke = pl
		case *wire.Nonce:
			sawNonce, nonceData = true, pl.Data
		case *wire.TS:
			if pl.Responder {
				req.tsr = pl
			} else {
				req.tsi = pl
			}
		case *wire.Notify:
			switch pl.NotifyType {
			case wire.REKEY_SA:
				rekeySPI, rekeyESP = pl.SPI, pl.Protocol == wire.ProtoESP
			case wire.USE_TRANSPORT_MODE:
				req.transport = true
			}
		}
	}
	if req.sa == nil || !sawNonce || len(req.sa.Proposals) == 0 {
		return nil, notifyErr(wire.INVALID_SYNTAX, nil, "CREATE_CHILD_SA without SA or Nonce")
	}
	nr := make([]byte, NonceLen)
	if _, err := io.ReadFull(s.e.cfg.rand(), nr); err != nil {
		return nil, notifyErr(wire.TEMPORARY_FAILURE, err, "no randomness")
	}
	if req.sa.Proposals[0].Protocol == wire.ProtoIKE {
		return s.rekeyIKE(req.sa, req.ke, nonceData, nr)
	}
	if req.tsi == nil || req.tsr == nil {
		return nil, notifyErr(wire.INVALID_SYNTAX, nil, "CREATE_CHILD_SA for a child SA without TSi/TSr")
	}
	if rekeySPI != nil {
		if !rekeyESP || len(rekeySPI) != 4 {
			return nil, notifyErr(wire.CHILD_SA_NOT_FOUND, nil, "REKEY_SA names no ESP SA")
		}
		// The peer names the SA by the SPI it receives on: our outbound.
		out := binary.BigEndian.Uint32(rekeySPI)
		if req.rekey = s.childOut(out); req.rekey == nil {
			return nil, &NotifyError{Type: wire.CHILD_SA_NOT_FOUND, Reason: fmt.Sprintf("no CHILD_SA with SPI %08x to rekey", out)}
		}
	}
	req.pfs, req.ni, req.nr = true, nonceData, nr
	resp, child, ne := s.negotiateChild(&req)
	if ne != nil {
		s.auditFail("child_refused", ne.Type.String(), ne.Reason)
		return nil, ne
	}
	what := "created"
	if req.rekey != nil {
		what = fmt.Sprintf("rekeyed CHILD_SA %08x_i", req.rekey.SPIIn)
		// The old SA stays until the peer deletes it (RFC 7296, Section
		// 2.8), so that no packet in flight is lost.
		req.rekey.Rekeyed = true
		req.rekey.StopTimer()
		s.peerRekeyed(req.rekey, nonceData, nr)
	}
	s.log("CREATE_CHILD_SA %s: new SPIs %08x_i %08x_o", what, child.SPIIn, child.SPIOut)
	if s.e.cfg.Audit != nil {
		a := *s.audit
		a.Time, a.Event, a.Result = s.e.cfg.now(), "child_created", "ok"
		if req.rekey != nil {
			a.Event = "child_rekeyed"
		}
		a.ChildSPIs = []string{spiLabel(child.SPIIn, 'i'), spiLabel(child.SPIOut, 'o')}
		s.e.cfg.Audit(&a)
	}
	// RFC 7296, Section 1.3.1 orders the response SA, Nr, [KEr], TSi, TSr.
	return append([]wire.Payload{resp[0], &wire.Nonce{Data: nr}}, resp[1:]...), nil
}

// rekeyIKE answers an IKE SA rekey (RFC 7296, Section 1.3.2): the new SA
// gets fresh SPIs and keys from SKEYSEED = prf(SK_d (old), g^ir (new) | Ni
// | Nr) with the old SA's PRF (Section 2.18), and inherits the child SAs.
// The old SA lives until the initiator deletes it.
func (s *ikeSA) rekeyIKE(saPayload *wire.SA, ke *wire.KE, ni, nr []byte) ([]wire.Payload, error) {
	if ke == nil {
		return nil, notifyErr(wire.INVALID_SYNTAX, nil, "IKE SA rekey without KE payload")
	}
	c, err := s.e.cfg.Policy.SelectIKE(saPayload.Proposals, ke.Group)
	if err != nil {
		var np *policy.NoProposalError
		if errors.As(err, &np) {
			return nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "IKE rekey: %s", np.Reason)
		}
		return nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "IKE rekey")
	}
	if c.KE.ID != ke.Group {
		ie := c.InvalidKE(ke.Group)
		return nil, &NotifyError{Type: ie.Notify(), Data: ie.NotifyData(), Reason: ie.Error()}
	}
	if len(c.Proposal.SPI) != 8 {
		return nil, notifyErr(wire.INVALID_SYNTAX, nil, "IKE rekey proposal with a %d-octet SPI", len(c.Proposal.SPI))
	}
	g, ok := crypto.KE(c.KE.ID)
	if !ok {
		return nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, nil, "%s not implemented", c.KE)
	}
	priv, err := g.Generate(s.e.cfg.rand())
	if err != nil {
		return nil, notifyErr(wire.TEMPORARY_FAILURE, err, "key generation failed")
	}
	gir, err := priv.SharedSecret(ke.Data)
	if err != nil {
		return nil, notifyErr(wire.INVALID_SYNTAX, err, "peer's %s public value is invalid", c.KE)
	}
	spir, err := s.e.newSPI()
	if err != nil {
		return nil, notifyErr(wire.TEMPORARY_FAILURE, err, "no randomness")
	}
	n := s.successor(c, ni, nr)
	copy(n.spii[:], c.Proposal.SPI)
	n.spir = spir
	// The old SA's PRF makes SKEYSEED; the new SA's derives the keys.
	if err := n.deriveKeysFrom(crypto.RekeySKEYSEED(s.prf, s.keys.SKd, gir, ni, nr)); err != nil {
		return nil, notifyErr(wire.NO_PROPOSAL_CHOSEN, err, "deriving keys")
	}
	if st := s.ikeRekeying; st != nil {
		// Both ends rekeyed at once (RFC 7296, Section 2.8.2); the
		// children stay with whichever new SA survives, decided when our
		// own rekey completes.
		st.peerNonces, st.peerNew = [][]byte{ni, nr}, n
		s.e.mu.Lock()
		s.e.bySPI[n.mySPI()] = n
		s.e.mu.Unlock()
		n.armDPD()
		s.resolveIKERekey()
	} else {
		s.adopt(n, "rekeyed by the initiator")
	}
	prop := c.Proposal
	prop.SPI = append([]byte(nil), spir[:]...)
	return []wire.Payload{&wire.SA{Proposals: []wire.Proposal{prop}}, &wire.Nonce{Data: nr},
		&wire.KE{Group: c.KE.ID, Data: priv.Public()}}, nil
}

package ike

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// answerRekey plays the peer answering the engine's CREATE_CHILD_SA
// request (a child SA or IKE SA rekey) with nonce nr and SPI spi: the first
// proposal with one transform of each type (the KE transform of the
// request's KE group), a key share in that group, and the request's traffic
// selectors when it carries them.
func answerRekey(t *testing.T, s *Session, req *wire.Message, nr, spi []byte) []byte {
	t.Helper()
	inner, err := req.Decrypt(s.in)
	require.NoError(t, err)
	saP, ke := payloadOf[*wire.SA](inner), payloadOf[*wire.KE](inner)
	require.NotNil(t, saP)
	require.NotNil(t, ke)
	prop := saP.Proposals[0]
	seen := map[wire.TransformType]bool{}
	var ts []wire.Transform
	for _, tr := range prop.Transforms {
		if tr.Type == wire.TransformKE && tr.ID != ke.Group {
			continue
		}
		if !seen[tr.Type] {
			seen[tr.Type] = true
			ts = append(ts, tr)
		}
	}
	prop.Transforms, prop.SPI = ts, spi
	g, _ := crypto.KE(ke.Group)
	priv, err := g.Generate(nil)
	require.NoError(t, err)
	out := []wire.Payload{&wire.SA{Proposals: []wire.Proposal{prop}}, &wire.Nonce{Data: nr},
		&wire.KE{Group: ke.Group, Data: priv.Public()}}
	for _, p := range inner {
		if ts, ok := p.(*wire.TS); ok {
			out = append(out, ts)
		}
	}
	h := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: wire.CREATE_CHILD_SA,
		Flags: wire.FlagInitiator | wire.FlagResponse, MessageID: req.MessageID}
	msgs, err := s.encode(h, out)
	require.NoError(t, err)
	return msgs[0]
}

// TestChildRekeyCollision: RFC 7296, Section 2.8.1. Both ends rekey the
// same child SA at once; the SA made with the lowest of the four nonces is
// redundant and its initiator deletes it, and the survivor's initiator
// deletes the old SA.
func TestChildRekeyCollision(t *testing.T) {
	// The test controls one nonce of each exchange: Ni of the peer's
	// request and Nr of its answer to the engine's; all-zero is the lowest.
	for _, tc := range []struct {
		name             string
		peerNi, answerNr byte
		engineKeep       bool // the engine's new SA survives
	}{
		{"peer_exchange_has_lowest_nonce_engine_SA_survives", 0x00, 0xff, true},
		{"engine_exchange_has_lowest_nonce_engine_SA_deleted", 0xff, 0x00, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s := established(t, Config{})
			old := h.mem.Children()[0]
			for len(h.p.in) > 0 {
				<-h.p.in
			}
			// 1. The engine starts its rekey; the request waits on the wire.
			require.NoError(t, h.e.RekeyChild(old.SPIIn))
			var engineReq *wire.Message
			select {
			case raw := <-h.p.in:
				m, err := wire.ParseMessage(raw)
				require.NoError(t, err)
				engineReq = m
			case <-time.After(2 * time.Second):
				t.Fatal("the engine sent no CREATE_CHILD_SA")
			}
			require.False(t, engineReq.IsResponse())

			// 2. The peer's own rekey of the same SA crosses it; the engine
			// answers it as usual.
			nonce := bytes.Repeat([]byte{tc.peerNi}, 32)
			ps, _ := childRekeyPayloads(t, old.SPIOut, wire.MODP_2048, peerTS, anyTS)
			for i, p := range ps {
				if _, ok := p.(*wire.Nonce); ok {
					ps[i] = &wire.Nonce{Data: nonce}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			inner, err := s.Request(ctx, wire.CREATE_CHILD_SA, ps)
			require.NoError(t, err)
			require.Zero(t, notifyOf(inner))
			sp := payloadOf[*wire.SA](inner)
			require.NotNil(t, sp)
			peersNew := binary.BigEndian.Uint32(sp.Proposals[0].SPI) // the engine's inbound SPI of the peer's new SA
			assert.Len(t, h.mem.Children(), 2)

			// 3. The peer answers the engine's request; the engine resolves.
			resp := answerRekey(t, s, engineReq, bytes.Repeat([]byte{tc.answerNr}, 32), binary.BigEndian.AppendUint32(nil, 0xc0ffee01))
			h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: resp})

			var del *wire.Delete
			select {
			case raw := <-h.p.in:
				m, err := wire.ParseMessage(raw)
				require.NoError(t, err)
				require.Equal(t, wire.INFORMATIONAL, m.Exchange)
				inner, err := m.Decrypt(s.in)
				require.NoError(t, err)
				require.Len(t, inner, 1)
				del = inner[0].(*wire.Delete)
			case <-time.After(2 * time.Second):
				t.Fatal("the engine deleted nothing")
			}
			deleted := binary.BigEndian.Uint32(del.SPIs[0])
			var enginesNew *sa.Child
			for _, c := range h.mem.Children() {
				if c.SPIOut == 0xc0ffee01 {
					enginesNew = c
				}
			}
			if tc.engineKeep {
				assert.Equal(t, old.SPIIn, deleted, "the survivor's initiator deletes the old SA")
				require.NotNil(t, enginesNew)
				assert.Len(t, h.mem.Children(), 2, "the engine's new SA and the peer's redundant one, which the peer deletes")
			} else {
				assert.Nil(t, enginesNew, "the engine's redundant SA is gone")
				assert.NotEqual(t, old.SPIIn, deleted)
				assert.Len(t, h.mem.Children(), 2, "the old SA, which the peer deletes, and the peer's new SA")
				var found bool
				for _, c := range h.mem.Children() {
					found = found || c.SPIIn == peersNew
				}
				assert.True(t, found, "the peer's new SA survives")
			}
		})
	}
}

// TestIKERekeyCollision: RFC 7296, Section 2.8.2. Both ends rekey the IKE
// SA at once; the new SA made with the lowest nonce is redundant and its
// initiator deletes it, and the survivor's initiator deletes the old SA.
// The child SA ends up on the survivor.
func TestIKERekeyCollision(t *testing.T) {
	for _, tc := range []struct {
		name             string
		peerNi, answerNr byte
		engineKeep       bool
	}{
		{"peer_exchange_has_lowest_nonce_engine_SA_survives", 0x00, 0xff, true},
		{"engine_exchange_has_lowest_nonce_engine_SA_deleted", 0xff, 0x00, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s := established(t, Config{})
			for len(h.p.in) > 0 {
				<-h.p.in
			}
			old := h.e.SAs()[0]
			require.NoError(t, h.e.RekeyIKE(s.spir))
			var engineReq *wire.Message
			select {
			case raw := <-h.p.in:
				m, err := wire.ParseMessage(raw)
				require.NoError(t, err)
				engineReq = m
			case <-time.After(2 * time.Second):
				t.Fatal("the engine sent no IKE rekey")
			}

			// The peer's own IKE rekey crosses it.
			peerRekeysIKE(t, s, peerSPI, bytes.Repeat([]byte{tc.peerNi}, 32))

			// The peer answers the engine's rekey; the engine resolves.
			answerSPI := wire.SPI{0xee, 0xee, 0, 0, 0, 0, 0, 1}
			h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: answerRekey(t, s, engineReq, bytes.Repeat([]byte{tc.answerNr}, 32), answerSPI[:])})
			var del *wire.Message
			select {
			case raw := <-h.p.in:
				m, err := wire.ParseMessage(raw)
				require.NoError(t, err)
				require.Equal(t, wire.INFORMATIONAL, m.Exchange)
				del = m
			case <-time.After(2 * time.Second):
				t.Fatal("the engine deleted nothing")
			}
			var withChild []Status
			for _, st := range h.e.SAs() {
				if len(st.Children) > 0 {
					withChild = append(withChild, st)
				}
			}
			require.Len(t, withChild, 1, "exactly one IKE SA holds the child SA")
			if tc.engineKeep {
				assert.Equal(t, old.SPIr, del.SPIr.String(), "the survivor's initiator deletes the old IKE SA")
				assert.Equal(t, answerSPI.String(), withChild[0].SPIr, "the child lives on the engine's new SA")
				assert.True(t, withChild[0].Initiator, "the engine is the original initiator of its new SA")
			} else {
				assert.Equal(t, answerSPI, del.SPIr, "the engine deletes its own redundant SA")
				assert.Equal(t, peerSPI.String(), withChild[0].SPIi, "the child lives on the peer's new SA")
			}
			// The child's expiry finds it on the survivor.
			c := h.mem.Children()[0]
			h.e.ChildExpired(c.SPIIn, true)
			assert.Empty(t, h.mem.Children(), "the hard expiry deleted the child SA on the survivor")
			assert.Zero(t, h.e.indexedChildren())
		})
	}
}

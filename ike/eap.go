package ike

import (
	"context"
	"fmt"
	"time"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// eapState is an IKE_AUTH with EAP in progress (RFC 7296, Section 2.16):
// the first request's child SA and CP wait until the final AUTH.
type eapState struct {
	server eap.Server
	req    *authRequest
	msk    []byte // set once EAP succeeded
}

// startEAP answers the first IKE_AUTH of an EAP initiator: our own
// certificate and AUTH, and EAP-Request/Identity.
func (s *ikeSA) startEAP(r *authRequest) ([]wire.Payload, error) {
	if s.e.cfg.EAP == nil {
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, nil, "peer asked for EAP, which is not configured"))
	}
	cfg := *s.e.cfg.EAP
	cfg.CallingStationID = s.remote.Addr().Unmap().String()
	if cfg.Rand == nil {
		cfg.Rand = s.e.cfg.Rand
	}
	if cfg.Log == nil {
		cfg.Log = s.e.cfg.Log
	}
	server, err := eap.NewServer(cfg)
	if err != nil {
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, err, "EAP server"))
	}
	first, err := server.Start()
	if err != nil {
		server.Close()
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, err, "EAP server"))
	}
	// The responder authenticates with its certificate even with EAP
	// (Section 2.16); method 1/9-11 or RFC 7427 as for any peer.
	resp, ne := s.authenticateSelf(wire.AuthRSASig)
	if ne != nil {
		server.Close()
		return s.authFailed(ne)
	}
	s.eap = &eapState{server: server, req: r}
	s.audit.AuthMethod = "EAP"
	s.log("peer requested EAP, starting with %s", first.Summary())
	return append(resp, first), nil
}

// handleEAP runs the IKE_AUTH exchanges after the first: EAP responses
// until Success or Failure, then the AUTH computed from the MSK.
func (s *ikeSA) handleEAP(inner []wire.Payload) ([]wire.Payload, error) {
	var pkt *wire.EAP
	var auth *wire.Auth
	for _, pl := range inner {
		switch pl := pl.(type) {
		case *wire.EAP:
			pkt = pl
		case *wire.Auth:
			auth = pl
		}
	}
	st := s.eap
	if st.msk != nil {
		return s.finishEAP(auth)
	}
	if pkt == nil {
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, nil, "IKE_AUTH during EAP without an EAP payload"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.e.cfg.TrustTimeout+s.eapRADIUSBudget())
	defer cancel()
	next, done, res, err := st.server.Next(ctx, pkt)
	if err != nil {
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, err, "EAP"))
	}
	if res != nil {
		s.audit.AuthMethod = "EAP-" + res.Method.String()
		if res.Identity != "" {
			s.audit.PeerID = fmt.Sprintf("%s (EAP identity %q)", s.audit.PeerID, res.Identity)
		}
		if res.Certificate != nil {
			s.audit.Certificate = res.Certificate
		}
		if !res.Success {
			s.auditFail("refused", wire.AUTHENTICATION_FAILED.String(), "EAP: "+res.Reason)
			s.log("EAP %s failed: %s", res.Method, res.Reason)
			if done {
				st.server.Close()
				s.state = sa.Deleting
			}
			return []wire.Payload{next}, nil
		}
		if done {
			st.msk = res.MSK
			s.log("EAP %s succeeded for %q", res.Method, res.Identity)
		}
	}
	return []wire.Payload{next}, nil
}

// finishEAP checks the initiator's AUTH from the MSK and completes the IKE
// SA with the child SA of the first request (RFC 7296, Section 2.16).
func (s *ikeSA) finishEAP(auth *wire.Auth) ([]wire.Payload, error) {
	st := s.eap
	if auth == nil || auth.Method != wire.AuthSharedKey {
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, nil, "no AUTH from the MSK after EAP success"))
	}
	octets := crypto.SignedOctets(s.prf, s.initReq, s.nr, s.keys.SKpi, st.req.idi.Body())
	if !crypto.VerifyPSKAuth(s.prf, st.msk, octets, auth.Data) {
		return s.authFailed(notifyErr(wire.AUTHENTICATION_FAILED, nil, "AUTH from the EAP MSK does not verify"))
	}
	rid := s.localID()
	ours := crypto.SignedOctets(s.prf, s.initResp, s.ni, s.keys.SKpr, rid.Body())
	resp := []wire.Payload{&wire.Auth{Method: wire.AuthSharedKey, Data: crypto.PSKAuth(s.prf, st.msk, ours)}}
	st.server.Close()
	s.eap = nil
	return s.establish(st.req, resp), nil
}

// eapRADIUSBudget is the extra time a relayed round trip may take: every
// attempt of the RADIUS client.
func (s *ikeSA) eapRADIUSBudget() time.Duration {
	if r := s.e.cfg.EAP.RADIUS; r != nil {
		return r.MaxWait()
	}
	return 0
}

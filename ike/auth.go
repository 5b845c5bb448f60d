package ike

import (
	"bytes"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// authRequest holds the payloads of an IKE_AUTH request (RFC 7296, Section
// 1.2) while it is processed.
type authRequest struct {
	idi       *wire.ID
	idr       *wire.ID
	certs     []*wire.Cert
	auth      *wire.Auth
	cp        *wire.CP
	sa        *wire.SA
	tsi, tsr  *wire.TS
	transport bool
	notifies  []string
}

func (s *ikeSA) handleAuth(m *wire.Message, inner []wire.Payload) ([]wire.Payload, error) {
	var r authRequest
	for _, pl := range inner {
		switch pl := pl.(type) {
		case *wire.ID:
			if pl.Responder {
				r.idr = pl
			} else {
				r.idi = pl
			}
		case *wire.Cert:
			r.certs = append(r.certs, pl)
		case *wire.Auth:
			r.auth = pl
		case *wire.CP:
			r.cp = pl
		case *wire.SA:
			r.sa = pl
		case *wire.TS:
			if pl.Responder {
				r.tsr = pl
			} else {
				r.tsi = pl
			}
		case *wire.Notify:
			if pl.NotifyType == wire.USE_TRANSPORT_MODE {
				r.transport = true
			}
			r.notifies = append(r.notifies, pl.NotifyType.String())
		}
	}
	if r.idi == nil {
		return s.authFailed(notifyErr(wire.INVALID_SYNTAX, nil, "IKE_AUTH without IDi"))
	}
	// A copy: the payload points into the decrypted message, which the SA
	// would otherwise keep for its lifetime (~0.7 KiB per SA).
	id := *r.idi
	id.Data = bytes.Clone(id.Data)
	s.peerID = &id
	s.peerIDString = r.idi.String() // a DN is parsed to print it: once
	s.audit.PeerID = r.idi.IDType.String() + " " + s.peerIDString
	if r.auth == nil {
		// RFC 7296, Section 2.16: no AUTH means the initiator wants EAP.
		return s.startEAP(&r)
	}
	s.audit.AuthMethod = r.auth.Method.String()
	if err := s.verifyPeer(&r); err != nil {
		return s.authFailed(err)
	}
	resp, err := s.authenticateSelf(r.auth.Method)
	if err != nil {
		return s.authFailed(err)
	}
	return s.establish(&r, resp), nil
}

// establish completes IKE_AUTH: the IKE SA is up and the child SA and
// configuration reply join the response.
func (s *ikeSA) establish(r *authRequest, resp []wire.Payload) []wire.Payload {
	s.state = sa.Established
	s.countHalfOpen(-1)
	// Both AUTH payloads are computed: the IKE_SA_INIT messages they
	// sign are not needed again (handleInit drops a late duplicate).
	s.initReq, s.initResp = nil, nil
	s.logLine(func(b []byte) []byte {
		b = append(appendAddr(append(b, "IKE_SA established between "...), s.local), '[')
		b = append(appendAddr(append(append(b, s.localIDString()...), "]..."...), s.remote), '[')
		return append(append(b, s.peerIDString...), ']')
	})
	resp = append(resp, s.createChild(r)...)
	a := *s.audit
	a.Time, a.Event, a.Result = s.e.cfg.now(), "established", "ok"
	if s.e.cfg.Audit != nil {
		s.e.cfg.Audit(&a)
	}
	s.armDPD()
	s.scheduleIKERekey()
	return resp
}

// authFailed records the refusal; the SA dies once the notification is
// sent (RFC 7296, Section 2.21.2).
func (s *ikeSA) authFailed(err *NotifyError) ([]wire.Payload, error) {
	s.auditFail("refused", err.Type.String(), err.Reason)
	s.state = sa.Deleting
	return nil, err
}

// verifyPeer checks the initiator's AUTH payload (RFC 7296, Section 2.15).
func (s *ikeSA) verifyPeer(r *authRequest) *NotifyError {
	octets := crypto.SignedOctets(s.prf, s.initReq, s.nr, s.keys.SKpi, r.idi.Body())
	method := r.auth.Method
	if method == crypto.AuthSharedKey {
		if s.e.cfg.PSK == nil {
			return notifyErr(wire.AUTHENTICATION_FAILED, nil, "peer used a pre-shared key; none is configured")
		}
		if !crypto.VerifyPSKAuth(s.prf, s.e.cfg.PSK, octets, r.auth.Data) {
			return notifyErr(wire.AUTHENTICATION_FAILED, nil, "pre-shared key AUTH does not verify (wrong key?)")
		}
		return nil
	}
	if s.e.cfg.Trust == nil {
		return notifyErr(wire.AUTHENTICATION_FAILED, nil, "peer used %s; no trusted root CA is configured", r.auth.Method)
	}
	var leaf []byte
	var others [][]byte
	for _, c := range r.certs {
		if c.Encoding != wire.CertX509Signature {
			continue
		}
		if leaf == nil {
			leaf = c.Data
		} else {
			others = append(others, c.Data)
		}
	}
	if leaf == nil {
		return notifyErr(wire.AUTHENTICATION_FAILED, nil, "peer used %s but sent no X.509 certificate", r.auth.Method)
	}
	ctx, cancel := s.e.trustContext()
	d := s.e.cfg.Trust.Verify(ctx, leaf, others)
	cancel()
	s.audit.Certificate = d
	if !d.Accepted {
		return notifyErr(wire.AUTHENTICATION_FAILED, d.Err, "certificate refused: %s", d.Reason)
	}
	if err := idMatchesCert(r.idi, d.Leaf); err != nil {
		return notifyErr(wire.AUTHENTICATION_FAILED, err, "IDi does not match the certificate")
	}
	if _, err := crypto.VerifyAuth(d.Leaf.PublicKey, method, octets, r.auth.Data); err != nil {
		return notifyErr(wire.AUTHENTICATION_FAILED, err, "%s signature does not verify", r.auth.Method)
	}
	return nil
}

// idMatchesCert applies RFC 4945, Section 3.1: the identity must be the
// certificate's subject or one of its subjectAltNames.
func idMatchesCert(id *wire.ID, cert *x509.Certificate) error {
	switch id.IDType {
	case wire.ID_DER_ASN1_DN:
		if string(id.Data) == string(cert.RawSubject) {
			return nil
		}
	case wire.ID_FQDN:
		for _, n := range cert.DNSNames {
			if strings.EqualFold(n, string(id.Data)) {
				return nil
			}
		}
	case wire.ID_RFC822_ADDR:
		for _, n := range cert.EmailAddresses {
			if strings.EqualFold(n, string(id.Data)) {
				return nil
			}
		}
	case wire.ID_IPV4_ADDR, wire.ID_IPV6_ADDR:
		a, _ := netip.AddrFromSlice(id.Data)
		for _, ip := range cert.IPAddresses {
			if b, ok := netip.AddrFromSlice(ip); ok && b.Unmap() == a.Unmap() {
				return nil
			}
		}
	}
	return fmt.Errorf("ike: %s %s is neither the subject nor a subjectAltName of %s", id.IDType, id, cert.Subject)
}

// authenticateSelf returns IDr, our certificates and our AUTH payload.
func (s *ikeSA) authenticateSelf(peerMethod wire.AuthMethod) ([]wire.Payload, *NotifyError) {
	idr := s.localID()
	octets := crypto.SignedOctets(s.prf, s.initResp, s.ni, s.keys.SKpr, idr.Body())
	out := []wire.Payload{&idr}
	if peerMethod == wire.AuthSharedKey && s.e.cfg.PSK != nil {
		data := crypto.PSKAuth(s.prf, s.e.cfg.PSK, octets)
		return append(out, &wire.Auth{Method: wire.AuthSharedKey, Data: data}), nil
	}
	if s.e.cfg.Key == nil || len(s.e.cfg.Certificates) == 0 {
		return nil, notifyErr(wire.AUTHENTICATION_FAILED, nil, "no responder certificate configured")
	}
	for _, c := range s.e.cfg.Certificates {
		out = append(out, &wire.Cert{Encoding: wire.CertX509Signature, Data: c})
	}
	method, scheme := s.signatureMethod()
	data, err := crypto.SignAuth(s.e.cfg.rand(), s.e.cfg.Key, method, scheme, octets)
	if err != nil {
		return nil, notifyErr(wire.AUTHENTICATION_FAILED, err, "signing our AUTH payload")
	}
	return append(out, &wire.Auth{Method: method, Data: data}), nil
}

// localID is our IDr: the configured identity, else our address.
func (s *ikeSA) localID() wire.ID {
	id := s.e.cfg.ID
	if id == nil {
		a := s.local.Addr().Unmap()
		id = &wire.ID{IDType: wire.ID_IPV4_ADDR, Data: a.AsSlice()}
		if a.Is6() {
			id.IDType = wire.ID_IPV6_ADDR
		}
	}
	idr := *id
	idr.Responder = true
	return idr
}

// signatureMethod prefers RFC 7427 when the peer announced hash algorithms,
// else the classic method for the key type (what Windows expects).
func (s *ikeSA) signatureMethod() (crypto.AuthMethod, crypto.SignatureScheme) {
	pub := s.e.cfg.Key.Public()
	if s.peerHashes != nil {
		if scheme, err := crypto.ChooseScheme(pub, s.peerHashes); err == nil {
			return crypto.AuthDigitalSignature, scheme
		}
	}
	return classicMethod(pub), crypto.SchemeUnknown
}

// classicMethod is the pre-RFC 7427 AUTH method for a key: RSA (1) or the
// RFC 4754 ECDSA method of its curve (9, 10, 11).
func classicMethod(pub stdcrypto.PublicKey) crypto.AuthMethod {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		switch k.Curve.Params().Name {
		case "P-384":
			return crypto.AuthECDSASHA384P384
		case "P-521":
			return crypto.AuthECDSASHA512P521
		}
		return crypto.AuthECDSASHA256P256
	}
	return crypto.AuthRSASignature
}

func (s *ikeSA) localIDString() string {
	if s.e.cfg.ID != nil {
		return s.e.localID
	}
	return s.local.Addr().String()
}

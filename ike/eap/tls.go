package eap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
)

// parseTLS decodes EAP-TLS Type-Data with the wire codec's framing check.
func parseTLS(data []byte) (*wire.EAPTLSFrame, error) {
	f, err := (&wire.EAP{EAPType: wire.EAPTLS, Data: data}).TLS()
	if err != nil {
		return nil, failf(ErrProtocol, err, "malformed EAP-TLS packet")
	}
	return f, nil
}

// tlsServer is the authenticator side of EAP-TLS (RFC 5216; RFC 9190).
type tlsServer struct {
	cfg      *serverSettings
	drv      *tlsDriver
	out      fragmenter
	in       reassembler
	ended    bool            // the handshake is over
	decision *trust.Decision // set by VerifyPeerCertificate
}

func newTLSServer(cfg *serverSettings) *tlsServer {
	t := &tlsServer{cfg: cfg, out: fragmenter{size: cfg.fragSize},
		in: reassembler{maxMsg: cfg.maxMsg, maxFrags: cfg.maxFrags}}
	conf := &tls.Config{
		Certificates: []tls.Certificate{*cfg.cert},
		// The chain is judged by the trust policy below, not by
		// crypto/x509 alone: the same verifier as for IKE machine
		// certificates, with its EKU and CRL rules.
		ClientAuth:             tls.RequireAnyClientCert,
		VerifyPeerCertificate:  t.verify,
		MinVersion:             cfg.minVer,
		MaxVersion:             cfg.maxVer,
		SessionTicketsDisabled: true, // RFC 9190, Section 2.1.2: no resumption here
		Rand:                   cfg.rand,
		Time:                   cfg.now,
	}
	t.drv = newTLSDriver(true, conf, cfg.idle, cfg.maxMsg)
	return t
}

// start sends EAP-TLS Start (RFC 5216, Section 2.1.1): the S flag, no
// data.
func (t *tlsServer) start() ([]byte, error) { return []byte{wire.TLSFlagStart}, nil }

func (t *tlsServer) close() { t.drv.close() }

func (t *tlsServer) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	if len(raw) == 0 {
		return errors.New("eap: the peer sent no certificate")
	}
	d := t.cfg.trust.Verify(t.drv.ctx, raw[0], raw[1:])
	t.decision = d
	if !d.Accepted {
		return d.Err
	}
	return nil
}

func (t *tlsServer) process(ctx context.Context, data []byte) ([]byte, *Result, error) {
	f, err := parseTLS(data)
	if err != nil {
		return nil, nil, err
	}
	if t.out.pending() {
		if !isAck(f) {
			return nil, nil, failf(ErrProtocol, nil, "tls: data instead of the acknowledgement of our fragment")
		}
		return t.out.next(), nil, nil
	}
	if t.ended {
		// Our last flight is out: the peer acknowledges it (RFC 5216,
		// Section 2.1.1; RFC 9190, Section 2.1.1, after the
		// commitment message), or answers an alert we sent.
		if t.drv.err != nil {
			return nil, t.failure(), nil
		}
		if !isAck(f) {
			return nil, nil, failf(ErrTLS, nil, "tls: the peer answered our last flight with data (an alert?)")
		}
		return nil, &Result{Success: true, Method: wire.EAPTLS, MSK: t.drv.msk, Certificate: t.decision,
			Reason: fmt.Sprintf("tls: %s handshake with certificate %s", tlsVersionName(t.drv.version), t.subject())}, nil
	}
	if isAck(f) {
		return nil, nil, failf(ErrProtocol, nil, "tls: acknowledgement with no fragment outstanding")
	}
	msg, complete, err := t.in.add(f)
	if err != nil {
		return nil, nil, err
	}
	if !complete {
		return tlsAck, nil, nil
	}
	out, ended, err := t.drv.step(ctx, msg)
	if err != nil {
		return nil, nil, failf(ErrTLS, err, "tls: handshake interrupted")
	}
	t.ended = ended
	if ended && t.drv.err != nil {
		res := t.failure()
		if len(out) == 0 {
			return nil, res, nil
		}
		// RFC 5216, Section 2.1.3: the alert goes to the peer, which
		// acknowledges it; then EAP-Failure.
		t.out.load(out)
		return t.out.next(), res, nil
	}
	if len(out) == 0 {
		if ended {
			return nil, nil, failf(ErrTLS, nil, "tls: handshake ended without a final flight")
		}
		return nil, nil, failf(ErrProtocol, nil, "tls: the peer's message left the handshake waiting for more")
	}
	t.out.load(out)
	return t.out.next(), nil, nil
}

// failure explains a failed handshake: a refused certificate, or TLS.
func (t *tlsServer) failure() *Result {
	res := &Result{Method: wire.EAPTLS, Certificate: t.decision}
	if d := t.decision; d != nil && !d.Accepted {
		res.Err = failf(ErrCertificate, d.Err, "tls: client certificate %s refused", d.Subject)
	} else {
		res.Err = failf(ErrTLS, t.drv.err, "tls")
	}
	res.Reason = res.Err.Error()
	return res
}

func (t *tlsServer) subject() string {
	if t.decision != nil {
		return t.decision.Subject
	}
	return "?"
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("TLS %#x", v)
}

// tlsClient is the peer side of EAP-TLS.
type tlsClient struct {
	cfg     *clientSettings
	drv     *tlsDriver
	out     fragmenter
	in      reassembler
	started bool
	ended   bool
	dec     *trust.Decision
}

func newTLSClient(cfg *clientSettings) *tlsClient {
	t := &tlsClient{cfg: cfg, out: fragmenter{size: cfg.fragSize},
		in: reassembler{maxMsg: cfg.maxMsg, maxFrags: cfg.maxFrags}}
	conf := &tls.Config{
		ServerName: cfg.name,
		// Verification is done in verify, with the trust policy or
		// crypto/x509, so that a server name is optional.
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: t.verify,
		MinVersion:            cfg.minVer,
		MaxVersion:            cfg.maxVer,
		Rand:                  cfg.rand,
		Time:                  cfg.now,
	}
	if cfg.cert != nil {
		// Always offer the configured certificate, whatever CA names the
		// server lists (FreeRADIUS lists its ca_file).
		cert := cfg.cert
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	t.drv = newTLSDriver(false, conf, cfg.idle, cfg.maxMsg)
	return t
}

func (t *tlsClient) close() { t.drv.close() }

func (t *tlsClient) decision() *trust.Decision { return t.dec }

func (t *tlsClient) complete() bool { return t.ended && t.drv.err == nil && t.drv.msk != nil }

// outcome reads what the goroutine left only once it ended (t.ended).
func (t *tlsClient) outcome() ([]byte, string) {
	if !t.ended {
		return nil, ""
	}
	if t.drv.err != nil {
		if d := t.dec; d != nil && !d.Accepted {
			return nil, "tls: server certificate refused: " + d.Reason
		}
		return nil, "tls: " + t.drv.err.Error()
	}
	return t.drv.msk, ""
}

func (t *tlsClient) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	if len(raw) == 0 {
		return errors.New("eap: the server sent no certificate")
	}
	var leaf *x509.Certificate
	switch {
	case t.cfg.trust != nil:
		d := t.cfg.trust.Verify(t.drv.ctx, raw[0], raw[1:])
		t.dec = d
		if !d.Accepted {
			return d.Err
		}
		leaf = d.Leaf
	case t.cfg.roots != nil:
		certs := make([]*x509.Certificate, len(raw))
		for i, der := range raw {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return fmt.Errorf("eap: server certificate %d: %w", i, err)
			}
			certs[i] = c
		}
		pool := x509.NewCertPool()
		for _, c := range certs[1:] {
			pool.AddCert(c)
		}
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: t.cfg.roots, Intermediates: pool,
			CurrentTime: t.cfg.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			return fmt.Errorf("eap: server certificate: %w", err)
		}
		leaf = certs[0]
	default:
		return nil // InsecureSkipVerify
	}
	if t.cfg.name != "" {
		if err := leaf.VerifyHostname(t.cfg.name); err != nil {
			return fmt.Errorf("eap: server certificate: %w", err)
		}
	}
	return nil
}

func (t *tlsClient) process(ctx context.Context, data []byte) ([]byte, error) {
	f, err := parseTLS(data)
	if err != nil {
		return nil, err
	}
	if !t.started {
		if f.Flags&wire.TLSFlagStart == 0 {
			return nil, failf(ErrProtocol, nil, "tls: the first request lacks the start flag")
		}
		t.started = true
		out, ended, err := t.drv.step(ctx, nil)
		if err != nil || ended {
			return nil, failf(ErrTLS, errors.Join(err, t.drv.err), "tls: cannot start the handshake")
		}
		t.out.load(out)
		return t.out.next(), nil
	}
	if f.Flags&wire.TLSFlagStart != 0 {
		return nil, failf(ErrProtocol, nil, "tls: start flag in the middle of the handshake")
	}
	if t.out.pending() {
		if !isAck(f) {
			return nil, failf(ErrProtocol, nil, "tls: data instead of the acknowledgement of our fragment")
		}
		return t.out.next(), nil
	}
	if isAck(f) {
		return nil, failf(ErrProtocol, nil, "tls: acknowledgement with no fragment outstanding")
	}
	if t.ended {
		return nil, failf(ErrProtocol, nil, "tls: data after the handshake ended")
	}
	msg, complete, err := t.in.add(f)
	if err != nil {
		return nil, err
	}
	if !complete {
		return tlsAck, nil
	}
	out, ended, err := t.drv.step(ctx, msg)
	if err != nil {
		return nil, failf(ErrTLS, err, "tls: handshake interrupted")
	}
	t.ended = ended
	if len(out) == 0 {
		// Nothing to say: the handshake is complete (TLS 1.2 after the
		// server's Finished, TLS 1.3 after the commitment message), or
		// the server sent an alert; RFC 5216, Section 2.1.3, asks for an
		// empty response either way.
		return tlsAck, nil
	}
	t.out.load(out)
	return t.out.next(), nil
}

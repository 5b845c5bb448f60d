package eap

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/ikelab/ikelab/ike/wire"
)

// clientMethod is one method on the peer side.
type clientMethod interface {
	// process consumes a request's Type-Data and returns the response's.
	// err means the peer gives up (the server failed to authenticate or
	// broke the protocol).
	process(ctx context.Context, data []byte) ([]byte, error)
	// complete reports whether the method reached the point where
	// EAP-Success may be accepted (RFC 3748, Section 4.2).
	complete() bool
	// outcome returns the MSK (when complete) and why the method failed
	// (when it learnt so from the server).
	outcome() (msk []byte, reason string)
	close()
}

// client is the EAP peer.
type client struct {
	cfg     *clientSettings
	method  clientMethod
	current wire.EAPType
	rounds  int
	// lastReq and lastResp let a retransmitted request be answered with
	// the same response (RFC 3748, Section 4.1).
	lastReq  []byte
	lastResp *wire.EAP
	done     bool
	result   *Result
	log      *slog.Logger
}

// NewClient returns the peer for one conversation.
func NewClient(cfg ClientConfig) (Client, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return &client{cfg: s, log: s.log.With("eap", "client")}, nil
}

func (c *client) Close() error {
	if c.method != nil {
		c.method.close()
	}
	return nil
}

func (c *client) Next(ctx context.Context, req *wire.EAP) (*wire.EAP, bool, *Result, error) {
	switch {
	case c.done:
		return nil, true, c.result, ErrDone
	case req == nil:
		return nil, false, nil, errors.New("eap: Next with a nil packet")
	}
	c.rounds++
	if c.rounds > c.cfg.maxRounds {
		return c.finish(false, failf(ErrLimit, nil, "more than %d requests", c.cfg.maxRounds))
	}
	switch req.Code {
	case wire.EAPSuccess:
		// RFC 3748, Section 4.2: a Success is accepted only once the
		// method has authenticated the server (mutual methods) and
		// derived its keys; otherwise it is an attack or a broken server.
		if c.method == nil || !c.method.complete() {
			return c.finish(false, failf(ErrProtocol, nil, "EAP-Success before the method completed"))
		}
		return c.finish(true, nil)
	case wire.EAPFailure:
		reason := "server sent EAP-Failure"
		if c.method != nil {
			if _, r := c.method.outcome(); r != "" {
				reason = r
			}
		}
		return c.finish(false, failf(ErrCredentials, nil, "%s", reason))
	case wire.EAPRequest:
	default:
		return c.finish(false, failf(ErrProtocol, nil, "expected a request, got %s", req.Summary()))
	}

	raw, err := Marshal(req)
	if err != nil {
		return c.finish(false, failf(ErrProtocol, err, "request does not encode"))
	}
	if c.lastResp != nil && bytes.Equal(raw, c.lastReq) {
		return c.lastResp, false, nil, nil
	}
	resp, err := c.answer(ctx, req)
	if err != nil {
		return c.finish(false, err)
	}
	c.lastReq, c.lastResp = raw, resp
	return resp, false, nil, nil
}

func (c *client) answer(ctx context.Context, req *wire.EAP) (*wire.EAP, error) {
	switch req.EAPType {
	case wire.EAPIdentity:
		if c.method != nil {
			return nil, failf(ErrProtocol, nil, "identity request during %s", c.current)
		}
		return response(req.Identifier, wire.EAPIdentity, []byte(c.cfg.identity)), nil
	case wire.EAPNotification:
		// RFC 3748, Section 5.2: acknowledged with an empty response.
		c.log.Info("EAP notification", "text", sanitize(string(req.Data)))
		return response(req.Identifier, wire.EAPNotification, nil), nil
	case wire.EAPNak, wire.EAPExpanded:
		return nil, failf(ErrProtocol, nil, "request of type %s", req.EAPType)
	}
	if c.method == nil {
		if !slices.Contains(c.cfg.methods, req.EAPType) {
			// RFC 3748, Section 5.3.1: a Legacy Nak lists the methods
			// we want, preferred first.
			c.log.Debug("EAP method refused", "offered", req.EAPType, "wanted", typeList(c.cfg.methods))
			nak := make([]byte, len(c.cfg.methods))
			for i, m := range c.cfg.methods {
				nak[i] = byte(m)
			}
			return response(req.Identifier, wire.EAPNak, nak), nil
		}
		c.start(req.EAPType)
	}
	if req.EAPType != c.current {
		return nil, failf(ErrProtocol, nil, "request of type %s during %s", req.EAPType, c.current)
	}
	data, err := c.method.process(ctx, req.Data)
	if err != nil {
		return nil, err
	}
	return response(req.Identifier, c.current, data), nil
}

func (c *client) start(t wire.EAPType) {
	if c.method != nil {
		c.method.close()
	}
	c.current = t
	switch t {
	case wire.EAPMSCHAPv2:
		c.method = newMSCHAPv2Client(c.cfg)
	case wire.EAPTLS:
		c.method = newTLSClient(c.cfg)
	}
}

func (c *client) finish(ok bool, err error) (*wire.EAP, bool, *Result, error) {
	res := &Result{Success: ok, Identity: c.cfg.identity, Method: c.current, Err: err}
	if c.method != nil {
		if msk, _ := c.method.outcome(); ok {
			res.MSK = bytes.Clone(msk)
		}
		if t, isTLS := c.method.(*tlsClient); isTLS {
			res.Certificate = t.decision()
		}
		c.method.close()
	}
	if ok {
		res.Reason = c.current.String() + " succeeded"
		c.log.Info("EAP succeeded", "method", c.current)
	} else {
		res.Reason = err.Error()
		c.log.Info("EAP failed", "method", c.current, "reason", res.Reason)
	}
	c.done, c.result = true, res
	return nil, true, res, nil
}

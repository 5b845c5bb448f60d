package eap

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// crypto/tls drives a handshake over a net.Conn and has no record-by-record
// API for TLS 1.2. tlsDriver runs tls.Conn.Handshake in a goroutine over a
// tlsPipe and hands it one reassembled EAP-TLS message at a time: when the
// handshake blocks on reading with nothing left to read, everything it has
// written is the next message to send. The goroutine ends with the
// handshake, on Close, or after an idle timeout.

// tlsPipe is the net.Conn under the tls.Conn.
type tlsPipe struct {
	in   chan []byte   // driver -> TLS: one message from the peer
	ev   chan bool     // TLS -> driver: blocked on read (false) or finished (true)
	quit chan struct{} // closed by Close
	once sync.Once
	idle time.Duration
	max  int

	mu  sync.Mutex
	out []byte // written by TLS, taken by the driver

	buf []byte // unread input; TLS goroutine only
}

func newTLSPipe(idle time.Duration, maxOut int) *tlsPipe {
	return &tlsPipe{in: make(chan []byte), ev: make(chan bool, 1), quit: make(chan struct{}), idle: idle, max: maxOut}
}

// signal tells the driver that the goroutine waits for input, or ended.
// The channel holds one event, and the driver consumes each before feeding
// again.
func (p *tlsPipe) signal(ended bool) {
	select {
	case p.ev <- ended:
	case <-p.quit:
	}
}

func (p *tlsPipe) Read(b []byte) (int, error) {
	for len(p.buf) == 0 {
		p.signal(false)
		t := time.NewTimer(p.idle)
		select {
		case m := <-p.in:
			t.Stop()
			p.buf = m
		case <-p.quit:
			t.Stop()
			return 0, net.ErrClosed
		case <-t.C:
			return 0, os.ErrDeadlineExceeded
		}
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

func (p *tlsPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.quit:
		return 0, net.ErrClosed
	default:
	}
	if len(p.out)+len(b) > p.max {
		return 0, fmt.Errorf("eap: TLS flight of more than %d octets", p.max)
	}
	p.out = append(p.out, b...)
	return len(b), nil
}

// take returns and clears what TLS wrote.
func (p *tlsPipe) take() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.out
	p.out = nil
	return b
}

func (p *tlsPipe) Close() error {
	p.once.Do(func() { close(p.quit) })
	return nil
}

func (p *tlsPipe) LocalAddr() net.Addr              { return pipeAddr{} }
func (p *tlsPipe) RemoteAddr() net.Addr             { return pipeAddr{} }
func (p *tlsPipe) SetDeadline(time.Time) error      { return nil }
func (p *tlsPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *tlsPipe) SetWriteDeadline(time.Time) error { return nil }
func (pipeAddr) Network() string                    { return "eap" }
func (pipeAddr) String() string                     { return "eap-tls" }

var _ net.Conn = (*tlsPipe)(nil)

type pipeAddr struct{}

// tlsDriver runs one handshake, client or server.
type tlsDriver struct {
	p       *tlsPipe
	conn    *tls.Conn
	server  bool
	keys    *keyLog
	started bool
	ended   bool          // the driver saw the goroutine's last event
	exited  chan struct{} // closed when the goroutine returns
	// ctx is the context of the current step, for certificate checks in
	// VerifyPeerCertificate; set before each message is fed.
	ctx context.Context

	// Set by the goroutine before its last event; read after it.
	err     error
	msk     []byte
	version uint16
}

func newTLSDriver(server bool, cfg *tls.Config, idle time.Duration, maxMsg int) *tlsDriver {
	d := &tlsDriver{p: newTLSPipe(idle, maxMsg), server: server, keys: new(keyLog), ctx: context.Background(),
		exited: make(chan struct{})}
	cfg.KeyLogWriter = d.keys
	if server {
		d.conn = tls.Server(d.p, cfg)
	} else {
		d.conn = tls.Client(d.p, cfg)
	}
	return d
}

// step feeds one complete message from the peer (nil for the first step)
// and returns the data to send next. ended reports that the handshake is
// over, successfully or not (d.err); what it returns then is the last
// flight, an alert or the TLS 1.3 commitment message.
func (d *tlsDriver) step(ctx context.Context, msg []byte) (out []byte, ended bool, err error) {
	select {
	case <-d.p.quit:
		return nil, false, net.ErrClosed // Close was called
	default:
	}
	if d.ended {
		return nil, true, nil
	}
	d.ctx = ctx
	if !d.started {
		d.started = true
		go d.run()
		if err := d.wait(ctx); err != nil {
			return nil, false, err
		}
		if d.ended || msg == nil {
			return d.p.take(), d.ended, nil
		}
	}
	if msg != nil {
		if !d.server {
			d.keys.noteServerHello(msg)
		}
		select {
		case d.p.in <- msg:
		case d.ended = <-d.p.ev: // the goroutine ended (idle timeout) instead of reading
			return d.p.take(), d.ended, nil
		case <-ctx.Done():
			d.close()
			return nil, false, ctx.Err()
		}
	}
	if err := d.wait(ctx); err != nil {
		return nil, false, err
	}
	out = d.p.take()
	if d.server {
		d.keys.noteServerHello(out)
	}
	return out, d.ended, nil
}

// wait blocks until the goroutine reads with nothing left, or ends.
func (d *tlsDriver) wait(ctx context.Context) error {
	select {
	case d.ended = <-d.p.ev:
		return nil
	case <-ctx.Done():
		d.close()
		return ctx.Err()
	}
}

// run is the handshake goroutine. It sets err, msk and ended before its
// last event, so the driver reads them once it received that event.
func (d *tlsDriver) run() {
	defer close(d.exited)
	err := d.conn.Handshake()
	if err == nil {
		err = d.afterHandshake()
	}
	d.err = err
	d.p.signal(true)
}

// afterHandshake applies RFC 9190, Section 2.1.1, for TLS 1.3: the server
// commits to sending no more handshake messages with one octet of
// application data, 0x00, and the peer waits for it. Then it derives the
// MSK.
func (d *tlsDriver) afterHandshake() error {
	cs := d.conn.ConnectionState()
	d.version = cs.Version
	if cs.Version == tls.VersionTLS13 {
		if d.server {
			if _, err := d.conn.Write([]byte{0}); err != nil {
				return err
			}
		} else {
			var b [16]byte
			n, err := d.conn.Read(b[:])
			if err != nil {
				return fmt.Errorf("eap: waiting for the TLS 1.3 commitment message: %w", err)
			}
			if n != 1 || b[0] != 0 {
				return errors.New("eap: TLS 1.3 application data other than the commitment message 0x00")
			}
		}
	}
	msk, err := eapTLSMSK(&cs, d.keys)
	d.msk = msk
	return err
}

func (d *tlsDriver) close() {
	d.p.Close()
	d.keys.clear()
}

// eapTLSMSK derives the MSK. TLS 1.3 (RFC 9190, Section 2.3): the first
// 64 of 128 octets of TLS-Exporter("EXPORTER_EAP_TLS_Key_Material",
// Type-Code 0x0D, 128). TLS 1.2 (RFC 5216, Section 2.3): the first 64 of
// TLS-PRF-128(master_secret, "client EAP encryption", client.random ||
// server.random), which is the RFC 5705 exporter without context.
func eapTLSMSK(cs *tls.ConnectionState, keys *keyLog) ([]byte, error) {
	if cs.Version == tls.VersionTLS13 {
		km, err := cs.ExportKeyingMaterial("EXPORTER_EAP_TLS_Key_Material", []byte{0x0d}, 128)
		if err != nil {
			return nil, fmt.Errorf("eap: tls exporter: %w", err)
		}
		return km[:64], nil
	}
	if km, err := cs.ExportKeyingMaterial("client EAP encryption", nil, 128); err == nil {
		return km[:64], nil
	}
	// crypto/tls refuses the exporter without the extended master secret
	// (RFC 7627), which older EAP-TLS peers do not send; RFC 5216 predates
	// it and uses the plain master secret, which crypto/tls reveals only
	// through its key log (kept in memory here, never written out).
	clientRandom, master := keys.get()
	if master == nil {
		return nil, errors.New("eap: no TLS 1.2 master secret for the MSK")
	}
	h := sha256.New
	if strings.Contains(tls.CipherSuiteName(cs.CipherSuite), "SHA384") {
		h = sha512.New384
	}
	serverRandom := keys.serverRandom()
	if serverRandom == nil {
		return nil, errors.New("eap: no TLS 1.2 server random for the MSK")
	}
	seed := append(append([]byte("client EAP encryption"), clientRandom...), serverRandom...)
	return prf12(h, master, seed, 128)[:64], nil
}

// prf12 is the TLS 1.2 PRF, P_hash (RFC 5246, Section 5); the label is
// part of seed.
func prf12(h func() hash.Hash, secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n+64)
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// keyLog receives crypto/tls's NSS key log lines in memory, to recover
// the TLS 1.2 master secret for the MSK. Nothing is written anywhere.
type keyLog struct {
	mu           sync.Mutex
	clientRandom []byte
	master       []byte
	srvRandom    []byte
}

func (k *keyLog) Write(line []byte) (int, error) {
	f := strings.Fields(string(line))
	if len(f) == 3 && f[0] == "CLIENT_RANDOM" {
		cr, err1 := hex.DecodeString(f[1])
		ms, err2 := hex.DecodeString(f[2])
		if err1 == nil && err2 == nil && len(cr) == 32 && len(ms) == 48 {
			k.mu.Lock()
			k.clientRandom, k.master = cr, ms
			k.mu.Unlock()
		}
	}
	return len(line), nil
}

func (k *keyLog) get() ([]byte, []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.clientRandom, k.master
}

// serverRandom returns the server random of a TLS 1.2 handshake, which
// the key log does not carry; the driver records it from the ServerHello.
func (k *keyLog) serverRandom() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.srvRandom
}

// noteServerHello records the server random from the first server flight
// (RFC 5246, Sections 6.2.1 and 7.4.1.3): a handshake record whose first
// message is a ServerHello, then server_version and random.
func (k *keyLog) noteServerHello(flight []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.srvRandom != nil {
		return
	}
	s := cryptobyte.String(flight)
	var contentType, msgType uint8
	var recordVersion, recordLen, helloVersion uint16
	var msgLen uint32
	var random []byte
	if s.ReadUint8(&contentType) && contentType == 22 &&
		s.ReadUint16(&recordVersion) && s.ReadUint16(&recordLen) &&
		s.ReadUint8(&msgType) && msgType == 2 && s.ReadUint24(&msgLen) &&
		s.ReadUint16(&helloVersion) && s.ReadBytes(&random, 32) {
		k.srvRandom = bytes.Clone(random)
	}
}

func (k *keyLog) clear() {
	k.mu.Lock()
	clear(k.master)
	k.mu.Unlock()
}

package eap

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
)

// Defaults for zero fields of the configurations.
const (
	// DefaultFragmentSize is the TLS data per EAP-TLS fragment that we
	// send. strongSwan uses 1024 too: with the IKE and EAP headers the
	// IKE_AUTH message stays below a 1280-octet path MTU.
	DefaultFragmentSize = 1024
	// DefaultMaxTLSMessage bounds one reassembled EAP-TLS message from the
	// peer (RFC 5216, Section 2.1.5, leaves it open). A Windows user
	// certificate chain is a few KiB; RFC 9190, Section 2.1.6, mentions
	// chains of up to about 64 KiB.
	DefaultMaxTLSMessage = 64 << 10
	// DefaultMaxFragments bounds the fragments of one EAP-TLS message.
	DefaultMaxFragments = 64
	// DefaultMaxRounds bounds the responses of one conversation: a full
	// EAP-TLS handshake with 64 KiB of certificates in 1 KiB fragments
	// needs about 70.
	DefaultMaxRounds = 100
	// DefaultIdleTimeout ends the TLS goroutine of a conversation the
	// peer abandoned without Close; IKE half-open SAs are reaped sooner.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultServerName is the MS-CHAPv2 authenticator name.
	DefaultServerName = "ikelab"
)

// ServerConfig configures the authenticator. One value may be shared by
// many Servers: NewServer copies what it needs.
type ServerConfig struct {
	// Methods are the methods offered, in order; the first is proposed
	// after the identity, the others are accepted from a Nak. Default:
	// MSCHAPv2 if Users is set, then TLS if Certificate is set.
	Methods []wire.EAPType
	// Users maps MS-CHAPv2 user names to NT hashes (NTHash). A name
	// "DOMAIN\user" from the peer is looked up as sent, then as "user".
	Users map[string][16]byte
	// ServerName is the MS-CHAPv2 authenticator name in the Challenge
	// (default DefaultServerName).
	ServerName string

	// Certificate is the EAP-TLS server certificate chain and key.
	Certificate *tls.Certificate
	// Trust validates EAP-TLS client certificates, the same verifier as
	// for IKE machine certificates (chain, EKU, CRL).
	Trust *trust.Verifier
	// TLSMinVersion and TLSMaxVersion bound the TLS version (default 1.2
	// and 1.3; RFC 9190 for 1.3).
	TLSMinVersion, TLSMaxVersion uint16
	// FragmentSize is the TLS data per EAP-TLS fragment we send (default
	// DefaultFragmentSize).
	FragmentSize int
	// MaxTLSMessage and MaxFragments bound one reassembled EAP-TLS
	// message from the peer (defaults DefaultMaxTLSMessage and
	// DefaultMaxFragments).
	MaxTLSMessage, MaxFragments int

	// RADIUS, when set, relays the conversation after the identity to a
	// RADIUS server; Users, Certificate and Trust are then unused.
	RADIUS *RADIUSConfig
	// CallingStationID is sent to RADIUS as Calling-Station-Id: the
	// peer's IP address for IKEv2 (RFC 3580, Section 3.20). Per SA.
	CallingStationID string

	// MaxRounds bounds the responses of one conversation (default
	// DefaultMaxRounds).
	MaxRounds int
	// IdleTimeout ends an abandoned TLS handshake (default
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// Rand supplies challenges, identifiers and TLS randomness (default
	// crypto/rand).
	Rand io.Reader
	// Now is the clock of the TLS stack (default time.Now).
	Now func() time.Time
	// Log receives one line per conversation step; nil discards.
	Log *slog.Logger
}

// RADIUSConfig configures the relay to one RADIUS server (RFC 2865,
// RFC 3579).
type RADIUSConfig struct {
	// Server is host:port (port default 1812).
	Server string
	// Secret is the shared secret (RFC 2865, Section 3). Required.
	Secret []byte
	// Timeout is how long one attempt waits for the answer (default 3 s,
	// RFC 5080, Section 2.2.1's initial retransmission time is 2 s).
	Timeout time.Duration
	// Retries is the number of retransmissions of an unanswered request
	// (default 2; -1 for none). Each is the same packet: same Identifier
	// and Request Authenticator (RFC 5080, Section 2.2.1).
	Retries int
	// NASIdentifier is sent as NAS-Identifier (default "ikelab"; RFC 2865
	// requires it or NAS-IP-Address).
	NASIdentifier string
	// NASIPAddress, if valid, is sent as NAS-IP-Address.
	NASIPAddress netip.Addr
	// FramedMTU, if set, is sent as Framed-MTU so that the server sizes
	// its EAP-TLS fragments to fit (RFC 3579, Section 2.4).
	FramedMTU int
	// Dial opens the UDP socket of one round trip (default net.Dialer);
	// tests use it to reach a server inside a network namespace.
	Dial func(network, address string) (net.Conn, error)
}

// ClientConfig configures the peer.
type ClientConfig struct {
	// Identity is sent in EAP-Response/Identity and is the MS-CHAPv2
	// user name ("DOMAIN\user" works; the domain is left out of the
	// challenge hash as RFC 2759 requires).
	Identity string
	// Password is the MS-CHAPv2 password; NTHash may be given instead.
	Password string
	NTHash   *[16]byte
	// Certificate is the EAP-TLS client certificate chain and key.
	Certificate *tls.Certificate
	// Methods are the acceptable methods, preferred first; a request for
	// another method is answered with a Nak that lists them, as Windows
	// does. Default: MSCHAPv2 if a password is set, TLS if a certificate.
	Methods []wire.EAPType

	// Trust, if set, judges the EAP-TLS server certificate (configure it
	// to accept serverAuth). Otherwise RootCAs and ServerName are used
	// with crypto/x509; InsecureSkipVerify accepts any server (lab only).
	Trust              *trust.Verifier
	RootCAs            *x509.CertPool
	ServerName         string
	InsecureSkipVerify bool
	// TLSMinVersion and TLSMaxVersion bound the TLS version (default 1.2
	// and 1.3).
	TLSMinVersion, TLSMaxVersion uint16
	// FragmentSize, MaxTLSMessage and MaxFragments: as in ServerConfig.
	FragmentSize, MaxTLSMessage, MaxFragments int

	// MaxRounds, IdleTimeout, Rand, Now, Log: as in ServerConfig.
	MaxRounds   int
	IdleTimeout time.Duration
	Rand        io.Reader
	Now         func() time.Time
	Log         *slog.Logger
}

// common are the settings both sides share, with defaults applied.
type common struct {
	fragSize, maxMsg, maxFrags, maxRounds int
	minVer, maxVer                        uint16
	idle                                  time.Duration
	rand                                  io.Reader
	now                                   func() time.Time
	log                                   *slog.Logger
}

func newCommon(fragSize, maxMsg, maxFrags, maxRounds int, minVer, maxVer uint16, idle time.Duration,
	r io.Reader, now func() time.Time, log *slog.Logger) (common, error) {
	c := common{fragSize, maxMsg, maxFrags, maxRounds, minVer, maxVer, idle, r, now, log}
	if c.fragSize == 0 {
		c.fragSize = DefaultFragmentSize
	}
	if c.maxMsg == 0 {
		c.maxMsg = DefaultMaxTLSMessage
	}
	if c.maxFrags == 0 {
		c.maxFrags = DefaultMaxFragments
	}
	if c.maxRounds == 0 {
		c.maxRounds = DefaultMaxRounds
	}
	if c.minVer == 0 {
		c.minVer = tls.VersionTLS12
	}
	if c.maxVer == 0 {
		c.maxVer = tls.VersionTLS13
	}
	if c.idle == 0 {
		c.idle = DefaultIdleTimeout
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.fragSize < 1 || c.fragSize > 16384:
		return c, fmt.Errorf("eap: fragment size %d outside 1..16384", c.fragSize)
	case c.maxMsg < 1024 || c.maxMsg > 1<<20:
		return c, fmt.Errorf("eap: maximum TLS message %d outside 1024..1048576", c.maxMsg)
	case c.maxFrags < 1 || c.maxRounds < 3:
		return c, errors.New("eap: fragment and round limits must be positive")
	case c.minVer < tls.VersionTLS12 || c.maxVer > tls.VersionTLS13 || c.minVer > c.maxVer:
		return c, fmt.Errorf("eap: TLS versions %#x..%#x: EAP-TLS here is TLS 1.2 or 1.3", c.minVer, c.maxVer)
	}
	return c, nil
}

// serverSettings is a validated ServerConfig.
type serverSettings struct {
	common
	methods    []wire.EAPType
	users      map[string][16]byte
	serverName string
	cert       *tls.Certificate
	trust      *trust.Verifier
	radius     *RADIUSConfig
	calling    string
}

func (cfg *ServerConfig) settings() (*serverSettings, error) {
	c, err := newCommon(cfg.FragmentSize, cfg.MaxTLSMessage, cfg.MaxFragments, cfg.MaxRounds,
		cfg.TLSMinVersion, cfg.TLSMaxVersion, cfg.IdleTimeout, cfg.Rand, cfg.Now, cfg.Log)
	if err != nil {
		return nil, err
	}
	s := &serverSettings{common: c, users: cfg.Users, serverName: cfg.ServerName, cert: cfg.Certificate,
		trust: cfg.Trust, calling: cfg.CallingStationID}
	if s.serverName == "" {
		s.serverName = DefaultServerName
	}
	if cfg.RADIUS != nil {
		r, err := cfg.RADIUS.withDefaults()
		if err != nil {
			return nil, err
		}
		s.radius = r
		return s, nil
	}
	s.methods = slices.Clone(cfg.Methods)
	if len(s.methods) == 0 {
		if cfg.Users != nil {
			s.methods = append(s.methods, wire.EAPMSCHAPv2)
		}
		if cfg.Certificate != nil {
			s.methods = append(s.methods, wire.EAPTLS)
		}
	}
	if len(s.methods) == 0 {
		return nil, errors.New("eap: no method configured: set Users (MSCHAPv2), Certificate (TLS) or RADIUS")
	}
	for i, m := range s.methods {
		switch m {
		case wire.EAPMSCHAPv2:
			if cfg.Users == nil {
				return nil, errors.New("eap: MSCHAPv2 offered without Users")
			}
		case wire.EAPTLS:
			if cfg.Certificate == nil || cfg.Trust == nil {
				return nil, errors.New("eap: TLS offered without a server Certificate and a Trust verifier for clients")
			}
		default:
			return nil, fmt.Errorf("eap: method %s is not implemented", m)
		}
		if slices.Contains(s.methods[:i], m) {
			return nil, fmt.Errorf("eap: method %s listed twice", m)
		}
	}
	return s, nil
}

// MaxWait is the longest one relayed round trip can take: every attempt
// waiting its Timeout, defaults applied. A caller bounding Server.Next
// with a context gives it at least this much.
func (r *RADIUSConfig) MaxWait() time.Duration {
	c, err := r.withDefaults()
	if err != nil {
		return 0
	}
	return c.Timeout * time.Duration(c.Retries+1)
}

func (r *RADIUSConfig) withDefaults() (*RADIUSConfig, error) {
	c := *r
	if c.Server == "" {
		return nil, errors.New("eap: radius server address missing")
	}
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		c.Server = net.JoinHostPort(c.Server, "1812")
	}
	if len(c.Secret) == 0 {
		return nil, errors.New("eap: radius shared secret missing")
	}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Second
	}
	switch {
	case c.Retries == 0:
		c.Retries = 2
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.NASIdentifier == "" {
		c.NASIdentifier = "ikelab"
	}
	if len(c.NASIdentifier) > 253 {
		return nil, errors.New("eap: NAS-Identifier longer than 253 octets")
	}
	if c.FramedMTU != 0 && (c.FramedMTU < 64 || c.FramedMTU > 65535) {
		return nil, fmt.Errorf("eap: Framed-MTU %d outside 64..65535", c.FramedMTU)
	}
	if c.Dial == nil {
		c.Dial = net.Dial
	}
	return &c, nil
}

// clientSettings is a validated ClientConfig.
type clientSettings struct {
	common
	identity string
	ntHash   *[16]byte
	cert     *tls.Certificate
	methods  []wire.EAPType
	trust    *trust.Verifier
	roots    *x509.CertPool
	name     string
	insecure bool
}

func (cfg *ClientConfig) settings() (*clientSettings, error) {
	c, err := newCommon(cfg.FragmentSize, cfg.MaxTLSMessage, cfg.MaxFragments, cfg.MaxRounds,
		cfg.TLSMinVersion, cfg.TLSMaxVersion, cfg.IdleTimeout, cfg.Rand, cfg.Now, cfg.Log)
	if err != nil {
		return nil, err
	}
	s := &clientSettings{common: c, identity: cfg.Identity, ntHash: cfg.NTHash, cert: cfg.Certificate,
		methods: slices.Clone(cfg.Methods), trust: cfg.Trust, roots: cfg.RootCAs, name: cfg.ServerName,
		insecure: cfg.InsecureSkipVerify}
	if len(s.identity) > maxIdentity {
		return nil, fmt.Errorf("eap: identity longer than %d octets", maxIdentity)
	}
	if s.ntHash == nil && cfg.Password != "" {
		h := NTHash(cfg.Password)
		s.ntHash = &h
	}
	if len(s.methods) == 0 {
		if s.ntHash != nil {
			s.methods = append(s.methods, wire.EAPMSCHAPv2)
		}
		if s.cert != nil {
			s.methods = append(s.methods, wire.EAPTLS)
		}
	}
	if len(s.methods) == 0 {
		return nil, errors.New("eap: client has neither a password nor a certificate")
	}
	for _, m := range s.methods {
		switch m {
		case wire.EAPMSCHAPv2:
			if s.ntHash == nil {
				return nil, errors.New("eap: MSCHAPv2 accepted without a password")
			}
		case wire.EAPTLS:
			if s.trust == nil && s.roots == nil && !s.insecure {
				return nil, errors.New("eap: TLS accepted without Trust, RootCAs or InsecureSkipVerify for the server certificate")
			}
		default:
			return nil, fmt.Errorf("eap: method %s is not implemented", m)
		}
	}
	return s, nil
}

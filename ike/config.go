package ike

import (
	stdcrypto "crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

// Config is what an Engine needs. Zero values take the defaults noted.
type Config struct {
	// Policy selects IKE and ESP proposals. Required.
	Policy *policy.Policy

	// Certificates is the responder's chain, DER, end entity first; Key
	// its private key. Used to authenticate to peers that use signatures.
	Certificates [][]byte
	Key          stdcrypto.Signer
	// ID is the IDr the responder sends. Default: the certificate's
	// subject as ID_DER_ASN1_DN, else the listening address.
	ID *wire.ID

	// PSK, when set, lets peers authenticate with a shared key (AUTH
	// method 2); the responder then authenticates with it too.
	PSK []byte

	// EAP, when set, lets initiators that send no AUTH authenticate with
	// EAP (RFC 7296, Section 2.16): MS-CHAPv2 and EAP-TLS locally, or
	// relayed to RADIUS. The responder still proves itself with its
	// certificate.
	EAP *eap.ServerConfig

	// Trust verifies peer certificates. Without it, signature
	// authentication is refused.
	Trust *trust.Verifier
	// TrustTimeout bounds one certificate check, CRL fetches included, so
	// that the peer's IKE_AUTH retransmissions find an answer. Default 2 s.
	TrustTimeout time.Duration

	// Pool4 and Pool6 hand out virtual addresses to peers that ask for one
	// in a CP request (RFC 7296, Section 2.19).
	Pool4, Pool6 netip.Prefix
	// DNS and NBNS servers returned in CP replies.
	DNS, NBNS []netip.Addr
	// LocalTS are the responder-side traffic selectors (TSr is narrowed to
	// them). Default 0.0.0.0/0 and ::/0.
	LocalTS []netip.Prefix

	// Installer receives negotiated child SAs. Default: sa.NewMemory()
	// (negotiate only).
	Installer sa.Installer

	// FragmentSize is the largest IKE message sent unfragmented to peers
	// that support RFC 7383. Default DefaultFragmentSize.
	FragmentSize int
	// DPDInterval is how long a peer may stay silent before the responder
	// checks it with an empty INFORMATIONAL request. 0 disables DPD.
	DPDInterval time.Duration
	// RetransmitTimeout and RetransmitTries drive our own requests.
	RetransmitTimeout time.Duration
	RetransmitTries   int
	// HalfOpenTimeout reaps IKE SAs whose IKE_AUTH never came.
	HalfOpenTimeout time.Duration

	// CookieThreshold is the number of half-open IKE SAs from which every
	// IKE_SA_INIT must carry a valid COOKIE (RFC 7296, Section 2.6).
	// Zero takes the default, 10; CookieAlways and CookieNever do what
	// they say.
	CookieThreshold int
	// CookieThresholdIP does the same per source address. Default 3, as
	// strongSwan's cookie_threshold_ip.
	CookieThresholdIP int
	// BlockThresholdIP drops IKE_SA_INIT from a source that already holds
	// this many half-open SAs. Default 5, as strongSwan's block_threshold.
	BlockThresholdIP int
	// MaxHalfOpen bounds all half-open SAs, and so the memory a flood can
	// take. Default 10000.
	MaxHalfOpen int

	// Rand and Now make a run reproducible in tests. Defaults: crypto/rand
	// and time.Now.
	Rand io.Reader
	Now  func() time.Time

	// Log receives strongSwan-style log lines. Default: discarded.
	Log *slog.Logger
	// Audit receives one record per connection attempt and per end of an
	// IKE SA. Default: discarded.
	Audit func(*Audit)
	// KeyLog, when set, receives Wireshark ikev2_decryption_table rows
	// (and ESP rows through ESPKeyLog) for every SA. Secrets leave the
	// process here, and only here.
	KeyLog    io.Writer
	ESPKeyLog io.Writer
}

// Special CookieThreshold values.
const (
	CookieAlways = -1
	CookieNever  = -2
)

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) setDefaults() {
	if c.TrustTimeout == 0 {
		c.TrustTimeout = 2 * time.Second
	}
	if len(c.LocalTS) == 0 {
		c.LocalTS = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	}
	if c.Installer == nil {
		c.Installer = sa.NewMemory()
	}
	if c.FragmentSize == 0 {
		c.FragmentSize = DefaultFragmentSize
	}
	if c.RetransmitTimeout == 0 {
		c.RetransmitTimeout = RetransmitTimeout
	}
	if c.RetransmitTries == 0 {
		c.RetransmitTries = RetransmitTries
	}
	if c.HalfOpenTimeout == 0 {
		c.HalfOpenTimeout = HalfOpenTimeout
	}
	if c.CookieThreshold == 0 {
		c.CookieThreshold = 10
	}
	if c.CookieThresholdIP == 0 {
		c.CookieThresholdIP = 3
	}
	if c.BlockThresholdIP == 0 {
		c.BlockThresholdIP = 5
	}
	if c.MaxHalfOpen == 0 {
		c.MaxHalfOpen = 10000
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.ID == nil && len(c.Certificates) > 0 {
		if cert, err := x509.ParseCertificate(c.Certificates[0]); err == nil {
			c.ID = &wire.ID{Responder: true, IDType: wire.ID_DER_ASN1_DN, Data: cert.RawSubject}
		}
	}
}

// certReqHashes returns the CERTREQ Certification Authority data for our
// trust anchors: SHA-1 of each root's SubjectPublicKeyInfo (RFC 7296,
// Section 3.7).
func (c *Config) certReqHashes() []byte {
	if c.Trust == nil {
		return nil
	}
	var out []byte
	for _, root := range c.Trust.Roots() {
		h := sha1.Sum(root.RawSubjectPublicKeyInfo)
		out = append(out, h[:]...)
	}
	return out
}

package main

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/pemfile"
	"github.com/ikelab/ikelab/xfrm"
)

// Config is the responder's configuration file (YAML). Every field is
// optional except where noted; docs/config.md shows every key.
type Config struct {
	// Listen is the address, or list of addresses, to listen on (default
	// 0.0.0.0: all IPv4; add "::" for all IPv6).
	Listen stringOrList `yaml:"listen"`
	// Port and NATTPort are the IKE and NAT-T ports (default 500, 4500).
	Port     uint16 `yaml:"port"`
	NATTPort uint16 `yaml:"natt_port"`

	// Policy names a built-in policy ("recommended", "windows-default")
	// or spells one out with strongSwan strings or Windows parameters.
	Policy policy.Config `yaml:"policy"`

	// Identity is the responder's own certificate and key.
	Identity IdentityConfig `yaml:"identity"`
	// PSK, if set, is accepted from peers authenticating with a shared key.
	PSK string `yaml:"psk"`
	// Trust decides which peer certificates are accepted.
	Trust trust.Policy `yaml:"trust"`

	// EAP lets clients that send no AUTH (Windows user tunnels)
	// authenticate with EAP-MSCHAPv2 or EAP-TLS, here or through RADIUS.
	EAP *EAPConfig `yaml:"eap"`

	// Pool4 and Pool6 are the virtual address pools, e.g. 10.99.0.0/24.
	Pool4 string `yaml:"pool4"`
	Pool6 string `yaml:"pool6"`
	// DNS and NBNS servers handed out in CP replies.
	DNS  []string `yaml:"dns"`
	NBNS []string `yaml:"nbns"`
	// LocalTS are the networks behind the responder (default everything).
	LocalTS []string `yaml:"local_ts"`

	// XFRM says whether child SAs go into the kernel: required (refuse to
	// start without kernel ESP), auto (the default: use the kernel when it
	// can, else negotiate only) or off (negotiate only).
	XFRM string `yaml:"xfrm"`

	// DPD is the dead peer detection interval (default 30s; 0s disables).
	DPD *time.Duration `yaml:"dpd"`
	// FragmentSize is the largest IKE message sent unfragmented.
	FragmentSize int `yaml:"fragment_size"`
	// RetransmitTimeout and RetransmitTries drive the responder's own
	// requests (DPD, delete): timeout doubles on each try (default 4s, 5).
	RetransmitTimeout time.Duration `yaml:"retransmit_timeout"`
	RetransmitTries   int           `yaml:"retransmit_tries"`

	// CookieThreshold is the number of half-open IKE SAs from which
	// IKE_SA_INIT needs a COOKIE (RFC 7296, Section 2.6): 0 always, -1
	// never; default 10. CookieThresholdIP and BlockThresholdIP apply per
	// source address (defaults 3 and 5, as strongSwan); MaxHalfOpen bounds
	// them all (default 10000).
	CookieThreshold   *int `yaml:"cookie_threshold"`
	CookieThresholdIP int  `yaml:"cookie_threshold_ip"`
	BlockThresholdIP  int  `yaml:"block_threshold_ip"`
	MaxHalfOpen       int  `yaml:"max_half_open"`

	// GCPercent is the garbage collector's target heap growth between
	// collections, Go's GOGC (default 200; the GOGC environment variable
	// wins when set). The heap is mostly established SAs: 200 instead of
	// Go's 100 halves the collector's work per handshake for about a
	// quarter more memory per SA (docs/performance.md).
	GCPercent int `yaml:"gc_percent"`

	// Audit is where JSON audit records go: a file path, or "-" for
	// standard output (default "-").
	Audit string `yaml:"audit"`
	// LogLevel is "debug" (every packet), "info" (default: what each SA
	// proposed, chose and established), "warning" or "error". Below info
	// the responder writes no line for a handshake that succeeds; the
	// audit records still say everything about it.
	LogLevel string `yaml:"log_level"`
	// KeyExport writes Wireshark key tables: IKEv2 and ESP file paths.
	KeyExport struct {
		IKEv2 string `yaml:"ikev2_decryption_table"`
		ESP   string `yaml:"esp_sa"`
	} `yaml:"key_export"`
}

// EAPConfig is the eap section.
type EAPConfig struct {
	// Methods in the order offered: mschapv2, tls (default: mschapv2 if
	// users are set, then tls).
	Methods []string `yaml:"methods"`
	// Users maps user names to NT hashes in hex (responder eap hash
	// prints one); passwords are never stored.
	Users map[string]string `yaml:"users"`
	// RADIUS relays EAP to a RADIUS server instead (RFC 3579).
	RADIUS *struct {
		Server  string        `yaml:"server"`
		Secret  string        `yaml:"secret"`
		Timeout time.Duration `yaml:"timeout"`
		Retries int           `yaml:"retries"`
	} `yaml:"radius"`
}

// IdentityConfig names the responder's credentials.
type IdentityConfig struct {
	// Certificate is a PEM file: the server certificate, then any
	// intermediates.
	Certificate string `yaml:"certificate"`
	// Key is the PEM (PKCS#8, PKCS#1 or SEC 1) private key.
	Key string `yaml:"key"`
	// ID overrides IDr: "fqdn:vpn.example", "ip:192.0.2.1", or "dn" for
	// the certificate subject (the default).
	ID string `yaml:"id"`
}

// configError is one problem found in a config file, with its line.
type configError struct {
	file string
	line int
	msg  string
}

func (e configError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

// loadConfig parses a config file strictly: unknown keys are errors.
func loadConfig(path string) (*Config, map[string]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, configError{file: path, msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	// Remember where each top-level key is, for semantic errors.
	lines := map[string]int{}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil && len(root.Content) > 0 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			lines[m.Content[i].Value] = m.Content[i].Line
		}
	}
	return &c, lines, nil
}

// relPath resolves a path in the config file against the file's directory.
func relPath(config, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(config), p)
}

// logLevel returns log_level as a slog level.
func (c *Config) logLevel() (slog.Level, error) {
	switch c.LogLevel {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("%q is not a level: debug, info, warning or error", c.LogLevel)
}

// defaultGCPercent is gc_percent's default; see Config.GCPercent.
const defaultGCPercent = 200

// gcPercent returns gc_percent or its default.
func (c *Config) gcPercent() int {
	if c.GCPercent > 0 {
		return c.GCPercent
	}
	return defaultGCPercent
}

// trustPolicy is the trust section with its paths resolved.
func (c *Config) trustPolicy(path string) trust.Policy {
	tp := c.Trust
	rel := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = relPath(path, p)
		}
		return out
	}
	tp.RootCAFiles, tp.IntermediateFiles, tp.CRL.Files = rel(tp.RootCAFiles), rel(tp.IntermediateFiles), rel(tp.CRL.Files)
	tp.CRL.Dir = relPath(path, tp.CRL.Dir)
	return tp
}

// build turns the file's values into an engine configuration, collecting
// every error with the line of the key it concerns.
func (c *Config) build(path string, lines map[string]int, log *slog.Logger) (*ike.Config, []netip.Addr, []error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, configError{file: path, line: lines[key], msg: key + ": " + fmt.Sprintf(format, args...)})
	}
	rel := func(p string) string { return relPath(path, p) }
	ec := &ike.Config{Log: log}

	var listen []netip.Addr
	for _, l := range c.Listen {
		a, err := netip.ParseAddr(l)
		if err != nil {
			bad("listen", "%v", err)
		}
		listen = append(listen, a)
	}
	if len(listen) == 0 {
		listen = []netip.Addr{netip.IPv4Unspecified()}
	}
	pol, err := policy.FromConfig(c.Policy)
	if err != nil {
		bad("policy", "%v", err)
	}
	ec.Policy = pol

	if c.Identity.Certificate != "" || c.Identity.Key != "" {
		certs, err := pemfile.Chain(rel(c.Identity.Certificate))
		if err != nil {
			bad("identity", "certificate: %v", err)
		}
		key, err := pemfile.Key(rel(c.Identity.Key))
		if err != nil {
			bad("identity", "key: %v", err)
		}
		ec.Certificates, ec.Key = certs, key
		if id, err := parseID(c.Identity.ID); err != nil {
			bad("identity", "id: %v", err)
		} else {
			ec.ID = id
		}
	}
	if c.PSK != "" {
		ec.PSK = []byte(c.PSK)
	}
	if len(c.Trust.RootCAFiles) > 0 {
		v, err := trust.NewVerifier(c.trustPolicy(path))
		if err != nil {
			bad("trust", "%v", err)
		}
		ec.Trust = v
	}
	if c.EAP != nil {
		ec.EAP = c.eapConfig(ec, func(format string, args ...any) { bad("eap", format, args...) })
	}
	if ec.PSK == nil && ec.Trust == nil && ec.EAP == nil {
		bad("trust", "no way to authenticate peers: set trust.root_ca_files, psk or eap")
	}
	parsePrefix := func(key, s string) netip.Prefix {
		if s == "" {
			return netip.Prefix{}
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			bad(key, "%v", err)
		}
		return p
	}
	ec.Pool4, ec.Pool6 = parsePrefix("pool4", c.Pool4), parsePrefix("pool6", c.Pool6)
	for key, list := range map[string][]string{"dns": c.DNS, "nbns": c.NBNS} {
		for _, s := range list {
			a, err := netip.ParseAddr(s)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			if key == "dns" {
				ec.DNS = append(ec.DNS, a)
			} else {
				ec.NBNS = append(ec.NBNS, a)
			}
		}
	}
	for _, s := range c.LocalTS {
		ec.LocalTS = append(ec.LocalTS, parsePrefix("local_ts", s))
	}
	ec.DPDInterval = 30 * time.Second
	if c.DPD != nil {
		ec.DPDInterval = *c.DPD
	}
	if _, err := xfrm.ParseMode(c.XFRM); err != nil {
		bad("xfrm", "%v", err)
	}
	ec.FragmentSize = c.FragmentSize
	ec.RetransmitTimeout, ec.RetransmitTries = c.RetransmitTimeout, c.RetransmitTries
	if c.CookieThreshold != nil {
		switch t := *c.CookieThreshold; {
		case t == 0:
			ec.CookieThreshold = ike.CookieAlways
		case t < 0:
			ec.CookieThreshold = ike.CookieNever
		default:
			ec.CookieThreshold = t
		}
	}
	ec.CookieThresholdIP, ec.BlockThresholdIP, ec.MaxHalfOpen = c.CookieThresholdIP, c.BlockThresholdIP, c.MaxHalfOpen
	if _, err := c.logLevel(); err != nil {
		bad("log_level", "%v", err)
	}
	if c.GCPercent < 0 {
		bad("gc_percent", "%d is negative; the collector cannot be turned off", c.GCPercent)
	}
	if c.FragmentSize != 0 && c.FragmentSize < 576 {
		bad("fragment_size", "%d is below 576, the smallest IPv4 datagram every host takes", c.FragmentSize)
	}
	return ec, listen, errs
}

func parseID(s string) (*wire.ID, error) {
	kind, val, _ := strings.Cut(s, ":")
	switch kind {
	case "", "dn":
		return nil, nil
	case "fqdn":
		return &wire.ID{Responder: true, IDType: wire.ID_FQDN, Data: []byte(val)}, nil
	case "email":
		return &wire.ID{Responder: true, IDType: wire.ID_RFC822_ADDR, Data: []byte(val)}, nil
	case "ip":
		a, err := netip.ParseAddr(val)
		if err != nil {
			return nil, err
		}
		t := wire.ID_IPV4_ADDR
		if a.Is6() {
			t = wire.ID_IPV6_ADDR
		}
		return &wire.ID{Responder: true, IDType: t, Data: a.AsSlice()}, nil
	}
	return nil, fmt.Errorf("unknown identity kind %q (want dn, fqdn:, email: or ip:)", kind)
}

// stringOrList takes a YAML scalar or a sequence of scalars.
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// eapConfig builds the EAP server configuration; EAP-TLS uses the
// responder's certificate and the trust section for client certificates.
func (c *Config) eapConfig(ec *ike.Config, bad func(string, ...any)) *eap.ServerConfig {
	sc := &eap.ServerConfig{Trust: ec.Trust, Users: map[string][16]byte{}}
	for _, m := range c.EAP.Methods {
		switch strings.ToLower(m) {
		case "mschapv2", "eap-mschapv2":
			sc.Methods = append(sc.Methods, wire.EAPMSCHAPv2)
		case "tls", "eap-tls":
			sc.Methods = append(sc.Methods, wire.EAPTLS)
		default:
			bad("unknown method %q (want mschapv2 or tls)", m)
		}
	}
	for user, h := range c.EAP.Users {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 16 {
			bad("user %q: the NT hash must be 32 hex digits (responder eap hash prints it)", user)
			continue
		}
		sc.Users[user] = [16]byte(b)
	}
	if len(ec.Certificates) > 0 && ec.Key != nil {
		sc.Certificate = &tls.Certificate{Certificate: ec.Certificates, PrivateKey: ec.Key}
	}
	if r := c.EAP.RADIUS; r != nil {
		if r.Server == "" || r.Secret == "" {
			bad("radius needs server and secret")
		}
		sc.RADIUS = &eap.RADIUSConfig{Server: r.Server, Secret: []byte(r.Secret), Timeout: r.Timeout, Retries: r.Retries}
	}
	if len(ec.Certificates) == 0 {
		bad("EAP needs identity.certificate: the responder authenticates with it (RFC 7296, Section 2.16)")
	}
	return sc
}

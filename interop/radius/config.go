package radius

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/ikelab/ikelab/internal/labpki"
)

// Defaults for zero fields of Config and TLS.
const (
	// DefaultPort is the RADIUS authentication port (RFC 2865, Section 3).
	DefaultPort = 1812
	// DefaultTLSVersion bounds EAP-TLS on both ends. FreeRADIUS 3.2 calls
	// its EAP-TLS 1.3 support experimental (RFC 9190 came after 3.0), and
	// strongSwan 5.9 and Windows negotiate 1.2, so 1.2 is what a lab test
	// of "a Windows client through RADIUS" means.
	DefaultTLSVersion = "1.2"
	// DefaultFragmentSize is FreeRADIUS's own default TLS data per EAP-TLS
	// fragment; with the EAP, SK and IKE headers an IKE_AUTH message that
	// carries one stays under a 1280-octet path MTU.
	DefaultFragmentSize = 1024
)

// Config describes one FreeRADIUS server.
type Config struct {
	// Listen is where the server takes authentication requests (default
	// 127.0.0.1:1812; port 0 means DefaultPort).
	Listen netip.AddrPort
	// Clients are the NASes allowed to send requests (clients.conf). At
	// least one is required: FreeRADIUS drops requests from anyone else
	// ("Ignoring request ... from unknown client").
	Clients []Client
	// Users are the entries of the users file, matched by User-Name.
	// EAP-TLS users need none: the certificate is the credential.
	Users []User
	// DefaultEAPType is the method FreeRADIUS proposes after the identity
	// response: "mschapv2" or "tls" (default: mschapv2 when there are
	// users, otherwise tls). A peer that wants the other one answers with
	// a Nak (RFC 3748, Section 5.3.1), as Windows does when offered
	// EAP-TLS while configured for EAP-MSCHAPv2.
	DefaultEAPType string
	// MSCHAPv2SendError makes FreeRADIUS answer a wrong MS-CHAPv2
	// password with an MS-CHAPv2 Failure Request ("E=691 R=0 ...", RFC
	// 2759, Section 6) in an Access-Challenge, which Windows shows as its
	// error 691, and EAP-Failure only after the peer acknowledged it.
	// Otherwise (FreeRADIUS's default, send_error = no) it sends
	// Access-Reject with EAP-Failure at once.
	MSCHAPv2SendError bool
	// TLS enables EAP-TLS (RFC 5216); nil leaves it out.
	TLS *TLS
}

// Client is one NAS in clients.conf (FreeRADIUS's "client" section).
type Client struct {
	// Name labels the client in FreeRADIUS's log ("from client NAME").
	Name string
	// Addr is the source address or network requests come from.
	Addr netip.Prefix
	// Secret is the shared secret (RFC 2865, Section 3).
	Secret string
}

// User is one entry of the users file. Exactly one of Password and NTHash
// is set.
type User struct {
	// Name is the User-Name (the EAP identity) to match.
	Name string
	// Password becomes Cleartext-Password.
	Password string
	// NTHash becomes NT-Password: the MD4 of the UTF-16LE password (RFC
	// 2759, Section 8.3), what the ikelab responder stores too, so the
	// cleartext never needs to be on disk.
	NTHash *[16]byte
}

// TLS configures FreeRADIUS's EAP-TLS module (its tls-config section).
type TLS struct {
	// CertFile and KeyFile are the server certificate chain and its key,
	// PEM (OpenSSL reads PKCS#8 and PKCS#1 keys).
	CertFile, KeyFile string
	// CAFiles are the trusted roots for client certificates, PEM or DER.
	CAFiles []string
	// CRLFiles are CRLs of those CAs, PEM or DER. When any is given,
	// check_crl is on: OpenSSL then needs a current CRL for every CA in
	// a client's chain, so a missing one refuses every client.
	CRLFiles []string
	// MinVersion and MaxVersion bound the TLS version, "1.2" or "1.3"
	// (default DefaultTLSVersion).
	MinVersion, MaxVersion string
	// FragmentSize is the TLS data per EAP-TLS fragment FreeRADIUS sends
	// (default DefaultFragmentSize).
	FragmentSize int
}

// TLSFromFamily is EAP-TLS with a lab PKI family: its server certificate
// (the IKE responder's, so a client that checks the EAP server against the
// IKE identity accepts it), its root as the only trusted CA, and the root's
// CRL with checking on.
func TLSFromFamily(f *labpki.Family) *TLS {
	t := &TLS{CertFile: f.Server.CertPath, KeyFile: f.Server.KeyPath, CAFiles: []string{f.Root.CertPath}}
	if f.RootCRL != nil {
		t.CRLFiles = []string{f.RootCRL.Path}
	}
	return t
}

// withDefaults validates the configuration and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if !c.Listen.IsValid() {
		c.Listen = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), DefaultPort)
	}
	if c.Listen.Port() == 0 {
		c.Listen = netip.AddrPortFrom(c.Listen.Addr(), DefaultPort)
	}
	c.Listen = netip.AddrPortFrom(c.Listen.Addr().Unmap(), c.Listen.Port())
	if len(c.Clients) == 0 {
		return c, errors.New("radius: no clients: FreeRADIUS would ignore every request")
	}
	names := map[string]bool{}
	for i, cl := range c.Clients {
		switch {
		case !safeWord(cl.Name):
			return c, fmt.Errorf("radius: client %d: name %q must be letters, digits, '-', '_' or '.'", i, cl.Name)
		case names[cl.Name]:
			return c, fmt.Errorf("radius: client %q listed twice", cl.Name)
		case !cl.Addr.IsValid():
			return c, fmt.Errorf("radius: client %q: no address", cl.Name)
		case cl.Addr.Addr().Is4In6():
			return c, fmt.Errorf("radius: client %q: give %s in its IPv4 form", cl.Name, cl.Addr)
		case cl.Secret == "" || !safeQuoted(cl.Secret):
			return c, fmt.Errorf("radius: client %q: the secret must be non-empty printable ASCII without '\"' or '\\'", cl.Name)
		}
		names[cl.Name] = true
	}
	users := map[string]bool{}
	for _, u := range c.Users {
		switch {
		case u.Name == "" || !safeQuoted(u.Name) || strings.ContainsAny(u.Name, " \t"):
			return c, fmt.Errorf("radius: user name %q must be printable ASCII without blanks, '\"' or '\\'", u.Name)
		case users[u.Name]:
			return c, fmt.Errorf("radius: user %q listed twice", u.Name)
		case (u.Password == "") == (u.NTHash == nil):
			return c, fmt.Errorf("radius: user %q needs exactly one of Password and NTHash", u.Name)
		case u.Password != "" && !safeQuoted(u.Password):
			return c, fmt.Errorf("radius: user %q: the password must be printable ASCII without '\"' or '\\'", u.Name)
		}
		users[u.Name] = true
	}
	if c.DefaultEAPType == "" {
		c.DefaultEAPType = "tls"
		if len(c.Users) > 0 {
			c.DefaultEAPType = "mschapv2"
		}
	}
	switch c.DefaultEAPType {
	case "mschapv2":
	case "tls":
		if c.TLS == nil {
			return c, errors.New("radius: default EAP type tls without a TLS configuration")
		}
	default:
		return c, fmt.Errorf("radius: default EAP type %q: want mschapv2 or tls", c.DefaultEAPType)
	}
	if c.TLS != nil {
		t := *c.TLS
		if t.CertFile == "" || t.KeyFile == "" || len(t.CAFiles) == 0 {
			return c, errors.New("radius: EAP-TLS needs CertFile, KeyFile and at least one CA file")
		}
		if t.MinVersion == "" {
			t.MinVersion = DefaultTLSVersion
		}
		if t.MaxVersion == "" {
			t.MaxVersion = DefaultTLSVersion
		}
		for _, v := range []string{t.MinVersion, t.MaxVersion} {
			if v != "1.2" && v != "1.3" {
				return c, fmt.Errorf("radius: TLS version %q: want 1.2 or 1.3", v)
			}
		}
		if t.MinVersion > t.MaxVersion {
			return c, fmt.Errorf("radius: TLS versions %s..%s are empty", t.MinVersion, t.MaxVersion)
		}
		if t.FragmentSize == 0 {
			t.FragmentSize = DefaultFragmentSize
		}
		// FreeRADIUS refuses fragment sizes outside 100..4096.
		if t.FragmentSize < 100 || t.FragmentSize > 4096 {
			return c, fmt.Errorf("radius: fragment size %d outside 100..4096", t.FragmentSize)
		}
		c.TLS = &t
	}
	return c, nil
}

// safeWord reports whether s can stand unquoted as a FreeRADIUS section
// name.
func safeWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// safeQuoted reports whether s can go between double quotes in a
// FreeRADIUS configuration or users file as it is: printable ASCII with no
// quote or backslash (the escape character) and no "${" or "%{", which
// FreeRADIUS would expand.
func safeQuoted(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return false
		}
	}
	return !strings.Contains(s, "${") && !strings.Contains(s, "%{")
}

// Write puts a complete FreeRADIUS configuration into dir (created if
// needed): radiusd.conf, the users file, and under certs/ the EAP-TLS
// material. Nothing is read from /etc/freeradius; the dictionaries and
// modules are the installed ones (/usr/share/freeradius, /usr/lib/freeradius).
func (c Config) Write(dir string) error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(dir) {
		if dir, err = filepath.Abs(dir); err != nil {
			return fmt.Errorf("radius: %w", err)
		}
	}
	if !safeQuoted(dir) || strings.ContainsAny(dir, " \t'") {
		return fmt.Errorf("radius: directory %q cannot be written into a FreeRADIUS configuration", dir)
	}
	for _, d := range []string{"certs", "log", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("radius: %w", err)
		}
	}
	if c.TLS != nil {
		if err := c.TLS.write(filepath.Join(dir, "certs")); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), c.usersFile(), 0o600); err != nil {
		return fmt.Errorf("radius: %w", err)
	}
	// FreeRADIUS refuses to start when radiusd.conf is writable by others.
	if err := os.WriteFile(filepath.Join(dir, "radiusd.conf"), c.radiusdConf(dir), 0o600); err != nil {
		return fmt.Errorf("radius: %w", err)
	}
	return nil
}

// usersFile is the "files" module's input: one check item per user, ":="
// so that it sets the password the EAP module checks against.
func (c Config) usersFile() []byte {
	var b bytes.Buffer
	for _, u := range c.Users {
		if u.NTHash != nil {
			fmt.Fprintf(&b, "%s\tNT-Password := 0x%s\n", u.Name, hex.EncodeToString(u.NTHash[:]))
		} else {
			fmt.Fprintf(&b, "%s\tCleartext-Password := \"%s\"\n", u.Name, u.Password)
		}
	}
	return b.Bytes()
}

// write copies the certificates, key, CAs and CRLs into certs as PEM. The
// CRLs go into the CA file: OpenSSL's X509_STORE_load_locations reads
// CRLs from it as well, and check_crl makes them count.
func (t *TLS) write(certs string) error {
	read := func(path, pemType string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("radius: %w", err)
		}
		if bytes.Contains(b, []byte("-----BEGIN ")) {
			if !bytes.HasSuffix(b, []byte("\n")) {
				b = append(b, '\n')
			}
			return b, nil
		}
		return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: b}), nil
	}
	out := map[string][]byte{}
	var err error
	if out["server.pem"], err = read(t.CertFile, "CERTIFICATE"); err != nil {
		return err
	}
	if out["server.key"], err = read(t.KeyFile, "PRIVATE KEY"); err != nil {
		return err
	}
	var ca []byte
	for _, f := range t.CAFiles {
		b, err := read(f, "CERTIFICATE")
		if err != nil {
			return err
		}
		ca = append(ca, b...)
	}
	for _, f := range t.CRLFiles {
		b, err := read(f, "X509 CRL")
		if err != nil {
			return err
		}
		ca = append(ca, b...)
	}
	out["ca.pem"] = ca
	for name, b := range out {
		if err := os.WriteFile(filepath.Join(certs, name), b, 0o600); err != nil {
			return fmt.Errorf("radius: %w", err)
		}
	}
	return nil
}

// radiusdConf is the one configuration file. The sections follow Debian's
// radiusd.conf, sites-available/default and mods-available/eap, cut down
// to what a relayed EAP-MSCHAPv2 or EAP-TLS conversation passes through.
func (c Config) radiusdConf(dir string) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = "%[1]s"
confdir = ${raddbdir}
modconfdir = ${confdir}/mods-config
certdir = ${confdir}/certs
cadir = ${confdir}/certs
logdir = "%[1]s/log"
radacctdir = ${logdir}
run_dir = "%[1]s/run"
db_dir = ${raddbdir}
libdir = /usr/lib/freeradius
pidfile = ${run_dir}/radiusd.pid
name = radiusd
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no

log {
	destination = stdout
	# "Login OK" / "Login incorrect" lines, never the passwords.
	auth = yes
	auth_badpass = no
	auth_goodpass = no
	# "<<< secret >>>" instead of the values of secret attributes (the
	# MS-MPPE keys of every Access-Accept) in the debug log, which the
	# test prints when it fails.
	suppress_secrets = yes
}

security {
	allow_core_dumps = no
	max_attributes = 200
	# A test of a wrong password should not wait the default second.
	reject_delay = 0
	status_server = no
}

thread pool {
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 3
	max_requests_per_server = 0
}
`, dir)
	for _, cl := range c.Clients {
		p(`client %s {
	%s = %s
	secret = "%s"
	# RFC 3579, Section 3.2: every packet with EAP-Message carries it.
	require_message_authenticator = yes
}
`, cl.Name, addrKey(cl.Addr.Addr()), cl.Addr.Masked(), cl.Secret)
	}
	p(`modules {
	files {
		filename = ${confdir}/users
	}
	mschap {
	}
	eap {
		default_eap_type = %s
		timer_expire = 60
		ignore_unknown_eap_types = no
		max_sessions = 64
		mschapv2 {
			send_error = %s
		}`, c.DefaultEAPType, yesNo(c.MSCHAPv2SendError))
	if t := c.TLS; t != nil {
		p(`		tls-config tls-common {
			private_key_file = ${certdir}/server.key
			certificate_file = ${certdir}/server.pem
			ca_file = ${certdir}/ca.pem
			check_crl = %s
			tls_min_version = "%s"
			tls_max_version = "%s"
			fragment_size = %d
			cipher_list = "DEFAULT"
			cache {
				enable = no
			}
		}
		tls {
			tls = tls-common
		}`, yesNo(len(t.CRLFiles) > 0), t.MinVersion, t.MaxVersion, t.FragmentSize)
	}
	p(`	}
}
`)
	p(`server default {
	listen {
		type = auth
		%s = %s
		port = %d
	}
	authorize {
		files
		eap {
			ok = return
		}
	}
	authenticate {
		eap
		Auth-Type MS-CHAP {
			mschap
		}
	}
	post-auth {
		Post-Auth-Type REJECT {
			# An EAP-Failure in every Access-Reject (RFC 3579,
			# Section 2.6.3), also when the reject came before EAP.
			eap
		}
	}
}`, addrKey(c.Listen.Addr()), c.Listen.Addr(), c.Listen.Port())
	return b.Bytes()
}

// addrKey is the configuration item FreeRADIUS takes an address of a's
// family in.
func addrKey(a netip.Addr) string {
	if a.Is6() {
		return "ipv6addr"
	}
	return "ipaddr"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

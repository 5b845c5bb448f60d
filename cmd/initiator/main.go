// Command initiator is ikelab's IKEv2 client: it behaves like a Windows
// 10/11 client (default or hardened) or a plain one, connects to any IKEv2
// responder, and says what happened the way an admin needs it: the suite
// negotiated, or the notification received and the Windows error a real
// client would show.
//
//	initiator --server 192.0.2.2 --profile windows10-default --pfx client.pfx --pfx-password ikelab --ca root.pem
package main

import (
	"context"
	stdcrypto "crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/pemfile"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// Outcome is the --json output.
type Outcome struct {
	Established  bool     `json:"established"`
	Server       string   `json:"server"`
	Profile      string   `json:"profile"`
	IKE          string   `json:"ike,omitempty"`
	ESP          string   `json:"esp,omitempty"`
	ChildRefused string   `json:"child_refused,omitempty"`
	VirtualIPs   []string `json:"virtual_ips,omitempty"`
	DNS          []string `json:"dns,omitempty"`
	ResponderID  string   `json:"responder_id,omitempty"`
	NAT          bool     `json:"nat,omitempty"`
	Notify       string   `json:"notify,omitempty"`
	Exchange     string   `json:"exchange,omitempty"`
	WindowsError int      `json:"windows_error,omitempty"`
	WindowsText  string   `json:"windows_text,omitempty"`
	Error        string   `json:"error,omitempty"`
	SPIi         string   `json:"spi_i,omitempty"`
	SPIr         string   `json:"spi_r,omitempty"`
}

type options struct {
	server, profileName, proposal, esp, windows, profileXML string
	cert, key, pfx, pfxPassword, psk, id, ca                string
	hold, timeout                                           time.Duration
	jsonOut, debug                                          bool
	keysDir                                                 string
	localPort, localNATTPort                                uint
	eapUser, eapPassword                                    string
	eapTLS                                                  bool
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "load" {
		return runLoad(args[1:], stdout, stderr)
	}
	var o options
	fs := flag.NewFlagSet("initiator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "", "responder `address` (port 500 unless given as addr:port)")
	fs.StringVar(&o.profileName, "profile", "windows10-default", "client `profile`: "+strings.Join(profile.Names(), ", "))
	fs.StringVar(&o.proposal, "proposal", "", "plain client offering these IKE `proposals` (strongSwan syntax, comma-separated)")
	fs.StringVar(&o.esp, "esp", "aes128gcm16,aes128-sha256", "ESP `proposals` with --proposal")
	fs.StringVar(&o.windows, "windows", "", "Windows client with Set-VpnConnectionIPsecConfiguration `params`: EncryptionMethod=AES128,IntegrityCheckMethod=SHA256,...")
	fs.StringVar(&o.profileXML, "profilexml", "", "Windows client with the CryptographySuite of a ProfileXML `file`")
	fs.StringVar(&o.cert, "cert", "", "machine certificate `PEM` (chain)")
	fs.StringVar(&o.key, "key", "", "private key `PEM`")
	fs.StringVar(&o.pfx, "pfx", "", "machine certificate and key as a .pfx `file`")
	fs.StringVar(&o.pfxPassword, "pfx-password", "", "`password` of the .pfx")
	fs.StringVar(&o.psk, "psk", "", "pre-shared `key` instead of a certificate")
	fs.StringVar(&o.eapUser, "eap-user", "", "authenticate with EAP-MSCHAPv2 as this `user` (a Windows user tunnel)")
	fs.StringVar(&o.eapPassword, "eap-password", "", "EAP-MSCHAPv2 `password`")
	fs.BoolVar(&o.eapTLS, "eap-tls", false, "authenticate with EAP-TLS using the certificate of --pfx or --cert/--key")
	fs.StringVar(&o.id, "id", "", "IDi: dn (default with a certificate), fqdn:NAME, email:ADDR, ip:ADDR (default with a PSK)")
	fs.StringVar(&o.ca, "ca", "", "root CA `PEM` the responder's certificate must chain to (default: any, lab only)")
	fs.DurationVar(&o.hold, "hold", 0, "keep the SA this `long`, then delete it")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after this `long`")
	fs.BoolVar(&o.jsonOut, "json", false, "print the outcome as JSON")
	fs.BoolVar(&o.debug, "debug", false, "log every message")
	fs.StringVar(&o.keysDir, "keys-dir", "", "write Wireshark key tables (ikev2_decryption_table) into this `directory`")
	fs.UintVar(&o.localPort, "local-port", 0, "local IKE `port` (0: ephemeral; Windows uses 500)")
	fs.UintVar(&o.localNATTPort, "local-natt-port", 0, "local NAT-T `port` (0: ephemeral; Windows uses 4500)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.server == "" {
		fmt.Fprintln(stderr, "initiator: --server is required")
		fs.Usage()
		return 2
	}
	out, err := connect(o, stderr)
	if err != nil && out == nil {
		fmt.Fprintf(stderr, "initiator: %v\n", err)
		return 2
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		printOutcome(stdout, out)
	}
	if out.Established && out.ChildRefused == "" {
		return 0
	}
	return 1
}

func printOutcome(w io.Writer, o *Outcome) {
	if o.Established {
		fmt.Fprintf(w, "established: %s with %s (%s)\n", o.IKE, o.Server, o.ResponderID)
		if o.ESP != "" {
			fmt.Fprintf(w, "  child SA: %s\n", o.ESP)
		} else {
			fmt.Fprintf(w, "  child SA refused: %s\n", o.ChildRefused)
		}
		if len(o.VirtualIPs) > 0 {
			fmt.Fprintf(w, "  virtual IP %s, DNS %s\n", strings.Join(o.VirtualIPs, " "), strings.Join(o.DNS, " "))
		}
		if o.NAT {
			fmt.Fprintln(w, "  NAT detected: IKE moved to UDP 4500")
		}
		return
	}
	if o.Notify != "" {
		fmt.Fprintf(w, "refused: %s in %s", o.Notify, o.Exchange)
	} else {
		fmt.Fprintf(w, "failed: %s", o.Error)
	}
	if o.WindowsError != 0 {
		fmt.Fprintf(w, "; a Windows client would show error %d (%s)", o.WindowsError, o.WindowsText)
	}
	fmt.Fprintln(w)
}

// chooseProfile resolves --profile, --proposal, --windows and --profilexml.
func chooseProfile(o options) (*profile.Profile, error) {
	switch {
	case o.proposal != "":
		return profile.Custom([]string{o.proposal}, []string{o.esp}), nil
	case o.windows != "":
		var w policy.Windows
		fields := map[string]*string{
			"encryptionmethod": &w.EncryptionMethod, "integritycheckmethod": &w.IntegrityCheckMethod,
			"dhgroup": &w.DHGroup, "ciphertransformconstants": &w.CipherTransformConstants,
			"authenticationtransformconstants": &w.AuthenticationTransformConstants, "pfsgroup": &w.PfsGroup,
		}
		for _, kv := range strings.Split(o.windows, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			f := fields[strings.ToLower(strings.TrimPrefix(k, "-"))]
			if !ok || f == nil {
				return nil, fmt.Errorf("--windows: %q is not NAME=VALUE with a Set-VpnConnectionIPsecConfiguration parameter", kv)
			}
			*f = v
		}
		return profile.FromWindows(w)
	case o.profileXML != "":
		doc, err := os.ReadFile(o.profileXML)
		if err != nil {
			return nil, err
		}
		return profile.FromProfileXML(doc)
	}
	return profile.Builtin(o.profileName)
}

func connect(o options, stderr io.Writer) (*Outcome, error) {
	prof, err := chooseProfile(o)
	if err != nil {
		return nil, err
	}
	ikeProps, espProps, err := prof.Proposals()
	if err != nil {
		return nil, err
	}
	remote, err := parseServer(o.server)
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if o.debug {
		level = slog.LevelDebug
	}
	cfg := ike.InitiatorConfig{
		IKE: ikeProps, ESP: espProps, VendorIDs: prof.VendorIDs, Fragmentation: prof.Fragmentation,
		FragmentSize: prof.FragmentSize, NonceLen: prof.NonceLen, MOBIKE: prof.MOBIKE,
		SignatureHashes: prof.SignatureHashes, CPRequest: prof.CPRequest, InitialContact: true,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if err := credentials(o, &cfg); err != nil {
		return nil, err
	}
	if prof.EAP && cfg.EAP == nil {
		return nil, fmt.Errorf("profile %s authenticates with EAP: give --eap-user and --eap-password, or --eap-tls", prof.Name)
	}
	if o.keysDir != "" {
		f, err := os.OpenFile(filepath.Join(o.keysDir, "ikev2_decryption_table"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cfg.KeyLog = f
		esp, err := os.OpenFile(filepath.Join(o.keysDir, "esp_sa"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		defer esp.Close()
		cfg.ESPKeyLog = esp
		fmt.Fprintf(stderr, "initiator: KEY EXPORT IS ON: IKE and ESP keys go to %s and %s\n", f.Name(), esp.Name())
	}
	conn, err := ike.DialUDP(netip.Addr{}, uint16(o.localPort), uint16(o.localNATTPort), remote)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if cfg.ID == nil {
		local, _ := conn.Addrs()
		cfg.ID = addrID(local.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	out := &Outcome{Server: remote.String(), Profile: prof.Name}
	s, err := ike.Connect(ctx, cfg, conn)
	if err != nil {
		var re *ike.RefusedError
		timeout := errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "no response")
		if errors.As(err, &re) {
			out.Notify, out.Exchange = re.Notify.String(), re.Exchange.String()
		}
		out.Error = err.Error()
		if prof.Windows {
			var n wire.NotifyType
			if re != nil {
				n = re.Notify
			}
			out.WindowsError, out.WindowsText = profile.WindowsError(n, timeout)
		}
		return out, nil
	}
	r := s.Result
	out.Established = true
	out.IKE = r.IKE.String()
	out.SPIi, out.SPIr = r.SPIi.String(), r.SPIr.String()
	out.NAT = r.NATLocal || r.NATRemote
	if r.ESP != nil {
		out.ESP = r.ESP.String()
	} else if r.ChildRefused != 0 {
		out.ChildRefused = r.ChildRefused.String()
		if prof.Windows {
			out.WindowsError, out.WindowsText = profile.WindowsError(r.ChildRefused, false)
		}
	}
	for _, a := range r.VIPs {
		out.VirtualIPs = append(out.VirtualIPs, a.String())
	}
	for _, a := range r.DNS {
		out.DNS = append(out.DNS, a.String())
	}
	if r.ResponderID != nil {
		out.ResponderID = r.ResponderID.String()
	}
	if o.hold > 0 {
		time.Sleep(o.hold)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	if err := s.Delete(dctx); err != nil {
		fmt.Fprintf(stderr, "initiator: delete: %v\n", err)
	}
	return out, nil
}

func parseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("--server %q: want an address or address:port", s)
	}
	return netip.AddrPortFrom(a, 500), nil
}

func addrID(a netip.Addr) *wire.ID {
	if a.Unmap().Is4() {
		return &wire.ID{IDType: wire.ID_IPV4_ADDR, Data: a.Unmap().AsSlice()}
	}
	return &wire.ID{IDType: wire.ID_IPV6_ADDR, Data: a.AsSlice()}
}

// credentials loads the certificate, key or PSK, the identity and the CA.
func credentials(o options, cfg *ike.InitiatorConfig) error {
	var leaf *x509.Certificate
	switch {
	case o.eapUser != "":
		// A Windows user tunnel: EAP-MSCHAPv2, the address as IDi.
		cfg.EAP = &eap.ClientConfig{Identity: o.eapUser, Password: o.eapPassword,
			Methods: []wire.EAPType{wire.EAPMSCHAPv2}, InsecureSkipVerify: true}
		if err := setCA(o, cfg); err != nil {
			return err
		}
		if o.id != "" {
			id, err := parseID(o.id, nil)
			cfg.ID = id
			return err
		}
		return nil
	case o.psk != "":
		cfg.PSK = []byte(o.psk)
	case o.pfx != "":
		data, err := os.ReadFile(o.pfx)
		if err != nil {
			return err
		}
		key, cert, cas, err := pkcs12.DecodeChain(data, o.pfxPassword)
		if err != nil {
			return fmt.Errorf("--pfx: %w", err)
		}
		signer, ok := key.(stdcrypto.Signer)
		if !ok {
			return fmt.Errorf("--pfx: %T cannot sign", key)
		}
		cfg.Key, leaf = signer, cert
		cfg.Certificates = [][]byte{cert.Raw}
		for _, c := range cas {
			// Windows sends its machine certificate alone; intermediates
			// below the root go along, roots stay home.
			if !isSelfSigned(c) {
				cfg.Certificates = append(cfg.Certificates, c.Raw)
			}
		}
	case o.cert != "":
		certs, err := pemfile.Chain(o.cert)
		if err != nil {
			return err
		}
		if cfg.Key, err = pemfile.Key(o.key); err != nil {
			return err
		}
		cfg.Certificates = certs
		if leaf, err = x509.ParseCertificate(certs[0]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("give --pfx, --cert and --key, --psk, or --eap-user")
	}
	id, err := parseID(o.id, leaf)
	if err != nil {
		return err
	}
	cfg.ID = id
	if o.eapTLS {
		// EAP-TLS with the machine certificate: no AUTH, the address as
		// IDi unless --id says otherwise.
		if o.id == "" {
			cfg.ID = nil
		}
		cert := tls.Certificate{PrivateKey: cfg.Key}
		cert.Certificate = cfg.Certificates
		cfg.EAP = &eap.ClientConfig{Identity: leaf.Subject.CommonName, Certificate: &cert,
			Methods: []wire.EAPType{wire.EAPTLS}, InsecureSkipVerify: true}
		cfg.Certificates, cfg.Key = nil, nil
	}
	return setCA(o, cfg)
}

// setCA makes the root CA of --ca the judge of the responder's
// certificate, in IKE and in EAP-TLS.
func setCA(o options, cfg *ike.InitiatorConfig) error {
	if o.ca == "" {
		return nil
	}
	v, err := trust.NewVerifier(trust.Policy{RootCAFiles: []string{o.ca}, AcceptedEKUs: []string{"serverAuth", "ikeIntermediate"},
		CRL: trust.CRLPolicy{Mode: trust.CRLOff}})
	if err != nil {
		return err
	}
	cfg.Trust = v
	if cfg.EAP != nil {
		cfg.EAP.Trust, cfg.EAP.InsecureSkipVerify = v, false
	}
	return nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil && string(c.RawIssuer) == string(c.RawSubject)
}

func parseID(s string, leaf *x509.Certificate) (*wire.ID, error) {
	kind, val, _ := strings.Cut(s, ":")
	switch kind {
	case "":
		if leaf != nil {
			return &wire.ID{IDType: wire.ID_DER_ASN1_DN, Data: leaf.RawSubject}, nil
		}
		return nil, nil // the local address, once known
	case "dn":
		if leaf == nil {
			return nil, fmt.Errorf("--id dn needs a certificate")
		}
		return &wire.ID{IDType: wire.ID_DER_ASN1_DN, Data: leaf.RawSubject}, nil
	case "fqdn":
		return &wire.ID{IDType: wire.ID_FQDN, Data: []byte(val)}, nil
	case "email":
		return &wire.ID{IDType: wire.ID_RFC822_ADDR, Data: []byte(val)}, nil
	case "ip":
		a, err := netip.ParseAddr(val)
		if err != nil {
			return nil, err
		}
		return addrID(a), nil
	}
	return nil, fmt.Errorf("--id %q: want dn, fqdn:NAME, email:ADDR or ip:ADDR", s)
}

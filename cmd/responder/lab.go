package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/internal/labpki"
)

// labFiles are what `lab init` writes besides the PKI.
const (
	labConfigName  = "responder.yaml"
	labScriptName  = "windows-client.ps1"
	labProfileName = "cryptography-suite.xml"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runLab(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "usage: responder lab init --dir DIR [--server-name NAME]... [--server-ip IP]... [--crl-url URL]")
		return 2
	}
	fs := flag.NewFlagSet("lab init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "ikelab-lab", "`directory` for the lab PKI, config and Windows scripts")
	var names, ips stringList
	fs.Var(&names, "server-name", "server DNS `name` for the certificate (repeatable; default vpn.ikelab.test)")
	fs.Var(&ips, "server-ip", "server `address`, put in the certificate as IP and as dNSName (repeatable)")
	crlURL := fs.String("crl-url", "", "base `URL` under which the CRLs will be served (DIR's layout)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	opts := labpki.Options{Dir: *dir, ServerNames: names, CRLBaseURL: *crlURL}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			fmt.Fprintf(stderr, "responder: --server-ip %q is not an address\n", s)
			return 2
		}
		opts.ServerIPs = append(opts.ServerIPs, ip)
	}
	if _, err := initLab(opts, stdout); err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	return 0
}

// initLab creates (or completes) the lab PKI, the default config and the
// Windows client files, and prints how to use them. It returns the config
// path.
func initLab(opts labpki.Options, out io.Writer) (string, error) {
	pki, err := labpki.Generate(opts)
	if err != nil {
		return "", err
	}
	path := filepath.Join(opts.Dir, labConfigName)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if err := os.WriteFile(path, []byte(labConfig), 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(out, "wrote %s\n", path)
	}
	c, _, err := loadConfig(path)
	if err != nil {
		return "", err
	}
	pol, err := policy.FromConfig(c.Policy)
	if err != nil {
		return "", fmt.Errorf("%s: policy: %w", path, err)
	}
	script, err := windowsScript(pki, pol)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(opts.Dir, labScriptName), []byte(script), 0o644); err != nil {
		return "", err
	}
	xml, err := pol.ExportProfileXML()
	if err != nil {
		xml = fmt.Sprintf("<!-- policy %s cannot be expressed as one Windows suite: %v -->\n", pol.Name, err)
	}
	if err := os.WriteFile(filepath.Join(opts.Dir, labProfileName), []byte(xml), 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "lab PKI in %s (pfx password %q)\n", pki.Dir, pki.Password)
	fmt.Fprintf(out, "Windows client setup (PowerShell as administrator), also in %s:\n\n%s\n",
		filepath.Join(opts.Dir, labScriptName), script)
	fmt.Fprintf(out, "ProfileXML CryptographySuite for Intune/MDM: %s\n", filepath.Join(opts.Dir, labProfileName))
	return path, nil
}

// windowsScript is the PowerShell a Windows client runs to trust the lab
// root, import its machine certificate and create a VPN connection whose
// IPsec settings match the responder's policy.
func windowsScript(pki *labpki.PKI, pol *policy.Policy) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# ikelab lab client setup: copy %s and %s to the client first.\n",
		filepath.Base(pki.RSA.Root.DERPath), filepath.Base(pki.RSA.Clients[0].PFXPath))
	fmt.Fprintf(&b, "Import-Certificate -FilePath .\\%s -CertStoreLocation Cert:\\LocalMachine\\Root\n", filepath.Base(pki.RSA.Root.DERPath))
	fmt.Fprintf(&b, "Import-PfxCertificate -FilePath .\\%s -CertStoreLocation Cert:\\LocalMachine\\My -Password (ConvertTo-SecureString '%s' -AsPlainText -Force)\n",
		filepath.Base(pki.RSA.Clients[0].PFXPath), pki.Password)
	// The client dials what the certificate names: the lab's address when
	// one was given (lab init --server-ip), else its DNS name.
	server := pki.RSA.Server.Cert.DNSNames[0]
	if ips := pki.RSA.Server.Cert.IPAddresses; len(ips) > 0 {
		server = ips[0].String()
	}
	fmt.Fprintf(&b, "Add-VpnConnection -Name 'ikelab' -ServerAddress '%s' -TunnelType Ikev2 -AuthenticationMethod MachineCertificate -EncryptionLevel Required -Force\n", server)
	ps, err := pol.ExportPowerShell("ikelab")
	if err != nil {
		fmt.Fprintf(&b, "# policy %s cannot be expressed as one Windows suite: %v\n", pol.Name, err)
	} else {
		b.WriteString(ps)
	}
	return b.String(), nil
}

// labOptions are the defaults of `lab init --dir dir`.
func labOptions(dir string) labpki.Options { return labpki.Options{Dir: dir} }

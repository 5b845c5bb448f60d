// Package profile describes IKEv2 clients as they appear on the wire:
// Windows 10 and 11 with their default and registry-hardened settings, and
// custom ones built from Set-VpnConnectionIPsecConfiguration parameters or
// a ProfileXML CryptographySuite. A profile fixes everything the
// initiator sends that is not a key: proposals and their order, vendor
// IDs, notifications, the CP request, the fragment size, whether IDr is
// sent (Windows never does). Sources: ../shared/LAB.md and the Windows
// capture in the corpus (zeek-spicy-ipsec/ipsec_client.pcap).
package profile

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strings"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
)

// Profile is one client's behaviour on the wire.
type Profile struct {
	Name        string
	Description string
	// IKE and ESP in the client's order (strongSwan proposal strings).
	IKE, ESP []string
	// PFS is the group a rekey would use (policy keyword, "" for none).
	PFS string
	// VendorIDs in order.
	VendorIDs [][]byte
	// Fragmentation: the client announces RFC 7383 support and sends
	// IKE_AUTH in fragments of FragmentSize octets.
	Fragmentation bool
	FragmentSize  int
	// NonceLen is the nonce size (Windows sends 48 octets).
	NonceLen int
	// MOBIKE adds N(MOBIKE_SUPPORTED) to IKE_AUTH.
	MOBIKE bool
	// CPRequest lists the attributes asked for.
	CPRequest []wire.CPAttrType
	// SendIDr: Windows never sends IDr.
	SendIDr bool
	// SignatureHashes sends SIGNATURE_HASH_ALGORITHMS (Windows does not).
	SignatureHashes bool
	// Windows marks profiles whose errors map to Windows error codes.
	Windows bool
	// EAP: the client authenticates with EAP and sends no AUTH in its
	// first IKE_AUTH, with its IP address as IDi (a Windows user tunnel).
	EAP bool
}

// windowsCP is what every Windows client asks for: IPv4 and IPv6 address,
// DNS, NBNS and Microsoft's private 23456/23457 (LAB.md).
var windowsCP = []wire.CPAttrType{
	wire.INTERNAL_IP4_ADDRESS, wire.INTERNAL_IP4_DNS, wire.INTERNAL_IP4_NBNS, wire.MS_INTERNAL_IP4_SERVER,
	wire.INTERNAL_IP6_ADDRESS, wire.INTERNAL_IP6_DNS, wire.MS_INTERNAL_IP6_SERVER,
}

var windowsVIDs = [][]byte{wire.VendorMSNT5v9, wire.VendorMSNegDiscovery, wire.VendorMSInitContact, wire.VendorMS01528bbbv2}

// windowsDefaultIKE is the order of the Windows capture: each cipher with
// SHA-1, SHA-256 and SHA-384 (the integrity algorithm also names the PRF),
// all with MODP-1024 only.
func windowsDefaultIKE(ciphers []string, group string) []string {
	var out []string
	for _, c := range ciphers {
		for _, h := range []string{"sha1", "sha256", "sha384"} {
			out = append(out, c+"-"+h+"-"+group)
		}
	}
	return out
}

func windows(name, desc string, ike, esp []string) *Profile {
	return &Profile{Name: name, Description: desc, IKE: ike, ESP: esp, VendorIDs: windowsVIDs,
		Fragmentation: true, FragmentSize: 580, NonceLen: 48, MOBIKE: true, CPRequest: windowsCP, Windows: true}
}

var builtins = map[string]*Profile{
	"windows10-default": windows("windows10-default",
		"Windows 10 with default IPsec settings: 3DES/AES x SHA-1/SHA-256/SHA-384, MODP-1024 only; ESP AES/3DES with SHA-1, no PFS",
		windowsDefaultIKE([]string{"3des", "aes128", "aes192", "aes256"}, "modp1024"),
		[]string{"aes256-sha1", "aes128-sha1", "3des-sha1"}),
	"windows11-default": windows("windows11-default",
		"Windows 11 with default IPsec settings: as Windows 10, plus AES-GCM-128/256 for IKE",
		append(windowsDefaultIKE([]string{"3des", "aes128", "aes192", "aes256"}, "modp1024"),
			"aes128gcm16-prfsha256-modp1024", "aes256gcm16-prfsha384-modp1024"),
		[]string{"aes256-sha1", "aes128-sha1", "3des-sha1"}),
	"windows10-eap": func() *Profile {
		p := windows("windows10-eap",
			"Windows 10 user tunnel: default IPsec settings, EAP (MSCHAPv2 or TLS) instead of a machine certificate, the client's IP address as IDi",
			windowsDefaultIKE([]string{"3des", "aes128", "aes192", "aes256"}, "modp1024"),
			[]string{"aes256-sha1", "aes128-sha1", "3des-sha1"})
		p.EAP = true
		return p
	}(),
	"windows-dh2048": windows("windows-dh2048",
		"Windows with registry Rasman NegotiateDH2048_AES256 = 2: AES-256 with MODP-2048 only",
		windowsDefaultIKE([]string{"aes256"}, "modp2048"),
		[]string{"aes256-sha1", "aes128-sha1"}),
}

// Builtin returns a built-in profile by name.
func Builtin(name string) (*Profile, error) {
	p, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("profile: unknown profile %q (have %s)", name, strings.Join(Names(), ", "))
	}
	c := *p
	return &c, nil
}

// Names lists the built-in profiles.
func Names() []string {
	var out []string
	for n := range builtins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FromWindows builds a Windows client profile from the parameters of
// Set-VpnConnectionIPsecConfiguration: the client then offers exactly that
// one suite, as Windows does with a custom IPsec policy.
func FromWindows(w policy.Windows) (*Profile, error) {
	pol, err := policy.FromWindows(w)
	if err != nil {
		return nil, err
	}
	p := windows("windows-custom", "Windows with custom IPsec settings", nil, nil)
	for _, pr := range pol.IKE {
		p.IKE = append(p.IKE, pr.Keywords())
	}
	for _, pr := range pol.ESP {
		p.ESP = append(p.ESP, pr.Keywords())
	}
	return p, nil
}

// profileXML is the part of a VPNv2 ProfileXML that matters here.
type profileXML struct {
	Suites []policy.Windows `xml:"NativeProfile>CryptographySuite"`
	Bare   []policy.Windows `xml:"CryptographySuite"`
}

// FromProfileXML reads the CryptographySuite of a ProfileXML document (the
// whole VPNProfile, or the CryptographySuite element alone).
func FromProfileXML(doc []byte) (*Profile, error) {
	var v profileXML
	if err := xml.Unmarshal(doc, &v); err == nil && len(v.Suites)+len(v.Bare) > 0 {
		s := append(v.Suites, v.Bare...)
		return FromWindows(s[0])
	}
	var bare policy.Windows
	if err := xml.Unmarshal(doc, &bare); err != nil {
		return nil, fmt.Errorf("profile: ProfileXML: %w", err)
	}
	if bare == (policy.Windows{}) {
		return nil, fmt.Errorf("profile: ProfileXML has no CryptographySuite")
	}
	return FromWindows(bare)
}

// Custom is a plain profile from strongSwan proposal strings, for
// non-Windows tests: no vendor IDs, RFC 7427 hashes announced, IDr sent.
func Custom(ike, esp []string) *Profile {
	return &Profile{Name: "custom", Description: "plain IKEv2 client", IKE: ike, ESP: esp,
		Fragmentation: true, FragmentSize: 1280 - 48, NonceLen: 32, SignatureHashes: true,
		CPRequest: []wire.CPAttrType{wire.INTERNAL_IP4_ADDRESS, wire.INTERNAL_IP4_DNS}}
}

// Proposals returns the wire proposals of the profile: IKE numbered in
// order, ESP without KE transforms (IKE_AUTH carries none, RFC 7296,
// Section 1.2).
func (p *Profile) Proposals() (ike, esp []wire.Proposal, err error) {
	for _, s := range p.IKE {
		ps, err := policy.ParseProposals(wire.ProtoIKE, s)
		if err != nil {
			return nil, nil, err
		}
		for _, pr := range ps {
			ike = append(ike, pr.Wire(uint8(len(ike)+1), nil))
		}
	}
	for _, s := range p.ESP {
		ps, err := policy.ParseProposals(wire.ProtoESP, s)
		if err != nil {
			return nil, nil, err
		}
		for _, pr := range ps {
			pr.KE = nil
			esp = append(esp, pr.Wire(uint8(len(esp)+1), nil))
		}
	}
	return ike, esp, nil
}

// WindowsError is the error code a Windows client shows for a failure,
// for the errors users quote (LAB.md): 13868 policy mismatch, 13801
// credentials unacceptable, 809 no answer (often fragments dropped).
func WindowsError(n wire.NotifyType, timeout bool) (code int, text string) {
	switch {
	case timeout:
		return 809, "The network connection between your computer and the VPN server could not be established because the remote server is not responding"
	case n == wire.NO_PROPOSAL_CHOSEN || n == wire.INVALID_KE_PAYLOAD:
		return 13868, "Policy match error"
	case n == wire.AUTHENTICATION_FAILED:
		return 13801, "IKE authentication credentials are unacceptable"
	case n == wire.TS_UNACCEPTABLE:
		return 13868, "Policy match error"
	}
	return 0, ""
}

package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// Lifetimes of a Windows RRAS server out of the box, as
// Get-VpnServerConfiguration reports them: SALifeTimeSeconds 28800,
// MMSALifeTimeSeconds 86400, SADataSizeForRenegotiationKilobytes 1024000.
// ikelab plays that server, so the built-in policies use them too.
const (
	DefaultIKELifetime    = 86400 * time.Second        // MMSALifeTimeSeconds
	DefaultChildLifetime  = 28800 * time.Second        // SALifeTimeSeconds
	DefaultChildLifeBytes = uint64(1024000) * kilobyte // SADataSizeForRenegotiationKilobytes
)

// DefaultPolicy is the built-in policy used when none is configured.
const DefaultPolicy = "recommended"

const (
	kilobyte           = 1024              // Windows' kilobytes are binary
	recommendedName    = DefaultPolicy     // the built-in default
	windowsDefaultName = "windows-default" // the built-in Windows compatibility policy
	customName         = "custom"          // policies from ike:/esp: proposal lists
	windowsCustomName  = "windows-custom"  // policies from a windows: block
	maxProposals       = 64                // a bound on configured proposals, far above any real use
)

// Policy is what the responder accepts for IKE SAs and child SAs, in its
// order of preference: like strongSwan's default, the responder's order
// wins over the initiator's (RFC 7296, Section 2.7 leaves the choice to the
// responder).
type Policy struct {
	// Name identifies the policy in logs and audit records: a built-in
	// name, "custom" or "windows-custom".
	Name string
	// Insecure is set when the policy accepts weak algorithms
	// (crypto.IsWeak: 3DES, SHA-1, MODP-1024, ...). The audit record of
	// every SA negotiated under it says so; Validate refuses a policy with
	// weak algorithms that is not marked.
	Insecure bool
	// IKE lists the acceptable IKE SA proposals, most preferred first.
	IKE []Proposal
	// ESP lists the acceptable child SA proposals, most preferred first.
	ESP []Proposal
	// IKELifetime is how long an IKE SA lives before it is rekeyed;
	// zero means no limit.
	IKELifetime time.Duration
	// ChildLifetime is how long a child SA lives before it is rekeyed;
	// zero means no limit.
	ChildLifetime time.Duration
	// ChildLifeBytes is how many octets a child SA protects before it is
	// rekeyed; zero means no limit.
	ChildLifeBytes uint64
}

// Validate checks that every proposal can be negotiated and that ikelab
// implements every algorithm in it, and that Insecure is set when a weak
// algorithm is accepted.
func (p *Policy) Validate() error {
	if len(p.IKE) == 0 {
		return fmt.Errorf("policy %q: no IKE proposals", p.Name)
	}
	if len(p.ESP) == 0 {
		return fmt.Errorf("policy %q: no ESP proposals", p.Name)
	}
	if len(p.IKE) > maxProposals || len(p.ESP) > maxProposals {
		return fmt.Errorf("policy %q: more than %d proposals", p.Name, maxProposals)
	}
	for _, l := range []struct {
		proto wire.ProtocolID
		props []Proposal
	}{{wire.ProtoIKE, p.IKE}, {wire.ProtoESP, p.ESP}} {
		for i := range l.props {
			pr := &l.props[i]
			if pr.Protocol != l.proto {
				return fmt.Errorf("policy %q: %s proposal %d has protocol %s", p.Name, l.proto, i+1, pr.Protocol)
			}
			if err := pr.validate(); err != nil {
				return fmt.Errorf("policy %q: %s proposal %d (%s): %w", p.Name, l.proto, i+1, pr, err)
			}
		}
	}
	if p.IKELifetime < 0 || p.ChildLifetime < 0 {
		return fmt.Errorf("policy %q: negative lifetime", p.Name)
	}
	if w := p.Weak(); len(w) > 0 && !p.Insecure {
		return fmt.Errorf("policy %q: accepts weak algorithms (%s) but is not marked insecure", p.Name, strings.Join(w, ", "))
	}
	return nil
}

// validate checks that the proposal can be negotiated and that ikelab
// implements all of it.
func (pr *Proposal) validate() error {
	if err := pr.check(); err != nil {
		return err
	}
	for _, a := range pr.algorithms() {
		if !a.Supported() {
			return fmt.Errorf("%s: %w", a, errNotImplemented(a))
		}
	}
	return nil
}

// ErrNotImplemented is wrapped by errors about algorithms that ikelab
// parses but does not implement (DES, MODP_768, Camellia, ...).
var ErrNotImplemented = errors.New("not implemented by ikelab")

func errNotImplemented(a Algorithm) error {
	if a.Weak() {
		return fmt.Errorf("%w (and insecure)", ErrNotImplemented)
	}
	return ErrNotImplemented
}

// Weak lists the weak algorithms the policy accepts, each once, in the
// order they appear.
func (p *Policy) Weak() []string {
	var seen []Algorithm
	for _, l := range [][]Proposal{p.IKE, p.ESP} {
		for i := range l {
			for _, a := range l[i].algorithms() {
				if a.Weak() {
					seen = appendUnique(seen, a)
				}
			}
		}
	}
	names := make([]string, len(seen))
	for i, a := range seen {
		names[i] = a.String()
	}
	return names
}

// markWeak sets Insecure when the policy accepts a weak algorithm.
func (p *Policy) markWeak() {
	p.Insecure = len(p.Weak()) > 0
}

// BuiltinNames lists the built-in policies, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Builtin returns a fresh copy of the built-in policy name, which the
// caller may modify.
func Builtin(name string) (*Policy, error) {
	b, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("policy: unknown built-in policy %q (built-in: %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	p := &Policy{Name: name, IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime,
		ChildLifeBytes: DefaultChildLifeBytes}
	var err error
	if p.IKE, err = parseAll(wire.ProtoIKE, b.ike); err != nil {
		panic(err) // the tables below are constants; a test parses them
	}
	if p.ESP, err = parseAll(wire.ProtoESP, b.esp); err != nil {
		panic(err)
	}
	p.markWeak()
	return p, nil
}

func parseAll(proto wire.ProtocolID, list []string) ([]Proposal, error) {
	out := make([]Proposal, 0, len(list))
	for _, s := range list {
		pr, err := ParseProposal(proto, s)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

type builtin struct{ ike, esp []string }

var builtins = map[string]builtin{
	// recommended: AES with SHA-256 and 2048-bit MODP, or AES-GCM with the
	// NIST curves; RFC 8247 and RFC 8221 MUST/SHOULD algorithms only.
	//
	// The order matters less than it seems: selection first looks for a
	// proposal whose group is the one in the client's KE payload, so a
	// client that sent ECP_256 gets ECP_256 without an INVALID_KE_PAYLOAD
	// round trip. The order decides only when the client's KE group is not
	// acceptable (the group named in INVALID_KE_PAYLOAD) and for
	// "policy export", which prints the first combination Windows can
	// express. AES-128/SHA-256/group 14 with PFS 2048 comes first because
	// every Windows IKEv2 client can be set to it and it is the combination
	// Microsoft documents for Always On VPN, so the exported settings are
	// the familiar ones. AES-256 follows for clients that insist on it;
	// then GCM, where the curve matches the cipher strength.
	//
	// Every ESP proposal requires PFS on CREATE_CHILD_SA ("with PFS"): the
	// groups are those of the IKE proposals, so a Windows client that sets
	// PfsGroup to PFS2048, ECP256 or ECP384 (as Microsoft's GCM examples
	// do) rekeys its child SAs. KE transforms are ignored in IKE_AUTH
	// (RFC 7296, Section 1.2), so the first child SA needs no PFS.
	recommendedName: {
		ike: []string{
			"aes128-sha256-modp2048",
			"aes256-sha256-modp2048",
			"aes128gcm16-prfsha256-ecp256",
			"aes256gcm16-prfsha384-ecp384",
		},
		esp: []string{
			"aes128-sha256-modp2048-ecp256-ecp384",
			"aes128gcm16-ecp256-ecp384-modp2048",
			"aes256gcm16-ecp384-ecp256-modp2048",
		},
	},
	// windows-default: what a Windows client offers when nobody configured
	// it (LAB.md; the Windows 8-10 capture in the corpus shows the same 12
	// IKE proposals): 3DES, AES-128, AES-192 or AES-256 with SHA-1,
	// SHA-256 or SHA-384, all with MODP_1024 (RRAS' own default answer is
	// 3DES/SHA-1/group 2, which is among them). MODP_2048 is accepted too,
	// for clients with the NegotiateDH2048_AES256 registry value. ESP is
	// AES-256, AES-128 or 3DES with SHA-1 and no PFS; the DES and NULL
	// proposals Windows also sends are not implemented.
	//
	// Since the responder's order wins, the order puts the least weak
	// combinations first: AES with SHA-2, then AES with SHA-1, then 3DES.
	// Against the default Windows offer this selects
	// AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024.
	windowsDefaultName: {
		ike: []string{
			"aes256-sha256-modp2048-modp1024", "aes256-sha384-modp2048-modp1024",
			"aes192-sha256-modp2048-modp1024", "aes192-sha384-modp2048-modp1024",
			"aes128-sha256-modp2048-modp1024", "aes128-sha384-modp2048-modp1024",
			"aes256-sha1-modp2048-modp1024", "aes192-sha1-modp2048-modp1024",
			"aes128-sha1-modp2048-modp1024",
			"3des-sha256-modp2048-modp1024", "3des-sha384-modp2048-modp1024",
			"3des-sha1-modp2048-modp1024",
		},
		esp: []string{"aes256-sha1", "aes128-sha1", "3des-sha1"},
	},
}

package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ikelab/ikelab/ike/wire"
)

// Config is the policy section of the responder's configuration file. It
// takes one of three forms: a built-in policy by name, lists of strongSwan
// proposal strings, or a Windows block with Set-VpnServerConfiguration
// -CustomPolicy parameters. An empty Config means the built-in
// "recommended" policy.
//
//	policy:
//	  builtin: windows-default
//
//	policy:
//	  ike: [aes128-sha256-modp2048, aes128gcm16-prfsha256-ecp256]
//	  esp: [aes128-sha256-modp2048, aes128gcm16-ecp256]
//	  child_lifetime: 1h
//
//	policy:
//	  windows:
//	    EncryptionMethod: AES256
//	    IntegrityCheckMethod: SHA256
//	    DHGroup: Group14
//	    CipherTransformConstants: GCMAES256
//	    AuthenticationTransformConstants: GCMAES256
//	    PfsGroup: PFS2048
type Config struct {
	// Builtin names a built-in policy (BuiltinNames). It excludes IKE, ESP
	// and Windows.
	Builtin string `yaml:"builtin,omitempty"`
	// IKE lists IKE SA proposals in strongSwan's keyword form, most
	// preferred first; an entry may hold several, separated by commas.
	// Requires ESP.
	IKE []string `yaml:"ike,omitempty"`
	// ESP lists child SA proposals like IKE; a key exchange keyword in an
	// ESP proposal requires PFS with that group on CREATE_CHILD_SA.
	// Requires IKE.
	ESP []string `yaml:"esp,omitempty"`
	// Windows holds Windows' own parameter names and values, lifetimes
	// included. It excludes Builtin, IKE, ESP and the lifetimes below.
	Windows *Windows `yaml:"windows,omitempty"`
	// IKELifetime overrides the IKE SA lifetime ("24h"); zero keeps the
	// default of 86400 s.
	IKELifetime time.Duration `yaml:"ike_lifetime,omitempty"`
	// ChildLifetime overrides the child SA lifetime ("8h"); zero keeps the
	// default of 28800 s.
	ChildLifetime time.Duration `yaml:"child_lifetime,omitempty"`
	// ChildLifeBytes overrides how many octets a child SA protects before
	// it is rekeyed; zero keeps the default of 1024000 KiB.
	ChildLifeBytes uint64 `yaml:"child_life_bytes,omitempty"`
}

// FromConfig builds and validates the policy a Config describes. Errors
// are *FieldError values (joined when there are several) whose Field is
// the path inside the policy section: "builtin", "ike[1]", "esp",
// "windows.DHGroup", "child_lifetime".
func FromConfig(c Config) (*Policy, error) {
	var set []string
	if c.Builtin != "" {
		set = append(set, "builtin")
	}
	if len(c.IKE) > 0 || len(c.ESP) > 0 {
		set = append(set, "ike")
	}
	if c.Windows != nil {
		set = append(set, "windows")
	}
	if len(set) > 1 {
		return nil, &FieldError{Field: set[1], Err: fmt.Errorf("conflicts with %s: set only one of builtin, ike/esp or windows", set[0])}
	}
	var p *Policy
	switch {
	case c.Windows != nil:
		var err error
		if p, err = FromWindows(*c.Windows); err != nil {
			return nil, prefixFields(err, "windows.")
		}
		var errs []error
		for _, f := range []struct {
			field, instead string
			set            bool
		}{
			{"ike_lifetime", "MMSALifeTimeSeconds", c.IKELifetime != 0},
			{"child_lifetime", "SALifeTimeSeconds", c.ChildLifetime != 0},
			{"child_life_bytes", "SADataSizeForRenegotiationKilobytes", c.ChildLifeBytes != 0},
		} {
			if f.set {
				errs = append(errs, &FieldError{Field: f.field, Err: fmt.Errorf("with a windows block, set windows.%s instead", f.instead)})
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		return p, nil
	case len(c.IKE) > 0 || len(c.ESP) > 0:
		var errs []error
		p = &Policy{Name: customName, IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime,
			ChildLifeBytes: DefaultChildLifeBytes}
		p.IKE, errs = parseField(wire.ProtoIKE, "ike", c.IKE, errs)
		p.ESP, errs = parseField(wire.ProtoESP, "esp", c.ESP, errs)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		p.markWeak()
	default:
		name := c.Builtin
		if name == "" {
			name = DefaultPolicy
		}
		var err error
		if p, err = Builtin(name); err != nil {
			return nil, &FieldError{Field: "builtin", Err: err}
		}
	}
	var errs []error
	if c.IKELifetime < 0 {
		errs = append(errs, &FieldError{Field: "ike_lifetime", Err: fmt.Errorf("negative duration %s", c.IKELifetime)})
	} else if c.IKELifetime > 0 {
		p.IKELifetime = c.IKELifetime
	}
	if c.ChildLifetime < 0 {
		errs = append(errs, &FieldError{Field: "child_lifetime", Err: fmt.Errorf("negative duration %s", c.ChildLifetime)})
	} else if c.ChildLifetime > 0 {
		p.ChildLifetime = c.ChildLifetime
	}
	if c.ChildLifeBytes > 0 {
		p.ChildLifeBytes = c.ChildLifeBytes
	}
	if len(errs) == 0 {
		if err := p.Validate(); err != nil {
			errs = append(errs, err) // not expected: each part was checked
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// parseField parses a list of proposal entries; each entry's errors name
// its index. The list is required.
func parseField(proto wire.ProtocolID, field string, entries []string, errs []error) ([]Proposal, []error) {
	if len(entries) == 0 {
		other := "esp"
		if field == "esp" {
			other = "ike"
		}
		return nil, append(errs, &FieldError{Field: field, Err: fmt.Errorf("required with %s", other)})
	}
	var out []Proposal
	for i, e := range entries {
		f := fmt.Sprintf("%s[%d]", field, i)
		props, err := ParseProposals(proto, e)
		if err != nil {
			errs = append(errs, &FieldError{Field: f, Err: err})
			continue
		}
		for _, pr := range props {
			if err := pr.validate(); err != nil {
				errs = append(errs, &FieldError{Field: f, Err: fmt.Errorf("%s: %w", pr, err)})
			}
		}
		out = append(out, props...)
	}
	if len(out) > maxProposals {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%d proposals, more than %d", len(out), maxProposals)})
	}
	return out, errs
}

// prefixFields puts prefix in front of the Field of every *FieldError in
// err, which may be a joined error.
func prefixFields(err error, prefix string) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list := j.Unwrap()
		out := make([]error, len(list))
		for i, e := range list {
			out[i] = prefixFields(e, prefix)
		}
		return errors.Join(out...)
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: strings.TrimSuffix(prefix, "."), Err: err}
}

// windowsField is one Windows parameter, for the YAML decoder.
type windowsField struct {
	name string
	str  *string
	num  *int
}

func (w *Windows) fields() []windowsField {
	return []windowsField{
		{name: "EncryptionMethod", str: &w.EncryptionMethod},
		{name: "IntegrityCheckMethod", str: &w.IntegrityCheckMethod},
		{name: "DHGroup", str: &w.DHGroup},
		{name: "CipherTransformConstants", str: &w.CipherTransformConstants},
		{name: "AuthenticationTransformConstants", str: &w.AuthenticationTransformConstants},
		{name: "PfsGroup", str: &w.PfsGroup},
		{name: "SALifeTimeSeconds", num: &w.SALifeTimeSeconds},
		{name: "MMSALifeTimeSeconds", num: &w.MMSALifeTimeSeconds},
		{name: "SADataSizeForRenegotiationKilobytes", num: &w.SADataSizeForRenegotiationKilobytes},
	}
}

// UnmarshalYAML reads a Windows block whose keys are the PowerShell
// parameter names in any letter case (PowerShell itself ignores case, and
// its documentation spells PfsGroup both "PfsGroup" and "PFSgroup").
// Unknown and repeated keys are errors that give the line.
func (w *Windows) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of Windows parameter names to values", n.Line)
	}
	fields := w.fields()
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var f *windowsField
		for j := range fields {
			if strings.EqualFold(k.Value, fields[j].name) {
				f = &fields[j]
			}
		}
		if f == nil {
			known := make([]string, len(fields))
			for j, kf := range fields {
				known[j] = kf.name
			}
			return &FieldError{Field: "windows." + k.Value, Err: fmt.Errorf("line %d: unknown Windows parameter (known: %s)", k.Line, strings.Join(known, ", "))}
		}
		if line, dup := seen[f.name]; dup {
			return &FieldError{Field: "windows." + f.name, Err: fmt.Errorf("line %d: set again (first on line %d)", k.Line, line)}
		}
		seen[f.name] = k.Line
		if v.Kind != yaml.ScalarNode {
			return &FieldError{Field: "windows." + f.name, Err: fmt.Errorf("line %d: want a single value", v.Line)}
		}
		if f.str != nil {
			*f.str = v.Value
		} else if err := v.Decode(f.num); err != nil {
			return &FieldError{Field: "windows." + f.name, Err: fmt.Errorf("line %d: %q is not a whole number", v.Line, v.Value)}
		}
	}
	return nil
}

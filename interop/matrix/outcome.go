package matrix

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/ike/wire"
)

// Result is how a connection attempt ended.
type Result string

const (
	// Established: IKE SA and child SA up.
	Established Result = "established"
	// ChildRefused: the IKE SA is up, the child SA of IKE_AUTH was
	// refused (RFC 7296, Section 1.2: the IKE SA stands).
	ChildRefused Result = "child SA refused"
	// Refused: the responder answered with an error notification and no
	// IKE SA exists.
	Refused Result = "refused"
	// Failed: no answer, or an error without a notification.
	Failed Result = "failed"
)

// Outcome is what a scenario leads to, expected or observed. Fields that
// do not apply are empty: no suites for a refusal, no notify when
// established.
type Outcome struct {
	Result Result `json:"result"`
	// Exchange and Notify are the error notification and the exchange it
	// came in (IKE_SA_INIT, IKE_AUTH).
	Exchange string `json:"exchange,omitempty"`
	Notify   string `json:"notify,omitempty"`
	// WindowsError is the code a Windows client shows for this outcome
	// (ike/profile.WindowsError), 0 when it connects.
	WindowsError int `json:"windows_error,omitempty"`
	// IKE and ESP are the negotiated suites in strongSwan's notation,
	// "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048".
	IKE string `json:"ike,omitempty"`
	ESP string `json:"esp,omitempty"`
	// PFS is the key exchange group of a rekey of the child SA ("none"
	// without PFS; RFC 7296, Section 1.3.3). Expected: the group client
	// and server policy agree on (the scenario table's test computes it
	// with the policy engine). Observed: the group strongSwan shows for
	// the child SAs that rekeys made, whose KE payloads the wire check
	// reads too; empty where no rekey can run (Row.Rekey says why).
	PFS string `json:"pfs,omitempty"`
	// Insecure is set when a negotiated algorithm is weak (crypto.IsWeak:
	// 3DES, SHA-1, MODP_1024, ...).
	Insecure bool `json:"insecure,omitempty"`
}

// Summary is the outcome in one line: "established", "refused:
// NO_PROPOSAL_CHOSEN in IKE_SA_INIT (Windows 13868)".
func (o Outcome) Summary() string {
	var b strings.Builder
	b.WriteString(string(o.Result))
	if o.Notify != "" {
		fmt.Fprintf(&b, ": %s", o.Notify)
		if o.Exchange != "" {
			fmt.Fprintf(&b, " in %s", o.Exchange)
		}
	}
	if o.WindowsError != 0 {
		fmt.Fprintf(&b, " (Windows %d)", o.WindowsError)
	}
	return b.String()
}

// Detail is the outcome with everything negotiated: "established:
// IKE:..., ESP:..., PFS on rekey MODP_2048, INSECURE".
func (o Outcome) Detail() string {
	parts := []string{o.Summary()}
	if o.IKE != "" {
		parts = append(parts, o.IKE)
	}
	if o.ESP != "" {
		parts = append(parts, o.ESP)
	}
	if o.PFS != "" {
		parts = append(parts, "PFS on rekey "+o.PFS)
	}
	if o.Insecure {
		parts = append(parts, "INSECURE")
	}
	return strings.Join(parts, ", ")
}

// Diff lists every field where got differs from o, as "field: want X, got
// Y"; nil when they agree.
func (o Outcome) Diff(got Outcome) []string {
	var out []string
	check := func(field, want, have string) {
		if want != have {
			out = append(out, fmt.Sprintf("%s: want %q, got %q", field, want, have))
		}
	}
	check("result", string(o.Result), string(got.Result))
	check("exchange", o.Exchange, got.Exchange)
	check("notify", o.Notify, got.Notify)
	check("windows error", strconv.Itoa(o.WindowsError), strconv.Itoa(got.WindowsError))
	check("IKE suite", o.IKE, got.IKE)
	check("ESP suite", o.ESP, got.ESP)
	check("PFS group", o.PFS, got.PFS)
	check("insecure", strconv.FormatBool(o.Insecure), strconv.FormatBool(got.Insecure))
	return out
}

// windowsError is what a Windows client shows for a notification (0 for
// none); clients other than Windows get 0 too.
func windowsError(prof *profile.Profile, notify string, timeout bool) int {
	if !prof.Windows {
		return 0
	}
	n, ok := notifyByName(notify)
	if !ok && !timeout {
		return 0
	}
	code, _ := profile.WindowsError(n, timeout)
	return code
}

// notifyByName maps "NO_PROPOSAL_CHOSEN" back to its type. The error
// types live in 1..16383 (RFC 7296, Section 3.10.1).
func notifyByName(name string) (wire.NotifyType, bool) {
	if name == "" {
		return 0, false
	}
	for n := wire.NotifyType(1); n < 16384; n++ {
		if n.String() == name {
			return n, true
		}
	}
	return 0, false
}

// notifyByShort maps strongSwan's abbreviation ("NO_PROP") back to the
// type.
func notifyByShort(short string) (wire.NotifyType, bool) {
	for n := wire.NotifyType(1); n < 65535; n++ {
		if n.Short() == short {
			return n, true
		}
	}
	return 0, false
}

// transformNames maps strongSwan's names, as in a suite string, back to
// transforms; built once from wire.TransformName.
var transformNames = sync.OnceValue(func() map[string]policy.Algorithm {
	m := map[string]policy.Algorithm{}
	for _, t := range []wire.TransformType{wire.TransformENCR, wire.TransformPRF, wire.TransformINTEG, wire.TransformKE, wire.TransformESN} {
		for id := wire.TransformID(0); id < 1024; id++ {
			name := wire.TransformName(t, id)
			if name == fmt.Sprintf("%s_%d", t, uint16(id)) {
				continue // unregistered: TransformName's numeric placeholder
			}
			if t == wire.TransformENCR && id != wire.ENCR_3DES && id != wire.ENCR_NULL && id != wire.ENCR_DES {
				// Variable-length ciphers appear with their key size.
				for _, bits := range []int{128, 192, 256} {
					m[fmt.Sprintf("%s_%d", name, bits)] = policy.Algorithm{Type: t, ID: id, KeyBits: bits}
				}
			}
			if _, taken := m[name]; !taken {
				m[name] = policy.Algorithm{Type: t, ID: id}
			}
		}
	}
	return m
})

// suiteAlgorithms parses a suite string back into algorithms.
func suiteAlgorithms(suite string) ([]policy.Algorithm, error) {
	if suite == "" {
		return nil, nil
	}
	_, list, ok := strings.Cut(suite, ":")
	if !ok {
		return nil, fmt.Errorf("matrix: suite %q has no protocol prefix", suite)
	}
	var out []policy.Algorithm
	for _, name := range strings.Split(list, "/") {
		a, ok := transformNames()[name]
		if !ok {
			return nil, fmt.Errorf("matrix: suite %q: unknown transform %q", suite, name)
		}
		out = append(out, a)
	}
	return out, nil
}

// weakIn lists the weak algorithms of the suites (crypto.IsWeak).
func weakIn(suites ...string) ([]string, error) {
	var weak []string
	for _, s := range suites {
		algs, err := suiteAlgorithms(s)
		if err != nil {
			return nil, err
		}
		for _, a := range algs {
			if crypto.IsWeak(a.Type, a.ID, a.KeyBits) {
				weak = append(weak, a.String())
			}
		}
	}
	return weak, nil
}

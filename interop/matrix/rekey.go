package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/ikelab/ikelab/interop/lab"
)

// The PFS group of a child SA is not used in IKE_AUTH, whose child SA
// takes its keys from the IKE SA (RFC 7296, Section 1.2); it applies when
// the child SA is rekeyed with CREATE_CHILD_SA and a KE payload (Sections
// 1.3.3 and 2.17: KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)). So the
// matrix proves a scenario's PFS group by rekeying the child SA, which
// only the strongSwan → ikelab way can do: cmd/initiator neither starts a
// rekey nor answers a CREATE_CHILD_SA request.

// rekeyTimeout bounds one rekey: the CREATE_CHILD_SA exchange, the delete
// of the old child SA and both ends settling take milliseconds here.
const rekeyTimeout = 10 * time.Second

// RekeyCheck is what a run proved about PFS on rekey.
type RekeyCheck struct {
	// NotApplicable says why no rekey could run this way; empty when
	// the run rekeyed.
	NotApplicable string `json:"not_applicable,omitempty"`
	// Rekeys are the rekeys of the child SA that completed, in order.
	Rekeys []Rekey `json:"rekeys,omitempty"`
	// Verified is set when both rekeys completed and every check of them
	// held: strongSwan's new child SAs show the expected group, the
	// responder's audit records each rekey with strongSwan's SPIs, every
	// CREATE_CHILD_SA message decrypts with the exported keys and carries
	// a KE payload of that group (none without PFS), and ESP sent through
	// each new child SA decrypts with the keys ikelab derived.
	Verified bool `json:"verified"`
}

// Rekey is one rekey of the child SA.
type Rekey struct {
	// By is the end that started the CREATE_CHILD_SA exchange:
	// "strongSwan" (swanctl --rekey, as a Windows client does when its
	// lifetime runs out) or "ikelab" (responder rekey, as its
	// child_lifetime does).
	By string `json:"by"`
	// Group is the PFS group strongSwan shows for the new child SA
	// ("none" without PFS).
	Group string `json:"group"`
	// SPIIn and SPIOut are the new child SA's SPIs as strongSwan holds
	// them, in hex.
	SPIIn  string `json:"spi_in"`
	SPIOut string `json:"spi_out"`
}

// Group is the PFS group of the rekeys, or each distinct one when they
// differ ("MODP_2048", "MODP_2048, ECP_256"); empty without rekeys.
func (c RekeyCheck) Group() string {
	var groups []string
	for _, rk := range c.Rekeys {
		if !slices.Contains(groups, rk.Group) {
			groups = append(groups, rk.Group)
		}
	}
	return strings.Join(groups, ", ")
}

// String is the check as the report shows it under "PFS on rekey":
// "verified (MODP_2048)", "not applicable: <reason>", or "not verified".
func (c RekeyCheck) String() string {
	switch {
	case c.NotApplicable != "":
		return "not applicable: " + c.NotApplicable
	case c.Verified:
		return "verified (" + c.Group() + ")"
	case len(c.Rekeys) == 0:
		return "not verified: no rekey completed"
	}
	return "not verified (" + c.Group() + "): see the problems"
}

// rekeyNotApplicable says why a run cannot rekey its child SA, "" when it
// can.
func rekeyNotApplicable(way Way, o Outcome) string {
	switch {
	case o.Result == Refused || o.Result == Failed:
		return "no child SA to rekey, the connection was not established"
	case o.Result == ChildRefused:
		return "no child SA to rekey, it was refused in IKE_AUTH"
	case way == IkelabToIkelab:
		return "cmd/initiator neither starts a rekey nor answers the responder's CREATE_CHILD_SA " +
			"request (it holds the SA, then deletes it), so no rekey can complete"
	case way == IkelabToStrongSwan:
		return "cmd/initiator neither starts a rekey nor answers strongSwan's CREATE_CHILD_SA " +
			"request (it holds the SA, then deletes it), so no rekey can complete"
	}
	return ""
}

// rekeyProblem records a failed check of the rekey.
func (r *run) rekeyProblem(format string, args ...any) {
	r.rekeyFailed = true
	r.problem("PFS on rekey: "+format, args...)
}

// rekeyChild rekeys the strongSwan initiator's established child SA
// twice: first strongSwan starts the CREATE_CHILD_SA (swanctl --rekey),
// then the ikelab responder (responder rekey). After each rekey both ends
// must hold the new child SA alone, with the same SPIs, strongSwan must
// show the expected PFS group for it and the responder's audit must
// record it; one ICMP echo then goes through the new child SA, so that
// checkESP can show the keys ikelab derived with the new shared secret
// decrypt what strongSwan sent.
func (r *run) rekeyChild() {
	cur, ok := r.waitChild(nil, 0)
	if !ok {
		return
	}
	steps := []struct {
		by    string
		start func(ctx context.Context, c lab.ChildSA) error
	}{
		{"strongSwan", func(ctx context.Context, _ lab.ChildSA) error {
			_, err := r.charon.Swanctl(ctx, "--rekey", "--child", "net")
			return err
		}},
		// The responder names the child SA by its inbound SPI, which is
		// strongSwan's outbound one: settled checked that `responder sas
		// --json` lists it so.
		{"ikelab", func(ctx context.Context, c lab.ChildSA) error {
			_, err := r.responderCommand(ctx, "rekey", "--control", r.control, "--child", fmt.Sprintf("%08x", c.SPIOut))
			return err
		}},
	}
	for i, st := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), rekeyTimeout)
		err := st.start(ctx, cur)
		cancel()
		if err != nil {
			r.rekeyProblem("%s could not start a rekey: %v", st.by, err)
			return
		}
		next, ok := r.waitChild(&cur, i+1)
		if !ok {
			return
		}
		rk := Rekey{By: st.by, Group: orNone(next.DHGroup),
			SPIIn: fmt.Sprintf("%08x", next.SPIIn), SPIOut: fmt.Sprintf("%08x", next.SPIOut)}
		r.row.Rekey.Rekeys = append(r.row.Rekey.Rekeys, rk)
		if rk.Group != r.sc.Expect.PFS {
			r.rekeyProblem("rekey started by %s: strongSwan's new child SA uses PFS group %s, want %s", st.by, rk.Group, r.sc.Expect.PFS)
		}
		r.ping()
		cur = next
	}
}

// orNone is strongSwan's empty dh-group as the matrix names it.
func orNone(group string) string {
	if group == "" {
		return "none"
	}
	return group
}

// responderSA is the part of an IKE SA in `responder sas --json`
// (ike.Status) a run reads.
type responderSA struct {
	SPIi     string           `json:"spi_i"`
	State    string           `json:"state"`
	Children []responderChild `json:"children"`
}

// responderChild is a child SA in `responder sas --json` (ike.ChildStatus).
type responderChild struct {
	SPIIn   string `json:"spi_in"`
	SPIOut  string `json:"spi_out"`
	Rekeyed bool   `json:"rekeyed"`
}

// responderCommand runs cmd/responder with args (sas, rekey) against the
// running responder's control socket, a unix socket, so it needs no
// network namespace. It returns the standard output; the error quotes the
// standard error.
func (r *run) responderCommand(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.e.responderBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("matrix: responder %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// childState is what both ends and the audit say about the child SAs at
// one moment.
type childState struct {
	strongSwan []lab.ChildSA // of the IKE SA "home"
	ikeState   string        // strongSwan's IKE SA state
	ikelab     []responderSA
	rekeyed    []auditRecord // the responder's child_rekeyed records
	errs       []string
}

func (s *childState) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "strongSwan's IKE SA %s with child SAs [", orDash(s.ikeState))
	for i, c := range s.strongSwan {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %08x_i %08x_o %s", c.State, c.SPIIn, c.SPIOut, orNone(c.DHGroup))
	}
	b.WriteString("]; the responder's [")
	for i, sa := range s.ikelab {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "IKE %s %s:", sa.SPIi, sa.State)
		for _, c := range sa.Children {
			fmt.Fprintf(&b, " %s_i %s_o", c.SPIIn, c.SPIOut)
			if c.Rekeyed {
				b.WriteString(" (rekeyed)")
			}
		}
	}
	fmt.Fprintf(&b, "]; %d child_rekeyed audit records", len(s.rekeyed))
	if len(s.errs) > 0 {
		fmt.Fprintf(&b, "; errors: %s", strings.Join(s.errs, "; "))
	}
	return b.String()
}

// observeChildren reads both ends' child SAs and the audit.
func (r *run) observeChildren() *childState {
	s := &childState{}
	if sas, err := r.charon.ListSAs(); err != nil {
		s.errs = append(s.errs, err.Error())
	} else {
		for _, sa := range sas {
			if sa.Name == "home" {
				s.ikeState, s.strongSwan = sa.State, sa.Children
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), rekeyTimeout)
	defer cancel()
	if out, err := r.responderCommand(ctx, "sas", "--control", r.control, "--json"); err != nil {
		s.errs = append(s.errs, err.Error())
	} else if err := json.Unmarshal([]byte(out), &s.ikelab); err != nil {
		s.errs = append(s.errs, fmt.Sprintf("responder sas --json: %v", err))
	}
	for _, a := range r.audits() {
		if a.Event == "child_rekeyed" {
			s.rekeyed = append(s.rekeyed, a)
		}
	}
	return s
}

// settled reports whether the state is the one a completed rekey leaves
// (or, for rekeys 0, the child SA of IKE_AUTH): strongSwan holds one
// installed child SA, other than old, and any other only as DELETED; the
// responder holds one IKE SA with that child SA alone, with the SPIs
// swapped (its inbound is strongSwan's outbound); and the audit holds
// rekeys child_rekeyed records, the last naming those SPIs.
//
// strongSwan keeps a rekeyed child SA in state DELETED for a while
// (charon.delete_rekeyed_delay, 5 s by default) so that its inbound SA
// still takes packets in flight; that SA is gone from the responder and
// sends nothing, so it does not count.
func (s *childState) settled(old *lab.ChildSA, rekeys int) (lab.ChildSA, bool) {
	if s.ikeState != lab.IKEStateEstablished {
		return lab.ChildSA{}, false
	}
	var installed []lab.ChildSA
	for _, c := range s.strongSwan {
		switch c.State {
		case lab.ChildStateInstalled:
			installed = append(installed, c)
		case lab.ChildStateDeleted:
		default:
			return lab.ChildSA{}, false
		}
	}
	if len(installed) != 1 {
		return lab.ChildSA{}, false
	}
	c := installed[0]
	if old != nil && (c.SPIIn == old.SPIIn || c.SPIOut == old.SPIOut) {
		return lab.ChildSA{}, false
	}
	in, out := fmt.Sprintf("%08x", c.SPIOut), fmt.Sprintf("%08x", c.SPIIn)
	if len(s.ikelab) != 1 || len(s.ikelab[0].Children) != 1 {
		return lab.ChildSA{}, false
	}
	if ch := s.ikelab[0].Children[0]; ch.SPIIn != in || ch.SPIOut != out || ch.Rekeyed {
		return lab.ChildSA{}, false
	}
	if len(s.rekeyed) != rekeys {
		return lab.ChildSA{}, false
	}
	if rekeys > 0 && !slices.Equal(s.rekeyed[rekeys-1].ChildSPIs, []string{in + "_i", out + "_o"}) {
		return lab.ChildSA{}, false
	}
	return c, true
}

// waitChild waits until the state settles after rekeys rekeys (see
// settled) and returns strongSwan's child SA; a rekey problem, with what
// both ends held last, when it does not within rekeyTimeout.
func (r *run) waitChild(old *lab.ChildSA, rekeys int) (lab.ChildSA, bool) {
	deadline := time.Now().Add(rekeyTimeout)
	for {
		s := r.observeChildren()
		if c, ok := s.settled(old, rekeys); ok {
			return c, true
		}
		if time.Now().After(deadline) {
			what := "the child SA of IKE_AUTH on both ends"
			if rekeys > 0 {
				what = fmt.Sprintf("rekey %d completed on both ends and in the audit", rekeys)
			}
			r.rekeyProblem("no %s within %v: %s", what, rekeyTimeout, s)
			return lab.ChildSA{}, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// concludeRekey decides, once every check ran, whether the run verified
// PFS on rekey.
func (r *run) concludeRekey() {
	rc := &r.row.Rekey
	if rc.NotApplicable != "" {
		return
	}
	if len(rc.Rekeys) > 0 && len(r.pingSPIs) != 1+len(rc.Rekeys) {
		r.rekeyProblem("ICMP echoes went through %d child SAs, want %d (one per child SA)", len(r.pingSPIs), 1+len(rc.Rekeys))
	}
	rc.Verified = !r.rekeyFailed && len(rc.Rekeys) == 2 && r.row.Observed.PFS == r.sc.Expect.PFS
	r.t.Logf("PFS on rekey: %s", rc)
}

package matrix

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/internal/labpki"
	"github.com/ikelab/ikelab/interop/lab"
)

// Bounds on the waits of one run. An exchange takes milliseconds here;
// these only keep a broken run from hanging the matrix.
const (
	// connectTimeout bounds one connection attempt, delete included.
	connectTimeout = 20 * time.Second
	// settleTimeout bounds the wait for the responder's final audit
	// record after the initiator is done.
	settleTimeout = 5 * time.Second
)

// Env is what the runs of a matrix share: the ikelab binaries, the lab
// PKI and the report being built.
type Env struct {
	// ReportDir receives the report and a runs/ directory per run.
	ReportDir string

	responderBin, initiatorBin string
	pki                        *labpki.PKI

	mu     sync.Mutex
	report Report
}

// NewEnv checks that the lab can run (root, strongSwan, tshark, dumpcap;
// the test is skipped otherwise), builds cmd/responder and cmd/initiator
// and generates the lab PKI, once for every run.
func NewEnv(t *testing.T, reportDir string) *Env {
	t.Helper()
	lab.RequireStrongSwan(t)
	lab.RequireBinaries(t, "tshark", "dumpcap", "ping", "go")
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		t.Fatalf("matrix: report directory: %v", err)
	}
	e := &Env{ReportDir: reportDir, report: Report{Started: time.Now(), Tools: toolVersions()}}
	root, err := lab.RepoRoot()
	if err != nil {
		t.Fatalf("matrix: %v", err)
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/responder", "./cmd/initiator")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("matrix: go build ./cmd/responder ./cmd/initiator: %v\n%s", err, out)
	}
	e.responderBin, e.initiatorBin = filepath.Join(bin, "responder"), filepath.Join(bin, "initiator")
	// The server certificate names the address the clients dial, as
	// Windows requires (LAB.md).
	e.pki, err = labpki.Generate(labpki.Options{Dir: filepath.Join(t.TempDir(), "pki"), ServerIPs: []net.IP{net.ParseIP(serverAddr)}})
	if err != nil {
		t.Fatalf("matrix: lab PKI: %v", err)
	}
	return e
}

// toolVersions names the peer and dissector versions for the report.
func toolVersions() []string {
	var out []string
	for _, v := range []struct {
		name string
		re   *regexp.Regexp
		args []string
	}{
		{"strongSwan", regexp.MustCompile(`strongSwan (\S+)`), []string{"swanctl", "--version"}},
		{"TShark", regexp.MustCompile(`TShark \(Wireshark\) (\S+)`), []string{"tshark", "--version"}},
	} {
		// swanctl --version also tries the default vici socket and
		// fails; the version line comes first either way.
		b, _ := exec.Command(v.args[0], v.args[1:]...).CombinedOutput()
		if m := v.re.FindSubmatch(b); m != nil {
			out = append(out, v.name+" "+string(m[1]))
		}
	}
	return out
}

// Report returns the report so far.
func (e *Env) Report() *Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.report
	r.Rows = append([]*Row(nil), e.report.Rows...)
	r.Duration = time.Since(r.Started)
	return &r
}

func (e *Env) add(row *Row) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.report.Rows = append(e.report.Rows, row)
}

// RunAll runs every scenario every way as subtests of t ("scenario/way"),
// then writes the report into ReportDir, and returns it. A run whose
// observation differs from the expectation fails its subtest; the report
// is written either way.
func (e *Env) RunAll(t *testing.T, scenarios []Scenario, ways []Way) *Report {
	for i := range scenarios {
		sc := &scenarios[i]
		t.Run(sc.ID, func(t *testing.T) {
			for _, w := range ways {
				t.Run(w.Slug(), func(t *testing.T) {
					row := e.Run(t, sc, w)
					for _, p := range row.Problems {
						t.Error(p)
					}
				})
			}
		})
	}
	r := e.Report()
	if err := r.Write(e.ReportDir); err != nil {
		t.Errorf("%v", err)
	}
	t.Logf("matrix: %d of %d runs passed in %v; report in %s", r.Passed(), len(r.Rows),
		r.Duration.Round(100*time.Millisecond), filepath.Join(e.ReportDir, "report.html"))
	return r
}

// run is the state of one scenario run one way.
type run struct {
	t    *testing.T
	e    *Env
	sc   *Scenario
	way  Way
	prof *profile.Profile
	pol  *policy.Policy
	row  *Row

	work   string // private temporary files
	runDir string // the run's directory in the report

	client, server *lab.Netns
	capture        *lab.Capture

	// ikelab responder
	responder *lab.Process
	auditPath string
	rspKeys   string
	control   string // its control socket
	// ikelab initiator
	iniKeys string
	// strongSwan, whichever side it plays
	charon *lab.Charon
	// espSent is set once traffic went into a strongSwan initiator's
	// tunnel, so the capture must hold ESP; pingSPIs are the outbound
	// SPIs of the child SAs it went through.
	espSent  bool
	pingSPIs []uint32
	// rekeyFailed is set when a check of PFS on rekey failed.
	rekeyFailed bool
}

// Run runs one scenario one way in fresh namespaces and returns its row,
// which it also adds to the report. Setup failures fail t at once;
// everything observed is checked and listed in Row.Problems.
func (e *Env) Run(t *testing.T, sc *Scenario, way Way) *Row {
	t.Helper()
	start := time.Now()
	r := &run{t: t, e: e, sc: sc, way: way, work: t.TempDir()}
	r.row = &Row{Scenario: sc, Way: way, ScenarioID: sc.ID, WayName: way.String(), Expected: sc.Expect}
	defer func() {
		if t.Skipped() {
			return
		}
		if t.Failed() && len(r.row.Problems) == 0 {
			// A setup step failed the test (t.Fatal) before any check.
			r.row.Problems = append(r.row.Problems, "the run failed before its checks; see the test log")
		}
		r.row.Duration = time.Since(start)
		e.add(r.row)
	}()
	var err error
	if r.prof, err = sc.Client.Resolve(); err != nil {
		t.Fatalf("matrix: %s: client: %v", sc.ID, err)
	}
	if r.pol, err = policy.Builtin(sc.Policy); err != nil {
		t.Fatalf("matrix: %s: %v", sc.ID, err)
	}
	r.row.Dir = path.Join("runs", sc.ID+"--"+way.Slug())
	r.runDir = filepath.Join(e.ReportDir, filepath.FromSlash(r.row.Dir))
	if err := os.RemoveAll(r.runDir); err != nil {
		t.Fatalf("matrix: %v", err)
	}
	if err := os.MkdirAll(r.runDir, 0o755); err != nil {
		t.Fatalf("matrix: %v", err)
	}

	r.client = lab.NewNetns(t, "mxc")
	r.server = lab.NewNetns(t, "mxs")
	veth := lab.Link(t, r.client, r.server, clientAddr+"/24", serverAddr+"/24")
	r.row.Capture = path.Join(r.row.Dir, "capture.pcapng")
	r.capture = lab.StartCapture(t, r.server, veth.Iface(r.server), filepath.Join(r.runDir, "capture.pcapng"))

	if way.ikelabResponds() {
		r.startIkelabResponder()
	} else {
		r.startStrongSwanResponder()
	}
	var initiator, responder Outcome
	if way.ikelabInitiates() {
		initiator = r.runIkelabInitiator()
	} else {
		initiator = r.runStrongSwanInitiator()
	}
	if way.ikelabResponds() {
		responder = r.ikelabResponderView(initiator)
	} else {
		responder = r.strongSwanResponderView()
	}
	r.row.Observed = initiator
	r.row.Rekey.NotApplicable = rekeyNotApplicable(way, initiator)
	r.compare(initiator, responder)
	r.collectKeys()
	r.checkWire()
	r.collectLogs()
	r.concludeRekey()
	return r.row
}

// problem records a failed check.
func (r *run) problem(format string, args ...any) {
	r.row.Problems = append(r.row.Problems, fmt.Sprintf(format, args...))
}

// note records something the run could not check or reproduce.
func (r *run) note(format string, args ...any) {
	r.row.Notes = append(r.row.Notes, fmt.Sprintf(format, args...))
}

// compare checks the observation against the expectation, and the
// initiator's view against the responder's on what both can see.
func (r *run) compare(initiator, responder Outcome) {
	want := r.sc.Expect
	if r.row.Rekey.NotApplicable != "" {
		// No rekey, so no PFS group to observe (see rekey.go).
		want.PFS = ""
	}
	for _, d := range want.Diff(initiator) {
		r.problem("expected != observed: %s", d)
	}
	shared := func(o Outcome) Outcome {
		return Outcome{Result: o.Result, Exchange: o.Exchange, Notify: o.Notify, IKE: o.IKE, ESP: o.ESP}
	}
	for _, d := range shared(initiator).Diff(shared(responder)) {
		r.problem("initiator and responder disagree: %s (initiator's view first)", d)
	}
	if r.way.ikelabInitiates() && initiator.Result == Established {
		r.note("cmd/initiator sends no traffic through its child SA, so ESP decryption is checked in " +
			"strongSwan → ikelab runs only")
	}
}

// finish completes an observation: the insecure flag from the suites, the
// Windows error from the notification. The PFS group is observed only
// where a rekey ran (rekeyChild).
func (r *run) finish(o Outcome, timeout bool) Outcome {
	if o.WindowsError == 0 {
		o.WindowsError = windowsError(r.prof, o.Notify, timeout)
	}
	weak, err := weakIn(o.IKE, o.ESP)
	if err != nil {
		r.problem("%v", err)
	}
	o.Insecure = len(weak) > 0
	return o
}

// collectKeys puts the run's key tables into its directory, where the
// report links them: the ikev2_decryption_table of the ikelab side as it
// wrote it or, when both sides are ikelab, one row per IKE SA from both
// (rewritten by wskeys); the responder's esp_sa as it wrote it; and the
// preferences that make the directory a WIRESHARK_CONFIG_DIR.
func (r *run) collectKeys() {
	var srcs []string
	for _, dir := range []string{r.rspKeys, r.iniKeys} {
		if n, _ := countRows(filepath.Join(dir, ikeTable)); dir != "" && n > 0 {
			srcs = append(srcs, filepath.Join(dir, ikeTable))
		}
	}
	dst := filepath.Join(r.runDir, ikeTable)
	var err error
	switch len(srcs) {
	case 0:
	case 1:
		_, err = copyFile(dst, srcs[0], 0o600)
	default:
		_, err = mergeIKETables(dst, srcs...)
	}
	if err != nil {
		r.problem("writing the key table: %v", err)
	} else if len(srcs) > 0 {
		r.row.Keys = append(r.row.Keys, path.Join(r.row.Dir, ikeTable))
	}
	// The responder opens esp_sa at start; it stays empty unless a child
	// SA was created.
	if n, _ := countRows(filepath.Join(r.rspKeys, espTable)); r.rspKeys != "" && n > 0 {
		if _, err := copyFile(filepath.Join(r.runDir, espTable), filepath.Join(r.rspKeys, espTable), 0o600); err != nil {
			r.problem("copying esp_sa: %v", err)
		} else {
			r.row.Keys = append(r.row.Keys, path.Join(r.row.Dir, espTable))
		}
	}
	if len(r.row.Keys) > 0 {
		if err := os.WriteFile(filepath.Join(r.runDir, "preferences"), []byte(wiresharkPreferences), 0o644); err != nil {
			r.problem("writing preferences: %v", err)
		}
		r.row.Keys = append(r.row.Keys, path.Join(r.row.Dir, "preferences"))
	}
}

// collectLogs copies the run's configurations, logs and records into its
// directory.
func (r *run) collectLogs() {
	var swanctlConf string
	if r.charon != nil {
		swanctlConf = filepath.Join(r.charon.SwanctlDir, "swanctl.conf")
	}
	for _, f := range []struct{ name, src string }{
		{"responder.yaml", filepath.Join(r.work, "responder.yaml")},
		{"swanctl.conf", swanctlConf},
		{"audit.jsonl", r.auditPath},
		{"initiator.json", filepath.Join(r.work, "initiator.json")},
		{"initiator.log", filepath.Join(r.work, "initiator.log")},
		{"responder.log", filepath.Join(r.work, "responder.log")},
		{"charon.log", filepath.Join(r.work, "charon.log")},
	} {
		if f.src == "" {
			continue
		}
		if ok, err := copyFile(filepath.Join(r.runDir, f.name), f.src, 0o644); err != nil {
			r.problem("copying %s: %v", f.name, err)
		} else if ok {
			r.row.Logs = append(r.row.Logs, path.Join(r.row.Dir, f.name))
		}
	}
}

// withTimeout is a context bounded by connectTimeout.
func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), connectTimeout)
}

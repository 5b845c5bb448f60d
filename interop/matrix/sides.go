package matrix

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/interop/lab"
)

// keyExportBanner is what both ikelab programs print when key export is
// on; the issue asks for it to be loud, so a run checks that it is there.
const keyExportBanner = "KEY EXPORT IS ON"

// startIkelabResponder starts cmd/responder in the server namespace with
// the scenario's policy, the family's server certificate, both lab roots
// with their CRLs required (CRL checking on), a pool, and key export.
func (r *run) startIkelabResponder() {
	t := r.t
	fam := r.sc.Credential.serverFamily(r.e.pki)
	r.rspKeys = filepath.Join(r.work, "responder-keys")
	if err := os.MkdirAll(r.rspKeys, 0o700); err != nil {
		t.Fatalf("matrix: %v", err)
	}
	r.auditPath = filepath.Join(r.work, "audit.jsonl")
	pki := r.e.pki
	cfg := fmt.Sprintf(`# ikelab responder for matrix scenario %s
listen: %s
audit: %q
pool4: %s
dns: [%s]
local_ts: [%s]
dpd: 0s
policy:
  builtin: %s
identity:
  certificate: %q
  key: %q
trust:
  root_ca_files: [%q, %q]
  crl:
    mode: require
    files: [%q, %q]
key_export:
  ikev2_decryption_table: %q
  esp_sa: %q
`, r.sc.ID, serverAddr, r.auditPath, vipPool, serverTSAddr, serverNet, r.sc.Policy,
		fam.Server.CertPath, fam.Server.KeyPath,
		pki.RSA.Root.CertPath, pki.ECDSA.Root.CertPath, pki.RSA.RootCRL.Path, pki.ECDSA.RootCRL.Path,
		filepath.Join(r.rspKeys, ikeTable), filepath.Join(r.rspKeys, espTable))
	cfgPath := filepath.Join(r.work, "responder.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("matrix: %v", err)
	}
	// A control socket of the run's own, for responder sas and rekey (a
	// unix socket path has at most 107 octets, which t.TempDir's long
	// names can exceed).
	ctlDir, err := os.MkdirTemp("", "ikelab-matrix-")
	if err != nil {
		t.Fatalf("matrix: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(ctlDir) })
	r.control = filepath.Join(ctlDir, "control.sock")
	r.responder = lab.StartProcess(t, r.server, "ikelab-responder", r.e.responderBin, "run", "--config", cfgPath,
		"--control", r.control, "--debug")
	r.responder.WaitOutput(t, "responder listening", 10*time.Second)
	if !strings.Contains(r.responder.Output(), keyExportBanner) {
		r.problem("the responder exports keys without saying %q in its log", keyExportBanner)
	}
}

// startStrongSwanResponder starts a strongSwan responder in the server
// namespace with the scenario's policy as proposals (see responderConf).
func (r *run) startStrongSwanResponder() {
	t := r.t
	pki := r.e.pki
	fam := r.sc.Credential.serverFamily(pki)
	// kernel-libipsec installs the CHILD SA's route with a source address
	// from the local traffic selector (see interop/lab's doc).
	r.server.IP(t, "addr", "add", serverTSAddr+"/32", "dev", "lo")
	files := map[string][]byte{
		"x509/server.pem":        readFile(t, fam.Server.CertPath),
		"pkcs8/server.key":       readFile(t, fam.Server.KeyPath),
		"x509ca/rsa-root.pem":    readFile(t, pki.RSA.Root.CertPath),
		"x509ca/ecdsa-root.pem":  readFile(t, pki.ECDSA.Root.CertPath),
		"x509crl/rsa-root.crl":   readFile(t, pki.RSA.RootCRL.Path),
		"x509crl/ecdsa-root.crl": readFile(t, pki.ECDSA.RootCRL.Path),
	}
	r.charon = lab.StartCharon(t, r.server, lab.CharonConfig{Name: "strongswan-responder",
		SwanctlConf: responderConf(r.pol), Files: files})
	if err := r.charon.Load(); err != nil {
		t.Fatalf("matrix: strongSwan responder: %v", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("matrix: %v", err)
	}
	return b
}

// initiatorJSON is cmd/initiator's --json output (its Outcome type).
type initiatorJSON struct {
	Established  bool   `json:"established"`
	IKE          string `json:"ike"`
	ESP          string `json:"esp"`
	ChildRefused string `json:"child_refused"`
	Notify       string `json:"notify"`
	Exchange     string `json:"exchange"`
	WindowsError int    `json:"windows_error"`
	Error        string `json:"error"`
}

// runIkelabInitiator runs cmd/initiator in the client namespace, as a
// Windows machine with the scenario's client profile and certificate (a
// .pfx, as Windows imports it), trusting the server family's root, with
// key export on. It returns what the initiator saw.
func (r *run) runIkelabInitiator() Outcome {
	t := r.t
	fam := r.sc.Credential.serverFamily(r.e.pki)
	cli := r.sc.Credential.client(r.e.pki)
	r.iniKeys = filepath.Join(r.work, "initiator-keys")
	if err := os.MkdirAll(r.iniKeys, 0o700); err != nil {
		t.Fatalf("matrix: %v", err)
	}
	args := append([]string{r.e.initiatorBin}, r.sc.Client.initiatorArgs()...)
	args = append(args, "--server", serverAddr, "--pfx", cli.PFXPath, "--pfx-password", r.e.pki.Password,
		"--ca", fam.Root.CertPath, "--json", "--keys-dir", r.iniKeys, "--timeout", "15s")
	ctx, cancel := withTimeout()
	defer cancel()
	cmd := r.client.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	_ = os.WriteFile(filepath.Join(r.work, "initiator.json"), stdout.Bytes(), 0o644)
	_ = os.WriteFile(filepath.Join(r.work, "initiator.log"), stderr.Bytes(), 0o644)
	// Exit status 0 is "established", 1 "not (fully) established"; the
	// rest are usage or setup errors.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("matrix: initiator %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args[1:], " "), err, &stdout, &stderr)
	}
	if !strings.Contains(stderr.String(), keyExportBanner) {
		r.problem("the initiator exports keys without saying %q", keyExportBanner)
	}
	var j initiatorJSON
	if err := json.Unmarshal(stdout.Bytes(), &j); err != nil {
		t.Fatalf("matrix: initiator --json: %v\n%s", err, &stdout)
	}
	var o Outcome
	switch {
	case j.Established && j.ChildRefused == "":
		o = Outcome{Result: Established, IKE: j.IKE, ESP: j.ESP}
	case j.Established:
		o = Outcome{Result: ChildRefused, IKE: j.IKE, Exchange: "IKE_AUTH", Notify: j.ChildRefused}
	case j.Notify != "":
		o = Outcome{Result: Refused, Exchange: j.Exchange, Notify: j.Notify}
	default:
		o = Outcome{Result: Failed}
		r.row.Error = j.Error
	}
	o.WindowsError = j.WindowsError
	return r.finish(o, false)
}

// runStrongSwanInitiator runs a strongSwan initiator in the client
// namespace with the client profile's proposals (see initiatorConf) and
// returns what its log says. An IKE SA left up is deleted, so that the
// capture ends with an INFORMATIONAL exchange as in the other ways.
func (r *run) runStrongSwanInitiator() Outcome {
	t := r.t
	fam := r.sc.Credential.serverFamily(r.e.pki)
	cli := r.sc.Credential.client(r.e.pki)
	files := map[string][]byte{
		"x509ca/root.pem":  readFile(t, fam.Root.CertPath),
		"x509/client.pem":  readFile(t, cli.CertPath),
		"pkcs8/client.key": readFile(t, cli.KeyPath),
	}
	r.charon = lab.StartCharon(t, r.client, lab.CharonConfig{Name: "strongswan-initiator",
		SwanctlConf: initiatorConf(r.prof), Files: files, Options: initiatorOptions(r.prof)})
	if err := r.charon.Load(); err != nil {
		t.Fatalf("matrix: strongSwan initiator: %v", err)
	}
	if lim := strongSwanLimits(r.prof); lim != "" {
		r.note("%s", lim)
	}
	ctx, cancel := withTimeout()
	defer cancel()
	out, initErr := r.charon.Initiate(ctx, "net", "home")
	v := parseCharonLog(r.charon.Log())
	if v.ChildUp {
		r.note("strongSwan → ikelab runs send one ICMP echo through the tunnel after IKE_AUTH and after " +
			"each rekey; the ikelab responder negotiates only (no ESP on this kernel), so the server's " +
			"kernel answers each ESP-in-UDP packet with ICMP port unreachable, which the capture shows")
		r.ping()
		r.rekeyChild()
	}
	// A fresh bound: the rekeys had their own.
	ctx, cancel = withTimeout()
	defer cancel()
	if sas, err := r.charon.ListSAs(); err == nil && slices.ContainsFunc(sas, func(sa lab.IKESA) bool { return sa.Name == "home" }) {
		if err := r.charon.Terminate(ctx, "home"); err != nil {
			r.problem("deleting the strongSwan initiator's IKE SA: %v", err)
		}
	}
	log := r.charon.Log()
	_ = os.WriteFile(filepath.Join(r.work, "charon.log"), []byte(log), 0o644)
	v = parseCharonLog(log)
	o := v.outcome(false)
	// The group comes from the rekeys alone: IKE_AUTH's child SA has none
	// (RFC 7296, Section 1.2).
	o.PFS = r.row.Rekey.Group()
	if (initErr == nil) != v.ChildUp {
		r.problem("swanctl --initiate (error %v) and charon's log (CHILD_SA up: %v) disagree:\n%s", initErr, v.ChildUp, out)
	}
	if o.Result == Failed {
		r.row.Error = lastLine(out)
	}
	return r.finish(o, o.Result == Failed)
}

// ping sends one ICMP echo through the strongSwan initiator's tunnel so
// that the capture holds ESP for the esp_sa table to decrypt, and notes
// the outbound SPI of the child SA it went through (the ikelab
// responder's inbound one), which checkESP looks for. The responder
// negotiates only (no ESP data path on this kernel), so no reply comes and
// ping's failure is expected.
func (r *run) ping() {
	if sas, err := r.charon.ListSAs(); err == nil {
		for _, sa := range sas {
			for _, c := range sa.Children {
				// After a rekey strongSwan keeps the old child SA a few
				// seconds as DELETED; traffic uses the installed one.
				if sa.Name == "home" && c.Name == "net" && c.State == lab.ChildStateInstalled {
					r.pingSPIs = append(r.pingSPIs, c.SPIOut)
				}
			}
		}
	}
	ctx, cancel := withTimeout()
	defer cancel()
	_, _ = r.client.Run(ctx, "ping", "-n", "-c", "1", "-W", "0.3", serverTSAddr)
	r.espSent = true
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// auditRecord is the part of ikelab's JSON audit record (ike.Audit) a
// run reads.
type auditRecord struct {
	Event        string   `json:"event"`
	Result       string   `json:"result"`
	Notify       string   `json:"notify"`
	Reason       string   `json:"reason"`
	IKEChosen    string   `json:"ike_chosen"`
	ESPChosen    string   `json:"esp_chosen"`
	Insecure     []string `json:"insecure"`
	AuthMethod   string   `json:"auth_method"`
	ClientFamily string   `json:"client_family"`
	ChildSPIs    []string `json:"child_spis"`
}

func (r *run) audits() []auditRecord {
	f, err := os.Open(r.auditPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []auditRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a auditRecord
		if json.Unmarshal(sc.Bytes(), &a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// refusedInit reports whether an ike_sa_init record is a refusal, not a
// round trip the initiator is meant to retry (INVALID_KE_PAYLOAD, COOKIE).
func (a *auditRecord) refusedInit() bool {
	return a.Event == "ike_sa_init" && a.Result == "failed" && a.Notify != "" &&
		a.Notify != "INVALID_KE_PAYLOAD" && a.Notify != "COOKIE"
}

// final reports whether a record ends the attempt.
func (a *auditRecord) final() bool {
	return a.refusedInit() || a.Event == "refused" || a.Event == "deleted"
}

// ikelabResponderView waits until the responder's audit records end the
// attempt and returns the outcome they describe. The audit's own list of
// weak algorithms must agree with the negotiated suites.
func (r *run) ikelabResponderView(initiator Outcome) Outcome {
	deadline := time.Now().Add(settleTimeout)
	for time.Now().Before(deadline) && !slices.ContainsFunc(r.audits(), func(a auditRecord) bool { return a.final() }) {
		time.Sleep(20 * time.Millisecond)
	}
	o := Outcome{Result: Failed}
	var childNotify string
	for _, a := range r.audits() {
		switch {
		case a.refusedInit():
			o = Outcome{Result: Refused, Exchange: "IKE_SA_INIT", Notify: a.Notify}
		case a.Event == "refused":
			o = Outcome{Result: Refused, Exchange: "IKE_AUTH", Notify: a.Notify}
		case a.Event == "child_refused":
			childNotify = a.Notify
		case a.Event == "established":
			o = Outcome{Result: Established, IKE: a.IKEChosen, ESP: a.ESPChosen}
			weak, err := weakIn(a.IKEChosen, a.ESPChosen)
			if err != nil {
				r.problem("%v", err)
			}
			for _, w := range a.Insecure {
				if !slices.Contains(weak, w) {
					r.problem("the audit flags %s as insecure, which the suites %s %s do not hold", w, a.IKEChosen, a.ESPChosen)
				}
			}
			if len(weak) > 0 && len(a.Insecure) == 0 {
				r.problem("the audit does not flag the weak algorithms %v", weak)
			}
		}
	}
	r.checkWindowsLike(r.audits())
	if o.Result == Established && childNotify != "" {
		o = Outcome{Result: ChildRefused, IKE: o.IKE, Exchange: "IKE_AUTH", Notify: childNotify}
	}
	if err := r.responder.Stop(); err != nil {
		r.problem("stopping the responder: %v", err)
	}
	_ = os.WriteFile(filepath.Join(r.work, "responder.log"), []byte(r.responder.Output()), 0o644)
	return o
}

// checkWindowsLike checks, for a Windows client profile, that the ikelab
// responder saw what a Windows client sends: the classic AUTH methods (1
// for RSA, 9 for ECDSA P-256; Windows does not use RFC 7427 signatures),
// from the strongSwan stand-in too, and, from ikelab's initiator, the
// Windows vendor IDs by which the responder recognises the client family.
func (r *run) checkWindowsLike(audits []auditRecord) {
	if !r.prof.Windows {
		return
	}
	classic := []string{wire.AuthRSASig.String(), wire.AuthECDSA256.String()}
	for _, a := range audits {
		if a.AuthMethod != "" && !slices.Contains(classic, a.AuthMethod) {
			r.problem("a Windows client signs with %s or %s; the responder saw %s", classic[0], classic[1], a.AuthMethod)
		}
		if r.way.ikelabInitiates() && a.ClientFamily != "Windows" {
			r.problem("the responder took ikelab's %s client for %q, not Windows (%s record)", r.prof.Name, a.ClientFamily, a.Event)
		}
	}
}

// strongSwanResponderView returns the outcome the strongSwan responder's
// log describes.
func (r *run) strongSwanResponderView() Outcome {
	log := r.charon.Log()
	_ = os.WriteFile(filepath.Join(r.work, "charon.log"), []byte(log), 0o644)
	v := parseCharonLog(log)
	return v.outcome(true)
}

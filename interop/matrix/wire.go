package matrix

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ikelab/ikelab/interop/lab"
)

// checkWire stops the capture and has tshark dissect it with the key
// tables the report links (see collectKeys) and, when both sides are
// ikelab, with each side's own table too, so that each program's export is
// proven on its own: every IKEv2 message well-formed, no error-level
// expert info, every SK/SKF payload decrypted with a correct ICV (RFC 7296,
// Section 3.14; RFC 7383, Section 2.5), and the exchanges the outcome
// implies all on the wire. ESP packets, when the run sent any, must
// decrypt with the esp_sa table and pass their ICV check.
func (r *run) checkWire() {
	if err := r.capture.Stop(); err != nil {
		r.problem("capture: %v", err)
	}
	capPath := filepath.Join(r.runDir, "capture.pcapng")
	w := &r.row.Wire
	type table struct{ name, dir string }
	var sides, tables []table
	for _, tb := range []table{{"responder", r.rspKeys}, {"initiator", r.iniKeys}} {
		if tb.dir == "" {
			continue
		}
		n, err := countRows(filepath.Join(tb.dir, ikeTable))
		if err != nil {
			r.problem("reading the %s's key table: %v", tb.name, err)
		}
		if n > 0 {
			sides = append(sides, tb)
		}
	}
	switch len(sides) {
	case 0:
		// Refused in IKE_SA_INIT: no keys exist, and nothing may be
		// encrypted.
		tables = []table{{"", ""}}
	case 1:
		// The report's copy is the side's file, byte for byte.
		tables = []table{{sides[0].name, r.runDir}}
	default:
		tables = append(sides, table{"merged copy", r.runDir})
	}
	first := true
	for _, tb := range tables {
		rep, err := lab.Dissect(r.t, capPath, tb.dir)
		if err != nil {
			r.problem("dissecting the capture: %v", err)
			continue
		}
		if tb.name != "" {
			w.Tables = append(w.Tables, tb.name)
		}
		if first {
			w.Messages, w.Exchanges, w.SK, w.Verified = rep.IKEv2Messages, rep.Exchanges, rep.SKPayloads, rep.DecryptedValid
			w.Malformed, w.ESPPackets = rep.Malformed, rep.ESPPackets
			for _, e := range rep.ExpertErrors {
				w.ExpertErrors = append(w.ExpertErrors, e.String())
			}
			first = false
		}
		w.Verified = min(w.Verified, rep.DecryptedValid)
		label := "without keys"
		if tb.name != "" {
			label = "with the " + tb.name + "'s keys"
		}
		switch {
		case tb.dir == "" && rep.SKPayloads > 0:
			r.problem("%d SK payloads on the wire but no ikelab side exported keys", rep.SKPayloads)
		case tb.dir != "" && rep.DecryptedValid != rep.SKPayloads:
			r.problem("%s: %d of %d SK payloads decrypted with a correct ICV (%d decrypted, %d ICV incorrect, %d not validated)",
				label, rep.DecryptedValid, rep.SKPayloads, rep.Decrypted, rep.ChecksumIncorrect, rep.ChecksumNotValidated)
		}
		if rep.Malformed > 0 {
			r.problem("%s: %d malformed packets", label, rep.Malformed)
		}
		for _, e := range rep.ExpertErrors {
			r.problem("%s: expert info %s", label, e)
		}
	}
	// Each ikelab side that got past IKE_SA_INIT must have exported the
	// IKE SA's keys.
	if w.SK > 0 {
		for _, tb := range []table{{"responder", r.rspKeys}, {"initiator", r.iniKeys}} {
			if n, _ := countRows(filepath.Join(tb.dir, ikeTable)); tb.dir != "" && n == 0 {
				r.problem("the ikelab %s exported no ikev2_decryption_table row", tb.name)
			}
		}
	}
	r.checkExchanges()
	r.checkESP(capPath)
}

// checkExchanges checks that the exchanges the observed outcome implies
// are in the capture: both messages of IKE_SA_INIT always; of IKE_AUTH
// unless IKE_SA_INIT was refused; of the INFORMATIONAL delete once an IKE
// SA stood (the initiator always deletes it).
func (r *run) checkExchanges() {
	o, w := r.row.Observed, r.row.Wire
	want := map[string]int{"IKE_SA_INIT": 2}
	if !(o.Result == Refused && o.Exchange == "IKE_SA_INIT") && o.Result != Failed {
		want["IKE_AUTH"] = 2
	}
	if o.Result == Established || o.Result == ChildRefused {
		want["INFORMATIONAL"] = 2
	}
	for ex, n := range want {
		if w.Exchanges[ex] < n {
			r.problem("%d %s messages on the wire, want at least %d", w.Exchanges[ex], ex, n)
		}
	}
}

// checkESP counts the esp_sa rows the ikelab responder exported (one per
// direction of each child SA) and, when ESP packets were captured,
// decrypts them with that table: every packet must decrypt and pass its
// ICV check.
func (r *run) checkESP(capPath string) {
	w := &r.row.Wire
	if r.rspKeys == "" {
		return
	}
	n, err := countRows(filepath.Join(r.rspKeys, espTable))
	if err != nil {
		r.problem("reading esp_sa: %v", err)
	}
	w.ESPRows = n
	if r.row.Observed.Result == Established && n < 2 {
		r.problem("the ikelab responder exported %d esp_sa rows for an established child SA, want 2", n)
	}
	if w.ESPPackets == 0 && !r.espSent {
		return
	}
	good, total, err := espVerified(r.t.TempDir(), capPath, r.runDir)
	if err != nil {
		r.problem("%v", err)
		return
	}
	w.ESPPackets, w.ESPVerified = total, good
	if r.espSent && total == 0 {
		r.problem("an ICMP echo went into the tunnel but no ESP packet is in the capture")
	}
	if good != total {
		r.problem("%d of %d ESP packets decrypted with a correct ICV using the exported esp_sa", good, total)
	}
}

// espFilter selects ESP packets but not ESP quoted inside an ICMP error
// (RFC 792 types 3, 4, 5, 11, 12): the server's kernel has no ESP and
// answers ESP-in-UDP that no SA claims with port unreachable, quoting it.
// A decrypted packet carries its inner ICMP echo, so "!icmp" would not do.
const espFilter = "esp && !(icmp.type in {3,4,5,11,12})"

// espVerified runs tshark with the esp_sa table and the preferences file
// of keysDir (a run directory) and counts ESP packets whose payload
// decrypted (a next header field exists only then) and whose ICV tshark
// found good. ESP decryption and ICV checking are off in Wireshark by
// default; the preferences file, not a command-line option, turns them on,
// so this also proves the run directory works as WIRESHARK_CONFIG_DIR.
//
// Equivalent to:
//
//	WIRESHARK_CONFIG_DIR=DIR tshark -n -r CAP -Y ESPFILTER -T fields -e esp.protocol -e esp.icv_good
func espVerified(confDir, capPath, keysDir string) (good, total int, err error) {
	for _, name := range []string{espTable, "preferences"} {
		if _, err := copyFile(filepath.Join(confDir, name), filepath.Join(keysDir, name), 0o600); err != nil {
			return 0, 0, fmt.Errorf("matrix: %w", err)
		}
	}
	ctx, cancel := withTimeout()
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", capPath, "-Y", espFilter,
		"-T", "fields", "-E", "separator=,", "-e", "esp.protocol", "-e", "esp.icv_good")
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+confDir)
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("matrix: tshark ESP check: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		proto, icv, _ := strings.Cut(sc.Text(), ",")
		total++
		if proto != "" && (icv == "1" || strings.EqualFold(icv, "true")) {
			good++
		}
	}
	return good, total, nil
}

package matrix

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ikelab/ikelab/ike/wire"
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
	r.checkRekeyKE(capPath)
	r.checkESP(capPath)
}

// checkExchanges checks that the exchanges the observed outcome implies
// are in the capture: both messages of IKE_SA_INIT always; of IKE_AUTH
// unless IKE_SA_INIT was refused; of the INFORMATIONAL delete once an IKE
// SA stood (the initiator always deletes it); and for each rekey, both
// messages of its CREATE_CHILD_SA and of the INFORMATIONAL exchange that
// deletes the old child SA (RFC 7296, Section 1.3.3).
func (r *run) checkExchanges() {
	o, w := r.row.Observed, r.row.Wire
	want := map[string]int{"IKE_SA_INIT": 2}
	if !(o.Result == Refused && o.Exchange == "IKE_SA_INIT") && o.Result != Failed {
		want["IKE_AUTH"] = 2
	}
	if o.Result == Established || o.Result == ChildRefused {
		want["INFORMATIONAL"] = 2
	}
	if n := len(r.row.Rekey.Rekeys); n > 0 {
		want["CREATE_CHILD_SA"] = 2 * n
		want["INFORMATIONAL"] += 2 * n
	}
	for ex, n := range want {
		if w.Exchanges[ex] < n {
			r.problem("%d %s messages on the wire, want at least %d", w.Exchanges[ex], ex, n)
		}
	}
}

// checkRekeyKE checks, when the run rekeyed, that every CREATE_CHILD_SA
// message carries a KE payload of the expected PFS group, or none when
// the scenario has no PFS (RFC 7296, Section 1.3.3: KEi and KEr carry the
// group of the new child SA's key exchange). tshark reads them from the
// SK payloads decrypted with the run's key table, so this is the group on
// the wire, not a side's view of it.
func (r *run) checkRekeyKE(capPath string) {
	if len(r.row.Rekey.Rekeys) == 0 {
		return
	}
	groups, err := rekeyKEGroups(r.t.TempDir(), capPath, r.runDir)
	if err != nil {
		r.rekeyProblem("%v", err)
		return
	}
	r.row.Wire.RekeyKE = groups
	if w := r.row.Wire; w.Verified != w.SK {
		// An undecrypted message shows no KE payload: "none" would
		// pass for the wrong reason.
		r.rekeyProblem("only %d of %d SK payloads decrypted with a correct ICV, so the CREATE_CHILD_SA "+
			"messages' KE payloads are not all on record", w.Verified, w.SK)
	}
	if want := 2 * len(r.row.Rekey.Rekeys); len(groups) < want {
		r.rekeyProblem("tshark found %d CREATE_CHILD_SA messages, want %d", len(groups), want)
	}
	for _, g := range groups {
		if g != r.sc.Expect.PFS {
			r.rekeyProblem("the KE payloads of the CREATE_CHILD_SA messages, in frame order, are %v, want %s in each",
				groups, r.sc.Expect.PFS)
			break
		}
	}
}

// rekeyKEGroups runs tshark with the key table and preferences of keysDir
// (a run directory) and returns, for each CREATE_CHILD_SA message (type 36)
// in frame order, the group of its KE payload ("none" without one; its
// groups joined with "+" should it carry several).
//
// Equivalent to:
//
//	WIRESHARK_CONFIG_DIR=DIR tshark -n -r CAP -Y 'isakmp.exchangetype == 36' -T fields -e isakmp.key_exchange.dh_group
func rekeyKEGroups(confDir, capPath, keysDir string) ([]string, error) {
	rows, err := tsharkFields(confDir, capPath, keysDir, "isakmp.exchangetype == 36", "isakmp.key_exchange.dh_group")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, row := range rows {
		g, err := keGroupName(row[0])
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// keGroupName names the groups of tshark's isakmp.key_exchange.dh_group
// cell ("14", or "14,19" for a message with two KE payloads) in
// strongSwan's notation: "MODP_2048", "MODP_2048+ECP_256", "none" for an
// empty cell.
func keGroupName(cell string) (string, error) {
	if cell == "" {
		return "none", nil
	}
	var names []string
	for _, v := range strings.Split(cell, ",") {
		n, err := strconv.ParseUint(v, 0, 16)
		if err != nil {
			return "", fmt.Errorf("matrix: tshark dh_group %q: %w", v, err)
		}
		names = append(names, wire.TransformName(wire.TransformKE, wire.TransformID(n)))
	}
	return strings.Join(names, "+"), nil
}

// checkESP counts the esp_sa rows the ikelab responder exported (one per
// direction of each child SA, the rekeyed ones included) and, when ESP
// packets were captured, decrypts them with that table: every packet must
// decrypt and pass its ICV check, and the ICMP echo sent through each
// child SA must be among them, so that the keys of a child SA made by a
// rekey with PFS, derived from the new shared secret, are proven too.
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
	if want := 2 * (1 + len(r.row.Rekey.Rekeys)); r.row.Observed.Result == Established && n < want {
		r.problem("the ikelab responder exported %d esp_sa rows for %d child SAs, want %d", n, want/2, want)
	}
	if w.ESPPackets == 0 && !r.espSent {
		return
	}
	good, total, err := espVerified(r.t.TempDir(), capPath, r.runDir)
	if err != nil {
		r.problem("%v", err)
		return
	}
	w.ESPPackets, w.ESPVerified = 0, 0
	for _, c := range total {
		w.ESPPackets += c
	}
	for _, c := range good {
		w.ESPVerified += c
	}
	if r.espSent && w.ESPPackets == 0 {
		r.problem("an ICMP echo went into the tunnel but no ESP packet is in the capture")
	}
	if w.ESPVerified != w.ESPPackets {
		r.problem("%d of %d ESP packets decrypted with a correct ICV using the exported esp_sa", w.ESPVerified, w.ESPPackets)
	}
	for i, spi := range r.pingSPIs {
		if good[spi] > 0 {
			continue
		}
		report := r.problem
		if i > 0 {
			// Pings after the first went through child SAs made by
			// rekeys, keyed from their new shared secrets.
			report = r.rekeyProblem
		}
		report("no ESP packet with SPI %08x decrypted with a correct ICV, though an ICMP echo went through that child SA", spi)
	}
}

// espFilter selects ESP packets but not ESP quoted inside an ICMP error
// (RFC 792 types 3, 4, 5, 11, 12): the server's kernel has no ESP and
// answers ESP-in-UDP that no SA claims with port unreachable, quoting it.
// A decrypted packet carries its inner ICMP echo, so "!icmp" would not do.
const espFilter = "esp && !(icmp.type in {3,4,5,11,12})"

// espVerified runs tshark with the esp_sa table and the preferences file
// of keysDir (a run directory) and counts, by SPI, the ESP packets and
// those whose payload decrypted (a next header field exists only then) and
// whose ICV tshark found good. ESP decryption and ICV checking are off in
// Wireshark by default; the preferences file, not a command-line option,
// turns them on, so this also proves the run directory works as
// WIRESHARK_CONFIG_DIR.
//
// Equivalent to:
//
//	WIRESHARK_CONFIG_DIR=DIR tshark -n -r CAP -Y ESPFILTER -T fields -e esp.spi -e esp.protocol -e esp.icv_good
func espVerified(confDir, capPath, keysDir string) (good, total map[uint32]int, err error) {
	rows, err := tsharkFields(confDir, capPath, keysDir, espFilter, "esp.spi", "esp.protocol", "esp.icv_good")
	if err != nil {
		return nil, nil, err
	}
	good, total = map[uint32]int{}, map[uint32]int{}
	for _, row := range rows {
		spi, err := strconv.ParseUint(row[0], 0, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("matrix: tshark esp.spi %q: %w", row[0], err)
		}
		total[uint32(spi)]++
		if proto, icv := row[1], row[2]; proto != "" && (icv == "1" || strings.EqualFold(icv, "true")) {
			good[uint32(spi)]++
		}
	}
	return good, total, nil
}

// tsharkFields runs tshark over capPath with the key tables and
// preferences of keysDir, copied into confDir (so that tshark writes
// nothing into the report), and returns the fields of every packet that
// matches filter, one row per packet with one cell per field.
func tsharkFields(confDir, capPath, keysDir, filter string, fields ...string) ([][]string, error) {
	for _, name := range []string{ikeTable, espTable, "preferences"} {
		if _, err := copyFile(filepath.Join(confDir, name), filepath.Join(keysDir, name), 0o600); err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
	}
	ctx, cancel := withTimeout()
	defer cancel()
	args := []string{"-n", "-r", capPath, "-Y", filter, "-T", "fields", "-E", "separator=/t"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.CommandContext(ctx, "tshark", args...)
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+confDir)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("matrix: tshark -Y %q: %w", filter, err)
	}
	var rows [][]string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		row := strings.Split(sc.Text(), "\t")
		if len(row) != len(fields) {
			return nil, fmt.Errorf("matrix: tshark -Y %q: %d fields in %q, want %d", filter, len(row), sc.Text(), len(fields))
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

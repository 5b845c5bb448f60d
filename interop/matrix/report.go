package matrix

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Report is the matrix's result: one row per scenario and way, written
// as Markdown, as a self-contained HTML page and as JSON.
type Report struct {
	// Started and Duration time the whole matrix.
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Tools names the peers' versions ("strongSwan 5.9.8", "TShark 4.0.17").
	Tools []string `json:"tools,omitempty"`
	Rows  []*Row   `json:"rows"`
}

// Row is one scenario run one way.
type Row struct {
	Scenario *Scenario `json:"-"`
	Way      Way       `json:"-"`
	// ScenarioID and WayName repeat Scenario.ID and Way for the JSON.
	ScenarioID string `json:"scenario"`
	WayName    string `json:"way"`

	Expected Outcome `json:"expected"`
	Observed Outcome `json:"observed"`
	// Error is the client's error text when no notification explains
	// the outcome.
	Error string `json:"error,omitempty"`
	// Problems lists every failed check: expected against observed, the
	// two sides' views against each other, the wire. Empty means passed.
	Problems []string `json:"problems,omitempty"`
	// Notes are what the run could not check or reproduce (strongSwan's
	// limits as a Windows stand-in).
	Notes []string `json:"notes,omitempty"`
	// Rekey is what the run proved about PFS on rekey, or why it could
	// not rekey.
	Rekey RekeyCheck `json:"pfs_on_rekey"`
	// Wire is what tshark made of the capture.
	Wire WireCheck `json:"wire"`

	// Dir is the run's directory; Capture, Keys and Logs are files in it.
	// All are slash-separated and relative to the report directory.
	Dir     string   `json:"dir"`
	Capture string   `json:"capture,omitempty"`
	Keys    []string `json:"keys,omitempty"`
	Logs    []string `json:"logs,omitempty"`

	Duration time.Duration `json:"duration_ns"`
}

// Passed reports whether every check of the row held.
func (r *Row) Passed() bool { return len(r.Problems) == 0 }

// WireCheck is the dissection of one run's capture with the exported keys.
type WireCheck struct {
	// Tables names the key tables the capture was dissected with, one
	// tshark run each: "responder", "initiator".
	Tables []string `json:"tables,omitempty"`
	// Messages and Exchanges count IKEv2 messages.
	Messages  int            `json:"messages"`
	Exchanges map[string]int `json:"exchanges,omitempty"`
	// SK counts SK and SKF payloads; Verified those decrypted with a
	// correct ICV with every table.
	SK       int `json:"sk"`
	Verified int `json:"verified"`
	// Malformed counts malformed frames; ExpertErrors lists error-level
	// expert infos.
	Malformed    int      `json:"malformed"`
	ExpertErrors []string `json:"expert_errors,omitempty"`
	// ESPRows counts the esp_sa rows exported for the run.
	ESPRows int `json:"esp_rows"`
	// ESPPackets counts ESP packets on the wire; ESPVerified those tshark
	// decrypted with the esp_sa table and whose ICV it found correct.
	ESPPackets  int `json:"esp_packets"`
	ESPVerified int `json:"esp_verified"`
	// RekeyKE lists, for each CREATE_CHILD_SA message in frame order, the
	// group of the KE payload tshark found in it after decryption ("none"
	// for none).
	RekeyKE []string `json:"rekey_ke,omitempty"`
}

// Summary is the wire check in a few words.
func (w WireCheck) Summary() string {
	s := fmt.Sprintf("%d IKEv2 msgs, %d/%d SK decrypted+ICV ok", w.Messages, w.Verified, w.SK)
	if len(w.Tables) > 0 {
		s += " (keys: " + strings.Join(w.Tables, ", ") + ")"
	}
	if w.ESPPackets > 0 {
		s += fmt.Sprintf(", %d/%d ESP decrypted+ICV ok", w.ESPVerified, w.ESPPackets)
	}
	if len(w.RekeyKE) > 0 {
		var groups []string
		for _, g := range w.RekeyKE {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		s += fmt.Sprintf(", KE in %d CREATE_CHILD_SA msgs: %s", len(w.RekeyKE), strings.Join(groups, ", "))
	}
	if w.Malformed > 0 || len(w.ExpertErrors) > 0 {
		s += fmt.Sprintf(", %d malformed, %d expert errors", w.Malformed, len(w.ExpertErrors))
	}
	return s
}

// Passed counts the rows that passed.
func (r *Report) Passed() int {
	n := 0
	for _, row := range r.Rows {
		if row.Passed() {
			n++
		}
	}
	return n
}

// sorted returns the rows in matrix order: scenarios as Scenarios lists
// them, then ways.
func (r *Report) sorted() []*Row {
	order := map[string]int{}
	for i, s := range Scenarios() {
		order[s.ID] = i
	}
	rows := slices.Clone(r.Rows)
	slices.SortStableFunc(rows, func(a, b *Row) int {
		if d := order[a.ScenarioID] - order[b.ScenarioID]; d != 0 {
			return d
		}
		return int(a.Way) - int(b.Way)
	})
	return rows
}

// Write writes report.md, report.html and results.json into dir.
func (r *Report) Write(dir string) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.md", r.WriteMarkdown},
		{"report.html", r.WriteHTML},
		{"results.json", r.writeJSON},
	} {
		file, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return fmt.Errorf("matrix: %w", err)
		}
		werr := f.write(file)
		cerr := file.Close()
		if werr != nil {
			return fmt.Errorf("matrix: writing %s: %w", f.name, werr)
		}
		if cerr != nil {
			return fmt.Errorf("matrix: %w", cerr)
		}
	}
	return nil
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

// mdLink is a Markdown link to a relative path; spaces and parentheses
// in the path are escaped so that the link survives.
func mdLink(text, target string) string {
	r := strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29")
	return fmt.Sprintf("[%s](%s)", mdCell(text), r.Replace(target))
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// pfsText is the PFS on rekey cell: "verified (MODP_2048)", "not
// applicable: <reason>", or "not verified".
func pfsText(row *Row) string { return row.Rekey.String() }

func insecureText(o Outcome) string {
	if o.Insecure {
		return "**INSECURE**"
	}
	return "no"
}

// WriteMarkdown writes the report as a Markdown document with one table
// row per scenario and way.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# ikelab scenario matrix\n\n")
	fmt.Fprintf(&b, "%s: %d of %d runs passed in %s", r.Started.UTC().Format(time.RFC3339), r.Passed(), len(r.Rows),
		r.Duration.Round(100*time.Millisecond))
	if len(r.Tools) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(r.Tools, ", "))
	}
	b.WriteString(".\n\n")
	b.WriteString("| scenario | way | client profile | server policy | credential | expected | observed | IKE suite | ESP suite | PFS on rekey | insecure | wire | files | result |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.sorted() {
		links := []string{}
		if row.Capture != "" {
			links = append(links, mdLink("capture", row.Capture))
		}
		for _, k := range row.Keys {
			links = append(links, mdLink(path.Base(k), k))
		}
		for _, l := range row.Logs {
			links = append(links, mdLink(path.Base(l), l))
		}
		result := "PASS"
		if !row.Passed() {
			result = "**FAIL**: " + strings.Join(row.Problems, "; ")
		}
		observed := row.Observed.Summary()
		if row.Error != "" && row.Observed.Notify == "" {
			observed += " (" + row.Error + ")"
		}
		cells := []string{
			row.Scenario.ID, row.Way.String(), row.Scenario.Client.Name(), row.Scenario.Policy,
			row.Scenario.Credential.String(), row.Expected.Summary(), observed,
			orDash(row.Observed.IKE), orDash(row.Observed.ESP), pfsText(row), insecureText(row.Observed),
			row.Wire.Summary(),
		}
		for i := range cells {
			cells[i] = mdCell(cells[i])
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", strings.Join(cells, " | "), strings.Join(links, " "), mdCell(result))
	}
	b.WriteString("\n## Scenarios\n\n")
	for _, s := range Scenarios() {
		fmt.Fprintf(&b, "- **%s**: %s. Expected: %s. %s", s.ID, s.Title, s.Expect.Detail(), s.Explain)
		if ps := s.Client.PowerShell(); ps != "" {
			fmt.Fprintf(&b, " Client: `%s`.", ps)
		}
		b.WriteString("\n")
	}
	notes := r.notes()
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n" + wiresharkHowTo + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// notes are the rows' notes, each once, in row order.
func (r *Report) notes() []string {
	var out []string
	for _, row := range r.sorted() {
		for _, n := range row.Notes {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// wiresharkHowTo tells a student how to open a capture with its keys.
const wiresharkHowTo = `## Opening a capture in Wireshark

Each run's directory holds capture.pcapng and the key tables that ikelab exported for it
(ikev2_decryption_table, and esp_sa when an ikelab responder created a child SA), plus a
preferences file that turns ESP decryption on. The directory is a complete Wireshark
configuration directory:

    WIRESHARK_CONFIG_DIR=runs/NAME wireshark runs/NAME/capture.pcapng

Or copy ikev2_decryption_table and esp_sa into your own profile (Help > About Wireshark >
Folders > Personal configuration), or enter the rows under Edit > Preferences > Protocols >
ISAKMP > IKEv2 Decryption Table and ESP > ESP SAs. The files hold real session keys of
throw-away lab SAs; never export keys of a production gateway.`

// htmlPage is the self-contained report: inline CSS, no scripts, no
// external resources; links are relative to the report directory.
var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"base":  path.Base,
	"join":  strings.Join,
	"dur":   func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() },
	"utc":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"suite": suiteHTML,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ikelab scenario matrix</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
p.summary { margin-top: 0; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
th, td { border: 1px solid #c9c9c9; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eef1f5; position: sticky; top: 0; }
tr.pass td.result { background: #d9f2dd; }
tr.fail td.result { background: #f8d3d3; }
tr.first td { border-top: 2px solid #7a7a7a; }
td.way { white-space: nowrap; }
code, .suite { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 11px; }
.insecure { background: #ffe2b8; color: #7a3b00; font-weight: bold; padding: 0 4px; border-radius: 3px; }
.ok { color: #1d6b2a; }
.bad { color: #a31515; font-weight: bold; }
.muted { color: #666; }
ul.files { margin: 0; padding-left: 1.1em; }
td.files { min-width: 12em; overflow-wrap: anywhere; }
td.result { max-width: 22em; overflow-wrap: anywhere; }
tr.fail td.result { min-width: 18em; }
td.result ul { padding-left: 1.1em; margin: .2em 0; }
dl dt { font-weight: bold; margin-top: .6em; }
dl dd { margin-left: 1.2em; }
pre { background: #f4f4f4; padding: .6em; overflow-x: auto; }
</style>
</head>
<body>
<h1>ikelab scenario matrix</h1>
<p class="summary">{{utc .Started}}: <b>{{.Passed}} of {{len .Rows}}</b> runs passed in {{dur .Duration}}{{if .Tools}} ({{join .Tools ", "}}){{end}}.</p>
<table>
<thead><tr>
<th>scenario</th><th>client profile</th><th>server policy</th><th>credential</th><th>expected</th>
<th>way</th><th>observed</th><th>IKE suite</th><th>ESP suite</th><th>PFS on rekey</th>
<th>insecure</th><th>wire (tshark)</th><th>files</th><th>result</th>
</tr></thead>
<tbody>
{{range .Rows}}{{$r := .Row}}<tr class="{{if $r.Passed}}pass{{else}}fail{{end}}{{if .Span}} first{{end}}" id="{{$r.Scenario.ID}}--{{$r.Way.Slug}}">
{{if .Span}}<td rowspan="{{.Span}}"><a href="#s-{{$r.Scenario.ID}}">{{$r.Scenario.ID}}</a></td>
<td rowspan="{{.Span}}">{{$r.Scenario.Client.Name}}</td>
<td rowspan="{{.Span}}">{{$r.Scenario.Policy}}</td>
<td rowspan="{{.Span}}">{{$r.Scenario.Credential}}</td>
<td rowspan="{{.Span}}">{{$r.Expected.Summary}}</td>
{{end}}<td class="way">{{$r.Way}}</td>
<td>{{$r.Observed.Summary}}{{if and $r.Error (not $r.Observed.Notify)}}<br><span class="muted">{{$r.Error}}</span>{{end}}</td>
<td class="suite">{{suite $r.Observed.IKE}}</td>
<td class="suite">{{suite $r.Observed.ESP}}</td>
<td>{{if $r.Rekey.Verified}}<span class="ok">{{$r.Rekey}}</span>{{else if $r.Rekey.NotApplicable}}<span class="muted">{{$r.Rekey}}</span>{{else}}<span class="bad">{{$r.Rekey}}</span>{{end}}</td>
<td>{{if $r.Observed.Insecure}}<span class="insecure">INSECURE</span>{{else}}no{{end}}</td>
<td>{{$r.Wire.Summary}}</td>
<td class="files"><ul class="files">{{if $r.Capture}}<li><a href="{{$r.Capture}}">capture.pcapng</a></li>{{end}}{{range $r.Keys}}<li><a href="{{.}}">{{base .}}</a></li>{{end}}{{range $r.Logs}}<li><a href="{{.}}">{{base .}}</a></li>{{end}}</ul></td>
<td class="result">{{if $r.Passed}}<span class="ok">PASS</span>{{else}}<span class="bad">FAIL</span><ul>{{range $r.Problems}}<li>{{.}}</li>{{end}}</ul>{{end}} <span class="muted">{{dur $r.Duration}}</span></td>
</tr>
{{end}}</tbody>
</table>
<h2>Scenarios</h2>
<dl>
{{range .Scenarios}}<dt id="s-{{.ID}}">{{.ID}}: {{.Title}}</dt>
<dd>Expected: {{.Expect.Detail}}. {{.Explain}}{{if .Client.PowerShell}}<br>Client: <code>{{.Client.PowerShell}}</code>{{end}}</dd>
{{end}}</dl>
{{if .Notes}}<h2>Notes</h2>
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Opening a capture in Wireshark</h2>
<p>Each run's directory holds <code>capture.pcapng</code> and the key tables that ikelab exported for it
(<code>ikev2_decryption_table</code>, and <code>esp_sa</code> when an ikelab responder created a child SA), plus a
<code>preferences</code> file that turns ESP decryption on. The directory is a complete Wireshark
configuration directory:</p>
<pre>WIRESHARK_CONFIG_DIR=runs/NAME wireshark runs/NAME/capture.pcapng</pre>
<p>Or copy <code>ikev2_decryption_table</code> and <code>esp_sa</code> into your own profile (Help &gt; About Wireshark &gt;
Folders &gt; Personal configuration), or enter the rows under Edit &gt; Preferences &gt; Protocols &gt; ISAKMP &gt;
IKEv2 Decryption Table and ESP &gt; ESP SAs. The files hold real session keys of throw-away lab SAs; never export
keys of a production gateway.</p>
</body>
</html>
`))

// htmlData is what the template reads.
type htmlData struct {
	*Report
	Rows      []htmlRow
	Scenarios []Scenario
	Notes     []string
}

// htmlRow is a report row; Span, on the first row of a scenario, is the
// number of rows its scenario cells span (0 on the others).
type htmlRow struct {
	*Row
	Span int
}

// suiteHTML breaks a suite after each slash, where the browser may wrap
// it; the parts are escaped.
func suiteHTML(s string) template.HTML {
	if s == "" {
		return "–"
	}
	parts := strings.Split(s, "/")
	for i := range parts {
		parts[i] = template.HTMLEscapeString(parts[i])
	}
	return template.HTML(strings.Join(parts, "/<wbr>"))
}

// WriteHTML writes the report as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	sorted := r.sorted()
	rows := make([]htmlRow, len(sorted))
	for i, row := range sorted {
		rows[i].Row = row
		if i > 0 && sorted[i-1].ScenarioID == row.ScenarioID {
			continue
		}
		for j := i; j < len(sorted) && sorted[j].ScenarioID == row.ScenarioID; j++ {
			rows[i].Span++
		}
	}
	return htmlPage.Execute(w, htmlData{Report: r, Rows: rows, Scenarios: Scenarios(), Notes: r.notes()})
}

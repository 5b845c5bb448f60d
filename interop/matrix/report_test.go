package matrix

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/ike/wskeys"
)

// sampleReport has a passing row and a failing one whose text needs
// escaping in both formats.
func sampleReport() *Report {
	scs := Scenarios()
	pass := &Row{Scenario: &scs[1], Way: StrongSwanToIkelab, ScenarioID: scs[1].ID, WayName: StrongSwanToIkelab.String(),
		Expected: scs[1].Expect, Observed: scs[1].Expect, Dir: "runs/a--strongswan-ikelab",
		Capture: "runs/a--strongswan-ikelab/capture.pcapng",
		Keys:    []string{"runs/a--strongswan-ikelab/ikev2_decryption_table", "runs/a--strongswan-ikelab/esp_sa"},
		Logs:    []string{"runs/a--strongswan-ikelab/charon.log"},
		Wire:    WireCheck{Tables: []string{"responder"}, Messages: 10, SK: 8, Verified: 8, ESPPackets: 1, ESPVerified: 1},
		Notes:   []string{"strongSwan cannot send Windows' vendor IDs"}, Duration: 2 * time.Second,
		Rekey: RekeyCheck{Rekeys: []Rekey{{By: "strongSwan", Group: "none"}, {By: "ikelab", Group: "none"}}, Verified: true}}
	fail := &Row{Scenario: &scs[0], Way: IkelabToIkelab, ScenarioID: scs[0].ID, WayName: IkelabToIkelab.String(),
		Expected: scs[0].Expect, Observed: Outcome{Result: Failed}, Error: "no answer <from> a|b",
		Problems: []string{`expected != observed: result: want "refused", got "failed" <script>x</script> | pipe`},
		Dir:      "runs/b--ikelab-ikelab", Capture: "runs/b--ikelab-ikelab/capture.pcapng",
		Rekey: RekeyCheck{NotApplicable: "no child SA to rekey, the connection was not established"}}
	return &Report{Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 42 * time.Second,
		Tools: []string{"TShark 4.0.17"}, Rows: []*Row{pass, fail}}
}

func TestReportHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sampleReport().WriteHTML(&b))
	page := b.String()
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Contains(t, page, "<style>")
	for _, external := range []string{"http://", "https://", "<script", "<link", "src=", "@import", "url("} {
		assert.NotContains(t, page, external, "a self-contained page has no %s", external)
	}
	// Every link is relative and points into the report directory.
	links := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, links)
	for _, l := range links {
		target := l[1]
		assert.True(t, strings.HasPrefix(target, "runs/") || strings.HasPrefix(target, "#"), "link %q", target)
	}
	assert.Contains(t, page, `href="runs/a--strongswan-ikelab/capture.pcapng"`)
	assert.Contains(t, page, `href="runs/a--strongswan-ikelab/ikev2_decryption_table"`)
	assert.Contains(t, page, `href="runs/a--strongswan-ikelab/esp_sa"`)
	// Text is escaped.
	assert.Contains(t, page, "&lt;script&gt;x&lt;/script&gt;")
	assert.Contains(t, page, "INSECURE", "the windows-default row is flagged")
	assert.Contains(t, page, "1 of 2")
	assert.Contains(t, page, `<span class="ok">verified (none)</span>`)
	assert.Contains(t, page, `<span class="muted">not applicable: no child SA to rekey, the connection was not established</span>`)
	// Rows come in matrix order whatever the order they were added in.
	assert.Less(t, strings.Index(page, `id="win10-default-vs-recommended--ikelab-ikelab"`),
		strings.Index(page, `id="win10-default-vs-windows-default--strongswan-ikelab"`))
}

func TestReportMarkdown(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sampleReport().WriteMarkdown(&b))
	md := b.String()
	var rows []string
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| win") {
			rows = append(rows, line)
		}
	}
	require.Len(t, rows, 2)
	header := strings.Count("| scenario | way | client profile | server policy | credential | expected | observed | IKE suite | ESP suite | PFS on rekey | insecure | wire | files | result |", " | ")
	for _, r := range rows {
		unescaped := strings.Count(strings.ReplaceAll(r, `\|`, ""), " | ")
		assert.Equal(t, header, unescaped, "every cell in its column: %s", r)
	}
	assert.Contains(t, rows[0], "**FAIL**")
	assert.Contains(t, rows[0], `a\|b`)
	assert.Contains(t, rows[1], "[capture](runs/a--strongswan-ikelab/capture.pcapng)")
	assert.Contains(t, rows[1], "[esp_sa](runs/a--strongswan-ikelab/esp_sa)")
	assert.Contains(t, rows[1], "**INSECURE**")
	assert.Contains(t, rows[1], "| verified (none) |", "the PFS on rekey column")
	assert.Contains(t, rows[0], "| not applicable: no child SA to rekey, the connection was not established |")
	assert.Contains(t, md, "1 of 2 runs passed")
	assert.Contains(t, md, "WIRESHARK_CONFIG_DIR=")
}

func TestReportWrite(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, sampleReport().Write(dir))
	for _, f := range []string{"report.md", "report.html", "results.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.NotZero(t, fi.Size())
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var back struct {
		Rows []struct {
			Scenario string     `json:"scenario"`
			Way      string     `json:"way"`
			Observed Outcome    `json:"observed"`
			Problems []string   `json:"problems"`
			Rekey    RekeyCheck `json:"pfs_on_rekey"`
		} `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(data, &back))
	require.Len(t, back.Rows, 2)
	assert.Equal(t, "win10-default-vs-windows-default", back.Rows[0].Scenario)
	assert.True(t, back.Rows[0].Observed.Insecure)
	assert.True(t, back.Rows[0].Rekey.Verified)
	assert.Len(t, back.Rows[0].Rekey.Rekeys, 2)
	assert.NotEmpty(t, back.Rows[1].Rekey.NotApplicable)
	assert.NotEmpty(t, back.Rows[1].Problems)
}

func TestMergeIKETables(t *testing.T) {
	dir := t.TempDir()
	row := func(spi byte) wskeys.IKESA {
		return wskeys.IKESA{SPIi: wire.SPI{spi}, SPIr: wire.SPI{0, spi}, SKei: bytes.Repeat([]byte{spi}, 16),
			SKer: bytes.Repeat([]byte{spi + 1}, 16), SKai: bytes.Repeat([]byte{spi + 2}, 32), SKar: bytes.Repeat([]byte{spi + 3}, 32),
			Encr: wire.ENCR_AES_CBC, EncrKeyBits: 128, Integ: wire.AUTH_HMAC_SHA2_256_128}
	}
	write := func(name string, rows ...wskeys.IKESA) string {
		var b bytes.Buffer
		for i := range rows {
			require.NoError(t, wskeys.WriteIKE(&b, &rows[i]))
		}
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b.Bytes(), 0o600))
		return p
	}
	a := write("a", row(1), row(2))
	b := write("b", row(2), row(3))
	dst := filepath.Join(dir, "merged")
	n, err := mergeIKETables(dst, a, b, filepath.Join(dir, "missing"))
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the SA both sides exported appears once")
	got, err := readIKETable(dst)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, spi := range []byte{1, 2, 3} {
		assert.Equal(t, wire.SPI{spi}, got[i].SPIi)
	}
	rows, err := countRows(dst)
	require.NoError(t, err)
	assert.Equal(t, 3, rows)

	n, err = mergeIKETables(filepath.Join(dir, "none"), filepath.Join(dir, "missing"))
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = os.Stat(filepath.Join(dir, "none"))
	assert.True(t, os.IsNotExist(err), "no table is written without rows")
}

package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Cell is one responder measured under one suite's load.
type Cell struct {
	Suite     string
	Responder string
	// Established and Failed are the load generator's counts.
	Established int
	Failed      int
	// Rate is what the load generator saw: established handshakes per
	// second of wall-clock time. P50 and P99 are its latencies.
	Rate     float64
	P50, P99 time.Duration
	// Wall is the duration of the run; CPU the responder's CPU time
	// (user + system) over it.
	Wall time.Duration
	CPU  time.Duration
	// RSSIdle is the responder's resident memory before the run;
	// RSSLoaded with every SA of the run established.
	RSSIdle, RSSLoaded int64
	// CryptoBound is the suite's crypto-only handshakes per second on one
	// core, measured on the responder's core in the same run (the crypto
	// package's BenchmarkResponderHandshake, the sustained rate of three
	// one-second runs before ikelab's cell and three after it).
	CryptoBound float64
	// CryptoShare is the share of the responder's CPU profile that is
	// cryptography (profile.go); 0 when not profiled (charon).
	CryptoShare float64
}

// CPUPerHandshake is the responder's CPU time per established handshake.
func (c Cell) CPUPerHandshake() time.Duration {
	if c.Established == 0 {
		return 0
	}
	return c.CPU / time.Duration(c.Established)
}

// CoreRate is the handshakes per second one fully busy core of the
// responder would complete at CPUPerHandshake.
func (c Cell) CoreRate() float64 {
	if d := c.CPUPerHandshake(); d > 0 {
		return float64(time.Second) / float64(d)
	}
	return 0
}

// Busy is the share of one core the responder used during the run.
func (c Cell) Busy() float64 {
	if c.Wall <= 0 {
		return 0
	}
	return float64(c.CPU) / float64(c.Wall)
}

// MemPerSA is the growth of the responder's resident memory per
// established IKE SA, in bytes.
func (c Cell) MemPerSA() float64 {
	if c.Established == 0 {
		return 0
	}
	return float64(c.RSSLoaded-c.RSSIdle) / float64(c.Established)
}

// Markdown renders the cells as the table of docs/performance.md.
func Markdown(cells []Cell) string {
	var b strings.Builder
	b.WriteString("| suite | responder | SAs up (failed) | handshakes/s | p50 / p99 latency | responder CPU per handshake | responder busy | one-core rate (% of same-run crypto bound) | cryptography in the responder's CPU profile | memory per IKE SA |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		pct := ""
		if c.CryptoBound > 0 {
			pct = fmt.Sprintf(" (%.0f%% of %s)", 100*c.CoreRate()/c.CryptoBound, thousands(c.CryptoBound))
		}
		share := "n/a"
		if c.CryptoShare > 0 {
			share = fmt.Sprintf("%.0f%%", 100*c.CryptoShare)
		}
		fmt.Fprintf(&b, "| %s | %s | %s (%d) | %s | %s / %s ms | %.3f ms | %.0f%% | %s hs/s%s | %s | %.1f KiB |\n",
			c.Suite, c.Responder, thousands(float64(c.Established)), c.Failed, thousands(c.Rate),
			ms(c.P50), ms(c.P99), float64(c.CPUPerHandshake())/1e6, 100*c.Busy(), thousands(c.CoreRate()), pct,
			share, c.MemPerSA()/1024)
	}
	return b.String()
}

func ms(d time.Duration) string {
	v := float64(d) / 1e6
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// thousands rounds v and writes it with comma separators: 4460 -> 4,460.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Summary describes repeated runs of one cell: each measure's values in
// order and their median.
func Summary(runs []Cell) string {
	var b strings.Builder
	line := func(name, unit string, v func(Cell) float64, format string) {
		vals := make([]float64, 0, len(runs))
		for _, c := range runs {
			if x := v(c); x > 0 {
				vals = append(vals, x)
			}
		}
		if len(vals) == 0 {
			return
		}
		slices.Sort(vals)
		strs := make([]string, len(vals))
		for i, x := range vals {
			strs[i] = fmt.Sprintf(format, x)
		}
		fmt.Fprintf(&b, "  %s: %s%s; median %s%s\n", name, strings.Join(strs, ", "), unit, fmt.Sprintf(format, median(vals)), unit)
	}
	line("% of the same-run crypto bound", "%", func(c Cell) float64 {
		if c.CryptoBound <= 0 {
			return 0
		}
		return 100 * c.CoreRate() / c.CryptoBound
	}, "%.0f")
	line("cryptography in the profile", "%", func(c Cell) float64 { return 100 * c.CryptoShare }, "%.0f")
	line("CPU per handshake", " ms", func(c Cell) float64 { return float64(c.CPUPerHandshake()) / 1e6 }, "%.3f")
	line("crypto bound", " hs/s", func(c Cell) float64 { return c.CryptoBound }, "%.0f")
	line("memory per IKE SA", " KiB", func(c Cell) float64 { return c.MemPerSA() / 1024 }, "%.1f")
	return strings.TrimSuffix(b.String(), "\n")
}

// median returns the middle of sorted values, or the mean of the two
// middle ones.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

package textlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ikelab/ikelab/internal/golden"
)

// record is one log call: the built-in fields and the attributes.
type record struct {
	t     time.Time
	level slog.Level
	msg   string
	attrs []slog.Attr
	pc    uintptr
}

func (r record) slog() slog.Record {
	sr := slog.NewRecord(r.t, r.level, r.msg, r.pc)
	sr.AddAttrs(r.attrs...)
	return sr
}

// outputs runs the same records through slog.NewTextHandler and NewHandler,
// each under the same options and the same WithAttrs/WithGroup chain, and
// returns what each wrote, with Enabled's answers folded in.
func outputs(opts *slog.HandlerOptions, chain func(slog.Handler) slog.Handler, recs ...record) (want, got string) {
	run := func(h slog.Handler, buf *bytes.Buffer) string {
		if chain != nil {
			h = chain(h)
		}
		for _, r := range recs {
			fmt.Fprintf(buf, "enabled=%v ", h.Enabled(context.Background(), r.level))
			if err := h.Handle(context.Background(), r.slog()); err != nil {
				fmt.Fprintf(buf, "error: %v\n", err)
			}
		}
		return buf.String()
	}
	var a, b bytes.Buffer
	return run(slog.NewTextHandler(&a, opts), &a), run(NewHandler(&b, opts), &b)
}

var (
	utc     = time.Date(2025, time.March, 9, 14, 5, 6, 789_654_321, time.UTC)
	newYork = func() *time.Location {
		if l, err := time.LoadLocation("America/New_York"); err == nil {
			return l
		}
		return time.FixedZone("EST", -5*3600)
	}()
	kathmandu = time.FixedZone("NPT", 5*3600+45*60)
	stJohns   = time.FixedZone("NST", -(3*3600 + 30*60))
)

const typical = "<a5561188da7d0fd7> parsed IKE_AUTH request 1 [ IDi CERT AUTH CPRQ(ADDR DNS (23456)) SA TSi TSr ]"

// TestFastPathMatchesSlog is the self-check NewHandler runs, made to fail
// loudly: a Go release whose slog writes the built-in attributes
// differently is caught here, where in production the handler would just
// lose its fast path.
func TestFastPathMatchesSlog(t *testing.T) {
	for _, m := range probeMismatches() {
		t.Errorf("fast path differs from the linked slog (%s):\n%s", runtime.Version(), m)
	}
	if !fastPathMatchesSlog() {
		t.Fatal("the fast path is off")
	}
}

// TestFastPathChosen checks which options keep the fast path, so the
// equivalence tests below exercise it rather than only the delegation.
func TestFastPathChosen(t *testing.T) {
	var lv slog.LevelVar
	for _, c := range []struct {
		name string
		opts *slog.HandlerOptions
		fast bool
	}{
		{"nil options", nil, true},
		{"level", &slog.HandlerOptions{Level: slog.LevelDebug}, true},
		{"level var", &slog.HandlerOptions{Level: &lv}, true},
		{"add source", &slog.HandlerOptions{AddSource: true}, false},
		{"replace attr", &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return a }}, false},
	} {
		h := NewHandler(&bytes.Buffer{}, c.opts).(*handler)
		if h.fast != c.fast {
			t.Errorf("%s: fast = %v, want %v", c.name, h.fast, c.fast)
		}
	}
	h := NewHandler(&bytes.Buffer{}, nil)
	if h.WithAttrs(nil) != h || h.WithAttrs([]slog.Attr{slog.Group("empty")}) != h {
		t.Error("WithAttrs of nothing did not return the handler itself")
	}
	if _, ok := h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).(*slog.TextHandler); !ok {
		t.Error("WithAttrs did not hand over to slog.TextHandler")
	}
}

// TestBuiltInFields covers the fast path: no attributes, no options.
func TestBuiltInFields(t *testing.T) {
	times := []time.Time{
		{},
		utc,
		utc.Truncate(time.Second),
		utc.In(newYork),
		utc.In(kathmandu),
		utc.In(stJohns),
		time.Date(2025, time.December, 31, 23, 59, 59, 999_999_999, stJohns),
		time.Date(1, time.January, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, time.December, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-44, time.March, 15, 12, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
		time.Now(), // with a monotonic reading
		time.Now().In(kathmandu),
	}
	levels := []slog.Level{
		math.MinInt, slog.LevelDebug - 100, slog.LevelDebug - 1, slog.LevelDebug, slog.LevelDebug + 1,
		slog.LevelInfo, slog.LevelInfo + 2, slog.LevelInfo + 3, slog.LevelWarn, slog.LevelWarn + 2,
		slog.LevelError, slog.LevelError + 1, slog.LevelError + 1000, math.MaxInt,
	}
	msgs := []string{
		"", " ", "plain", typical, "a=b", "=", `"`, `\`, `\\`, `"quoted"`, `back\slash`,
		`both " and \ here`, "tab\there", "new\nline", "cr\r", "bell\a", "nul\x00", "esc\x1b[0m",
		"del\x7f", "del\x7f here", "~!@#$%^&*()_+`-[]{}|;':,./<>?", "héllo", "héllo wörld",
		"nbsp\u00a0here", "ideographic\u3000space", "zero\u200bwidth", "bom\ufeff", "rtl\u202e",
		"\ufffd", "replacement \ufffd char", "bad\xff", "bad \xff utf-8", "\xc3", "\xc3(", "\xed\xa0\x80",
		"日本語", "日本語 テキスト", "emoji🔐", "emoji 🔐", "line sep\u2028", "combining e\u0301",
		strings.Repeat("x", 20000), strings.Repeat("long message ", 2000),
	}
	var recs []record
	for _, tm := range times {
		recs = append(recs, record{t: tm, level: slog.LevelInfo, msg: typical})
	}
	for _, l := range levels {
		recs = append(recs, record{t: utc, level: l, msg: "level probe"})
	}
	for _, m := range msgs {
		recs = append(recs, record{t: utc, level: slog.LevelWarn, msg: m})
		recs = append(recs, record{level: slog.LevelError, msg: m})
	}
	for _, opts := range []*slog.HandlerOptions{nil, {Level: slog.LevelDebug}, {Level: slog.Level(math.MinInt)}} {
		want, got := outputs(opts, nil, recs...)
		if got != want {
			t.Errorf("options %+v:\n%s", opts, diffLines(want, got))
		}
	}
	// And appendRecord alone, since NewHandler would hide a mismatch
	// behind the self-check's fallback.
	for _, r := range recs {
		var want bytes.Buffer
		slog.NewTextHandler(&want, nil).Handle(context.Background(), r.slog())
		if got := appendRecord(nil, r.t, r.level, r.msg); string(got) != want.String() {
			t.Errorf("appendRecord:\n got  %q\n want %q", got, want.String())
		}
	}
}

// TestEnabled checks that the level option is read at each call.
func TestEnabled(t *testing.T) {
	var lv slog.LevelVar
	var buf bytes.Buffer
	h := NewHandler(&buf, &slog.HandlerOptions{Level: &lv})
	l := slog.New(h)
	l.Debug("hidden")
	l.Info("shown")
	lv.Set(slog.LevelDebug)
	l.Debug("now shown")
	lv.Set(slog.LevelError)
	l.Warn("hidden again")
	l.Error("error shown")
	got := buf.String()
	for _, m := range []string{`msg=shown`, `msg="now shown"`, `msg="error shown"`} {
		if !strings.Contains(got, m) {
			t.Errorf("missing %s in:\n%s", m, got)
		}
	}
	if strings.Contains(got, "hidden") || strings.Count(got, "\n") != 3 {
		t.Errorf("wrong lines:\n%s", got)
	}
	if h.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("Enabled(WARN) with the level at ERROR")
	}
	if NewHandler(&buf, nil).Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled(DEBUG) with default options")
	}
}

// Values of every kind, for the delegated path.

type textM struct{ s string }

func (m textM) MarshalText() ([]byte, error) { return []byte("text:" + m.s), nil }

type failingM struct{}

func (failingM) MarshalText() ([]byte, error) { return nil, errors.New("marshal failed") }

type ptrM struct{ s string }

func (m *ptrM) MarshalText() ([]byte, error) { return []byte(m.s), nil } // panics on nil

type valuer struct{ v slog.Value }

func (v valuer) LogValue() slog.Value { return v.v }

type namedBytes []byte

type myByte byte

type point struct {
	X, Y int
	Tag  string
}

func allKinds(s string) []slog.Attr {
	return []slog.Attr{
		slog.String("s", s),
		slog.String(s, "key is the string"),
		slog.String("empty", ""),
		slog.Int("int", -42),
		slog.Int64("min", math.MinInt64),
		slog.Uint64("max", math.MaxUint64),
		slog.Float64("pi", math.Pi),
		slog.Float64("nan", math.NaN()),
		slog.Float64("inf", math.Inf(-1)),
		slog.Float64("negzero", math.Copysign(0, -1)),
		slog.Float64("big", 1e300),
		slog.Bool("t", true),
		slog.Bool("f", false),
		slog.Duration("d", 1500*time.Millisecond),
		slog.Duration("negd", -time.Nanosecond),
		slog.Time("time", utc.In(kathmandu)),
		slog.Time("zerotime", time.Time{}),
		slog.Any("nil", nil),
		slog.Any("err", errors.New("an error: with = and \"quotes\"")),
		slog.Any("bytes", []byte("raw bytes \x00\xff")),
		slog.Any("named bytes", namedBytes("named")),
		slog.Any("byte elems", []myByte{'h', 'i'}),
		slog.Any("struct", point{1, 2, s}),
		slog.Any("ptr", &point{3, 4, "p"}),
		slog.Any("map", map[string]int{"one": 1}),
		slog.Any("slice", []string{"a b", "c"}),
		slog.Any("textm", textM{s}),
		slog.Any("failm", failingM{}),
		slog.Any("nilptrm", (*ptrM)(nil)),
		slog.Any("addr", netip.MustParseAddr("2001:db8::1")),
		slog.Any("prefix", netip.MustParsePrefix("10.99.0.0/24")),
		slog.Any("valuer", valuer{slog.StringValue(s)}),
		slog.Any("group valuer", valuer{slog.GroupValue(slog.Int("x", 1), slog.String("y", s))}),
		slog.Any("level", slog.LevelWarn+1),
		slog.Group("g", slog.Int("a", 1), slog.Group("h", slog.String("b", s)), slog.Group("empty")),
		slog.Group("", slog.String("inlined", s)),
		slog.Group("only empty", slog.Group("inner")),
		{},
	}
}

func TestDelegatedPaths(t *testing.T) {
	pcs := make([]uintptr, 1)
	runtime.Callers(1, pcs)
	replace := func(groups []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case "drop", "f":
			return slog.Attr{}
		case slog.TimeKey:
			if len(groups) == 0 {
				return slog.String(a.Key, a.Value.Time().UTC().Format(time.RFC3339Nano))
			}
		case slog.LevelKey:
			return slog.String(a.Key, "L"+a.Value.String())
		}
		if len(groups) > 0 {
			a.Key = strings.Join(groups, "/") + ":" + a.Key
		}
		return a
	}
	chains := map[string]func(slog.Handler) slog.Handler{
		"none": nil,
		"with attrs": func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("peer", "192.0.2.1:500"), slog.Int("n", 3)})
		},
		"with group":     func(h slog.Handler) slog.Handler { return h.WithGroup("ike") },
		"empty group":    func(h slog.Handler) slog.Handler { return h.WithGroup("") },
		"no attrs":       func(h slog.Handler) slog.Handler { return h.WithAttrs(nil) },
		"only empty grp": func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.Group("e")}) },
		"chain": func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("a", "1")}).WithGroup("g1").WithAttrs(
				[]slog.Attr{slog.String("b c", "2"), slog.Group("sub", slog.Bool("ok", true))}).WithGroup("g 2").WithGroup("g3")
		},
		"group then nothing": func(h slog.Handler) slog.Handler { return h.WithGroup("g").WithAttrs(nil) },
	}
	optss := map[string]*slog.HandlerOptions{
		"default":      nil,
		"debug":        {Level: slog.LevelDebug},
		"source":       {AddSource: true},
		"replace":      {ReplaceAttr: replace},
		"source+repl":  {AddSource: true, ReplaceAttr: replace, Level: slog.LevelDebug - 10},
		"drop builtin": {ReplaceAttr: func(g []string, a slog.Attr) slog.Attr { return slog.Attr{} }},
	}
	for on, opts := range optss {
		for cn, chain := range chains {
			var recs []record
			for _, s := range []string{"plain", "with space", `q"uote`, "a=b", "héllo", "bad\xff", ""} {
				recs = append(recs,
					record{t: utc, level: slog.LevelInfo, msg: typical, pc: pcs[0]},
					record{t: utc.In(stJohns), level: slog.LevelWarn + 2, msg: s, attrs: allKinds(s), pc: pcs[0]},
					record{level: slog.LevelDebug, msg: s, attrs: []slog.Attr{slog.String("drop", s), slog.Int("kept", 1)}},
					record{t: utc, level: slog.LevelError, msg: s, attrs: []slog.Attr{slog.Group("only empty")}},
				)
			}
			want, got := outputs(opts, chain, recs...)
			if got != want {
				t.Errorf("options %s, chain %s:\n%s", on, cn, diffLines(want, got))
			}
		}
	}
}

// TestWriteError checks that a failing writer's error reaches the caller
// on both paths.
func TestWriteError(t *testing.T) {
	h := NewHandler(failWriter{}, nil)
	for _, r := range []record{{msg: "fast"}, {msg: "slow", attrs: []slog.Attr{slog.Int("a", 1)}}} {
		if err := h.Handle(context.Background(), r.slog()); !errors.Is(err, errWrite) {
			t.Errorf("%s: Handle = %v, want %v", r.msg, err, errWrite)
		}
	}
}

var errWrite = errors.New("write failed")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

// diffLines shows the first differing line of two outputs.
func diffLines(want, got string) string {
	line, w, g := golden.FirstDiff(want, got)
	return fmt.Sprintf("line %d:\n want %q\n got  %q", line, w, g)
}

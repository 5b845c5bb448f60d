package textlog

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"
)

// fastPathMatchesSlog reports whether the fast path formats a set of probe
// records exactly as the linked slog.TextHandler does. It runs once per
// process, at the first NewHandler; the probes take a few microseconds.
//
// The fast path copies slog's format: time layout, level names, which
// strings get quoted and how. A Go release may change any of them (Go
// 1.27 changed the code that writes Time and TextAppender attribute
// values; the built-in attributes came out the same). The level names come from the linked
// Level.String, but the quoting rule and the time layout are rewritten
// here, so they are checked instead: on any difference, NewHandler turns
// the fast path off and the output stays right, only slower. The package
// tests fail on that, so a toolchain upgrade that causes it is noticed.
var fastPathMatchesSlog = sync.OnceValue(func() bool {
	return len(probeMismatches()) == 0
})

// probeMismatches returns a description of each probe record on which the
// fast path and slog.TextHandler differ.
func probeMismatches() []string {
	var want bytes.Buffer
	ref := slog.NewTextHandler(&want, nil)
	var bad []string
	check := func(t time.Time, level slog.Level, msg string) {
		want.Reset()
		ref.Handle(context.Background(), slog.NewRecord(t, level, msg, 0))
		got := appendRecord(nil, t, level, msg)
		if !bytes.Equal(got, want.Bytes()) {
			bad = append(bad, "slog: "+want.String()+"textlog: "+string(got))
		}
	}
	when := time.Date(2025, time.March, 9, 14, 5, 6, 789_654_321, time.UTC)
	for _, t := range []time.Time{
		{},
		when,
		when.Truncate(time.Second), // no fraction: still ".000"
		time.Date(2025, time.December, 31, 23, 59, 59, 999_999_999, time.FixedZone("", -(3*3600+30*60))),
		time.Date(1999, time.January, 2, 3, 4, 5, 6_000_000, time.FixedZone("NPT", 5*3600+45*60)),
		time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC), // a five-digit year
		time.Date(-1, time.June, 1, 0, 0, 0, 500_000, time.UTC), // before year 1
	} {
		check(t, slog.LevelInfo, "probe")
	}
	for _, level := range []slog.Level{
		slog.LevelDebug - 4, slog.LevelDebug, slog.LevelDebug + 2, slog.LevelInfo, slog.LevelInfo + 2,
		slog.LevelWarn, slog.LevelWarn + 1, slog.LevelError, slog.LevelError + 8,
	} {
		check(when, level, "probe")
	}
	for _, msg := range []string{
		"",
		"plain",
		"<a5561188da7d0fd7> parsed IKE_AUTH request 1 [ IDi CERT AUTH CPRQ(ADDR DNS (23456)) SA TSi TSr ]",
		"a=b",
		`say "hi"`,
		`back\slash`,
		`back\slash and space`,
		`"`,
		"tab\there",
		"line\nbreak",
		"nul\x00",
		"del\x7f",
		"del\x7f and space",
		"héllo",
		"héllo wörld",
		"nbsp\u00a0",
		"zero\u200bwidth",
		"\ufffd",
		"bad \xff utf-8",
		"\xc3",
		"日本語",
		"emoji 🔐",
	} {
		check(when, slog.LevelInfo, msg)
	}
	return bad
}

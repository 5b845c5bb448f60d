package textlog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// slogLine is what slog.TextHandler writes for a record without attributes.
func slogLine(t time.Time, level slog.Level, msg string) string {
	var buf bytes.Buffer
	slog.NewTextHandler(&buf, nil).Handle(context.Background(), slog.NewRecord(t, level, msg, 0))
	return buf.String()
}

// TestSecondCache formats times in the cached second and around it, in
// several locations, and checks each line against slog, whether it came
// from the cache or not.
func TestSecondCache(t *testing.T) {
	lastSecond.Store(nil)
	locs := []*time.Location{time.UTC, time.Local, newYork, kathmandu, stJohns, time.FixedZone("", 0)}
	bases := []time.Time{
		utc.Truncate(time.Second),
		time.Date(2025, time.December, 31, 23, 59, 59, 0, time.UTC), // the next second is a new year
		time.Date(2025, time.March, 9, 6, 59, 59, 0, time.UTC),      // New York's DST change
		time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, time.December, 31, 23, 59, 59, 0, time.UTC), // negative Unix time
		time.Date(0, time.July, 1, 0, 0, 0, 0, time.UTC),            // year 0: before the zero time
		time.Date(-1, time.July, 1, 0, 0, 0, 0, time.UTC),           // not cached: 5-character year
		time.Date(10000, time.July, 1, 0, 0, 0, 0, time.UTC),        // not cached
	}
	nsecs := []int{0, 1, 999_999, 1_000_000, 500_500_000, 999_000_000, 999_999_999, 123_456_789, 0}
	for _, base := range bases {
		for _, loc := range locs {
			for _, ns := range nsecs {
				for _, step := range []time.Duration{0, time.Second} {
					tm := base.Add(step + time.Duration(ns)).In(loc)
					want := slogLine(tm, slog.LevelInfo, "x")
					for range 2 { // a miss then, for a usual year, a hit
						if got := string(appendRecord(nil, tm, slog.LevelInfo, "x")); got != want {
							t.Errorf("%v:\n got  %q\n want %q", tm, got, want)
						}
					}
					c := lastSecond.Load()
					cached := c != nil && c.unix == tm.Unix() && c.loc == tm.Location()
					if usual := tm.Year() >= 0 && tm.Year() <= 9999; cached != usual {
						t.Errorf("%v: cached %v, want %v", tm, cached, usual)
					}
				}
			}
		}
	}
}

// TestPrintableASCII checks the word-at-a-time test against the plain one
// for every byte value at every position of a word and of the tail.
func TestPrintableASCII(t *testing.T) {
	for n := 0; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := bytes.Repeat([]byte{'a'}, n)
				b[pos] = byte(c)
				if pos+1 < n {
					b[pos+1] = 0xff - byte(c) // neighbours that could carry or borrow
				}
				want := true
				for _, x := range b {
					if x < 0x20 || x > 0x7e {
						want = false
					}
				}
				if got := printableASCII(string(b)); got != want {
					t.Fatalf("printableASCII(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}

// TestAppendString checks the quoting of every single byte and of every
// pair of printable ASCII bytes against slog, for the message and, through
// the level, for short strings.
func TestAppendString(t *testing.T) {
	var msgs []string
	for c := 0; c < 256; c++ {
		msgs = append(msgs, string(rune(c)), string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+" b")
	}
	for c := 0x20; c < 0x7f; c++ {
		for d := 0x20; d < 0x7f; d++ {
			msgs = append(msgs, string([]byte{byte(c), byte(d)}))
		}
	}
	msgs = append(msgs, strings.Repeat(`\"`, 100), strings.Repeat("=", 17), strings.Repeat("é", 9))
	for _, m := range msgs {
		if got, want := string(appendRecord(nil, time.Time{}, slog.LevelInfo, m)), slogLine(time.Time{}, slog.LevelInfo, m); got != want {
			t.Errorf("msg %q:\n got  %q\n want %q", m, got, want)
		}
	}
}

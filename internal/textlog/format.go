package textlog

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// The fast path writes the three built-in attributes of a record the way
// slog's TextHandler does when HandlerOptions.ReplaceAttr is nil: each
// key, '=', the value, one space between pairs and a newline at the end
// (log/slog, commonHandler.handle). The keys are slog's own constants and
// never need quoting.
const (
	timePrefix  = slog.TimeKey + "="
	levelPrefix = slog.LevelKey + "="
	msgPrefix   = " " + slog.MessageKey + "="
)

// appendRecord appends the line TextHandler writes for a record with no
// attributes, from a handler with no attributes or groups of its own and
// with neither ReplaceAttr nor AddSource set.
func appendRecord(b []byte, t time.Time, level slog.Level, msg string) []byte {
	// A zero time is omitted, as slog's Handler contract requires.
	if !t.IsZero() {
		b = append(b, timePrefix...)
		// Round(0) strips the monotonic reading, as slog does.
		b = appendRFC3339Millis(b, t.Round(0))
		b = append(b, ' ')
	}
	b = append(b, levelPrefix...)
	// Level.String of the linked slog gives "INFO", "INFO+2", "DEBUG-4".
	b = appendString(b, level.String())
	b = append(b, msgPrefix...)
	b = appendString(b, msg)
	return append(b, '\n')
}

// appendRFC3339Millis appends t as slog writes a time: RFC 3339 with
// exactly three fractional digits, truncated (not rounded) to the
// millisecond.
//
// Records come in bursts within the same second, so the text up to the
// seconds and the zone suffix are kept from the last second formatted
// and only the milliseconds are written anew. A second that is not the
// cached one goes through slog's own algorithm (slogRFC3339Millis).
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if c := lastSecond.Load(); c != nil && c.unix == sec && c.loc == loc {
		return c.append(b, t.Nanosecond())
	}
	n := len(b)
	b = slogRFC3339Millis(b, t)
	rememberSecond(sec, loc, t.Nanosecond(), b[n:])
	return b
}

// slogRFC3339Millis is log/slog's appendRFC3339Millis (handler.go),
// algorithm for algorithm: it lets time.RFC3339Nano do the work (it has a
// fast path in package time) on a time moved 0.1 ms forward, so that the
// trailing-zero trimming of RFC3339Nano always leaves four digits, and
// then drops the fourth. Its output for years past 9999 or before year 1
// is whatever that algorithm makes of them, and this makes the same.
func slogRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

// formattedSecond is the text of one second in one location, split
// around the milliseconds: "2025-03-09T14:05:06" and "Z" or "+05:45".
// Within a second the rest of the time text cannot change: a location
// gives one offset per instant, and the milliseconds, truncated, never
// carry into the seconds.
type formattedSecond struct {
	unix    int64
	loc     *time.Location
	text    [len("2006-01-02T15:04:05") + len("-07:00")]byte
	zoneLen int
}

// lastSecond is shared by all handlers: they all log the present.
var lastSecond atomic.Pointer[formattedSecond]

func (c *formattedSecond) append(b []byte, nsec int) []byte {
	const headLen = len("2006-01-02T15:04:05")
	ms := nsec / 1e6
	b = append(b, c.text[:headLen]...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, c.text[headLen:headLen+c.zoneLen]...)
}

// rememberSecond caches the text slog wrote for a time in second sec, if
// it has the usual shape (a four-digit year) and the cache reproduces it
// exactly.
func rememberSecond(sec int64, loc *time.Location, nsec int, text []byte) {
	const (
		headLen = len("2006-01-02T15:04:05")
		fracLen = len(".000")
	)
	zoneLen := len(text) - headLen - fracLen
	if zoneLen < 1 || zoneLen > len("-07:00") || text[4] != '-' || text[headLen] != '.' {
		return
	}
	c := &formattedSecond{unix: sec, loc: loc, zoneLen: zoneLen}
	copy(c.text[:], text[:headLen])
	copy(c.text[headLen:], text[headLen+fracLen:])
	var check [64]byte
	if !bytes.Equal(c.append(check[:0], nsec), text) {
		return
	}
	lastSecond.Store(c)
}

// appendString appends s as TextHandler writes a string value: as is,
// unless needsQuoting says it must be quoted with strconv.Quote's rules.
//
// Log messages are nearly always printable ASCII with spaces in them, so
// they are always quoted; for such a string strconv.AppendQuote escapes
// only '"' and '\\', which this does without decoding runes or consulting
// the Unicode tables. Anything else (control characters, DEL, non-ASCII,
// invalid UTF-8) goes the general way, through the same functions slog
// uses.
func appendString(b []byte, s string) []byte {
	if !printableASCII(s) {
		return appendStringSlow(b, s)
	}
	// For printable ASCII, slog's needsQuoting is: empty, or any of
	// ' ', '=', '"'. A backslash alone does not make it quote.
	quo := strings.IndexByte(s, '"')
	if len(s) > 0 && quo < 0 && strings.IndexByte(s, ' ') < 0 && strings.IndexByte(s, '=') < 0 {
		return append(b, s...)
	}
	b = append(b, '"')
	if quo < 0 && strings.IndexByte(s, '\\') < 0 {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// printableASCII reports whether every byte of s is in 0x20..0x7e. It
// tests eight bytes at a time: a message is about a hundred bytes and
// this runs on every log line. For a word x, with L = 0x0101..01 and
// H = 0x8080..80, (x - 0x20*L) &^ x & H is non-zero iff some byte is
// below 0x20, and (x + L | x) & H iff some byte is 0x7f or above
// ("hasless" and "hasmore" in Sean Anderson's Bit Twiddling Hacks).
// Carries between bytes can set a flag only above a byte that is already
// flagged, so the "any" answer is exact.
func printableASCII(s string) bool {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	for ; len(s) >= 8; s = s[8:] {
		// One 64-bit load: the compiler merges these byte loads.
		x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if ((x-0x20*lo)&^x|(x+lo|x))&hi != 0 {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// appendStringSlow is slog's own rule for a text value.
func appendStringSlow(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is log/slog's rule (text_handler.go): quote the empty
// string, space, '=', anything JSON would escape except a backslash, and
// any rune that is invalid, U+FFFD itself, a Unicode space or not
// printable. The ASCII test is slog's safeSet written out: every byte from
// 0x20 up is safe (DEL included) except '"' and '\\'.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b != '\\' && (b == ' ' || b == '=' || b == '"' || b < 0x20) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

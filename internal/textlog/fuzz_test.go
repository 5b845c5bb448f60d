package textlog

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzTextHandlerEquivalence checks that NewHandler writes the same bytes
// as slog.NewTextHandler for a record and handler built from the input:
// the message, level and time (zero, or in a zone given as an offset) as
// they come, and, driven by shape and ops, the options, a chain of
// WithAttrs and WithGroup, and attributes of every kind. It also checks
// appendRecord alone against slog for the record without attributes, so
// the fast path is fuzzed even if the self-check had turned it off.
func FuzzTextHandlerEquivalence(f *testing.F) {
	f.Add(typical, "peer", "192.0.2.1", int64(0), int64(1741529106), int64(789654321), int32(0), uint16(0), []byte{})
	f.Add("", "", "", int64(-4), int64(0), int64(0), int32(0), uint16(1), []byte{})
	f.Add(`say "hi" \ a=b`, "k=v", "a b", int64(2), int64(1741529106), int64(999999999), int32(-12600), uint16(0), []byte{0, 1, 2, 3})
	f.Add("héllo wörld \xff\x00\x7f", "key", "héllo", int64(9), int64(-62135596800), int64(1), int32(20700), uint16(0x1f0), []byte{4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add("日本語 🔐 \u00a0\u200b\ufffd", "g", "\n", int64(math.MinInt64), int64(253402300800), int64(0), int32(50400), uint16(0x2c), []byte{13, 14, 15, 16, 17, 18, 0x80, 0x91, 0xa2})
	f.Add("<a5561188da7d0fd7> sending packet: from 192.0.2.1[500] to 198.51.100.7[500] (272 bytes)",
		"spi", "a5561188da7d0fd7", int64(8), int64(1741529106), int64(500000), int32(3600), uint16(0xfff), []byte{0xff, 0x7f, 0x3f, 0x1f})
	f.Fuzz(func(t *testing.T, msg, key, sval string, level, sec, nsec int64, zone int32, shape uint16, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		var tm time.Time
		if shape&1 == 0 {
			tm = time.Unix(sec, nsec).In(time.FixedZone(key, int(zone%(100*3600))))
		}
		lvl := slog.Level(level)

		var ref bytes.Buffer
		slog.NewTextHandler(&ref, nil).Handle(context.Background(), slog.NewRecord(tm, lvl, msg, 0))
		if got := appendRecord(nil, tm, lvl, msg); !bytes.Equal(got, ref.Bytes()) {
			t.Fatalf("appendRecord:\n got  %q\n want %q", got, ref.Bytes())
		}

		var opts *slog.HandlerOptions
		switch shape >> 1 & 3 {
		case 1:
			opts = &slog.HandlerOptions{Level: slog.Level(int8(shape >> 8))}
		case 2:
			opts = &slog.HandlerOptions{AddSource: shape&0x100 != 0, ReplaceAttr: fuzzReplace(key)}
		case 3:
			opts = &slog.HandlerOptions{AddSource: true}
		}
		var chain func(slog.Handler) slog.Handler
		if n := int(shape >> 3 & 3); n > 0 && len(ops) > 0 {
			chainOps := ops
			chain = func(h slog.Handler) slog.Handler {
				for i, op := range chainOps[:min(n, len(chainOps))] {
					if op&1 == 0 {
						h = h.WithGroup(fuzzKey(key, op, i))
					} else {
						h = h.WithAttrs(fuzzAttrs(key, sval, sec, nsec, zone, []byte{op >> 1, op >> 3}))
					}
				}
				return h
			}
		}
		var attrs []slog.Attr
		if shape&0x20 != 0 {
			attrs = fuzzAttrs(key, sval, sec, nsec, zone, ops)
		}
		want, got := outputs(opts, chain, record{t: tm, level: lvl, msg: msg, attrs: attrs})
		if got != want {
			t.Fatalf("handler output differs:\n got  %q\n want %q", got, want)
		}
	})
}

// fuzzReplace is a ReplaceAttr that renames, drops and rewrites
// attributes depending on their key and groups.
func fuzzReplace(drop string) func([]string, slog.Attr) slog.Attr {
	return func(groups []string, a slog.Attr) slog.Attr {
		switch {
		case a.Key == drop:
			return slog.Attr{}
		case a.Key == slog.MessageKey:
			return slog.String(a.Key, strings.ToUpper(a.Value.String()))
		case len(groups) > 0:
			a.Key = strings.Join(groups, "|") + "." + a.Key
		}
		return a
	}
}

func fuzzKey(key string, op byte, i int) string {
	switch op >> 5 {
	case 0:
		return ""
	case 1:
		return key + "=" + string(rune('a'+i))
	case 2:
		return "k " + key
	default:
		return key
	}
}

// fuzzAttrs turns ops into attributes, one per byte: the low five bits
// pick the kind, the rest vary the key. A group takes the next few bytes
// as its members.
func fuzzAttrs(key, sval string, sec, nsec int64, zone int32, ops []byte) []slog.Attr {
	var as []slog.Attr
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		k := fuzzKey(key, op, i)
		var a slog.Attr
		switch op & 0x1f {
		case 0:
			a = slog.String(k, sval)
		case 1:
			a = slog.Int64(k, sec)
		case 2:
			a = slog.Uint64(k, uint64(nsec))
		case 3:
			a = slog.Float64(k, math.Float64frombits(uint64(sec)))
		case 4:
			a = slog.Bool(k, sec&1 == 0)
		case 5:
			a = slog.Duration(k, time.Duration(nsec))
		case 6:
			a = slog.Time(k, time.Unix(sec, nsec).In(time.FixedZone(sval, int(zone%(100*3600)))))
		case 7:
			a = slog.Time(k, time.Time{})
		case 8:
			a = slog.Any(k, nil)
		case 9:
			a = slog.Any(k, []byte(sval))
		case 10:
			a = slog.Any(k, namedBytes(sval))
		case 11:
			a = slog.Any(k, textM{sval})
		case 12:
			a = slog.Any(k, failingM{})
		case 13:
			a = slog.Any(k, (*ptrM)(nil))
		case 14:
			a = slog.Any(k, point{int(sec), int(nsec), sval})
		case 15:
			a = slog.Any(k, valuer{slog.StringValue(sval)})
		case 16:
			a = slog.Any(k, valuer{slog.GroupValue(slog.String(key, sval))})
		case 17:
			a = slog.Any(k, slog.Level(sec))
		case 18:
			a = slog.Group(k) // empty
		case 19:
			a = slog.Any(k, errString(sval))
		case 20:
			a = slog.Any(k, []string{sval, key})
		case 21:
			a = slog.Any(k, map[string]string{key: sval})
		case 22:
			a = slog.Any(k, &ptrM{sval})
		default:
			// A group of the next few ops, possibly nested.
			n := int(op>>5) + 1
			end := min(len(ops), i+1+n)
			a = slog.Attr{Key: k, Value: slog.GroupValue(fuzzAttrs(key, sval, sec, nsec, zone, ops[i+1:end])...)}
			i = end - 1
		}
		as = append(as, a)
	}
	return as
}

type errString string

func (e errString) Error() string { return string(e) }

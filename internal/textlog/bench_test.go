package textlog

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkHandler compares slog.TextHandler with this handler on a
// typical engine line into io.Discard: Handle alone, Handle with every
// record in a new second, the whole Logger.Info call, and a record with
// attributes (the delegated path, which pays one extra mutex).
func BenchmarkHandler(b *testing.B) {
	handlers := []struct {
		name string
		new  func(io.Writer, *slog.HandlerOptions) slog.Handler
	}{
		{"slog", func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }},
		{"textlog", NewHandler},
	}
	ctx := context.Background()
	r := slog.NewRecord(time.Now(), slog.LevelInfo, typical, 0)
	ra := slog.NewRecord(time.Now(), slog.LevelInfo, "EAP succeeded", 0)
	ra.AddAttrs(slog.String("method", "EAP-MSCHAPv2"), slog.String("identity", "carol"))
	for _, h := range handlers {
		b.Run("Handle/"+h.name, func(b *testing.B) {
			hd := h.new(io.Discard, nil)
			b.ReportAllocs()
			for b.Loop() {
				hd.Handle(ctx, r)
			}
		})
	}
	// Every record in a new second: the time cache always misses.
	for _, h := range handlers {
		b.Run("NewSecond/"+h.name, func(b *testing.B) {
			hd := h.new(io.Discard, nil)
			r := r
			b.ReportAllocs()
			for b.Loop() {
				r.Time = r.Time.Add(time.Second)
				hd.Handle(ctx, r)
			}
		})
	}
	for _, h := range handlers {
		b.Run("LoggerInfo/"+h.name, func(b *testing.B) {
			l := slog.New(h.new(io.Discard, nil))
			b.ReportAllocs()
			for b.Loop() {
				l.Info(typical)
			}
		})
	}
	for _, h := range handlers {
		b.Run("Attrs/"+h.name, func(b *testing.B) {
			hd := h.new(io.Discard, nil)
			b.ReportAllocs()
			for b.Loop() {
				hd.Handle(ctx, ra)
			}
		})
	}
}

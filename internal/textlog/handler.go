// Package textlog is a log/slog handler that writes exactly what
// slog.TextHandler writes, faster for the records a busy responder logs
// most: a message and nothing else.
//
// The IKE engine logs strongSwan-style lines, six or so per handshake,
// each a message with spaces in it and no attributes. slog.TextHandler
// spends most of its time on such a record in generic machinery (a
// handle state, the attribute walk) and in strconv.AppendQuote, which
// decodes every rune and looks it up in the Unicode tables although the
// message is printable ASCII. The handler here writes those records
// itself: it checks for printable ASCII eight bytes at a time, quotes
// such a message with a copy, and reuses the time text of the current
// second. Every other record goes to a slog.TextHandler: records with
// attributes, handlers made by WithAttrs or WithGroup, and options with
// ReplaceAttr or AddSource. The output is the same bytes either way.
//
// The fast path copies slog's format, so a Go release that changed the
// format would make it wrong. It is checked against the linked slog
// before first use (see selfcheck.go): if any probe record differs,
// every record goes to the slog.TextHandler.
package textlog

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// NewHandler returns a handler that writes to w what
// slog.NewTextHandler(w, opts) would write, byte for byte, one Write per
// record. Writes from the handler and from every handler derived from it
// by WithAttrs and WithGroup are serialised, as slog.TextHandler's are.
// A nil opts means the default options.
func NewHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	lw := &lockedWriter{w: w}
	return &handler{
		inner: slog.NewTextHandler(lw, opts),
		w:     lw,
		fast:  opts.ReplaceAttr == nil && !opts.AddSource && fastPathMatchesSlog(),
	}
}

// handler writes records with no attributes itself when fast is set and
// gives everything else to inner. Both write through w.
type handler struct {
	inner *slog.TextHandler
	w     *lockedWriter
	fast  bool
}

// Enabled is slog.TextHandler's: opts.Level, read at each call, so a
// *slog.LevelVar changed at run time takes effect at once.
func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle writes r as one line.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.fast || r.NumAttrs() != 0 {
		return h.inner.Handle(ctx, r)
	}
	bp := bufPool.Get().(*[]byte)
	b := appendRecord((*bp)[:0], r.Time, r.Level, r.Message)
	_, err := h.w.Write(b)
	freeBuf(bp, b)
	return err
}

// WithAttrs returns slog.TextHandler's handler for the attributes, which
// writes through the same locked writer. Attributes that add nothing (none,
// or only empty groups, which the slog.Handler contract says to ignore)
// return the handler itself, keeping the fast path, as slog.Logger.With()
// without arguments would.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, a := range attrs {
		if a.Value.Kind() != slog.KindGroup || len(a.Value.Group()) != 0 {
			return h.inner.WithAttrs(attrs)
		}
	}
	return h
}

// WithGroup returns slog.TextHandler's handler for the group.
func (h *handler) WithGroup(name string) slog.Handler {
	return h.inner.WithGroup(name)
}

// lockedWriter serialises the fast path's writes with the inner
// handler's. slog.TextHandler's own mutex covers only the handlers it
// made, not the fast path, so both paths write through this one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// Line buffers are pooled; one that grew past maxBufferSize for an
// unusually long message is dropped rather than kept for ever (slog's
// buffer pool does the same).
const maxBufferSize = 16 << 10

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

func freeBuf(bp *[]byte, b []byte) {
	if cap(b) > maxBufferSize {
		return
	}
	*bp = b
	bufPool.Put(bp)
}

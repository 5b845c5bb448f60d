package ike

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// Log lines at info level are built by appending into a pooled buffer and
// handed to the log as one string. A handshake logs six of them; built
// with fmt and string concatenation they cost a dozen intermediate strings
// and about a tenth of the responder's non-cryptographic CPU
// (docs/performance.md).

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// infoOn reports whether info lines are logged, so that a responder run at
// warning level for speed does not format them.
func (e *Engine) infoOn() bool {
	return e.cfg.Log.Enabled(context.Background(), slog.LevelInfo)
}

// infoLine logs the line build appends to an empty buffer. build must not
// keep the buffer.
func (e *Engine) infoLine(build func(b []byte) []byte) {
	if !e.infoOn() {
		return
	}
	bp := lineBufs.Get().(*[]byte)
	b := build((*bp)[:0])
	// Straight to the handler, as log/slog suggests for wrappers: Logger.Info
	// would walk the stack for a source position that would only ever name
	// this function.
	_ = e.cfg.Log.Handler().Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, string(b), 0))
	if cap(b) <= 4<<10 { // an odd huge line is not kept for every later one
		*bp = b
		lineBufs.Put(bp)
	}
}

// appendSAPrefix appends the "<spi> " that starts an SA's lines, as
// charon's "<name|n>".
func appendSAPrefix(b []byte, spi wire.SPI) []byte {
	return append(spi.AppendTo(append(b, '<')), "> "...)
}

// logLine is infoLine for a line of s, after its prefix.
func (s *ikeSA) logLine(build func(b []byte) []byte) {
	spi := s.mySPI()
	s.e.infoLine(func(b []byte) []byte { return build(appendSAPrefix(b, spi)) })
}

// log logs a formatted line of s at info level.
func (s *ikeSA) log(format string, args ...any) {
	spi := s.mySPI()
	s.e.infoLine(func(b []byte) []byte { return fmt.Appendf(appendSAPrefix(b, spi), format, args...) })
}

// appendAddr appends an address as charon prints it: 10.0.0.1[500].
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	b = append(ap.Addr().Unmap().AppendTo(b), '[')
	return append(strconv.AppendUint(b, uint64(ap.Port()), 10), ']')
}

// fmtAddr is appendAddr as a string.
func fmtAddr(ap netip.AddrPort) string {
	return string(appendAddr(make([]byte, 0, len("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff][65535]")), ap))
}

// appendJoined appends strs separated by spaces.
func appendJoined(b []byte, strs []string) []byte {
	for i, s := range strs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	return b
}

package ike

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/textlog"
	"github.com/ikelab/ikelab/internal/writebehind"
	"github.com/ikelab/ikelab/sa"
)

// timedPipe is a pipe that adds up the CPU time the engine spends
// handling the initiator's messages: the responder's share of a
// handshake. The benchmark locks its goroutine to its thread, so the
// thread's CPU clock measures the engine alone, unaffected by other
// processes on the machine (the garbage collector's background work runs
// on other threads and is not included; allocs/op shows its cause).
type timedPipe struct {
	*pipe
	handling atomic.Int64
}

func (p *timedPipe) Send(m []byte) error {
	start := threadCPU()
	p.e.Handle(Packet{Local: p.peer, Remote: p.local, NATT: p.natt, Data: m})
	p.handling.Add(threadCPU() - start)
	return nil
}

// threadCPU returns the calling thread's CPU time in nanoseconds
// (clock_gettime(CLOCK_THREAD_CPUTIME_ID)).
func threadCPU() int64 {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		panic(errno)
	}
	return ts.Nano()
}

// BenchmarkEngineHandshake runs whole handshakes (IKE_SA_INIT, IKE_AUTH
// with ECDSA P-256 certificates, a virtual IP and one child SA) through
// the engine in memory, configured as the responder runs, CRLs checked:
// "logged" as the interop bench runs it, info log lines and JSON audit
// records written behind to /dev/null; "quiet" with the log at warning
// and no audit records, which is what those two features cost. It reports
// responder-µs/hs, the CPU time the engine spent on the initiator's
// messages; ns/op includes the initiator's own work. Compare with
// crypto's BenchmarkResponderHandshake, the cryptography alone:
//
//	go test -run '^$' -bench EngineHandshake -benchmem -cpu 1 ./ike/
func BenchmarkEngineHandshake(b *testing.B) {
	b.Run("logged", func(b *testing.B) { benchmarkEngineHandshake(b, true) })
	b.Run("quiet", func(b *testing.B) { benchmarkEngineHandshake(b, false) })
}

func benchmarkEngineHandshake(b *testing.B, logged bool) {
	pki := labPKI(b)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	logOut, auditOut := writebehind.New(null, 0), writebehind.New(null, 0)
	defer logOut.Close()
	defer auditOut.Close()

	cfg := certConfig(b, pki.ECDSA)
	cfg.Pool4 = netip.MustParsePrefix("10.99.0.0/16")
	cfg.Log = slog.New(textlog.NewHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if logged {
		cfg.Log = slog.New(textlog.NewHandler(logOut, nil))
		cfg.Audit = JSONAuditor(auditOut)
	}
	cfg.CookieThreshold = CookieNever
	cfg.BlockThresholdIP = 1 << 30
	cfg.MaxHalfOpen = 1 << 30
	// The interop bench's proposals (interop/bench).
	cfg.Policy, err = policy.FromConfig(policy.Config{IKE: []string{"aes256gcm16-prfsha256-ecp256"}, ESP: []string{"aes256gcm16"}})
	if err != nil {
		b.Fatal(err)
	}
	p := &timedPipe{pipe: &pipe{local: clientAP, peer: serverAP, in: make(chan []byte, 64)}}
	e, err := NewEngine(cfg, senderFunc(func(pk Packet) error { return p.deliver(pk) }))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	p.e = e

	ic := clientCert(pki.ECDSA, pki.ECDSA.Clients[0])
	ic.IKE = proposals(b, wire.ProtoIKE, "aes256gcm16-prfsha256-ecp256")
	ic.ESP = proposals(b, wire.ProtoESP, "aes256gcm16")
	ic.Timeout = 5 * time.Second
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	before := liveHeap()
	n := 0
	for b.Loop() {
		if _, err := Connect(context.Background(), ic, p); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(p.handling.Load())/float64(n)/1e3, "responder-µs/hs")
	// What each established SA keeps on the heap (the initiator's
	// sessions are garbage by now): the garbage collector marks it in
	// every cycle, and it is most of the responder's memory per SA.
	after := liveHeap()
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "kept-B/SA")
	b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/float64(n), "kept-objs/SA")
}

// liveHeap collects garbage and returns the heap's statistics.
func liveHeap() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// BenchmarkChildLookup finds a child SA by its inbound SPI among n IKE SAs
// of one child each: what every child SA's soft and hard lifetime, and the
// kernel's expire events, cost (Engine.ChildExpired).
func BenchmarkChildLookup(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			e, err := NewEngine(Config{Policy: &policy.Policy{}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				var spi wire.SPI
				binary.BigEndian.PutUint64(spi[:], uint64(i+1))
				s := &ikeSA{e: e, state: sa.Established, spir: spi}
				e.bySPI[spi] = s
				s.addChild(&sa.Child{SPIIn: uint32(i + 1)})
			}
			found := 0
			b.ResetTimer()
			for i := range b.N {
				if e.withChild(uint32(i%n+1), func(*ikeSA, *sa.Child) {}) {
					found++
				}
			}
			if found != b.N {
				b.Fatalf("found %d of %d child SAs", found, b.N)
			}
		})
	}
}

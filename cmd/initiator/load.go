package main

// `initiator load`: many concurrent full handshakes (IKE_SA_INIT, IKE_AUTH
// with a certificate or PSK, one child SA) against one responder, from many
// source addresses, bounded in count and time. It reports handshakes per
// second, latency percentiles and failures by reason, and can hold the SAs
// open so that the responder's memory per SA can be read.
//
//	initiator load --server 198.18.255.254 --sources 198.18.0.0/24 \
//	    --proposal aes256gcm16-prfsha256-ecp256 --esp aes256gcm16 \
//	    --cert client.pem --key client.key --handshakes 10000 --concurrency 64

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ikelab/ikelab/ike"
)

// loadOptions are the flags of `initiator load`.
type loadOptions struct {
	options
	sources     string
	handshakes  int
	concurrency int
	duration    time.Duration
	hold        time.Duration
	noDelete    bool
	report      string
	quiet       bool
	retransmit  time.Duration
	cpuProfile  string
}

// LoadReport is the outcome of `initiator load` (--json, --report).
type LoadReport struct {
	Server string `json:"server"`
	// Proposal is the IKE proposal the first established SA negotiated.
	Proposal string `json:"proposal,omitempty"`
	ESP      string `json:"esp,omitempty"`
	// Concurrency is the number of handshakes kept in flight; Sources the
	// number of local addresses they came from.
	Concurrency int `json:"concurrency"`
	Sources     int `json:"sources"`
	// Attempted counts started handshakes; Established those that ended
	// with the IKE SA and its child SA up; Failed the rest, by reason.
	Attempted   int            `json:"attempted"`
	Established int            `json:"established"`
	Failed      int            `json:"failed"`
	Failures    map[string]int `json:"failures,omitempty"`
	// ChildRefused counts IKE SAs that came up without their child SA
	// (also counted in Failed).
	ChildRefused int `json:"child_refused,omitempty"`
	// Seconds is the wall-clock time from the first handshake started to
	// the last one finished; Rate is Established / Seconds.
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"handshakes_per_second"`
	// Latency of the established handshakes, from the first IKE_SA_INIT
	// sent to the IKE_AUTH response checked, in milliseconds.
	Latency Percentiles `json:"latency_ms"`
	// Held is the number of SAs kept open after the run (--hold).
	Held int `json:"held"`
}

// Percentiles summarise a latency distribution, in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func runLoad(args []string, stdout, stderr io.Writer) int {
	var o loadOptions
	fs := flag.NewFlagSet("initiator load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "", "responder `address` (port 500 unless given as addr:port)")
	fs.StringVar(&o.profileName, "profile", "windows10-default", "client `profile` when no --proposal is given")
	fs.StringVar(&o.proposal, "proposal", "", "plain client offering these IKE `proposals` (strongSwan syntax)")
	fs.StringVar(&o.esp, "esp", "aes128gcm16,aes128-sha256", "ESP `proposals` with --proposal")
	fs.StringVar(&o.cert, "cert", "", "client certificate `PEM` (chain)")
	fs.StringVar(&o.key, "key", "", "private key `PEM`")
	fs.StringVar(&o.pfx, "pfx", "", "client certificate and key as a .pfx `file`")
	fs.StringVar(&o.pfxPassword, "pfx-password", "", "`password` of the .pfx")
	fs.StringVar(&o.psk, "psk", "", "pre-shared `key` instead of a certificate")
	fs.StringVar(&o.id, "id", "", "IDi: dn (default with a certificate), fqdn:NAME, email:ADDR, ip:ADDR")
	fs.StringVar(&o.ca, "ca", "", "root CA `PEM` the responder's certificate must chain to (default: any, lab only)")
	fs.StringVar(&o.sources, "sources", "", "local `addresses` to spread the handshakes over: comma-separated addresses and prefixes (every host of a prefix; they must be configured on an interface); default: the routing table's choice")
	fs.IntVar(&o.handshakes, "handshakes", 1000, "how many handshakes to start in all")
	fs.IntVar(&o.concurrency, "concurrency", 64, "how many handshakes to keep in flight")
	fs.DurationVar(&o.duration, "duration", 0, "start no handshake after this `long` (0: no limit)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on one handshake after this `long`")
	fs.DurationVar(&o.retransmit, "retransmit", 2*time.Second, "first retransmission `timeout`, doubled on each of 3 retries")
	fs.DurationVar(&o.hold, "hold", 0, "keep the established SAs this `long` after the run (a SIGINT or SIGTERM ends it early), then delete them")
	fs.BoolVar(&o.noDelete, "no-delete", false, "leave the SAs to the responder at the end instead of deleting them")
	fs.StringVar(&o.report, "report", "", "also write the JSON report to this `file` once the run is over (before --hold)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines on standard error")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the run (not the hold) to `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.server == "" || o.handshakes <= 0 || o.concurrency <= 0 {
		fmt.Fprintln(stderr, "initiator load: --server is required; --handshakes and --concurrency must be positive")
		fs.Usage()
		return 2
	}
	l, err := newLoad(o)
	if err != nil {
		fmt.Fprintf(stderr, "initiator load: %v\n", err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// A signal during the run stops new handshakes; during the hold
		// it ends the hold (see below). A second one kills, as the
		// deletes at the end may take long.
		select {
		case <-sig:
			signal.Stop(sig)
			cancel()
		case <-ctx.Done():
		}
	}()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "initiator load: --cpuprofile: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "initiator load: --cpuprofile: %v\n", err)
			return 2
		}
	}
	rep := l.run(ctx, stderr)
	pprof.StopCPUProfile()
	if o.report != "" {
		if err := writeReport(o.report, rep); err != nil {
			fmt.Fprintf(stderr, "initiator load: %v\n", err)
			return 2
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printLoadReport(stdout, rep)
	}
	if o.hold > 0 && ctx.Err() == nil && len(l.sessions) > 0 {
		if !o.quiet {
			fmt.Fprintf(stderr, "initiator load: holding %d SAs for %v\n", len(l.sessions), o.hold)
		}
		select {
		case <-time.After(o.hold):
		case <-ctx.Done():
		}
	}
	l.finish(o.noDelete, stderr)
	if rep.Failed > 0 || rep.Established == 0 {
		return 1
	}
	return 0
}

// load is one run: the shared initiator configuration and what came of it.
type load struct {
	o       loadOptions
	cfg     ike.InitiatorConfig
	remote  netip.AddrPort
	sources []netip.Addr

	mu        sync.Mutex
	sessions  []held
	latencies []time.Duration
	failures  map[string]int
	refused   int
	proposal  string
	esp       string
}

// held is an established SA kept until the end of the run.
type held struct {
	s    *ike.Session
	conn *ike.UDPClient
}

func newLoad(o loadOptions) (*load, error) {
	prof, err := chooseProfile(o.options)
	if err != nil {
		return nil, err
	}
	ikeProps, espProps, err := prof.Proposals()
	if err != nil {
		return nil, err
	}
	remote, err := parseServer(o.server)
	if err != nil {
		return nil, err
	}
	sources, err := parseSources(o.sources)
	if err != nil {
		return nil, err
	}
	cfg := ike.InitiatorConfig{
		IKE: ikeProps, ESP: espProps, VendorIDs: prof.VendorIDs, Fragmentation: prof.Fragmentation,
		FragmentSize: prof.FragmentSize, NonceLen: prof.NonceLen, MOBIKE: prof.MOBIKE,
		SignatureHashes: prof.SignatureHashes, CPRequest: prof.CPRequest,
		// No INITIAL_CONTACT: every SA of the run shares one identity,
		// and the notification would ask the responder to delete the
		// others (RFC 7296, Section 2.4).
		InitialContact: false,
		Timeout:        o.retransmit,
		Log:            slog.New(slog.DiscardHandler),
	}
	if err := credentials(o.options, &cfg); err != nil {
		return nil, err
	}
	return &load{o: o, cfg: cfg, remote: remote, sources: sources, failures: map[string]int{}}, nil
}

// parseSources expands "198.18.0.1,198.18.1.0/24" into addresses: a prefix
// gives every host address in it (not the IPv4 network and broadcast
// addresses).
func parseSources(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, a)
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--sources: %q is neither an address nor a prefix", f)
		}
		p = p.Masked()
		if p.Addr().Is4() && p.Bits() < 16 || p.Addr().Is6() && p.Bits() < 112 {
			return nil, fmt.Errorf("--sources: %s holds more than 65,536 addresses", p)
		}
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			if p.Addr().Is4() && p.Bits() < 31 && (a == p.Addr() || !p.Contains(a.Next())) {
				continue // network and broadcast address
			}
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []netip.Addr{{}}
	}
	return out, nil
}

// run starts the handshakes, at most o.concurrency at a time, until
// o.handshakes were started, o.duration passed or ctx is cancelled.
func (l *load) run(ctx context.Context, progress io.Writer) *LoadReport {
	var next, done, failed atomic.Int64
	var deadline time.Time
	if l.o.duration > 0 {
		deadline = time.Now().Add(l.o.duration)
	}
	start := time.Now()
	stopProgress := make(chan struct{})
	if !l.o.quiet {
		go func() {
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					d, f := done.Load(), failed.Load()
					fmt.Fprintf(progress, "initiator load: %d established, %d failed, %.0f/s\n",
						d, f, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for range min(l.o.concurrency, l.o.handshakes) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				i := next.Add(1) - 1
				if i >= int64(l.o.handshakes) {
					return
				}
				if l.one(ctx, l.sources[int(i)%len(l.sources)]) {
					done.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	elapsed := time.Since(start)
	return l.report(int(min(next.Load(), int64(l.o.handshakes))), elapsed)
}

// one runs one handshake from source and records it.
func (l *load) one(ctx context.Context, source netip.Addr) bool {
	started := time.Now()
	conn, err := ike.DialUDP(source, 0, 0, l.remote)
	if err != nil {
		l.fail(err)
		return false
	}
	cfg := l.cfg
	if cfg.ID == nil {
		local, _ := conn.Addrs()
		cfg.ID = addrID(local.Addr())
	}
	hctx, cancel := context.WithTimeout(ctx, l.o.timeout)
	s, err := ike.Connect(hctx, cfg, conn)
	cancel()
	if err != nil {
		conn.Close()
		l.fail(err)
		return false
	}
	took := time.Since(started)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sessions = append(l.sessions, held{s: s, conn: conn})
	if s.Result.ESP == nil {
		// The IKE SA is up but the handshake did not do what it was
		// asked: the child SA is part of it.
		l.refused++
		l.failures["child SA refused: "+s.Result.ChildRefused.String()]++
		return false
	}
	l.latencies = append(l.latencies, took)
	if l.proposal == "" {
		l.proposal, l.esp = s.Result.IKE.String(), s.Result.ESP.String()
	}
	return true
}

func (l *load) fail(err error) {
	reason := err.Error()
	var re *ike.RefusedError
	switch {
	case errors.As(err, &re):
		reason = fmt.Sprintf("refused in %s with %s", re.Exchange, re.Notify)
	case errors.Is(err, context.DeadlineExceeded):
		reason = "timed out"
	case errors.Is(err, context.Canceled):
		reason = "cancelled"
	}
	l.mu.Lock()
	l.failures[reason]++
	l.mu.Unlock()
}

func (l *load) report(attempted int, elapsed time.Duration) *LoadReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := &LoadReport{Server: l.remote.String(), Proposal: l.proposal, ESP: l.esp, Concurrency: l.o.concurrency,
		Sources: len(l.sources), Attempted: attempted, Established: len(l.latencies),
		ChildRefused: l.refused, Seconds: elapsed.Seconds(), Held: len(l.sessions)}
	for _, n := range l.failures {
		r.Failed += n
	}
	if r.Failed > 0 {
		r.Failures = maps.Clone(l.failures)
	}
	if elapsed > 0 {
		r.Rate = float64(r.Established) / elapsed.Seconds()
	}
	r.Latency = percentiles(l.latencies)
	if l.o.hold == 0 {
		r.Held = 0
	}
	return r
}

// percentiles uses the nearest-rank method on a sorted copy.
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Percentiles{P50: ms(rank(50)), P90: ms(rank(90)), P99: ms(rank(99)), Max: ms(s[len(s)-1]),
		Mean: ms(sum / time.Duration(len(s)))}
}

// finish deletes the SAs (unless told not to), o.concurrency at a time,
// and closes their sockets.
func (l *load) finish(noDelete bool, stderr io.Writer) {
	l.mu.Lock()
	all := l.sessions
	l.sessions = nil
	l.mu.Unlock()
	if noDelete {
		for _, h := range all {
			h.conn.Close()
		}
		return
	}
	work := make(chan held)
	var wg sync.WaitGroup
	var errs atomic.Int64
	for range min(l.o.concurrency, len(all)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := h.s.Delete(ctx); err != nil {
					errs.Add(1)
				}
				cancel()
				h.conn.Close()
			}
		}()
	}
	for _, h := range all {
		work <- h
	}
	close(work)
	wg.Wait()
	if n := errs.Load(); n > 0 {
		fmt.Fprintf(stderr, "initiator load: %d of %d deletes got no answer\n", n, len(all))
	}
}

// writeReport writes the report atomically, so that a watcher never reads
// half of it.
func writeReport(path string, r *LoadReport) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func printLoadReport(w io.Writer, r *LoadReport) {
	fmt.Fprintf(w, "%d of %d handshakes established with %s in %.2f s: %.1f handshakes/s (%d in flight, %d source addresses)\n",
		r.Established, r.Attempted, r.Server, r.Seconds, r.Rate, r.Concurrency, r.Sources)
	if r.Proposal != "" {
		fmt.Fprintf(w, "  IKE %s, ESP %s\n", r.Proposal, r.ESP)
	}
	fmt.Fprintf(w, "  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Mean)
	if r.Failed > 0 {
		fmt.Fprintf(w, "  %d failed:\n", r.Failed)
		for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
			fmt.Fprintf(w, "    %6d  %s\n", r.Failures[k], k)
		}
	}
}

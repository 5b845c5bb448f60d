// Command vmresponder is the ikelab responder as the interop/vm tests run
// it inside a QEMU guest: the IKE engine with the kernel XFRM installer, a
// pre-shared key and a virtual IP pool, plus a small HTTP control server
// through which the test on the host reads the guest kernel's view (ip
// xfrm, the installer's counters and expire events) and drives crash and
// shutdown. It is a test fixture, built statically and run only inside the
// throwaway guest: the control server executes what it is asked to.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/sa"
	"github.com/ikelab/ikelab/xfrm"
)

func main() {
	listen := flag.String("listen", "0.0.0.0", "IKE listen `address`")
	control := flag.String("control", "0.0.0.0:8080", "control server `address`")
	psk := flag.String("psk", "", "pre-shared `key`")
	pool4 := flag.String("pool4", "10.99.200.0/24", "virtual IPv4 `pool`")
	localTS := flag.String("local-ts", "10.99.1.0/24", "responder-side traffic selector `prefix`")
	mode := flag.String("xfrm", "required", "kernel installer `mode`: off, auto or required")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := run(log, *listen, *control, *psk, *pool4, *localTS, *mode); err != nil {
		log.Error(err.Error())
		fmt.Fprintln(os.Stderr, "vmresponder: "+err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger, listen, control, psk, pool4, localTS, modeName string) error {
	mode, err := xfrm.ParseMode(modeName)
	if err != nil {
		return err
	}
	x, err := xfrm.Start(mode, xfrm.Options{Log: log})
	if err != nil {
		return err
	}
	var inst sa.Installer = sa.NewMemory()
	if x != nil {
		inst = x
	}
	lt := &lifetimes{Installer: inst}
	pol, err := policy.FromConfig(policyConfig)
	if err != nil {
		return err
	}
	cfg := ike.Config{
		Policy: pol, PSK: []byte(psk), Installer: lt, Log: log,
		Pool4: netip.MustParsePrefix(pool4), LocalTS: []netip.Prefix{netip.MustParsePrefix(localTS)},
	}
	udp, err := ike.ListenUDP([]netip.Addr{netip.MustParseAddr(listen)}, 0, 0)
	if err != nil {
		return err
	}
	eng, err := ike.NewEngine(cfg, udp)
	if err != nil {
		return err
	}
	udp.Serve(eng)
	s := &server{log: log, x: x, eng: eng, udp: udp, lt: lt}
	if x != nil {
		go s.forwardExpires()
	}
	srv := &http.Server{Addr: control, Handler: s.mux()}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control server: " + err.Error())
		}
	}()
	log.Info(fmt.Sprintf("vmresponder ready: IKE on %s, control on %s, xfrm %s", listen, control, mode))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.stop()
	return nil
}

// policyConfig is the built-in recommended policy with extended sequence
// numbers accepted as well (RFC 4303, Section 2.2.1; without ESN
// preferred), so that the tests can have ESN states installed.
var policyConfig = policy.Config{
	IKE: []string{"aes128-sha256-modp2048", "aes256-sha256-modp2048", "aes128gcm16-prfsha256-ecp256", "aes256gcm16-prfsha384-ecp384"},
	ESP: []string{
		"aes128-sha256-modp2048-ecp256-ecp384-noesn-esn",
		"aes128gcm16-ecp256-ecp384-modp2048-noesn-esn",
		"aes256gcm16-ecp384-ecp256-modp2048-noesn-esn",
	},
}

// lifetimes lets the test give the next child SAs short kernel lifetimes,
// so that the kernel's own expiry can be watched.
type lifetimes struct {
	sa.Installer
	mu         sync.Mutex
	soft, hard time.Duration
	count      int
}

func (l *lifetimes) Install(c *sa.Child) error {
	l.mu.Lock()
	if l.count > 0 {
		l.count--
		c.SoftLife, c.HardLife = l.soft, l.hard
	}
	l.mu.Unlock()
	return l.Installer.Install(c)
}

type server struct {
	log *slog.Logger
	x   *xfrm.Installer
	eng *ike.Engine
	udp *ike.UDP
	lt  *lifetimes

	mu      sync.Mutex
	expires []xfrm.Expire
	stopped bool
}

// forwardExpires hands the kernel's expire events to the engine, as the
// daemon does, and keeps them for the test.
func (s *server) forwardExpires() {
	for e := range s.x.Expires() {
		s.mu.Lock()
		s.expires = append(s.expires, e)
		s.mu.Unlock()
		s.eng.ChildExpired(e.SPIIn, e.Hard)
	}
}

// stop is the daemon's shutdown: delete every IKE SA (telling the peers),
// then remove whatever is left of ours from the kernel.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.eng.Close()
	s.udp.Close()
	if s.x != nil {
		if err := s.x.Close(); err != nil {
			s.log.Error("xfrm close: " + err.Error())
		}
	}
}

func writeJSON(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *server) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	m.HandleFunc("GET /counters", func(w http.ResponseWriter, r *http.Request) {
		if s.x == nil {
			writeJSON(w, nil, errors.New("no kernel installer"))
			return
		}
		if v := r.FormValue("spi"); v != "" {
			spi, err := strconv.ParseUint(v, 16, 32)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			c, err := s.x.Counters(uint32(spi))
			writeJSON(w, c, err)
			return
		}
		cs, err := s.x.AllCounters()
		writeJSON(w, cs, err)
	})
	m.HandleFunc("GET /expires", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		e := append([]xfrm.Expire{}, s.expires...)
		s.mu.Unlock()
		writeJSON(w, e, nil)
	})
	m.HandleFunc("GET /sas", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.eng.SAs(), nil) })
	m.HandleFunc("POST /lifetime", func(w http.ResponseWriter, r *http.Request) {
		soft, err1 := time.ParseDuration(r.FormValue("soft"))
		hard, err2 := time.ParseDuration(r.FormValue("hard"))
		if err := errors.Join(err1, err2); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.lt.mu.Lock()
		s.lt.soft, s.lt.hard, s.lt.count = soft, hard, 1
		s.lt.mu.Unlock()
		fmt.Fprintln(w, "ok")
	})
	m.HandleFunc("POST /exec", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Argv []string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Argv) == 0 {
			http.Error(w, "want {\"Argv\": [...]}", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, req.Argv[0], req.Argv[1:]...).CombinedOutput()
		res := struct {
			Output string
			Error  string
		}{Output: string(out)}
		if err != nil {
			res.Error = err.Error()
		}
		writeJSON(w, res, nil)
	})
	m.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		s.stop()
		fmt.Fprintln(w, "stopped")
	})
	m.HandleFunc("POST /crash", func(w http.ResponseWriter, r *http.Request) {
		// A crash leaves everything in the kernel: no cleanup, no deletes.
		fmt.Fprintln(w, "crashing")
		w.(http.Flusher).Flush()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
	m.HandleFunc("POST /exit", func(w http.ResponseWriter, r *http.Request) {
		s.stop()
		fmt.Fprintln(w, "exiting")
		w.(http.Flusher).Flush()
		go func() {
			time.Sleep(100 * time.Millisecond)
			os.Exit(0)
		}()
	})
	return m
}

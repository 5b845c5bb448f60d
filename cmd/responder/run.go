package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	rdebug "runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/internal/textlog"
	"github.com/ikelab/ikelab/internal/writebehind"
	"github.com/ikelab/ikelab/xfrm"
)

// labConfig is the built-in lab default, written next to the lab PKI on
// first run so that the admin can read and change it.
const labConfig = `# ikelab responder: built-in lab default (edit freely; "responder check" validates)
listen: 0.0.0.0
policy:
  builtin: recommended
identity:
  certificate: rsa/server.pem
  key: rsa/server.key
trust:
  root_ca_files: [rsa/root.pem, ecdsa/root.pem]
  crl:
    mode: require
    files: [rsa/root.crl, rsa/intermediate.crl, ecdsa/root.crl, ecdsa/intermediate.crl]
pool4: 10.99.0.0/24
dns: [10.99.0.1]
audit: "-"
`

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` (default: the lab default in --lab-dir)")
	labDir := fs.String("lab-dir", "ikelab-lab", "`directory` of the lab PKI and default config, created on first run")
	debug := fs.Bool("debug", false, "log every packet")
	control := fs.String("control", defaultControl, "control socket `path` for responder sas/rekey (\"\" for none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" {
		p, err := ensureLab(*labDir, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "responder: %v\n", err)
			return 1
		}
		*cfgPath = p
	}
	c, lines, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	// Log lines and audit records are written behind the engine, in
	// batches (internal/writebehind); everything after this point writes
	// to stderr through the same buffer, so lines keep their order, and
	// the buffer is written out when runRun returns.
	logOut := writebehind.New(stderr, 0)
	defer logOut.Close()
	stderr = logOut
	level, _ := c.logLevel() // a bad level is refused by build below
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(textlog.NewHandler(stderr, &slog.HandlerOptions{Level: level}))
	ec, listen, errs := c.build(*cfgPath, lines, log)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		return 1
	}
	closers, err := c.outputs(ec, stdout, log)
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i].Close()
		}
	}()
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	// The kernel installer: a clear refusal when xfrm: required and the
	// kernel cannot do ESP, a warning and negotiate-only under auto.
	if _, set := os.LookupEnv("GOGC"); !set {
		rdebug.SetGCPercent(c.gcPercent())
	}
	mode, _ := xfrm.ParseMode(c.XFRM)
	x, err := xfrm.Start(mode, xfrm.Options{Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	if x != nil {
		ec.Installer = x
		defer x.Close()
	}
	udp, err := ike.ListenUDP(listen, c.Port, c.NATTPort)
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	eng, err := ike.NewEngine(*ec, udp)
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	if *control != "" {
		// Without the socket the responder still serves IKE; only
		// `responder sas` and `rekey` cannot reach it.
		if ln, err := listenControl(*control); err != nil {
			log.Warn(fmt.Sprintf("no control socket: %v", err))
		} else {
			defer ln.Close()
			go serveControl(ln, eng, x, log)
		}
	}
	stopProfile, err := startCPUProfile(os.Getenv("IKELAB_CPUPROFILE"))
	if err != nil {
		log.Warn(fmt.Sprintf("no CPU profile: %v", err))
	}
	defer stopProfile()
	if x != nil {
		// Kernel lifetimes: soft expiry rekeys, hard expiry deletes.
		go func() {
			for e := range x.Expires() {
				eng.ChildExpired(e.SPIIn, e.Hard)
			}
		}()
	}
	log.Info(fmt.Sprintf("responder listening on %s (policy %s), config %s", listen, ec.Policy.Name, *cfgPath))
	udp.Serve(eng)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	for s := range sig {
		if s != syscall.SIGHUP {
			break
		}
		// SIGHUP re-reads the CRL files and directory, without a restart.
		if ec.Trust == nil {
			continue
		}
		if err := ec.Trust.Reload(); err != nil {
			log.Warn(fmt.Sprintf("CRL reload failed, keeping the CRLs loaded before: %v", err))
		} else {
			log.Info("CRLs reloaded")
		}
	}
	stopProfile() // the profile covers serving, not the deletes below
	if err := writeHeapProfile(os.Getenv("IKELAB_MEMPROFILE")); err != nil {
		log.Warn(fmt.Sprintf("no heap profile: %v", err))
	}
	log.Info("shutting down: deleting IKE SAs")
	eng.Close()
	udp.Close()
	return 0
}

// outputs opens the audit and key export files named by the config. The
// caller closes the closers last to first. Audit records are written
// behind the engine like log lines; exported keys are written at once, for
// a Wireshark reading the file live.
func (c *Config) outputs(ec *ike.Config, stdout io.Writer, log *slog.Logger) ([]io.Closer, error) {
	var closers []io.Closer
	open := func(p string) (io.Writer, error) {
		if p == "-" {
			return stdout, nil
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		closers = append(closers, f)
		return f, nil
	}
	audit := c.Audit
	if audit == "" {
		audit = "-"
	}
	w, err := open(audit)
	if err != nil {
		return closers, err
	}
	aw := writebehind.New(w, 0)
	closers = append(closers, aw)
	ec.Audit = ike.JSONAuditor(aw)
	if p := c.KeyExport.IKEv2; p != "" {
		if ec.KeyLog, err = open(p); err != nil {
			return closers, err
		}
		log.Warn("KEY EXPORT IS ON: IKE keys are written to " + p + "; anyone who reads it can decrypt this traffic")
	}
	if p := c.KeyExport.ESP; p != "" {
		if ec.ESPKeyLog, err = open(p); err != nil {
			return closers, err
		}
		log.Warn("KEY EXPORT IS ON: ESP keys are written to " + p)
	}
	return closers, nil
}

// ensureLab creates the lab on first run (see initLab) and returns the
// path of its config.
func ensureLab(dir string, out io.Writer) (string, error) {
	return initLab(labOptions(dir), out)
}

// startCPUProfile writes a pprof CPU profile to path (the environment's
// IKELAB_CPUPROFILE; performance work, see docs/performance.md) until
// stop is called; stop may be called more than once. An empty path
// profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}, err
	}
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		f.Close()
	}), nil
}

// writeHeapProfile writes a pprof heap profile, after a garbage
// collection, to path (the environment's IKELAB_MEMPROFILE): taken at
// shutdown before the SAs are deleted, it shows what the established SAs
// hold. An empty path writes nothing.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

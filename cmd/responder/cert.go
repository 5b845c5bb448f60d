package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
	"github.com/ikelab/ikelab/internal/pemfile"
)

// runCert checks certificates against the configured trust policy offline,
// with the same checks and explanation the responder gives in IKE_AUTH.
func runCert(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: responder cert check --config FILE CERT.pem [INTERMEDIATE.pem ...]")
		return 2
	}
	fs := flag.NewFlagSet("cert check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` whose trust section applies")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on CRL and OCSP fetches")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *cfgPath == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: responder cert check --config FILE CERT.pem [INTERMEDIATE.pem ...]")
		return 2
	}
	c, lines, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tp := c.trustPolicy(*cfgPath)
	if len(tp.RootCAFiles) == 0 {
		fmt.Fprintf(stderr, "%s: trust.root_ca_files is empty: nothing can be accepted\n", configError{file: *cfgPath, line: lines["trust"]}.file)
		return 1
	}
	v, err := trust.NewVerifier(tp)
	if err != nil {
		fmt.Fprintln(stderr, configError{file: *cfgPath, line: lines["trust"], msg: "trust: " + err.Error()})
		return 1
	}
	defer v.Close()
	var certs [][]byte
	for _, p := range fs.Args() {
		der, err := pemfile.Chain(p)
		if err != nil {
			if raw, rerr := os.ReadFile(p); rerr == nil && len(raw) > 0 && raw[0] == 0x30 {
				der = [][]byte{raw} // DER, as Windows exports .cer
			} else {
				fmt.Fprintf(stderr, "responder: %v\n", err)
				return 1
			}
		}
		certs = append(certs, der...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	d := v.Verify(ctx, certs[0], certs[1:])
	fmt.Fprint(stdout, d.String())
	if !d.Accepted {
		return 1
	}
	return 0
}

package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
)

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` to check")
	if err := fs.Parse(args); err != nil || *cfgPath == "" {
		fmt.Fprintln(stderr, "usage: responder check --config FILE")
		return 2
	}
	c, lines, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ec, _, errs := c.build(*cfgPath, lines, slog.New(slog.DiscardHandler))
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if len(errs) > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (policy %s)\n", *cfgPath, ec.Policy.Name)
	for _, p := range ec.Policy.IKE {
		fmt.Fprintf(stdout, "  IKE proposal %s\n", p)
	}
	for _, p := range ec.Policy.ESP {
		fmt.Fprintf(stdout, "  ESP proposal %s\n", p)
	}
	return 0
}

// Command responder is ikelab's IKEv2 responder: a lab stand-in for a
// Windows RRAS server with strict, explicit policy, plus the tools around
// it (capture decoding, lab PKI, configuration checks).
//
// Usage:
//
//	responder decode [-v] [--keys FILE] CAPTURE
//
// Run "responder help" for every subcommand.
package main

import (
	"fmt"
	"io"
	"os"
)

type command struct {
	name, usage string
	run         func(args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"run", "run [--config FILE] [--lab-dir DIR] [--debug]\n\tserve IKEv2; without --config, on the built-in lab default (lab PKI created on first run)", runRun},
		{"lab", "lab init --dir DIR [--server-name NAME] [--server-ip IP] [--crl-url URL]\n\tcreate the lab PKI, a default config and the Windows client setup script", runLab},
		{"cert", "cert check --config FILE CERT [INTERMEDIATE ...]\n\tcheck a peer certificate offline against the trust policy, explaining every check", runCert},
		{"sas", "sas [--control PATH] [--json]\n\tlist the running responder's IKE and child SAs", runSAs},
		{"rekey", "rekey [--control PATH] --child SPI | --ike SPI\n\tstart a rekey now, as a lifetime would", runRekey},
		{"policy", "policy export [--config FILE | --builtin NAME] [--format powershell|profilexml]\n\tprint the Windows client settings that match the policy", runPolicy},
		{"eap", "eap hash < PASSWORD\n\tprint the NT hash to put in eap.users", runEAP},
		{"check", "check --config FILE\n\tvalidate a configuration file, reporting every error with its line", runCheck},
		{"decode", "decode [-v] [--keys ikev2_decryption_table] CAPTURE.pcap(ng)\n\tlist the IKEv2 messages of a capture, decrypting them when keys are given", runDecode},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: responder COMMAND [options]")
	for _, c := range commands {
		fmt.Fprintf(w, "  responder %s\n", c.usage)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "responder: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

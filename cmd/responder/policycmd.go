package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ikelab/ikelab/ike/policy"
)

// runPolicy prints the client-side settings that match the configured
// policy: the Set-VpnConnectionIPsecConfiguration line or the ProfileXML
// CryptographySuite element.
func runPolicy(args []string, stdout, stderr io.Writer) int {
	usage := "usage: responder policy export [--config FILE | --builtin NAME] [--format powershell|profilexml] [--name CONNECTION]"
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("policy export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` whose policy to export")
	builtin := fs.String("builtin", "", "export a built-in `policy` instead")
	format := fs.String("format", "powershell", "powershell or profilexml")
	name := fs.String("name", "ikelab", "VPN connection `name` for PowerShell")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var pol *policy.Policy
	var err error
	switch {
	case *builtin != "":
		pol, err = policy.Builtin(*builtin)
	case *cfgPath != "":
		var c *Config
		if c, _, err = loadConfig(*cfgPath); err == nil {
			pol, err = policy.FromConfig(c.Policy)
		}
	default:
		pol, err = policy.Builtin(policy.DefaultPolicy)
	}
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	var out string
	switch *format {
	case "powershell":
		out, err = pol.ExportPowerShell(*name)
	case "profilexml":
		out, err = pol.ExportProfileXML()
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "responder: policy %s: %v\n", pol.Name, err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}

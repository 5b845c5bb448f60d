package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ikelab/ikelab/ike/eap"
)

// runEAP prints the NT hash of a password read from standard input, for
// the eap.users section: the responder stores hashes, never passwords.
func runEAP(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "hash" {
		fmt.Fprintln(stderr, "usage: responder eap hash < password")
		return 2
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	h := eap.NTHash(strings.TrimRight(line, "\r\n"))
	fmt.Fprintf(stdout, "%x\n", h)
	return 0
}

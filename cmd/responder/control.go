package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ikelab/ikelab/ike"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/xfrm"
)

// defaultControl is where `responder run` listens for `responder sas` and
// `responder rekey`; a unix socket, so only local users with access to it
// can look at or act on SAs.
const defaultControl = "/run/ikelab-responder.sock"

// controlRequest is one command on the control socket (one JSON object
// per connection).
type controlRequest struct {
	Cmd string `json:"cmd"` // "sas", "rekey-child", "rekey-ike"
	SPI string `json:"spi,omitempty"`
}

type controlResponse struct {
	SAs   []ike.Status `json:"sas,omitempty"`
	Error string       `json:"error,omitempty"`
}

// serveControl answers control requests until the listener closes.
func serveControl(ln net.Listener, e *ike.Engine, x *xfrm.Installer, log *slog.Logger) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var req controlRequest
			if err := json.NewDecoder(io.LimitReader(c, 4096)).Decode(&req); err != nil {
				json.NewEncoder(c).Encode(controlResponse{Error: "bad request: " + err.Error()})
				return
			}
			json.NewEncoder(c).Encode(handleControl(req, e, x, log))
		}()
	}
}

func handleControl(req controlRequest, e *ike.Engine, x *xfrm.Installer, log *slog.Logger) controlResponse {
	switch req.Cmd {
	case "sas":
		sas := e.SAs()
		if x != nil {
			addCounters(sas, x)
		}
		return controlResponse{SAs: sas}
	case "rekey-child":
		spi, err := strconv.ParseUint(strings.TrimSuffix(req.SPI, "_i"), 16, 32)
		if err != nil {
			return controlResponse{Error: "rekey-child wants the inbound SPI in hex"}
		}
		log.Info(fmt.Sprintf("control: rekey CHILD_SA %08x_i", spi))
		if err := e.RekeyChild(uint32(spi)); err != nil {
			return controlResponse{Error: err.Error()}
		}
		return controlResponse{}
	case "rekey-ike":
		b, err := hex.DecodeString(req.SPI)
		if err != nil || len(b) != 8 {
			return controlResponse{Error: "rekey-ike wants an 8-octet IKE SPI in hex"}
		}
		var spi wire.SPI
		copy(spi[:], b)
		log.Info(fmt.Sprintf("control: rekey IKE_SA %s", spi))
		if err := e.RekeyIKE(spi); err != nil {
			return controlResponse{Error: err.Error()}
		}
		return controlResponse{}
	}
	return controlResponse{Error: fmt.Sprintf("unknown command %q", req.Cmd)}
}

// addCounters fills in the kernel's byte and packet counters of each
// child SA (inbound state: SPIIn, outbound: SPIOut).
func addCounters(sas []ike.Status, x *xfrm.Installer) {
	for i := range sas {
		for j := range sas[i].Children {
			c := &sas[i].Children[j]
			if in, err := strconv.ParseUint(c.SPIIn, 16, 32); err == nil {
				if k, err := x.Counters(uint32(in)); err == nil {
					c.BytesIn, c.PacketsIn = k.Bytes, k.Packets
				}
			}
			if out, err := strconv.ParseUint(c.SPIOut, 16, 32); err == nil {
				if k, err := x.Counters(uint32(out)); err == nil {
					c.BytesOut, c.PacketsOut = k.Bytes, k.Packets
				}
			}
		}
	}
}

// listenControl opens the control socket, replacing a stale one.
func listenControl(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use: is another responder running?", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	os.Chmod(path, 0o600)
	return ln, nil
}

func askControl(path string, req controlRequest) (*controlResponse, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("is the responder running? %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	var resp controlResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// runSAs lists the responder's IKE and child SAs.
func runSAs(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ctl := fs.String("control", defaultControl, "control socket `path` of the running responder")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	resp, err := askControl(*ctl, controlRequest{Cmd: "sas"})
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(resp.SAs)
		return 0
	}
	w := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	for _, s := range resp.SAs {
		fmt.Fprintf(w, "IKE %s_i %s_r\t%s\t%s <-> %s\t%s\t%s\n", s.SPIi, s.SPIr, s.State, s.Local, s.Remote, s.PeerID, s.Proposal)
		for _, c := range s.Children {
			fmt.Fprintf(w, "  ESP %s_i %s_o\t%s\t%s %s\t%s === %s\t%d/%d bytes in/out\n", c.SPIIn, c.SPIOut, c.Mode, c.Encr, c.Integ,
				strings.Join(c.LocalTS, ","), strings.Join(c.RemoteTS, ","), c.BytesIn, c.BytesOut)
		}
	}
	w.Flush()
	if len(resp.SAs) == 0 {
		fmt.Fprintln(stdout, "no IKE SAs")
	}
	return 0
}

// runRekey asks the running responder to rekey an SA now.
func runRekey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ctl := fs.String("control", defaultControl, "control socket `path` of the running responder")
	child := fs.String("child", "", "inbound `SPI` (hex) of the child SA to rekey")
	ikeSPI := fs.String("ike", "", "`SPI` (hex, either side's) of the IKE SA to rekey")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	req := controlRequest{Cmd: "rekey-child", SPI: *child}
	if *ikeSPI != "" {
		req = controlRequest{Cmd: "rekey-ike", SPI: *ikeSPI}
	} else if *child == "" {
		fmt.Fprintln(stderr, "usage: responder rekey [--control PATH] --child SPI | --ike SPI")
		return 2
	}
	if _, err := askControl(*ctl, req); err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "rekey started")
	return 0
}

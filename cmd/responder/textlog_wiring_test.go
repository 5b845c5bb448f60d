package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunLogLineFormat runs the responder until it fails to bind its
// port, having logged the key-export warning on the way, and checks that
// the warning is byte for byte the line slog.TextHandler writes: the
// responder's log handler (internal/textlog) must not change the format
// that log readers and the interop scripts parse.
func TestRunLogLineFormat(t *testing.T) {
	dir := t.TempDir()
	cfgPath, err := ensureLab(filepath.Join(dir, "lab"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// Hold both ports so that the responder stops at ListenUDP.
	var ports []string
	for range 2 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		ports = append(ports, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
	}
	keys := filepath.Join(dir, "ikev2-keys.txt")
	edited := strings.Replace(string(cfg), "listen: 0.0.0.0\n", "listen: 127.0.0.1\nport: "+ports[0]+"\nnatt_port: "+ports[1]+
		"\nxfrm: off\nkey_export:\n  ikev2_decryption_table: "+keys+"\n", 1)
	if edited == string(cfg) {
		t.Fatalf("lab config has no listen line to replace:\n%s", cfg)
	}
	if err := os.WriteFile(cfgPath, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := runRun([]string{"--config", cfgPath, "--control", ""}, &stdout, &stderr); code != 1 {
		t.Fatalf("runRun = %d, want 1 (port in use); stderr:\n%s", code, stderr.String())
	}
	msg := "KEY EXPORT IS ON: IKE keys are written to " + keys + "; anyone who reads it can decrypt this traffic"
	var line string
	for l := range strings.Lines(stderr.String()) {
		if strings.Contains(l, "KEY EXPORT") {
			line = l
		}
	}
	ts, ok := strings.CutPrefix(line, "time=")
	ts, _, _ = strings.Cut(ts, " ")
	when, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil {
		t.Fatalf("no timed key-export line (%v) in stderr:\n%s", err, stderr.String())
	}
	var want bytes.Buffer
	slog.NewTextHandler(&want, nil).Handle(context.Background(), slog.NewRecord(when, slog.LevelWarn, msg, 0))
	if line != want.String() {
		t.Errorf("log line:\n got  %q\n want %q", line, want.String())
	}
	if !strings.Contains(stderr.String(), "responder: ") {
		t.Errorf("no bind error after the log line:\n%s", stderr.String())
	}
}

package capture

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/internal/corpus"
)

// findCorpus is corpus.Find.
func findCorpus() (dir, why string) { return corpus.Find() }

// corpusDir returns ../shared/corpus or skips the test.
func corpusDir(t *testing.T) string {
	t.Helper()
	return corpus.Dir(t)
}

// corpusCaptures returns the capture files under the corpus.
func corpusCaptures(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			for _, ext := range []string{".pcap", ".pcapng", ".cap", ".pcapng.gz"} {
				if strings.HasSuffix(path, ext) {
					out = append(out, path)
				}
			}
		}
		return nil
	})
	return out
}

// TestCorpusFramesMatchTshark checks that the reader finds IKE in exactly
// the frames where tshark's ISAKMP dissector does (IKEv1 and IKEv2, on 500
// and on 4500 after the non-ESP marker, IP fragments reassembled).
func TestCorpusFramesMatchTshark(t *testing.T) {
	dir := corpusDir(t)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH: the frame comparison needs it")
	}
	files := corpusCaptures(dir)
	if len(files) == 0 {
		t.Fatalf("no captures under %s", dir)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			dgs, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range dgs {
				got = append(got, strconv.Itoa(d.Frame))
			}
			cmd := exec.Command(tshark, "-n", "-r", path, "-Y", "isakmp", "-T", "fields", "-e", "frame.number")
			cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+t.TempDir())
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := strings.Fields(string(out))
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("IKE in frames\n %v\ntshark finds ISAKMP in\n %v", got, want)
			}
		})
	}
}

// TestWindowsIPFragments: the Windows client sends its 3468-octet IKE_AUTH
// as IP fragments on 4500, three times.
func TestWindowsIPFragments(t *testing.T) {
	dir := corpusDir(t)
	dgs, err := ReadFile(filepath.Join(dir, "zeek-spicy-ipsec", "ipsec_client.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var big int
	for _, d := range dgs {
		if d.NATT && len(d.Data) == 3468 {
			big++
			if d.Src.Port() != PortNATT || d.Dst.Port() != PortNATT || d.Src.Addr().String() != "192.168.0.10" {
				t.Errorf("frame %d: %s -> %s", d.Frame, d.Src, d.Dst)
			}
		}
	}
	if big != 3 {
		t.Errorf("%d reassembled 3468-octet IKE_AUTH messages, want 3 (original and two retransmissions)", big)
	}
}

// FuzzRead feeds arbitrary files to Read: no panic, and every datagram
// returned carries data.
func FuzzRead(f *testing.F) {
	add := func(path string) {
		if b, err := os.ReadFile(path); err == nil && len(b) <= 64<<10 { // small seeds mutate faster
			f.Add(b)
		}
	}
	add(filepath.Join("testdata", "aosp-ike-messages.pcap"))
	if dir, _ := findCorpus(); dir != "" {
		for _, p := range corpusCaptures(dir) {
			add(p)
		}
	}
	pkts := testPackets()
	f.Add(writePcap(f, pkts))
	f.Add(writePcapng(f, pkts))
	f.Add(gz(f, writePcap(f, pkts[:3])))
	f.Fuzz(func(t *testing.T, data []byte) {
		dgs, err := Read(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "capture: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		for _, d := range dgs {
			if len(d.Data) == 0 || d.Frame < 1 {
				t.Fatalf("frame %d: %d octets", d.Frame, len(d.Data))
			}
		}
	})
}

package wire

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/ike/capture"
)

// knownMalformed lists the corpus captures whose IKEv2 messages are crafted
// or fuzzed garbage (../shared/corpus/README.md): every IKEv2 message in
// them must be rejected. A frame of 0 means every frame of the file.
var knownMalformed = map[string]map[int]bool{
	"ndpi/ipsec_isakmp_esp.pcap":       {192: true},
	"tcpdump/ikev2-id-normal.pcap":     {0: true},
	"tcpdump/ikev2-id-short.pcap":      {0: true},
	"tcpdump/ikev2pI2-segfault.pcapng": {0: true},
}

func isKnownMalformed(rel string, frame int) bool {
	f := knownMalformed[filepath.ToSlash(rel)]
	return f[0] || f[frame]
}

// captureFiles returns the capture files under dir, relative to it.
func captureFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case strings.HasSuffix(path, ".pcap"), strings.HasSuffix(path, ".pcapng"),
			strings.HasSuffix(path, ".cap"), strings.HasSuffix(path, ".pcapng.gz"):
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// ikev2Datagrams returns the datagrams of a capture whose header says IKEv2.
func ikev2Datagrams(tb testing.TB, path string) []capture.Datagram {
	tb.Helper()
	dgs, err := capture.ReadFile(path)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	var out []capture.Datagram
	for _, d := range dgs {
		if h, err := ParseHeader(d.Data); err == nil && h.MajorVersion == 2 {
			out = append(out, d)
		}
	}
	return out
}

// TestCorpusRoundTrip decodes every IKEv2 message of every capture in the
// shared corpus and checks that it re-encodes to the same octets, that its
// summary and dump do not fail, and that the known-malformed ones are
// rejected with a typed error.
func TestCorpusRoundTrip(t *testing.T) {
	dir := corpusDir(t)
	files := captureFiles(t, dir)
	if len(files) == 0 {
		t.Fatalf("no captures under %s", dir)
	}
	seenMalformed := map[string]bool{}
	for _, rel := range files {
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			for _, d := range ikev2Datagrams(t, filepath.Join(dir, rel)) {
				m, err := ParseMessage(d.Data)
				if isKnownMalformed(rel, d.Frame) {
					seenMalformed[filepath.ToSlash(rel)] = true
					if err == nil {
						t.Errorf("frame %d: known-malformed message accepted: %s", d.Frame, m.Summary())
						continue
					}
					var se *SyntaxError
					if !errors.As(err, &se) {
						t.Errorf("frame %d: error %v (%T), want *SyntaxError", d.Frame, err, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("frame %d: %v", d.Frame, err)
					continue
				}
				out, err := m.Marshal()
				if err != nil {
					t.Errorf("frame %d: marshal: %v", d.Frame, err)
					continue
				}
				if !bytes.Equal(out, d.Data) {
					t.Errorf("frame %d (%s): re-encoded octets differ\n got %x\nwant %x", d.Frame, m.Summary(), out, d.Data)
				}
				if s := m.Summary(); !strings.HasPrefix(s, m.Header.Summary()+" [ ") || !strings.HasSuffix(s, " ]") {
					t.Errorf("frame %d: summary %q", d.Frame, s)
				}
				if dump := m.Dump(); strings.Count(dump, "\n") < 2+len(m.Payloads) {
					t.Errorf("frame %d: dump of %d lines for %d payloads", d.Frame, strings.Count(dump, "\n"), len(m.Payloads))
				}
			}
		})
	}
	for rel := range knownMalformed {
		if !seenMalformed[rel] {
			t.Errorf("%s: no known-malformed message seen (file missing or frame numbers changed?)", rel)
		}
	}
}

// TestAOSPCaptureRoundTrip runs the same check on the Apache-licensed AOSP
// messages kept in testdata, so that it runs without the shared corpus.
func TestAOSPCaptureRoundTrip(t *testing.T) {
	dgs := ikev2Datagrams(t, filepath.Join("testdata", "aosp", "aosp-ike-messages.pcap"))
	if len(dgs) != 67 { // aosp-ike-messages.tsv lists 67 frames
		t.Fatalf("%d IKEv2 messages, want the 67 of aosp-ike-messages.tsv", len(dgs))
	}
	kinds := map[string]int{}
	for _, d := range dgs {
		m := roundTrip(t, "frame", d.Data)
		kinds[m.Exchange.String()]++
		if m.Fragment() != nil {
			kinds["fragment"]++
		}
	}
	for _, k := range []string{"IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL", "fragment"} {
		if kinds[k] == 0 {
			t.Errorf("no %s message among the AOSP vectors: %v", k, kinds)
		}
	}
}

// TestWindowsCaptureSummaries checks the strongSwan-style summaries of the
// 2015 Windows client capture (zeek-spicy-ipsec/ipsec_client.pcap).
func TestWindowsCaptureSummaries(t *testing.T) {
	dir := corpusDir(t)
	dgs := ikev2Datagrams(t, filepath.Join(dir, "zeek-spicy-ipsec", "ipsec_client.pcap"))
	if len(dgs) == 0 {
		t.Fatal("no IKEv2 messages")
	}
	var lines []string
	for _, d := range dgs {
		m, err := ParseMessage(d.Data)
		if err != nil {
			t.Fatalf("frame %d: %v", d.Frame, err)
		}
		lines = append(lines, m.Summary())
	}
	if want := "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) V V V V ]"; lines[0] != want {
		t.Errorf("first message\n %q\nwant\n %q", lines[0], want)
	}
	m, _ := ParseMessage(dgs[0].Data)
	sa := m.Payloads[0].(*SA)
	if len(sa.Proposals) == 0 {
		t.Fatal("no proposals")
	}
	for _, pr := range sa.Proposals {
		if !strings.HasSuffix(pr.String(), "/MODP_1024") || pr.Protocol != ProtoIKE {
			t.Errorf("Windows proposal %s is not an IKE proposal with MODP_1024 alone", pr.String())
		}
	}
	var names []string
	for _, p := range m.Payloads {
		if v, ok := p.(*VendorID); ok {
			names = append(names, v.Name())
		}
	}
	want := []string{"MS NT5 ISAKMPOAKLEY v9", "MS-Negotiation Discovery Capable",
		"Microsoft Vid-Initial-Contact", "Microsoft (unnamed 01528bbb) v2"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("vendor IDs %q, want %q", names, want)
	}
	// The IKE_AUTH request is IP-fragmented (3468 octets), reassembled by
	// the capture reader, and carried on 4500 after the non-ESP marker.
	var auth int
	for i, d := range dgs {
		if strings.HasPrefix(lines[i], "IKE_AUTH request 1 [ E ]") {
			auth++
			if !d.NATT || len(d.Data) != 3468 {
				t.Errorf("frame %d: IKE_AUTH of %d octets, NAT-T %v; want 3468 on 4500", d.Frame, len(d.Data), d.NATT)
			}
		}
	}
	if auth == 0 {
		t.Errorf("no IKE_AUTH request among %q", lines)
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/internal/corpus"
)

// corpusDir returns ../shared/corpus or skips the test.
func corpusDir(t *testing.T) string {
	t.Helper()
	return corpus.Dir(t)
}

// decode runs "responder decode args..." and returns its output lines.
func decode(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"decode"}, args...), &out, &errb); code != 0 {
		t.Fatalf("decode %v: exit %d, stderr %q", args, code, errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("decode %v wrote to stderr: %q", args, errb.String())
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// A summary line: frame, addresses, SPIs, then the message's own words.
var (
	lineRE    = regexp.MustCompile(`^\s*(\d+)  (\S+) -> (\S+)  (.*)$`)
	ikev2RE   = regexp.MustCompile(`^[0-9a-f]{16}/[0-9a-f]{16}  \S+ (request|response) \d+ (\[ .*\]|malformed: wire: .+)`)
	ikev1RE   = regexp.MustCompile(`^[0-9a-f]{16}/[0-9a-f]{16}  IKEv1\.0 message \(exchange \d+\), not decoded$`)
	skLineRE  = regexp.MustCompile(` \[ (E|EF\(\d+/\d+\)) \]`)
	decodedRE = regexp.MustCompile(`\(decrypted, ICV ok\)$`)
)

type summary struct {
	frame     int
	rest      string
	ikev2     bool
	ikev1     bool
	malformed bool
}

// summaries parses the top-level lines (not the -v detail lines).
func summaries(t *testing.T, lines []string) []summary {
	t.Helper()
	var out []summary
	for _, l := range lines {
		m := lineRE.FindStringSubmatch(l)
		if m == nil {
			if !strings.HasPrefix(l, "       ") {
				t.Errorf("line %q is neither a summary nor a detail line", l)
			}
			continue
		}
		n, _ := strconv.Atoi(m[1])
		s := summary{frame: n, rest: m[4], ikev2: ikev2RE.MatchString(m[4]), ikev1: ikev1RE.MatchString(m[4])}
		s.malformed = s.ikev2 && strings.Contains(m[4], " malformed: ")
		if !s.ikev1 && !s.ikev2 && !strings.Contains(m[4], "not an IKE message") {
			t.Errorf("unrecognised summary %q", l)
		}
		out = append(out, s)
	}
	return out
}

// tsharkCount counts what tshark dissects as IKEv2.
func tsharkCount(t *testing.T, tshark, path string) int {
	t.Helper()
	cmd := exec.Command(tshark, "-n", "-r", path, "-Y", "isakmp.version == 0x20")
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	return bytes.Count(out, []byte("\n"))
}

// knownMalformed: the crafted or fuzzed captures of the corpus README;
// frame 0 means every IKEv2 frame.
var knownMalformed = map[string]map[int]bool{
	"ndpi/ipsec_isakmp_esp.pcap":       {192: true},
	"tcpdump/ikev2-id-normal.pcap":     {0: true},
	"tcpdump/ikev2-id-short.pcap":      {0: true},
	"tcpdump/ikev2pI2-segfault.pcapng": {0: true},
}

func captures(t *testing.T, dir string) []string {
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
	if len(out) == 0 {
		t.Fatalf("no captures under %s", dir)
	}
	return out
}

// TestDecodeCorpusCounts: one summary line per IKEv2 message, as many as
// tshark counts, malformed only where the corpus README says so.
func TestDecodeCorpusCounts(t *testing.T) {
	dir := corpusDir(t)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not on PATH: the IKEv2 counts are not compared with tshark's")
	}
	for _, path := range captures(t, dir) {
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			ss := summaries(t, decode(t, path))
			var v2, malformed int
			for _, s := range ss {
				if !s.ikev2 {
					continue
				}
				v2++
				bad := knownMalformed[rel][0] || knownMalformed[rel][s.frame]
				if s.malformed != bad {
					t.Errorf("frame %d: malformed %v, want %v: %s", s.frame, s.malformed, bad, s.rest)
				}
				if s.malformed {
					malformed++
				}
			}
			if knownMalformed[rel] != nil && malformed == 0 {
				t.Errorf("no malformed line in a capture the README marks malformed")
			}
			if tshark == "" {
				return
			}
			if want := tsharkCount(t, tshark, path); v2 != want {
				t.Errorf("%d IKEv2 summary lines, tshark counts %d", v2, want)
			}
		})
	}
}

func TestDecodeIKEv1(t *testing.T) {
	dir := corpusDir(t)
	ss := summaries(t, decode(t, filepath.Join(dir, "wireshark", "ikev1-certs.pcap")))
	if len(ss) != 10 {
		t.Fatalf("%d lines, want one per ISAKMP frame (10)", len(ss))
	}
	for _, s := range ss {
		if !s.ikev1 || s.ikev2 || strings.Contains(s.rest, "request") || strings.Contains(s.rest, "response") {
			t.Errorf("frame %d: %q is not reported as IKEv1", s.frame, s.rest)
		}
	}
}

func TestDecodeWindowsCapture(t *testing.T) {
	dir := corpusDir(t)
	lines := decode(t, filepath.Join(dir, "zeek-spicy-ipsec", "ipsec_client.pcap"))
	want := "    1  192.168.0.10:500 -> 144.76.154.114:500  238671c80375a0fb/0000000000000000  " +
		"IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) V V V V ]"
	if len(lines) == 0 || lines[0] != want {
		t.Fatalf("first line\n %q\nwant\n %q", lines, want)
	}
	v := strings.Join(decode(t, "-v", filepath.Join(dir, "zeek-spicy-ipsec", "ipsec_client.pcap")), "\n")
	for _, w := range []string{
		"V: MS NT5 ISAKMPOAKLEY v9 (1e2b516905991c7d7c96fcbfb587e46100000009)",
		"#1 IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
		"KE: MODP_1024, 128 octets",
	} {
		if !strings.Contains(v, w) {
			t.Errorf("-v output lacks %q", w)
		}
	}
}

// expectedAuth reads wireshark/expected-auth-data.tsv: capture -> AUTH data.
func expectedAuth(t *testing.T, dir string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "wireshark", "expected-auth-data.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, "\t")
		if strings.HasPrefix(l, "#") || len(f) < 7 {
			continue
		}
		out[f[0]] = append(out[f[0]], f[6])
	}
	return out
}

// TestDecodeWithKeys decrypts the Wireshark test captures with their key
// table: every SK payload decrypts with a good ICV, and the -v output holds
// the AUTH data Wireshark's test suite expects.
func TestDecodeWithKeys(t *testing.T) {
	dir := corpusDir(t)
	table := filepath.Join(dir, "wireshark", "ikev2_decryption_table")
	auth := expectedAuth(t, dir)
	for _, name := range []string{
		"ikev2-decrypt-3des-sha1_160.pcap",
		"ikev2-decrypt-aes192ctr.pcap",
		"ikev2-decrypt-aes256cbc.pcapng",
		"ikev2-decrypt-aes256gcm16.pcap",
		"ikev2-decrypt-aes256gcm8.pcap",
		"ikev2-decrypt-aes128ccm12.pcap",
		"ikev2-decrypt-aes256ccm16.pcapng",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "wireshark", name)
			var sk int
			for _, s := range summaries(t, decode(t, path)) {
				if skLineRE.MatchString(s.rest) {
					sk++
				}
			}
			if sk == 0 {
				t.Fatal("no SK payloads without keys")
			}
			var ok int
			for _, s := range summaries(t, decode(t, "--keys", table, path)) {
				if decodedRE.MatchString(s.rest) {
					ok++
				} else if strings.Contains(s.rest, "]  (") {
					t.Errorf("frame %d: %s", s.frame, s.rest)
				}
			}
			if ok != sk {
				t.Errorf("%d of %d SK payloads decrypted", ok, sk)
			}
			v := strings.Join(decode(t, "-v", "--keys", table, path), "\n")
			if len(auth[name]) != 2 {
				t.Fatalf("expected-auth-data.tsv has %d rows for %s", len(auth[name]), name)
			}
			for _, a := range auth[name] {
				if !strings.Contains(v, "AUTH: SHARED_KEY_MIC, 32 octets: "+a+"\n") {
					t.Errorf("-v output lacks AUTH data %s", a)
				}
			}
		})
	}
}

// TestDecodeNCPCapture decrypts the NCP client capture (AES-GCM, AES-CTR and
// AES-CBC SAs, all on 4500) with its own table: 24 SK payloads.
func TestDecodeNCPCapture(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "wireshark-wiki", "ikev2-esp-natt-aes-gcm-ctr-cbc")
	var ok int
	for _, s := range summaries(t, decode(t, "--keys", filepath.Join(dir, "ikev2_decryption_table"), filepath.Join(dir, "capture.pcapng"))) {
		if decodedRE.MatchString(s.rest) {
			ok++
		}
		if strings.Contains(s.rest, "IKE_AUTH response 1 [") && !strings.Contains(s.rest, "IDr CERT AUTH CPRP(") {
			t.Errorf("frame %d: %s", s.frame, s.rest)
		}
	}
	if ok != 24 {
		t.Errorf("%d SK payloads decrypted, the README says tshark decrypts 24", ok)
	}
}

// TestDecodeAES128CCM12Second documents what happens to the aes128ccm12-2
// capture: its table row says AES-CTR-128 with "ANY 96-bits of
// Authentication [No Checking]", which gives no integrity key, so decode
// declines to decrypt rather than print unauthenticated plaintext.
func TestDecodeAES128CCM12Second(t *testing.T) {
	dir := corpusDir(t)
	path := filepath.Join(dir, "wireshark", "ikev2-decrypt-aes128ccm12-2.pcap")
	var declined int
	for _, s := range summaries(t, decode(t, "--keys", filepath.Join(dir, "wireshark", "ikev2_decryption_table"), path)) {
		if strings.HasSuffix(s.rest, "[ E ]  (key table gives no integrity key)") {
			declined++
		} else if skLineRE.MatchString(s.rest) || strings.Contains(s.rest, "decrypted") {
			t.Errorf("frame %d: %s", s.frame, s.rest)
		}
	}
	if declined != 4 {
		t.Errorf("%d SK payloads declined, want all 4", declined)
	}
}

// TestDecodeTcpdumpSyntheticKeys: the keys derived from tcpdump's secrets
// file decrypt nothing, because its ICV does not verify (corpus README).
func TestDecodeTcpdumpSyntheticKeys(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "tcpdump")
	lines := decode(t, "--keys", filepath.Join(dir, "ikev2pI2.ikev2_decryption_table"), filepath.Join(dir, "ikev2pI2.pcap"))
	if len(lines) != 2 || !strings.Contains(lines[1], "IKE_AUTH request 0 [ E ]  (decryption failed: ") {
		t.Errorf("lines %q", lines)
	}
}

func TestDecodeNoKeysForSA(t *testing.T) {
	dir := corpusDir(t)
	keys := filepath.Join(t.TempDir(), "table")
	row := `0000000000000001,0000000000000002,00,01,"AES-CBC-128 [RFC3602]",02,03,"HMAC_SHA1_96 [RFC2404]"` + "\n"
	if err := os.WriteFile(keys, []byte(row), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range summaries(t, decode(t, "--keys", keys, filepath.Join(dir, "wireshark", "ikev2-decrypt-aes256gcm16.pcap"))) {
		if skLineRE.MatchString(s.rest) && !strings.HasSuffix(s.rest, "  (no keys for this IKE SA)") {
			t.Errorf("frame %d: %s", s.frame, s.rest)
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	tmp := t.TempDir()
	notCapture := filepath.Join(tmp, "notes.txt")
	os.WriteFile(notCapture, []byte("not a capture file\n"), 0o600)
	badKeys := filepath.Join(tmp, "keys")
	os.WriteFile(badKeys, []byte("1,2,3\n"), 0o600)
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"decode", filepath.Join(tmp, "missing.pcap")}, 1, "no such file"},
		{[]string{"decode", notCapture}, 1, "capture: "},
		{[]string{"decode", "--keys", filepath.Join(tmp, "missing"), notCapture}, 1, "no such file"},
		{[]string{"decode", "--keys", badKeys, notCapture}, 1, "wskeys: "},
		{[]string{"decode"}, 2, "usage: responder decode"},
		{[]string{"decode", "a", "b"}, 2, "usage: responder decode"},
		{[]string{"decode", "--bogus", "x"}, 2, "bogus"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"help"}, 0, ""},
		{nil, 0, ""},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.stderr)
		}
		if c.code == 0 && !strings.Contains(out.String(), "responder decode") {
			t.Errorf("run(%q): usage missing: %q", c.args, out.String())
		}
	}
}

// TestDecodeSyntheticCapture builds a capture in a temporary directory with
// an IKEv2 message, a malformed one, an IKEv1 one and a short datagram,
// and checks each line.
func TestDecodeSyntheticCapture(t *testing.T) {
	good, _ := hex.DecodeString("010203040506070800000000000000002920220800000000" + "00000024" + "00000008" + "00004000")
	bad := bytes.Clone(good)
	bad[len(bad)-5] = 9 // generic payload length 9 overruns the message
	v1 := bytes.Clone(good)
	v1[17] = 0x10
	path := writePcap(t, [][]byte{good, bad, v1, {1, 2, 3}})
	lines := decode(t, path)
	want := []string{
		"    1  192.0.2.1:500 -> 192.0.2.2:500  0102030405060708/0000000000000000  IKE_SA_INIT request 0 [ N(INIT_CONTACT) ]",
		"    2  192.0.2.1:500 -> 192.0.2.2:500  0102030405060708/0000000000000000  IKE_SA_INIT request 0 malformed: " +
			"wire: invalid syntax in N payload: payload length 9 exceeds the 8 octets left",
		"    3  192.0.2.1:500 -> 192.0.2.2:500  0102030405060708/0000000000000000  IKEv1.0 message (exchange 34), not decoded",
		"    4  192.0.2.1:500 -> 192.0.2.2:500  not an IKE message: wire: invalid syntax: header needs 28 octets, have 3",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("output\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// writePcap writes IKE datagrams as a classic pcap of Ethernet frames,
// 192.0.2.1:500 -> 192.0.2.2:500, into a temp file.
func writePcap(t *testing.T, msgs [][]byte) string {
	t.Helper()
	var b bytes.Buffer
	le := func(v uint32) { b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le(0xa1b2c3d4)
	b.Write([]byte{2, 0, 4, 0})
	le(0)
	le(0)
	le(65535)
	le(1) // LINKTYPE_ETHERNET
	for i, m := range msgs {
		udpLen := 8 + len(m)
		ip := []byte{0x45, 0, byte((20 + udpLen) >> 8), byte(20 + udpLen), 0, byte(i), 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
		udp := []byte{1, 244, 1, 244, byte(udpLen >> 8), byte(udpLen), 0, 0}
		eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0}
		pkt := append(append(append(eth, ip...), udp...), m...)
		le(uint32(1421748000 + i))
		le(0)
		le(uint32(len(pkt)))
		le(uint32(len(pkt)))
		b.Write(pkt)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%s.pcap", strings.ReplaceAll(t.Name(), "/", "_")))
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

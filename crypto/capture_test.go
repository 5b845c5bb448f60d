package crypto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/ikelab/ikelab/ike/wire"
)

// Real IKEv2 traffic recorded by others, opened with SKCipher from the keys
// in Wireshark's decryption tables: this is what `responder decode` relies
// on. The captures and tables are GPL and read from the shared corpus.

type ikeFrame struct {
	n   int // 1-based frame number, as tshark counts
	msg []byte
}

// readIKEFrames returns the IKE messages in a pcap or pcapng file: UDP 500
// payloads, and UDP 4500 payloads that start with the four-octet non-ESP
// marker (RFC 3948, Section 2.2), marker removed.
func readIKEFrames(t *testing.T, path string) []ikeFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var lt layers.LinkType
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		src, lt = r, r.LinkType()
	}
	var out []ikeFrame
	for n := 1; ; n++ {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, n, err)
		}
		udp, ok := gopacket.NewPacket(data, lt, gopacket.Default).Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue
		}
		p := udp.Payload
		switch {
		case udp.DstPort == 4500 || udp.SrcPort == 4500:
			if len(p) < 4 || !bytes.Equal(p[:4], []byte{0, 0, 0, 0}) {
				continue // ESP or a NAT-keepalive
			}
			p = p[4:]
		case udp.DstPort != 500 && udp.SrcPort != 500:
			continue
		}
		if len(p) >= 28 && p[17] == 0x20 { // IKEv2, RFC 7296 Section 3.1
			out = append(out, ikeFrame{n, p})
		}
	}
}

type keyRow struct {
	encr           wire.TransformID
	keyBits        int
	integ          wire.TransformID
	ei, er, ai, ar []byte
}

var (
	reAEAD = regexp.MustCompile(`^AES-(GCM|CCM)-(\d+) with (\d+) octet ICV`)
	reAES  = regexp.MustCompile(`^AES-(CBC|CTR)-(\d+) `)
)

// readKeyTable parses a Wireshark ikev2_decryption_table UAT file, keyed by
// SPIi | SPIr in hex.
func readKeyTable(t *testing.T, path string) map[string]keyRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]keyRow{}
	for _, rec := range recs {
		if len(rec) != 8 {
			t.Fatalf("%s: %d fields", path, len(rec))
		}
		row := keyRow{ei: mustHex(t, rec[2]), er: mustHex(t, rec[3]), ai: mustHex(t, rec[5]), ar: mustHex(t, rec[6])}
		switch e := rec[4]; {
		case strings.HasPrefix(e, "NULL"):
			continue
		case strings.HasPrefix(e, "3DES"):
			row.encr = wire.ENCR_3DES
		case reAEAD.MatchString(e):
			m := reAEAD.FindStringSubmatch(e)
			row.encr, _ = transformByName(wire.TransformENCR, "AES_"+m[1]+"_"+m[3])
			row.keyBits, _ = strconv.Atoi(m[2])
		case reAES.MatchString(e):
			m := reAES.FindStringSubmatch(e)
			row.encr, _ = transformByName(wire.TransformENCR, "AES_"+m[1])
			row.keyBits, _ = strconv.Atoi(m[2])
		default:
			t.Fatalf("%s: cipher %q", path, e)
		}
		switch i := rec[7]; {
		case strings.HasPrefix(i, "NONE"):
			row.integ = wire.AUTH_NONE
		case strings.HasPrefix(i, "ANY 96-bits"):
			// Wireshark's table decrypts ikev2-decrypt-aes128ccm12-2 as
			// AES-CTR without checking the ICV; the SA really is
			// AES-CCM-128 with a 12-octet ICV, and the 4 octets after the
			// key are the CCM counter flags (03) and the 3-octet salt
			// (corpus README, section 1). Open it as what it is.
			row.encr, row.integ = wire.ENCR_AES_CCM_12, wire.AUTH_NONE
			row.ei = append(row.ei[:16:16], row.ei[17:]...)
			row.er = append(row.er[:16:16], row.er[17:]...)
		default:
			id, ok := transformByName(wire.TransformINTEG, strings.Fields(i)[0])
			if !ok {
				t.Fatalf("%s: integrity %q", path, i)
			}
			row.integ = id
		}
		rows[strings.ToLower(rec[0]+rec[1])] = row
	}
	return rows
}

// openFrame opens the SK or SKF payload of msg with the table's keys for
// the sender's direction and returns the inner payload octets and the type
// of the first one.
func openFrame(rows map[string]keyRow, msg []byte) (inner []byte, first byte, found bool, err error) {
	row, ok := rows[hex.EncodeToString(msg[:16])]
	if !ok {
		return nil, 0, false, nil
	}
	assoc, body, first, err := skSplit(msg)
	if err != nil {
		return nil, 0, false, nil // IKE_SA_INIT and other unprotected messages
	}
	ek, ak := row.er, row.ar
	if msg[19]&0x08 != 0 { // Initiator flag: protected with SK_ei/SK_ai
		ek, ak = row.ei, row.ai
	}
	sk, err := NewSKCipher(row.encr, row.keyBits, row.integ, ek, nilIfEmpty(ak))
	if err != nil {
		return nil, 0, true, err
	}
	inner, err = sk.Open(assoc, body)
	return inner, first, true, err
}

// authData walks decrypted inner payloads for the AUTH payload (type 39)
// and returns its Authentication Data.
func authData(inner []byte, first byte) []byte {
	for np := first; np != 0 && len(inner) >= 4; {
		l := int(binary.BigEndian.Uint16(inner[2:]))
		if l < 4 || l > len(inner) {
			return nil
		}
		if np == 39 && l >= 8 {
			return inner[8:l]
		}
		np, inner = inner[0], inner[l:]
	}
	return nil
}

// Wireshark's eight IKEv2 decryption captures: every SK payload opens with
// a valid ICV, and every IKE_AUTH carries the AUTH data tshark shows
// (expected-auth-data.tsv), 3DES/HMAC-SHA1-160, AES-CBC-256/SHA2-256-128,
// AES-CTR-192/SHA2-512-256, AES-GCM-256 with 8 and 16 octet ICVs and
// AES-CCM-128/12 and 256/16 among them.
func TestWiresharkCapturesOpen(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "wireshark")
	rows := readKeyTable(t, filepath.Join(dir, "ikev2_decryption_table"))
	tsv, err := os.ReadFile(filepath.Join(dir, "expected-auth-data.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		frame int
		auth  []byte
	}
	expected := map[string][]want{}
	for _, line := range strings.Split(string(tsv), "\n") {
		f := strings.Split(line, "\t")
		if strings.HasPrefix(line, "#") || len(f) < 7 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		expected[f[0]] = append(expected[f[0]], want{n, mustHex(t, f[6])})
	}
	skCounts := map[string]int{
		"ikev2-decrypt-3des-sha1_160.pcap": 4, "ikev2-decrypt-aes128ccm12.pcap": 4,
		"ikev2-decrypt-aes128ccm12-2.pcap": 4, "ikev2-decrypt-aes192ctr.pcap": 4,
		"ikev2-decrypt-aes256cbc.pcapng": 2, "ikev2-decrypt-aes256ccm16.pcapng": 2,
		"ikev2-decrypt-aes256gcm16.pcap": 4, "ikev2-decrypt-aes256gcm8.pcap": 4,
	}
	if len(expected) != len(skCounts) {
		t.Fatalf("%d captures in the TSV, want %d", len(expected), len(skCounts))
	}
	for capture, wants := range expected {
		frames := readIKEFrames(t, filepath.Join(dir, capture))
		opened := 0
		auths := map[int][]byte{}
		for _, fr := range frames {
			inner, first, found, err := openFrame(rows, fr.msg)
			if !found {
				continue
			}
			if err != nil {
				t.Errorf("%s frame %d: %v", capture, fr.n, err)
				continue
			}
			opened++
			if a := authData(inner, first); a != nil {
				auths[fr.n] = a
			}
		}
		if opened != skCounts[capture] {
			t.Errorf("%s: opened %d SK payloads, want %d", capture, opened, skCounts[capture])
		}
		for _, w := range wants {
			if got := auths[w.frame]; !bytes.Equal(got, w.auth) {
				t.Errorf("%s frame %d: AUTH %x, want %x", capture, w.frame, got, w.auth)
			}
		}
	}
}

// The NCP client capture (Wireshark wiki): three IKE SAs over UDP 4500 with
// AES-GCM-256-16, AES-CTR-256 + HMAC-SHA2-256-128 and AES-CBC-256 +
// HMAC-SHA2-256-128, IKE_AUTH with certificates. All 24 SK payloads open.
func TestWiresharkWikiNATTCaptureOpens(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "wireshark-wiki", "ikev2-esp-natt-aes-gcm-ctr-cbc")
	rows := readKeyTable(t, filepath.Join(dir, "ikev2_decryption_table"))
	opened, withAuth := 0, 0
	for _, fr := range readIKEFrames(t, filepath.Join(dir, "capture.pcapng")) {
		inner, first, found, err := openFrame(rows, fr.msg)
		if !found {
			continue
		}
		if err != nil {
			t.Errorf("frame %d: %v", fr.n, err)
			continue
		}
		opened++
		if authData(inner, first) != nil {
			withAuth++
		}
	}
	if opened != 24 || withAuth != 6 {
		t.Errorf("opened %d SK payloads (want 24), %d with AUTH (want 6)", opened, withAuth)
	}
}

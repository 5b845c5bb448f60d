package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/capture"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/ike/wskeys"
)

// TestAES128CCM12SecondIsCCM shows that the aes128ccm12-2 capture is AES-CCM
// after all (corpus README, note on aes128ccm12-2): reading its "AES-CTR-128"
// row as AES-CCM-12 with key = the first 16 octets and salt = the last 3
// (the 4-octet tail is the CCM flags octet 03 and the salt), all four SK
// payloads authenticate and the AUTH data is what Wireshark's test asserts.
func TestAES128CCM12SecondIsCCM(t *testing.T) {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "wireshark", "ikev2_decryption_table"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := wskeys.ReadIKE(f)
	if err != nil {
		t.Fatal(err)
	}
	dgs, err := capture.ReadFile(filepath.Join(dir, "wireshark", "ikev2-decrypt-aes128ccm12-2.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	auth := expectedAuth(t, dir)["ikev2-decrypt-aes128ccm12-2.pcap"]
	ccm := func(k []byte) []byte {
		if len(k) != 20 || k[16] != 0x03 {
			t.Fatalf("key material %d octets, flags octet %#x", len(k), k[16])
		}
		return append(bytes.Clone(k[:16]), k[17:]...)
	}
	var opened int
	var found []string
	for _, d := range dgs {
		m, err := wire.ParseMessage(d.Data)
		if err != nil {
			t.Fatal(err)
		}
		e := m.Encrypted()
		if e == nil {
			continue
		}
		row := wskeys.Find(table, m.SPIi, m.SPIr)
		if row == nil || row.Encr != wire.ENCR_AES_CTR || row.IntegUnknown != 96 {
			t.Fatalf("frame %d: row %+v", d.Frame, row)
		}
		key := row.SKer
		if m.IsInitiator() {
			key = row.SKei
		}
		c, err := crypto.NewSKCipher(wire.ENCR_AES_CCM_12, 128, wire.AUTH_NONE, ccm(key), nil)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := c.Open(e.AssociatedData(), e.Body)
		if err != nil {
			t.Errorf("frame %d: %v", d.Frame, err)
			continue
		}
		opened++
		inner, err := wire.ParsePayloads(e.NextPayload, plain)
		if err != nil {
			t.Errorf("frame %d: %v", d.Frame, err)
			continue
		}
		for _, p := range inner {
			if a, ok := p.(*wire.Auth); ok {
				found = append(found, hex.EncodeToString(a.Data))
			}
		}
	}
	if opened != 4 {
		t.Errorf("%d of 4 SK payloads authenticate as AES-CCM-12", opened)
	}
	if strings.Join(found, " ") != strings.Join(auth, " ") {
		t.Errorf("AUTH data %v, want %v", found, auth)
	}
}

// skSealer adapts a crypto.SKCipher to wire.Sealer.
type skSealer struct{ c crypto.SKCipher }

func (s skSealer) BodyLen(n int) int { return s.c.BodyLen(n) }
func (s skSealer) Seal(dst, assoc, plain []byte) ([]byte, error) {
	return s.c.Seal(dst, nil, assoc, plain)
}

// TestDecodeReassemblesFragments writes an RFC 7383 fragmented IKE_AUTH,
// sealed with AES-GCM-256, to a capture with its key table, and checks that
// decode reports each fragment and the reassembled inner payloads.
func TestDecodeReassemblesFragments(t *testing.T) {
	keyI := make([]byte, 36)
	for i := range keyI {
		keyI[i] = byte(i)
	}
	sa := wskeys.IKESA{SPIi: wire.SPI{1, 2, 3, 4, 5, 6, 7, 8}, SPIr: wire.SPI{8, 7, 6, 5, 4, 3, 2, 1},
		SKei: keyI, SKer: bytes.Repeat([]byte{0xee}, 36), SKai: []byte{}, SKar: []byte{},
		Encr: wire.ENCR_AES_GCM_16, EncrKeyBits: 256, Integ: wire.AUTH_NONE}
	c, err := crypto.NewSKCipher(sa.Encr, sa.EncrKeyBits, sa.Integ, sa.SKei, nil)
	if err != nil {
		t.Fatal(err)
	}
	inner := []wire.Payload{
		&wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab.example")},
		&wire.Cert{Encoding: wire.CertX509Signature, Data: bytes.Repeat([]byte{0x30}, 1500)},
		&wire.Auth{Method: wire.AuthSharedKey, Data: bytes.Repeat([]byte{0xab}, 32)},
		wire.NewNotify(wire.MOBIKE_SUPPORTED, nil),
	}
	h := wire.Header{SPIi: sa.SPIi, SPIr: sa.SPIr, Exchange: wire.IKE_AUTH, Flags: wire.FlagInitiator, MessageID: 1}
	frags, err := wire.MarshalFragments(h, inner, skSealer{c}, 576)
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) < 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	var table bytes.Buffer
	if err := wskeys.WriteIKE(&table, &sa); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "ikev2_decryption_table")
	if err := os.WriteFile(keys, table.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := decode(t, "-v", "--keys", keys, writePcap(t, frags))
	ss := summaries(t, lines)
	if len(ss) != len(frags) {
		t.Fatalf("%d summary lines for %d fragments:\n%s", len(ss), len(frags), strings.Join(lines, "\n"))
	}
	n := len(frags)
	for i, s := range ss[:n-1] {
		want := "IKE_AUTH request 1 [ EF(" + strconv.Itoa(i+1) + "/" + strconv.Itoa(n) + ") ]  (fragment " + strconv.Itoa(i+1) + "/" + strconv.Itoa(n) + " decrypted, ICV ok)"
		if !strings.HasSuffix(s.rest, want) {
			t.Errorf("fragment %d: %q, want suffix %q", i+1, s.rest, want)
		}
	}
	want := "IKE_AUTH request 1 [ IDi CERT AUTH N(MOBIKE_SUP) ] (reassembled from " + strconv.Itoa(n) + " fragments)  (decrypted, ICV ok)"
	if !strings.HasSuffix(ss[n-1].rest, want) {
		t.Errorf("last fragment: %q, want suffix %q", ss[n-1].rest, want)
	}
	if all := strings.Join(lines, "\n"); !strings.Contains(all, "AUTH: SHARED_KEY_MIC, 32 octets: "+strings.Repeat("ab", 32)) ||
		!strings.Contains(all, `IDi: ID_FQDN "client.lab.example"`) {
		t.Errorf("-v output lacks the reassembled payloads:\n%s", all)
	}

	// With the responder's key instead, every fragment fails its ICV.
	sa.SKei, sa.SKer = sa.SKer, sa.SKei
	table.Reset()
	wskeys.WriteIKE(&table, &sa)
	os.WriteFile(keys, table.Bytes(), 0o600)
	for _, s := range summaries(t, decode(t, "--keys", keys, writePcap(t, frags))) {
		if !strings.Contains(s.rest, "(fragment decryption failed: ") {
			t.Errorf("wrong key: %q", s.rest)
		}
	}
}

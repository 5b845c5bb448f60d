package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Wireshark IKEv2 decryption captures with their key table; the
// expected numbers are those of corpus/README.md (v2, SK, dec), which
// tshark 4.0 reproduces.
func TestDissectWiresharkCorpus(t *testing.T) {
	RequireBinaries(t, "tshark")
	dir := filepath.Join(CorpusDir(t), "wireshark")
	for _, tc := range []struct {
		file         string
		v2, sk       int
		valid        int // decrypted with a verified ICV
		notValidated int
		exchanges    map[string]int
	}{
		{"ikev2-decrypt-aes256gcm16.pcap", 6, 4, 4, 0, map[string]int{"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 2}},
		{"ikev2-decrypt-aes256gcm8.pcap", 6, 4, 4, 0, nil},
		{"ikev2-decrypt-3des-sha1_160.pcap", 6, 4, 4, 0, nil},
		{"ikev2-decrypt-aes128ccm12.pcap", 6, 4, 4, 0, nil},
		// The table decrypts this one as AES-CTR with no ICV check.
		{"ikev2-decrypt-aes128ccm12-2.pcap", 6, 4, 0, 4, nil},
		{"ikev2-decrypt-aes192ctr.pcap", 6, 4, 4, 0, nil},
		{"ikev2-decrypt-aes256cbc.pcapng", 4, 2, 2, 0, map[string]int{"IKE_SA_INIT": 2, "IKE_AUTH": 2}},
		{"ikev2-decrypt-aes256ccm16.pcapng", 4, 2, 2, 0, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rep, err := Dissect(t, filepath.Join(dir, tc.file), dir)
			require.NoError(t, err)
			assert.Equal(t, tc.v2, rep.IKEv2Messages, "IKEv2 messages")
			assert.Zero(t, rep.IKEv1Messages)
			assert.Equal(t, tc.sk, rep.SKPayloads, "SK payloads")
			assert.Equal(t, tc.sk, rep.Decrypted, "decrypted SK payloads")
			assert.Equal(t, tc.valid, rep.DecryptedValid, "SK payloads with a correct ICV")
			assert.Equal(t, tc.notValidated, rep.ChecksumNotValidated)
			assert.Zero(t, rep.ChecksumIncorrect)
			assert.Zero(t, rep.Malformed)
			assert.Empty(t, rep.ExpertErrors)
			if tc.exchanges != nil {
				assert.Equal(t, tc.exchanges, rep.Exchanges)
			}
		})
	}
}

// The same capture without keys decrypts nothing, and with a key table whose
// SK_ei is off by one nibble the initiator's two messages fail their ICV
// while the responder's still verify: the counts come from tshark's verdict,
// not from "decrypted" alone.
func TestDissectKeysMatter(t *testing.T) {
	RequireBinaries(t, "tshark")
	dir := filepath.Join(CorpusDir(t), "wireshark")
	pcap := filepath.Join(dir, "ikev2-decrypt-aes256gcm16.pcap")

	rep, err := Dissect(t, pcap, "")
	require.NoError(t, err)
	assert.Equal(t, 6, rep.IKEv2Messages)
	assert.Equal(t, 4, rep.SKPayloads)
	assert.Zero(t, rep.Decrypted)
	assert.Zero(t, rep.DecryptedValid)

	table, err := os.ReadFile(filepath.Join(dir, "ikev2_decryption_table"))
	require.NoError(t, err)
	var lines []string
	changed := false
	for _, line := range strings.Split(string(table), "\n") {
		// SPIi,SPIr,SK_ei,SK_er,...: flip the first nibble of SK_ei.
		if f := strings.Split(line, ","); len(f) > 3 && f[0] == "0158b8fb90b7623d" {
			b := []byte(f[2])
			if b[0] == '0' {
				b[0] = '1'
			} else {
				b[0] = '0'
			}
			f[2] = string(b)
			line = strings.Join(f, ",")
			changed = true
		}
		lines = append(lines, line)
	}
	require.True(t, changed, "key table has no row for the aes256gcm16 SA")
	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, "ikev2_decryption_table"), []byte(strings.Join(lines, "\n")), 0o600))

	rep, err = Dissect(t, pcap, bad)
	require.NoError(t, err)
	assert.Equal(t, 4, rep.Decrypted)
	assert.Equal(t, 2, rep.DecryptedValid)
	assert.Equal(t, 2, rep.ChecksumIncorrect)
	var checksum int
	for _, w := range rep.ExpertWarnings {
		if w.Group == "Checksum" && strings.Contains(w.Message, "Integrity Checksum Data is incorrect") {
			checksum++
		}
	}
	assert.Equal(t, 2, checksum, "checksum warnings: %v", rep.ExpertWarnings)
}

func TestDissectNegativeSamples(t *testing.T) {
	RequireBinaries(t, "tshark")
	corpus := CorpusDir(t)

	rep, err := Dissect(t, filepath.Join(corpus, "wireshark", "ikev1-certs.pcap"), "")
	require.NoError(t, err)
	assert.Equal(t, 10, rep.IKEv1Messages)
	assert.Zero(t, rep.IKEv2Messages)
	assert.Empty(t, rep.Exchanges)

	// A fuzzed IKE_SA_INIT that crashed tcpdump: tshark flags it malformed.
	rep, err = Dissect(t, filepath.Join(corpus, "tcpdump", "ikev2pI2-segfault.pcapng"), "")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Malformed)
	require.NotEmpty(t, rep.ExpertErrors)
	e := rep.ExpertErrors[0]
	assert.Equal(t, "Error", e.Severity)
	assert.Equal(t, "Malformed", e.Group)
	assert.Contains(t, e.Message, "Malformed Packet")
	assert.Positive(t, e.Frame)

	_, err = Dissect(t, filepath.Join(corpus, "no-such.pcap"), "")
	assert.Error(t, err)
	_, err = Dissect(t, filepath.Join(corpus, "wireshark", "ikev1-certs.pcap"), t.TempDir())
	assert.ErrorContains(t, err, "no key table")
}

func TestParsePDMLExpertNesting(t *testing.T) {
	const pdml = `<?xml version="1.0"?>
<pdml>
<packet>
  <proto name="geninfo"><field name="num" show="3"/></proto>
  <proto name="isakmp">
    <field name="isakmp.version" show="0x20"/>
    <field name="isakmp.exchangetype" showname="Exchange type: CREATE_CHILD_SA (36)" show="36"/>
    <field name="isakmp.typepayload" show="46">
      <field name="isakmp.enc.decrypted" show="">
        <field name="_ws.expert" showname="Expert Info (Warning/Malformed): Pad length is too big">
          <field name="_ws.expert.message" show="Pad length is too big"/>
        </field>
      </field>
      <field name="isakmp.enc.icd" showname="Integrity Checksum Data: 00 (16 bytes)[correct]"/>
    </field>
  </proto>
  <proto name="udpencap"/>
  <proto name="esp"/>
</packet>
<packet>
  <proto name="geninfo"><field name="num" show="4"/></proto>
  <proto name="_ws.malformed" showname="[Malformed Packet: ISAKMP]">
    <field name="_ws.expert" showname="Expert Info (Error/Malformed): Malformed Packet (Exception occurred)">
      <field name="_ws.malformed.expert" show=""/>
    </field>
  </proto>
</packet>
</pdml>`
	rep, err := parsePDML(strings.NewReader(pdml))
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Frames)
	assert.Equal(t, 1, rep.IKEv2Messages)
	assert.Equal(t, map[string]int{"CREATE_CHILD_SA": 1}, rep.Exchanges)
	assert.Equal(t, 1, rep.SKPayloads)
	assert.Equal(t, 1, rep.Decrypted)
	assert.Equal(t, 1, rep.DecryptedValid)
	assert.Equal(t, 1, rep.ESPPackets)
	assert.Equal(t, 1, rep.Malformed)
	assert.Equal(t, []ExpertInfo{{Frame: 3, Severity: "Warning", Group: "Malformed", Message: "Pad length is too big"}}, rep.ExpertWarnings)
	assert.Equal(t, []ExpertInfo{{Frame: 4, Severity: "Error", Group: "Malformed", Message: "Malformed Packet (Exception occurred)"}}, rep.ExpertErrors)

	_, err = parsePDML(strings.NewReader("<pdml><packet>"))
	assert.Error(t, err)
}

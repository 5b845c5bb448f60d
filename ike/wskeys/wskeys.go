// Package wskeys reads and writes Wireshark's IKEv2 and ESP key tables
// (the "ikev2_decryption_table" and "esp_sa" UAT files), so that a capture
// of ikelab's traffic decrypts in Wireshark and so that `responder decode
// --keys` can decrypt captures that Wireshark users already have keys for.
//
// Writing keys is the one place ikelab lets secrets out of the process; it
// is off unless asked for, and the daemons log loudly when it is on.
package wskeys

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/ikelab/ikelab/ike/wire"
)

// IKESA is one row of ikev2_decryption_table: the keys that protect the
// SK payloads of one IKE SA.
type IKESA struct {
	SPIi, SPIr   wire.SPI
	SKei, SKer   []byte // including the AEAD salt or CTR nonce
	SKai, SKar   []byte
	Encr         wire.TransformID
	EncrKeyBits  int
	Integ        wire.TransformID
	IntegUnknown int // "ANY n-bits of Authentication": ICV length in bits, not checked
}

type encrName struct {
	id   wire.TransformID
	bits int
}

// Wireshark's names for the algorithms (epan/dissectors/packet-isakmp.c).
var encrNames = map[encrName]string{
	{wire.ENCR_NULL, 0}:   "NULL [RFC2410]",
	{wire.ENCR_3DES, 0}:   "3DES [RFC2451]",
	{wire.ENCR_3DES, 192}: "3DES [RFC2451]",
}

var integNames = map[wire.TransformID]string{
	wire.AUTH_NONE:              "NONE [RFC4306]",
	wire.AUTH_HMAC_MD5_96:       "HMAC_MD5_96 [RFC2403]",
	wire.AUTH_HMAC_SHA1_96:      "HMAC_SHA1_96 [RFC2404]",
	wire.AUTH_HMAC_MD5_128:      "HMAC_MD5_128 [RFC4595]",
	wire.AUTH_HMAC_SHA1_160:     "HMAC_SHA1_160 [RFC4595]",
	wire.AUTH_HMAC_SHA2_256_128: "HMAC_SHA2_256_128 [RFC4868]",
	wire.AUTH_HMAC_SHA2_384_192: "HMAC_SHA2_384_192 [RFC4868]",
	wire.AUTH_HMAC_SHA2_512_256: "HMAC_SHA2_512_256 [RFC4868]",
}

func init() {
	for _, bits := range []int{128, 192, 256} {
		encrNames[encrName{wire.ENCR_AES_CBC, bits}] = fmt.Sprintf("AES-CBC-%d [RFC3602]", bits)
		encrNames[encrName{wire.ENCR_AES_CTR, bits}] = fmt.Sprintf("AES-CTR-%d [RFC5930]", bits)
		for icv, id := range map[int]wire.TransformID{8: wire.ENCR_AES_GCM_8, 12: wire.ENCR_AES_GCM_12, 16: wire.ENCR_AES_GCM_16} {
			encrNames[encrName{id, bits}] = fmt.Sprintf("AES-GCM-%d with %d octet ICV [RFC5282]", bits, icv)
		}
		for icv, id := range map[int]wire.TransformID{8: wire.ENCR_AES_CCM_8, 12: wire.ENCR_AES_CCM_12, 16: wire.ENCR_AES_CCM_16} {
			encrNames[encrName{id, bits}] = fmt.Sprintf("AES-CCM-%d with %d octet ICV [RFC5282]", bits, icv)
		}
	}
}

func parseEncr(s string) (wire.TransformID, int, error) {
	for k, v := range encrNames {
		if v == s {
			if k.id == wire.ENCR_3DES {
				return k.id, 0, nil
			}
			return k.id, k.bits, nil
		}
	}
	return 0, 0, fmt.Errorf("unknown encryption algorithm %q", s)
}

func parseInteg(s string) (wire.TransformID, int, error) {
	for k, v := range integNames {
		if v == s {
			return k, 0, nil
		}
	}
	var bits int
	if _, err := fmt.Sscanf(s, "ANY %d-bits of Authentication [No Checking]", &bits); err == nil {
		return wire.AUTH_NONE, bits, nil
	}
	return 0, 0, fmt.Errorf("unknown integrity algorithm %q", s)
}

// ReadIKE parses an ikev2_decryption_table file. Comment lines start with #.
func ReadIKE(r io.Reader) ([]IKESA, error) {
	var out []IKESA
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(text)).Read()
		if err != nil {
			return nil, fmt.Errorf("wskeys: line %d: %w", line, err)
		}
		if len(rec) != 8 {
			return nil, fmt.Errorf("wskeys: line %d: %d fields, want 8", line, len(rec))
		}
		var sa IKESA
		fields := []*[]byte{nil, nil, &sa.SKei, &sa.SKer, nil, &sa.SKai, &sa.SKar}
		for i, dst := range fields {
			if dst == nil {
				continue
			}
			if *dst, err = hex.DecodeString(rec[i]); err != nil {
				return nil, fmt.Errorf("wskeys: line %d field %d: %w", line, i+1, err)
			}
		}
		for i, spi := range []*wire.SPI{&sa.SPIi, &sa.SPIr} {
			b, err := hex.DecodeString(rec[i])
			if err != nil || len(b) != 8 {
				return nil, fmt.Errorf("wskeys: line %d: bad SPI %q", line, rec[i])
			}
			copy(spi[:], b)
		}
		if sa.Encr, sa.EncrKeyBits, err = parseEncr(rec[4]); err != nil {
			return nil, fmt.Errorf("wskeys: line %d: %w", line, err)
		}
		if sa.Integ, sa.IntegUnknown, err = parseInteg(rec[7]); err != nil {
			return nil, fmt.Errorf("wskeys: line %d: %w", line, err)
		}
		out = append(out, sa)
	}
	return out, sc.Err()
}

// WriteIKE appends one ikev2_decryption_table row for sa to w.
func WriteIKE(w io.Writer, sa *IKESA) error {
	bits := sa.EncrKeyBits
	if sa.Encr == wire.ENCR_3DES || sa.Encr == wire.ENCR_NULL {
		bits = 0
	}
	en, ok := encrNames[encrName{sa.Encr, bits}]
	if !ok {
		return fmt.Errorf("wskeys: Wireshark cannot decrypt %s", wire.TransformName(wire.TransformENCR, sa.Encr))
	}
	in, ok := integNames[sa.Integ]
	if !ok {
		return fmt.Errorf("wskeys: Wireshark cannot check %s", wire.TransformName(wire.TransformINTEG, sa.Integ))
	}
	_, err := fmt.Fprintf(w, "%x,%x,%x,%x,%q,%x,%x,%q\n", sa.SPIi[:], sa.SPIr[:], sa.SKei, sa.SKer, en, sa.SKai, sa.SKar, in)
	return err
}

// Find returns the row for an IKE SA, or nil.
func Find(sas []IKESA, spii, spir wire.SPI) *IKESA {
	for i := range sas {
		if sas[i].SPIi == spii && sas[i].SPIr == spir {
			return &sas[i]
		}
	}
	return nil
}

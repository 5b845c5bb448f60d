package wskeys

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/ikelab/ikelab/ike/wire"
)

// ESPSA is one row of Wireshark's esp_sa table: the keys of one direction
// of an ESP SA.
type ESPSA struct {
	Src, Dst    string // addresses, or "*"
	SPI         uint32
	Encr        wire.TransformID
	EncrKeyBits int
	EncKey      []byte // with the AEAD salt or CTR nonce
	Integ       wire.TransformID
	IntegKey    []byte
}

// Wireshark's ESP algorithm names (epan/dissectors/packet-ipsec.c).
var espEncrNames = map[wire.TransformID]string{
	wire.ENCR_NULL:              "NULL",
	wire.ENCR_3DES:              "TripleDES-CBC [RFC2451]",
	wire.ENCR_AES_CBC:           "AES-CBC [RFC3602]",
	wire.ENCR_AES_CTR:           "AES-CTR [RFC3686]",
	wire.ENCR_AES_GCM_8:         "AES-GCM with 8 octet ICV [RFC4106]",
	wire.ENCR_AES_GCM_12:        "AES-GCM with 12 octet ICV [RFC4106]",
	wire.ENCR_AES_GCM_16:        "AES-GCM with 16 octet ICV [RFC4106]",
	wire.ENCR_CHACHA20_POLY1305: "ChaCha20 with Poly1305 [RFC7634]",
}

var espIntegNames = map[wire.TransformID]string{
	wire.AUTH_NONE:              "NULL",
	wire.AUTH_HMAC_SHA1_96:      "HMAC-SHA-1-96 [RFC2404]",
	wire.AUTH_HMAC_SHA2_256_128: "HMAC-SHA-256-128 [RFC4868]",
	wire.AUTH_HMAC_SHA2_384_192: "HMAC-SHA-384-192 [RFC4868]",
	wire.AUTH_HMAC_SHA2_512_256: "HMAC-SHA-512-256 [RFC4868]",
	wire.AUTH_HMAC_MD5_96:       "HMAC-MD5-96 [RFC2403]",
}

// WriteESP appends one esp_sa row.
func WriteESP(w io.Writer, sa *ESPSA) error {
	en, ok := espEncrNames[sa.Encr]
	if !ok {
		return fmt.Errorf("wskeys: Wireshark cannot decrypt ESP with %s", wire.TransformName(wire.TransformENCR, sa.Encr))
	}
	in, ok := espIntegNames[sa.Integ]
	if !ok {
		return fmt.Errorf("wskeys: Wireshark cannot check ESP with %s", wire.TransformName(wire.TransformINTEG, sa.Integ))
	}
	family := "IPv4"
	if a, err := netip.ParseAddr(sa.Src); err == nil && a.Is6() && !a.Is4In6() {
		family = "IPv6"
	}
	ikey := ""
	if len(sa.IntegKey) > 0 {
		ikey = fmt.Sprintf("0x%x", sa.IntegKey)
	}
	_, err := fmt.Fprintf(w, "%q,%q,%q,\"0x%08x\",%q,\"0x%x\",%q,%q\n", family, sa.Src, sa.Dst, sa.SPI, en, sa.EncKey, in, ikey)
	return err
}

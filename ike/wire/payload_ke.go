package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// KE is the Key Exchange payload (RFC 7296, Section 3.4).
type KE struct {
	Generic
	Group    TransformID
	Reserved uint16
	Data     []byte
}

// keDataLen is the exact Key Exchange Data length of each group whose
// public value has a fixed size: MODP groups are as long as their prime
// (RFC 7296, Section 3.4), ECP groups are x||y (RFC 5903, Section 7;
// RFC 5114; RFC 6954), Curve25519/448 the u-coordinate (RFC 8031).
var keDataLen = map[TransformID]int{
	MODP_768: 96, MODP_1024: 128, MODP_1536: 192, MODP_2048: 256, MODP_3072: 384,
	MODP_4096: 512, MODP_6144: 768, MODP_8192: 1024,
	MODP_1024_160: 128, MODP_2048_224: 256, MODP_2048_256: 256,
	ECP_192: 48, ECP_224: 56, ECP_256: 64, ECP_384: 96, ECP_521: 132,
	ECP_224_BP: 56, ECP_256_BP: 64, ECP_384_BP: 96, ECP_512_BP: 128,
	CURVE_25519: 32, CURVE_448: 56,
}

// KEDataLen returns the Key Exchange Data length a group requires, and
// whether the group has a fixed length known to this package.
func KEDataLen(g TransformID) (int, bool) {
	n, ok := keDataLen[g]
	return n, ok
}

func (p *KE) Type() PayloadType { return PayloadKE }
func (p *KE) Summary() string   { return "KE" }

func (p *KE) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var g uint16
	if !s.ReadUint16(&g) || !s.ReadUint16(&p.Reserved) {
		return syntaxErr(PayloadKE, "truncated header (%d octets)", len(body))
	}
	p.Group, p.Data = TransformID(g), []byte(s)
	if n, ok := keDataLen[p.Group]; ok && len(p.Data) != n {
		return syntaxErr(PayloadKE, "%s key exchange data is %d octets, must be %d", TransformName(TransformKE, p.Group), len(p.Data), n)
	}
	if len(p.Data) == 0 {
		return syntaxErr(PayloadKE, "empty key exchange data")
	}
	return nil
}

func (p *KE) appendBody(b []byte) ([]byte, error) {
	if len(p.Data) == 0 {
		return nil, fmt.Errorf("wire: KE payload without data")
	}
	b = binary.BigEndian.AppendUint16(b, uint16(p.Group))
	b = binary.BigEndian.AppendUint16(b, p.Reserved)
	return append(b, p.Data...), nil
}

// Nonce is the Nonce payload (RFC 7296, Section 3.9).
type Nonce struct {
	Generic
	Data []byte
}

// Nonce length bounds (RFC 7296, Section 3.9).
const (
	MinNonceLen = 16
	MaxNonceLen = 256
)

func (p *Nonce) Type() PayloadType { return PayloadNonce }
func (p *Nonce) Summary() string   { return "No" }

func (p *Nonce) parseBody(body []byte) error {
	if len(body) < MinNonceLen || len(body) > MaxNonceLen {
		return syntaxErr(PayloadNonce, "nonce of %d octets, must be %d..%d", len(body), MinNonceLen, MaxNonceLen)
	}
	p.Data = body
	return nil
}

func (p *Nonce) appendBody(b []byte) ([]byte, error) {
	if len(p.Data) < MinNonceLen || len(p.Data) > MaxNonceLen {
		return nil, fmt.Errorf("wire: nonce of %d octets", len(p.Data))
	}
	return append(b, p.Data...), nil
}

// VendorID is the Vendor ID payload (RFC 7296, Section 3.12).
type VendorID struct {
	Generic
	Data []byte
}

func (p *VendorID) Type() PayloadType { return PayloadVendorID }
func (p *VendorID) Summary() string   { return "V" }

func (p *VendorID) parseBody(body []byte) error {
	if len(body) == 0 {
		return syntaxErr(PayloadVendorID, "empty vendor ID")
	}
	p.Data = body
	return nil
}

func (p *VendorID) appendBody(b []byte) ([]byte, error) { return append(b, p.Data...), nil }

// Name returns the vendor the ID is known to stand for, or "".
func (p *VendorID) Name() string { return LookupVendor(p.Data).Name }

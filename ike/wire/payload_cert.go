package wire

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// CertEncoding is the Certificate Encoding of CERT and CERTREQ payloads
// (RFC 7296, Section 3.6).
type CertEncoding uint8

const (
	CertPKCS7         CertEncoding = 1
	CertPGP           CertEncoding = 2
	CertDNSKey        CertEncoding = 3
	CertX509Signature CertEncoding = 4
	CertKerberos      CertEncoding = 6
	CertCRL           CertEncoding = 7
	CertARL           CertEncoding = 8
	CertSPKI          CertEncoding = 9
	CertX509Attribute CertEncoding = 10
	CertRawRSA        CertEncoding = 11
	CertHashURL       CertEncoding = 12
	CertHashURLBundle CertEncoding = 13
	CertOCSPContent   CertEncoding = 14 // RFC 4806
	CertRawPublicKey  CertEncoding = 15 // RFC 7670
)

// sha1Len is the size of the SHA-1 hashes in CERTREQ and Hash and URL data.
const sha1Len = 20

var certEncodingNames = map[CertEncoding]string{
	CertPKCS7: "PKCS7_WRAPPED_X509", CertPGP: "PGP", CertDNSKey: "DNS_SIGNED_KEY",
	CertX509Signature: "X509_SIGNATURE", CertKerberos: "KERBEROS_TOKEN", CertCRL: "CRL",
	CertARL: "ARL", CertSPKI: "SPKI", CertX509Attribute: "X509_ATTRIBUTE",
	CertRawRSA: "RAW_RSA_KEY", CertHashURL: "HASH_AND_URL_X509",
	CertHashURLBundle: "HASH_AND_URL_BUNDLE", CertOCSPContent: "OCSP_CONTENT",
	CertRawPublicKey: "RAW_PUBLIC_KEY",
}

func (e CertEncoding) String() string {
	if n, ok := certEncodingNames[e]; ok {
		return n
	}
	return fmt.Sprintf("CERT_ENCODING_%d", uint8(e))
}

// Cert is the Certificate payload (RFC 7296, Section 3.6).
type Cert struct {
	Generic
	Encoding CertEncoding
	Data     []byte
}

func (p *Cert) Type() PayloadType { return PayloadCERT }
func (p *Cert) Summary() string   { return "CERT" }

func (p *Cert) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var e uint8
	if !s.ReadUint8(&e) {
		return syntaxErr(PayloadCERT, "missing certificate encoding")
	}
	p.Encoding, p.Data = CertEncoding(e), []byte(s)
	if len(p.Data) == 0 {
		return syntaxErr(PayloadCERT, "empty %s certificate data", p.Encoding)
	}
	// RFC 7296, Section 3.6: Hash and URL data is a 20-octet SHA-1 hash
	// followed by the URL.
	if (p.Encoding == CertHashURL || p.Encoding == CertHashURLBundle) && len(p.Data) <= sha1Len {
		return syntaxErr(PayloadCERT, "hash and URL of %d octets", len(p.Data))
	}
	return nil
}

func (p *Cert) appendBody(b []byte) ([]byte, error) {
	return append(append(b, uint8(p.Encoding)), p.Data...), nil
}

// CertReq is the Certificate Request payload (RFC 7296, Section 3.7).
type CertReq struct {
	Generic
	Encoding CertEncoding
	Data     []byte // for X509_SIGNATURE: concatenated SHA-1 hashes of CA public keys
}

func (p *CertReq) Type() PayloadType { return PayloadCERTREQ }
func (p *CertReq) Summary() string   { return "CERTREQ" }

func (p *CertReq) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	var e uint8
	if !s.ReadUint8(&e) {
		return syntaxErr(PayloadCERTREQ, "missing certificate encoding")
	}
	p.Encoding, p.Data = CertEncoding(e), []byte(s)
	// RFC 7296, Section 3.7: the Certification Authority field of an X.509
	// request is a list of 20-octet SHA-1 hashes of SubjectPublicKeyInfo.
	if p.Encoding == CertX509Signature && len(p.Data)%sha1Len != 0 {
		return syntaxErr(PayloadCERTREQ, "%d octets of CA hashes is not a multiple of %d", len(p.Data), sha1Len)
	}
	return nil
}

func (p *CertReq) appendBody(b []byte) ([]byte, error) {
	return append(append(b, uint8(p.Encoding)), p.Data...), nil
}

// Authorities splits the X.509 CA hash list into its 20-octet entries.
func (p *CertReq) Authorities() [][]byte {
	if p.Encoding != CertX509Signature {
		return nil
	}
	var out [][]byte
	for d := p.Data; len(d) >= sha1Len; d = d[sha1Len:] {
		out = append(out, d[:sha1Len])
	}
	return out
}

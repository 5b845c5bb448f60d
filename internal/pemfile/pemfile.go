// Package pemfile loads the certificates and private keys that the
// commands take as files.
package pemfile

import (
	stdcrypto "crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// Chain reads a PEM file of one or more certificates, end entity first,
// and returns their DER.
func Chain(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, b.Bytes)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return out, nil
}

// Key reads a PEM private key: PKCS#8, PKCS#1 (RSA) or SEC 1 (EC).
func Key(path string) (stdcrypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s holds no PEM key", path)
	}
	var k any
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(stdcrypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T key cannot sign", path, k)
	}
	return s, nil
}

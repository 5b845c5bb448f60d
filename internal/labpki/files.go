package labpki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeFile writes data atomically (temporary file and rename), so that a
// reader, such as a verifier reloading its CRL directory, never sees half
// a file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("labpki: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("labpki: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("labpki: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("labpki: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("labpki: %w", err)
	}
	return nil
}

func writeCert(path string, c *x509.Certificate) error {
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("labpki: encoding key for %s: %w", path, err)
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writePFX bundles key, certificate and issuing chain for Windows import.
func writePFX(path string, is *Issued, chain []*Issued, password string, rand io.Reader) error {
	var cas []*x509.Certificate
	for _, c := range chain {
		cas = append(cas, c.Cert)
	}
	data, err := pkcs12.Modern.WithRand(rand).Encode(is.Key, is.Cert, cas, password)
	if err != nil {
		return fmt.Errorf("labpki: encoding %s: %w", path, err)
	}
	return writeFile(path, data, 0o600)
}

// readPair reads a PEM certificate and its PKCS#8 PEM key. A missing file
// gives an error wrapping fs.ErrNotExist.
func readPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := readCert(certPath)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("labpki: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, nil, fmt.Errorf("labpki: %s: no PKCS#8 \"PRIVATE KEY\" PEM block", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("labpki: %s: %w", keyPath, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("labpki: %s: key type %T cannot sign", keyPath, k)
	}
	return cert, signer, nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labpki: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("labpki: %s: no CERTIFICATE PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("labpki: %s: %w", path, err)
	}
	return c, nil
}

// Package labpki generates the lab PKI that ikelab's responder and its
// tests use: two accepted root CAs (RSA and ECDSA), each issuing a server
// certificate, client machine certificates, a revoked client certificate, a
// CRL and an intermediate CA; plus a root that the lab does not accept, for
// negative tests. `responder lab init --dir DIR` calls Generate.
//
// Generate is idempotent: a file that exists is loaded and kept, only
// missing files are created (signed by the existing issuer). A kept
// certificate that its issuer's key no longer verifies (because the CA was
// deleted and regenerated) is an error: remove the directory, or the
// family's subdirectory, to start over. Changed Options do not rewrite
// existing certificates either. Load reads an existing directory without
// creating anything; RenewCRLs re-signs the CRLs with a chosen
// thisUpdate/nextUpdate (an expired CRL for a test, a fresh one for a lab).
//
// # Files
//
// For each accepted family F in "ecdsa" and "rsa", in DIR/F/:
//
//	root.pem, root.key      root CA: "ikelab Lab Root CA (ECDSA)" (P-256, or
//	                        Options.ECDSARootCurve) or "ikelab Lab Root CA
//	                        (RSA)" (RSA-3072); self-signed, 10 years
//	root.cer                the root in DER, for the Windows certificate
//	                        store (Trusted Root Certification Authorities)
//	root.crl                CRL signed by the root (DER), listing revoked.pem;
//	                        served at <CRLBaseURL>/F/root.crl
//	intermediate.pem, .key  "ikelab Lab Intermediate CA (F)", issued by the
//	                        root, path length 0
//	intermediate.crl        CRL signed by the intermediate (DER, empty);
//	                        served at <CRLBaseURL>/F/intermediate.crl
//	server.pem, .key, .pfx  server certificate: EKU serverAuth and IKE
//	                        intermediate (1.3.6.1.5.5.8.2.2); SAN dNSName =
//	                        every server name and every server IP (Windows
//	                        matches the dialled name against dNSName), SAN
//	                        iPAddress = every server IP; CN = first name
//	client-NAME.pem, .key,  client machine certificate for each
//	client-NAME.pfx         Options.ClientNames: EKU clientAuth, CN and SAN
//	                        dNSName = NAME
//	revoked.pem, .key, .pfx a client certificate listed on root.crl
//	                        (reason keyCompromise)
//	inter-client.pem, .key, a client certificate issued by the intermediate
//	inter-client.pfx        (root -> intermediate -> client chain tests)
//
// In DIR/other/, a root that the lab does not accept:
//
//	root.pem, root.key, root.cer  "ikelab Other Root CA (not accepted)"
//	client.pem, .key, .pfx        a client certificate from that root
//
// Certificates are PEM "CERTIFICATE" blocks (one per file), keys PKCS#8 PEM
// "PRIVATE KEY" blocks (mode 0600). The .pfx files hold key, certificate and
// issuing chain, encoded with go-pkcs12's Modern encoder (AES-256-CBC,
// PBKDF2-SHA-256, SHA-256 MAC; Windows 10 1709 and later import it) under
// the password LabPassword ("ikelab") unless Options.PFXPassword says
// otherwise. Leaf keys are ECDSA P-256 and RSA-2048; CA keys follow their
// root.
//
// When Options.CRLBaseURL is empty, certificates carry no CRL distribution
// point and the CRLs must be configured as local files. With it set, an
// http.FileServer over DIR serves every CRL at its distribution point.
//
// # Determinism
//
// Options.Now fixes validity periods and CRL times. Options.Rand supplies
// serial numbers and the pfx salts; since Go 1.26 key generation and
// signatures always use the system's secure random source (see
// testing/cryptotest.SetGlobalRandom for tests that need identical keys).
package labpki

package eap

import (
	"crypto/tls"
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// BenchmarkMSCHAPv2 is one whole conversation, client and server.
func BenchmarkMSCHAPv2(b *testing.B) {
	for b.Loop() {
		srv, _ := NewServer(ServerConfig{Users: testUsers})
		cli, _ := NewClient(ClientConfig{Identity: "carol", Password: "carol-secret"})
		if c := converse(b, srv, cli); !c.server.Success {
			b.Fatal(c.server.Reason)
		}
	}
}

// BenchmarkTLS is one whole EAP-TLS conversation with ECDSA P-256
// certificates and a CRL check on the client certificate.
func BenchmarkTLS(b *testing.B) {
	p := newTestPKI(b)
	cv, sv := p.clientVerifier(b), p.serverVerifier(b)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		b.Run(tlsVersionName(v), func(b *testing.B) {
			for b.Loop() {
				srv, _ := NewServer(ServerConfig{Methods: []wire.EAPType{wire.EAPTLS}, Certificate: p.server.tlsCert(),
					Trust: cv, TLSMaxVersion: v})
				cli, _ := NewClient(ClientConfig{Identity: "carol", Certificate: p.carol.tlsCert(), Trust: sv})
				if c := converse(b, srv, cli); !c.server.Success {
					b.Fatal(c.server.Reason)
				}
			}
		})
	}
}

func BenchmarkNTResponse(b *testing.B) {
	h := NTHash("carol-secret")
	var ac, pc [16]byte
	for b.Loop() {
		generateNTResponse(ac, pc, "carol", h)
	}
}

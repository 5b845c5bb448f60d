package policy

import (
	"testing"

	"github.com/ikelab/ikelab/ike/wire"
)

// strongSwanOffer is a strongSwan client's default-style offer: every
// cipher, PRF and group in two proposals, 33 and 35 transforms (as in the
// zeek-plugin-ikev2 capture).
func strongSwanOffer(b testing.TB) []wire.Proposal {
	return offerOf(b, wire.ProtoIKE, nil,
		"aes128-aes192-aes256-aes128ctr-aes192ctr-aes256ctr-3des-sha256-sha384-sha512-aesxcbc-aescmac-sha1-"+
			"prfaesxcbc-prfaescmac-prfsha256-prfsha384-prfsha512-prfsha1-ecp256-ecp384-ecp521-modp3072-modp4096-modp6144-modp8192-modp2048",
		"aes128ccm16-aes192ccm16-aes256ccm16-aes128gcm16-aes192gcm16-aes256gcm16-aes128ccm8-aes192ccm8-aes256ccm8-"+
			"aes128ccm12-aes192ccm12-aes256ccm12-aes128gcm8-aes192gcm8-aes256gcm8-aes128gcm12-aes192gcm12-aes256gcm12-"+
			"prfaesxcbc-prfaescmac-prfsha256-prfsha384-prfsha512-prfsha1-ecp256-ecp384-ecp521-modp3072-modp4096-modp6144-modp8192-modp2048")
}

func benchSelect(b *testing.B, policy string, offered []wire.Proposal, ke wire.TransformID, wantErr bool) {
	p := mustBuiltin(b, policy)
	b.ReportAllocs()
	for b.Loop() {
		_, err := p.SelectIKE(offered, ke)
		if (err != nil) != wantErr {
			b.Fatal(err)
		}
	}
}

func BenchmarkSelectIKE(b *testing.B) {
	b.Run("windows-offer/windows-default", func(b *testing.B) {
		benchSelect(b, "windows-default", windowsIKEOffer(b), wire.MODP_1024, false)
	})
	// A refusal builds the explanation, the expensive path.
	b.Run("windows-offer/recommended-refusal", func(b *testing.B) {
		benchSelect(b, "recommended", windowsIKEOffer(b), wire.MODP_1024, true)
	})
	b.Run("strongswan-offer/recommended", func(b *testing.B) {
		benchSelect(b, "recommended", strongSwanOffer(b), wire.ECP_256, false)
	})
	// A Windows client with the NegotiateDH2048_AES256 registry value
	// (LAB.md): its 12 proposals with MODP_2048 instead of MODP_1024, which
	// recommended accepts only at its second proposal.
	b.Run("windows-dh2048-offer/recommended", func(b *testing.B) {
		offered := windowsIKEOffer(b)
		for i := range offered {
			for j := range offered[i].Transforms {
				if tr := &offered[i].Transforms[j]; tr.Type == wire.TransformKE {
					tr.ID = wire.MODP_2048
				}
			}
		}
		benchSelect(b, "recommended", offered, wire.MODP_2048, false)
	})
}

func benchSelectESP(b *testing.B, policy string, offered []wire.Proposal, pfs bool, ke wire.TransformID) {
	p := mustBuiltin(b, policy)
	b.ReportAllocs()
	for b.Loop() {
		c, err := p.SelectESP(offered, pfs, ke)
		if err != nil {
			b.Fatal(err)
		}
		// The engine audits the weak algorithms of every child SA.
		_ = c.Weak()
	}
}

// BenchmarkSelectESP covers the child SA of IKE_AUTH (no PFS) and a
// CREATE_CHILD_SA with PFS.
func BenchmarkSelectESP(b *testing.B) {
	b.Run("windows-offer/windows-default", func(b *testing.B) {
		benchSelectESP(b, "windows-default", windowsESPOffer(b), false, wire.KE_NONE)
	})
	b.Run("strongswan-offer/recommended", func(b *testing.B) {
		offered := offerOf(b, wire.ProtoESP, []byte{1, 2, 3, 4},
			"aes128gcm16-aes256gcm16-chacha20poly1305-noesn",
			"aes128-aes256-sha256-sha384-sha512-noesn")
		benchSelectESP(b, "recommended", offered, false, wire.KE_NONE)
	})
	b.Run("strongswan-offer/recommended-pfs", func(b *testing.B) {
		offered := offerOf(b, wire.ProtoESP, []byte{1, 2, 3, 4},
			"aes128gcm16-aes256gcm16-chacha20poly1305-ecp256-ecp384-modp2048-noesn",
			"aes128-aes256-sha256-sha384-sha512-ecp256-ecp384-modp2048-noesn")
		benchSelectESP(b, "recommended", offered, true, wire.ECP_256)
	})
}

func BenchmarkParseProposal(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseProposal(wire.ProtoIKE, "aes128-aes256-sha256-sha384-modp2048-ecp256-ecp384"); err != nil {
			b.Fatal(err)
		}
	}
}

package eap

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func arr16(t testing.TB, s string) (a [16]byte) {
	t.Helper()
	if copy(a[:], unhex(t, s)) != 16 {
		t.Fatalf("%q is not 16 octets", s)
	}
	return a
}

// RFC 2759, Section 9.2: the worked example.
var rfc2759 = struct {
	user, password                          string
	authChallenge, peerChallenge            string
	challenge, passwordHash, ntResponse     string
	passwordHashHash, authenticatorResponse string
}{
	user:                  "User",
	password:              "clientPass",
	authChallenge:         "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28",
	peerChallenge:         "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E",
	challenge:             "D0 2E 43 86 BC E9 12 26",
	passwordHash:          "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE",
	ntResponse:            "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF",
	passwordHashHash:      "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F",
	authenticatorResponse: "S=407A5589115FD0D6209F510FE9C04566932CDA56",
}

func TestRFC2759Section9_2Vectors(t *testing.T) {
	v := rfc2759
	hash := NTHash(v.password)
	if !bytes.Equal(hash[:], unhex(t, v.passwordHash)) {
		t.Fatalf("NtPasswordHash = %x, want %s", hash, v.passwordHash)
	}
	if hh := hashNTHash(hash); !bytes.Equal(hh[:], unhex(t, v.passwordHashHash)) {
		t.Errorf("HashNtPasswordHash = %x, want %s", hh, v.passwordHashHash)
	}
	ac, pc := arr16(t, v.authChallenge), arr16(t, v.peerChallenge)
	if c := challengeHash(pc, ac, v.user); !bytes.Equal(c[:], unhex(t, v.challenge)) {
		t.Errorf("ChallengeHash = %x, want %s", c, v.challenge)
	}
	nt := generateNTResponse(ac, pc, v.user, hash)
	if !bytes.Equal(nt[:], unhex(t, v.ntResponse)) {
		t.Errorf("GenerateNTResponse = %x, want %s", nt, v.ntResponse)
	}
	if got := authenticatorResponse(hash, nt, pc, ac, v.user); got != v.authenticatorResponse {
		t.Errorf("GenerateAuthenticatorResponse = %s, want %s", got, v.authenticatorResponse)
	}
	// The domain is not part of the hashed name (RFC 2759, Section 4).
	if nt2 := generateNTResponse(ac, pc, stripDomain(`CORP\User`), hash); nt2 != nt {
		t.Error("DOMAIN\\User hashes differently from User")
	}
}

// RFC 3079, Section 3.5.3 (128-bit keys), which reuses the RFC 2759
// example. SendStartKey128 is the key GetAsymmetricStartKey returns for
// IsSend = IsServer = TRUE: the authenticator's send key (Magic3), which is
// the peer's receive key.
func TestRFC3079Section3_5_3Vectors(t *testing.T) {
	hash := NTHash(rfc2759.password)
	var nt [24]byte
	copy(nt[:], unhex(t, rfc2759.ntResponse))
	master := masterKey(hash, nt)
	if want := unhex(t, "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"); !bytes.Equal(master[:], want) {
		t.Fatalf("GetMasterKey = %x, want %x", master, want)
	}
	want := unhex(t, "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
	if k := asymmetricStartKey(master, true, true); !bytes.Equal(k[:], want) {
		t.Errorf("server send key = %x, want %x", k, want)
	}
	if k := asymmetricStartKey(master, false, false); !bytes.Equal(k[:], want) {
		t.Errorf("client receive key = %x, want the server send key %x", k, want)
	}
	cs, sr := asymmetricStartKey(master, true, false), asymmetricStartKey(master, false, true)
	if cs != sr || bytes.Equal(cs[:], want) {
		t.Errorf("client send %x and server receive %x must be equal and differ from the send key", cs, sr)
	}
	msk := mschapv2MSK(hash, nt)
	wantMSK := append(append(append([]byte{}, sr[:]...), want...), make([]byte, 32)...)
	if !bytes.Equal(msk, wantMSK) {
		t.Errorf("MSK = %x, want recv|send|zeros %x", msk, wantMSK)
	}
}

func TestNTHashUnicodeAndParse(t *testing.T) {
	// MD4 of UTF-16LE: a character outside the BMP is a surrogate pair.
	a, b := NTHash("pässwörd😀"), NTHash("passwort")
	if a == b {
		t.Fatal("different passwords hash alike")
	}
	h, err := ParseNTHash("0x" + hex.EncodeToString(a[:]))
	if err != nil || h != a {
		t.Fatalf("ParseNTHash round trip: %x %v", h, err)
	}
	for _, bad := range []string{"", "0x12", strings.Repeat("g", 32)} {
		if _, err := ParseNTHash(bad); err == nil {
			t.Errorf("ParseNTHash(%q) accepted", bad)
		}
	}
	if got := hex.EncodeToString(func() []byte { x := NTHash(""); return x[:] }()); got != "31d6cfe0d16ae931b73c59d7e0c089c0" {
		t.Errorf("NT hash of the empty password = %s", got)
	}
}

func TestFailureText(t *testing.T) {
	for in, want := range map[string]string{
		"E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Authentication failed": "error 691: Authentication failed",
		"E=648 R=0 V=3": "error 648",
		"M=hello":       "hello",
		"E=x M=y z":     "y z",
	} {
		if got := failureText(in); got != want {
			t.Errorf("failureText(%q) = %q, want %q", in, got, want)
		}
	}
}

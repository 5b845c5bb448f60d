package eap

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:staticcheck // MS-CHAPv2 is defined over MD4 (RFC 2759, Section 8.3).
)

// NTHash returns the NT password hash, MD4 of the UTF-16LE password
// (RFC 2759, Section 8.3, NtPasswordHash). It is what the server stores
// instead of the password.
func NTHash(password string) [16]byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	var out [16]byte
	h := md4.New()
	h.Write(b)
	h.Sum(out[:0])
	clear(b)
	return out
}

// ParseNTHash reads an NT hash written as 32 hex digits, with an optional
// "0x" prefix (FreeRADIUS users files) or strongSwan's "0x" form.
func ParseNTHash(s string) ([16]byte, error) {
	var out [16]byte
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	if len(s) != 32 {
		return out, fmt.Errorf("eap: an NT hash has 32 hex digits, got %d", len(s))
	}
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return out, fmt.Errorf("eap: NT hash: %w", err)
	}
	return out, nil
}

// hashNTHash is HashNtPasswordHash (RFC 2759, Section 8.4).
func hashNTHash(h [16]byte) [16]byte {
	var out [16]byte
	m := md4.New()
	m.Write(h[:])
	m.Sum(out[:0])
	return out
}

// challengeHash is ChallengeHash (RFC 2759, Section 8.2). userName is the
// name without any domain prefix.
func challengeHash(peerChallenge, authChallenge [16]byte, userName string) [8]byte {
	h := sha1.New()
	h.Write(peerChallenge[:])
	h.Write(authChallenge[:])
	h.Write([]byte(userName))
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// challengeResponse is ChallengeResponse (RFC 2759, Section 8.5): the
// 8-octet challenge DES-encrypted under three 7-octet slices of the
// zero-padded password hash.
func challengeResponse(challenge [8]byte, ntHash [16]byte) [24]byte {
	var z [21]byte
	copy(z[:], ntHash[:])
	var out [24]byte
	for i := range 3 {
		desEncrypt(out[8*i:8*i+8], z[7*i:7*i+7], challenge[:])
	}
	clear(z[:])
	return out
}

// desEncrypt is DesEncrypt (RFC 2759, Section 8.6): the 56-bit key is
// spread over eight octets, seven bits each; DES ignores the low (parity)
// bit of each.
func desEncrypt(dst, key7, clear8 []byte) {
	var k [8]byte
	k[0] = key7[0]
	k[1] = key7[0]<<7 | key7[1]>>1
	k[2] = key7[1]<<6 | key7[2]>>2
	k[3] = key7[2]<<5 | key7[3]>>3
	k[4] = key7[3]<<4 | key7[4]>>4
	k[5] = key7[4]<<3 | key7[5]>>5
	k[6] = key7[5]<<2 | key7[6]>>6
	k[7] = key7[6] << 1
	c, err := des.NewCipher(k[:])
	if err != nil {
		panic("eap: des key of 8 octets refused: " + err.Error())
	}
	c.Encrypt(dst, clear8)
}

// generateNTResponse is GenerateNTResponse (RFC 2759, Section 8.1).
func generateNTResponse(authChallenge, peerChallenge [16]byte, userName string, ntHash [16]byte) [24]byte {
	return challengeResponse(challengeHash(peerChallenge, authChallenge, userName), ntHash)
}

var (
	authMagic1 = []byte("Magic server to client signing constant")
	authMagic2 = []byte("Pad to make it do more than one iteration")
)

// authenticatorResponse is GenerateAuthenticatorResponse (RFC 2759,
// Section 8.7): "S=" and 40 upper-case hex digits.
func authenticatorResponse(ntHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName string) string {
	hh := hashNTHash(ntHash)
	h := sha1.New()
	h.Write(hh[:])
	h.Write(ntResponse[:])
	h.Write(authMagic1)
	digest := h.Sum(nil)
	c := challengeHash(peerChallenge, authChallenge, userName)
	h.Reset()
	h.Write(digest)
	h.Write(c[:])
	h.Write(authMagic2)
	return "S=" + strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// RFC 3079, Section 3.4: the magic strings and pads of the MPPE keys.
var (
	mppeMagic1 = []byte("This is the MPPE Master Key")
	// mppeMagic2 selects the client's send key, which is the server's
	// receive key.
	mppeMagic2 = []byte("On the client side, this is the send key; on the server side, it is the receive key.")
	// mppeMagic3 selects the client's receive key, the server's send key.
	mppeMagic3 = []byte("On the client side, this is the receive key; on the server side, it is the send key.")
	shsPad1    = make([]byte, 40)
	shsPad2    = []byte(strings.Repeat("\xf2", 40))
)

// masterKey is GetMasterKey (RFC 3079, Section 3.4).
func masterKey(ntHash [16]byte, ntResponse [24]byte) [16]byte {
	hh := hashNTHash(ntHash)
	h := sha1.New()
	h.Write(hh[:])
	h.Write(ntResponse[:])
	h.Write(mppeMagic1)
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// asymmetricStartKey is GetAsymmetricStartKey (RFC 3079, Section 3.4) for
// 128-bit keys.
func asymmetricStartKey(master [16]byte, isSend, isServer bool) [16]byte {
	magic := mppeMagic3
	if isSend == !isServer {
		// Client send and server receive share Magic2.
		magic = mppeMagic2
	}
	h := sha1.New()
	h.Write(master[:])
	h.Write(shsPad1)
	h.Write(magic)
	h.Write(shsPad2)
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// mschapv2MSK is the EAP-MSCHAPv2 MSK: MasterReceiveKey and MasterSendKey
// as the authenticator names them, then 32 zero octets to the 64 octets of
// RFC 3748. Both sides compute the same value. This is the MSK of
// Windows, strongSwan (eap_mschapv2.c) and of RADIUS servers, which send
// the two keys as MS-MPPE-Recv-Key and MS-MPPE-Send-Key (RFC 2548).
func mschapv2MSK(ntHash [16]byte, ntResponse [24]byte) []byte {
	m := masterKey(ntHash, ntResponse)
	recv := asymmetricStartKey(m, false, true)
	send := asymmetricStartKey(m, true, true)
	msk := make([]byte, 64)
	copy(msk, recv[:])
	copy(msk[16:], send[:])
	return msk
}

// equalAuthResponse compares two "S=..." strings in constant time,
// ignoring the case of the hex digits (RFC 2759 asks for upper case; some
// peers send lower case).
func equalAuthResponse(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToUpper(a)), []byte(strings.ToUpper(b))) == 1
}

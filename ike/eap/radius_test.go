package eap

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"testing"
)

// RFC 2865, Section 7.1: the Access-Request for "nemo" and its
// Access-Accept, shared secret "xyzzy5461".
func TestRFC2865Section7_1ResponseAuthenticator(t *testing.T) {
	secret := []byte("xyzzy5461")
	req := unhex(t, "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d"+
		"93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03")
	resp := unhex(t, "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00"+
		"0e 06 c0 a8 01 03")
	rq, err := parseRADIUS(req)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := rq.get(attrUserName); !ok || string(u) != "nemo" {
		t.Fatalf("User-Name %q", u)
	}
	rp, err := parseRADIUS(resp)
	if err != nil {
		t.Fatal(err)
	}
	if got := responseAuthenticator(resp, rq.auth, secret); !bytes.Equal(got, rp.auth[:]) {
		t.Fatalf("response authenticator %x, want %x", got, rp.auth)
	}
	// verifyResponse also wants a Message-Authenticator, which this 1997
	// example lacks.
	if err := verifyResponse(resp, rp, rq.auth, secret); err == nil {
		t.Fatal("reply without Message-Authenticator accepted")
	}
	// Re-encoding gives the same octets.
	if b, err := rp.marshal(); err != nil || !bytes.Equal(b, resp) {
		t.Fatalf("re-encoded %x", b)
	}
}

func TestRADIUSCodec(t *testing.T) {
	p := &radiusPacket{code: radiusAccessRequest, id: 9}
	p.add(attrMessageAuthenticator, make([]byte, 16))
	long := bytes.Repeat([]byte{0x42}, 600)
	p.add(attrEAPMessage, long)
	raw, err := p.marshal()
	if err != nil {
		t.Fatal(err)
	}
	signRequest(raw, p, []byte("s3cret"))
	q, err := parseRADIUS(append(raw, 0, 0, 0)) // trailing padding is ignored
	if err != nil {
		t.Fatal(err)
	}
	if n := len(q.attrs); n != 4 { // MA and 253+253+94 octets of EAP-Message
		t.Fatalf("%d attributes", n)
	}
	if !bytes.Equal(q.concat(attrEAPMessage), long) {
		t.Fatal("EAP-Message does not reassemble")
	}
	ma, _ := q.get(attrMessageAuthenticator)
	if want := messageAuthenticator(raw, q.attrs[0].off, nil, []byte("s3cret")); !bytes.Equal(ma, want) {
		t.Fatal("request Message-Authenticator wrong")
	}
	for i := range len(raw) {
		if _, err := parseRADIUS(raw[:i]); err == nil {
			t.Fatalf("truncation to %d octets accepted", i)
		}
	}
	bad := bytes.Clone(raw)
	bad[21] = 1 // attribute length below 2
	if _, err := parseRADIUS(bad); err == nil {
		t.Fatal("attribute length 1 accepted")
	}
	huge := &radiusPacket{code: 1}
	huge.add(attrEAPMessage, make([]byte, 5000))
	if _, err := huge.marshal(); err == nil {
		t.Fatal("packet over 4096 octets marshalled")
	}
}

// encryptMPPEKey is the RADIUS server's side of RFC 2548, Section 2.4.2.
func encryptMPPEKey(key, secret []byte, reqAuth [16]byte, salt [2]byte) []byte {
	plain := append([]byte{byte(len(key))}, key...)
	for len(plain)%16 != 0 {
		plain = append(plain, 0)
	}
	out := append([]byte{}, salt[:]...)
	prev := append(append(append([]byte{}, secret...), reqAuth[:]...), salt[:]...)
	for i := 0; i < len(plain); i += 16 {
		b := md5.Sum(prev)
		c := make([]byte, 16)
		for j := range c {
			c[j] = plain[i+j] ^ b[j]
		}
		out = append(out, c...)
		prev = append(append([]byte{}, secret...), c...)
	}
	return out
}

// mppeVSA wraps a key in a Microsoft Vendor-Specific attribute value.
func mppeVSA(vtype uint8, v []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, vendorMicrosoft)
	return append(append(b, vtype, byte(2+len(v))), v...)
}

func TestMPPEKeyRoundTrip(t *testing.T) {
	secret := []byte("testing123")
	var auth [16]byte
	copy(auth[:], "0123456789abcdef")
	for _, n := range []int{16, 32} {
		key := bytes.Repeat([]byte{byte(n)}, n)
		enc := encryptMPPEKey(key, secret, auth, [2]byte{0x80, 0x01})
		got, err := decryptMPPEKey(enc, secret, auth)
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("%d-octet key: %x %v", n, got, err)
		}
		p := &radiusPacket{}
		p.add(attrVendorSpecific, mppeVSA(msMPPERecvKey, enc))
		if v := p.vendor(vendorMicrosoft, msMPPERecvKey); len(v) != 1 || !bytes.Equal(v[0], enc) {
			t.Fatal("vendor attribute not found")
		}
		if v := p.vendor(vendorMicrosoft, msMPPESendKey); len(v) != 0 {
			t.Fatal("wrong vendor type matched")
		}
	}
	enc := encryptMPPEKey(make([]byte, 32), secret, auth, [2]byte{0x01, 0x01})
	if _, err := decryptMPPEKey(enc, secret, auth); err == nil {
		t.Error("salt without its high bit accepted")
	}
	if _, err := decryptMPPEKey(enc[:17], secret, auth); err == nil {
		t.Error("short value accepted")
	}
	// A wrong secret garbles the length octet: 32 of 34 possible values
	// are refused, so count refusals over many salts.
	refused := 0
	for i := range 64 {
		enc := encryptMPPEKey(make([]byte, 32), secret, auth, [2]byte{0x80, byte(i)})
		if _, err := decryptMPPEKey(enc, []byte("wrong"), auth); err != nil {
			refused++
		}
	}
	if refused < 32 {
		t.Errorf("only %d of 64 keys decrypted with a wrong secret were refused", refused)
	}
}

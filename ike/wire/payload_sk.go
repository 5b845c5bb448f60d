package wire

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/crypto/cryptobyte"
)

// Encrypted is the Encrypted and Authenticated payload, SK (RFC 7296,
// Section 3.14). Body is IV || ciphertext || ICV; NextPayload is the type
// of the first payload inside.
type Encrypted struct {
	Generic
	NextPayload PayloadType
	Body        []byte
	assoc       []byte
}

func (p *Encrypted) Type() PayloadType                   { return PayloadSK }
func (p *Encrypted) Summary() string                     { return "E" }
func (p *Encrypted) appendBody(b []byte) ([]byte, error) { return append(b, p.Body...), nil }

func (p *Encrypted) parseBody(body []byte) error {
	if len(body) == 0 {
		return syntaxErr(PayloadSK, "empty encrypted payload")
	}
	p.Body = body
	return nil
}

// AssociatedData returns the octets of the received message before Body:
// what the integrity check covers besides the body itself (RFC 7296,
// Section 3.14; RFC 5282, Section 5.1).
func (p *Encrypted) AssociatedData() []byte { return p.assoc }

// EncryptedFragment is the Encrypted Fragment payload, SKF (RFC 7383,
// Section 2.5). NextPayload is set in fragment 1 only.
type EncryptedFragment struct {
	Generic
	NextPayload PayloadType
	Number      uint16
	Total       uint16
	Body        []byte
	assoc       []byte
}

func (p *EncryptedFragment) Type() PayloadType { return PayloadSKF }

// Summary uses strongSwan's form "EF(2/7)".
func (p *EncryptedFragment) Summary() string { return fmt.Sprintf("EF(%d/%d)", p.Number, p.Total) }

func (p *EncryptedFragment) parseBody(body []byte) error {
	s := cryptobyte.String(body)
	if !s.ReadUint16(&p.Number) || !s.ReadUint16(&p.Total) {
		return syntaxErr(PayloadSKF, "truncated fragment header")
	}
	// RFC 7383, Section 2.5: numbering starts at 1 and never exceeds the total.
	if p.Number == 0 || p.Total == 0 || p.Number > p.Total {
		return syntaxErr(PayloadSKF, "fragment %d of %d", p.Number, p.Total)
	}
	if s.Empty() {
		return syntaxErr(PayloadSKF, "fragment without encrypted content")
	}
	p.Body = []byte(s)
	return nil
}

func (p *EncryptedFragment) appendBody(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, p.Number)
	b = binary.BigEndian.AppendUint16(b, p.Total)
	return append(b, p.Body...), nil
}

// AssociatedData returns the octets of the received message before Body.
func (p *EncryptedFragment) AssociatedData() []byte { return p.assoc }

// A Sealer encrypts and authenticates the inner payloads of an SK or SKF
// payload. The wire package frames; the keys live behind this interface.
type Sealer interface {
	// BodyLen returns len(IV || ciphertext || ICV) for plainLen octets.
	BodyLen(plainLen int) int
	// Seal appends IV || ciphertext || ICV for plain to dst and returns
	// the extended slice, where assoc is the whole message before the IV
	// with its final lengths. assoc is dst itself when a message is sealed
	// into its own buffer, so Seal only appends to dst.
	Seal(dst, assoc, plain []byte) ([]byte, error)
}

// An Opener verifies and decrypts what a Sealer produced.
type Opener interface {
	Open(assoc, body []byte) ([]byte, error)
}

// MarshalEncrypted encodes a message whose payloads are clear followed by
// an SK payload holding inner (RFC 7296, Section 3.14). Most messages after
// IKE_SA_INIT have no clear payloads.
func MarshalEncrypted(h Header, clear, inner []Payload, s Sealer) ([]byte, error) {
	bp, first, err := encodePlain(inner)
	if err != nil {
		return nil, err
	}
	defer putPlain(bp)
	plain := *bp
	return sealOne(h, clear, &Encrypted{NextPayload: first}, plain, s)
}

// plainBufs holds the buffers inner payloads are encoded into: a message's
// plaintext lives only until it is sealed, and growing a fresh one for
// every message cost a handful of allocations (a certificate, an AUTH).
var plainBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// encodePlain encodes inner into a buffer from plainBufs; putPlain gives
// it back.
func encodePlain(inner []Payload) (*[]byte, PayloadType, error) {
	bp := plainBufs.Get().(*[]byte)
	plain, first, err := AppendPayloads((*bp)[:0], inner)
	if err != nil {
		putPlain(bp)
		return nil, 0, err
	}
	*bp = plain
	return bp, first, nil
}

// putPlain wipes a plaintext buffer, which may have held EAP credentials,
// and keeps it unless an odd huge message made it large.
func putPlain(bp *[]byte) {
	clear((*bp)[:cap(*bp)]) // all of it: a failed encoding may have written past len
	if cap(*bp) <= 64<<10 {
		*bp = (*bp)[:0]
		plainBufs.Put(bp)
	}
}

// sealOne lays out header, clear payloads and the SK or SKF generic header
// with final lengths, then seals plain against those octets.
func sealOne(h Header, clear []Payload, enc Payload, plain []byte, s Sealer) ([]byte, error) {
	bodyLen := s.BodyLen(len(plain))
	// Room for the header, the clear payloads and the SK header (64 is
	// plenty), and the sealed body: a response is kept for
	// retransmission for the life of its SA, so no slack beyond that.
	b := make([]byte, HeaderLen, HeaderLen+64+bodyLen)
	b, first, err := AppendPayloads(b, append(clear[:len(clear):len(clear)], enc))
	if err != nil {
		return nil, err
	}
	total := len(b) + bodyLen
	if total > MaxMessageLen {
		return nil, fmt.Errorf("wire: encrypted message of %d octets exceeds %d", total, MaxMessageLen)
	}
	// The encrypted payload's length must count the body it will carry.
	encStart := len(b) - genericHeaderLen
	if _, ok := enc.(*EncryptedFragment); ok {
		encStart -= 4
	}
	binary.BigEndian.PutUint16(b[encStart+2:], uint16(total-encStart))
	h.NextPayload, h.Length = first, uint32(total)
	if h.MajorVersion == 0 {
		h.MajorVersion = 2
	}
	h.AppendHeader(b[:0])
	before := len(b)
	b, err = s.Seal(b, b, plain)
	if err != nil {
		return nil, err
	}
	if len(b)-before != bodyLen {
		return nil, fmt.Errorf("wire: sealer returned %d octets, announced %d", len(b)-before, bodyLen)
	}
	return b, nil
}

// MarshalFragments encodes inner as RFC 7383 fragments, each message at
// most maxLen octets (the IKE message, without IP/UDP headers or a non-ESP
// marker). Every fragment is sealed separately; only the first names the
// first inner payload (RFC 7383, Section 2.5).
func MarshalFragments(h Header, inner []Payload, s Sealer, maxLen int) ([][]byte, error) {
	bp, first, err := encodePlain(inner)
	if err != nil {
		return nil, err
	}
	defer putPlain(bp)
	plain := *bp
	// Find the largest chunk whose sealed fragment fits: the overhead is
	// the header, the SKF header and the cipher's IV, padding and ICV.
	overhead := HeaderLen + genericHeaderLen + 4
	chunk := maxLen - overhead
	for chunk > 0 && overhead+s.BodyLen(chunk) > maxLen {
		chunk--
	}
	if chunk <= 0 {
		return nil, fmt.Errorf("wire: fragment size %d leaves no room for data", maxLen)
	}
	n := (len(plain) + chunk - 1) / chunk
	if n == 0 {
		n = 1
	}
	if n > 0xffff {
		return nil, fmt.Errorf("wire: %d fragments", n)
	}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		part := plain[i*chunk : min((i+1)*chunk, len(plain))]
		f := &EncryptedFragment{Number: uint16(i + 1), Total: uint16(n)}
		if i == 0 {
			f.NextPayload = first
		}
		m, err := sealOne(h, nil, f, part, s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Decrypt verifies and decrypts the message's SK payload and decodes the
// payloads inside it.
func (m *Message) Decrypt(o Opener) ([]Payload, error) {
	e := m.Encrypted()
	if e == nil {
		return nil, fmt.Errorf("wire: %s has no encrypted payload", m.Header.Summary())
	}
	plain, err := o.Open(e.assoc, e.Body)
	if err != nil {
		return nil, err
	}
	return ParsePayloads(e.NextPayload, plain)
}

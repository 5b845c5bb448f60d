package wire

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ikelab/ikelab/internal/corpus"
)

// findCorpus is corpus.Find, for fuzz seeding outside a test.
func findCorpus() (dir, why string) { return corpus.Find() }

// corpusDir returns ../shared/corpus or skips the test.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	return corpus.Dir(tb)
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// aospVectors is one testdata/aosp/*.txt file: NAME = value lines. A name
// may appear more than once (locals such as "i = 0"); values keeps them all.
type aospVectors struct {
	file   string
	values map[string][]string
}

func loadAOSP(tb testing.TB, name string) *aospVectors {
	tb.Helper()
	path := filepath.Join("testdata", "aosp", name+".txt")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	v := &aospVectors{file: path, values: map[string][]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.Contains(line, " = ") {
			continue
		}
		k, val, _ := strings.Cut(line, " = ")
		v.values[k] = append(v.values[k], strings.TrimSpace(val))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return v
}

// hex returns the octets of the one constant called name.
func (v *aospVectors) hex(tb testing.TB, name string) []byte {
	tb.Helper()
	vals := v.values[name]
	if len(vals) != 1 {
		tb.Fatalf("%s: %d values for %s, want 1", v.file, len(vals), name)
	}
	return unhex(tb, vals[0])
}

// allHex returns every value of every constant in the file that decodes as
// hex, for fuzz seeds.
func (v *aospVectors) allHex() [][]byte {
	var out [][]byte
	for _, vals := range v.values {
		for _, s := range vals {
			if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
				out = append(out, b)
			}
		}
	}
	return out
}

// chain wraps body in a one-payload chain: generic header with Next
// Payload 0, the given flags and a consistent length.
func chain(flags uint8, body []byte) []byte {
	n := genericHeaderLen + len(body)
	return append([]byte{0, flags, byte(n >> 8), byte(n)}, body...)
}

// parseOne decodes a whole encoded payload of type typ, as the AOSP vectors
// give them (generic header included, its Next Payload naming whatever
// followed in the original message). It checks that the payload re-encodes
// to the same octets.
func parseOne(tb testing.TB, typ PayloadType, raw []byte) Payload {
	tb.Helper()
	if len(raw) < genericHeaderLen {
		tb.Fatalf("payload of %d octets", len(raw))
	}
	in := bytes.Clone(raw)
	next := in[0]
	in[0] = 0
	ps, err := ParsePayloads(typ, in)
	if err != nil {
		tb.Fatalf("ParsePayloads(%s, %x): %v", typ, raw, err)
	}
	if len(ps) != 1 {
		tb.Fatalf("got %d payloads, want 1", len(ps))
	}
	out, first, err := AppendPayloads(nil, ps)
	if err != nil {
		tb.Fatalf("AppendPayloads: %v", err)
	}
	if first != typ {
		tb.Fatalf("AppendPayloads returned first type %s, want %s", first, typ)
	}
	out[0] = next
	if !bytes.Equal(out, raw) {
		tb.Fatalf("re-encoded payload differs:\n got %x\nwant %x", out, raw)
	}
	return ps[0]
}

// parseBody decodes body as the body of a payload of type typ.
func parseBody(typ PayloadType, body []byte) (Payload, error) {
	ps, err := ParsePayloads(typ, chain(0, body))
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// wantSyntaxError fails unless err is a *SyntaxError that asks for
// INVALID_SYNTAX about payload p.
func wantSyntaxError(tb testing.TB, err error, p PayloadType) *SyntaxError {
	tb.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		tb.Fatalf("error %v (%T), want *SyntaxError", err, err)
	}
	if se.Payload != p {
		tb.Errorf("SyntaxError about %s payload, want %s: %v", se.Payload, p, err)
	}
	if se.Notify() != INVALID_SYNTAX || se.NotifyData() != nil {
		tb.Errorf("SyntaxError notifies %s %x, want INVALID_SYNTAX without data", se.Notify(), se.NotifyData())
	}
	if !strings.HasPrefix(err.Error(), "wire: ") {
		tb.Errorf("error %q lacks the package prefix", err)
	}
	return se
}

// xorCipher is a test Sealer and Opener: IV || (plain || padding || pad
// length) XOR a key stream || ICV, where the ICV is the first icvLen octets
// of SHA-256(assoc || IV || ciphertext). It frames like RFC 7296, Section
// 3.14 without being a cipher.
type xorCipher struct {
	key           byte
	ivLen, icvLen int
	block         int // padding block size; 1 pads with the pad-length octet alone
}

func (c *xorCipher) paddedLen(n int) int {
	return (n + 1 + c.block - 1) / c.block * c.block
}

func (c *xorCipher) BodyLen(plainLen int) int { return c.ivLen + c.paddedLen(plainLen) + c.icvLen }

func (c *xorCipher) stream(iv []byte, i int) byte { return c.key ^ iv[i%len(iv)] ^ byte(i) }

func (c *xorCipher) icv(assoc, ivct []byte) []byte {
	h := sha256.New()
	h.Write(assoc)
	h.Write(ivct)
	return h.Sum(nil)[:c.icvLen]
}

func (c *xorCipher) Seal(dst, assoc, plain []byte) ([]byte, error) {
	padded := c.paddedLen(len(plain))
	out := make([]byte, c.ivLen, c.BodyLen(len(plain)))
	for i := range out {
		out[i] = byte(0xa0 + i)
	}
	iv := out[:c.ivLen]
	pt := append(bytes.Clone(plain), make([]byte, padded-len(plain)-1)...)
	pt = append(pt, byte(padded-len(plain)-1))
	for i, b := range pt {
		out = append(out, b^c.stream(iv, i))
	}
	return append(append(dst, out...), c.icv(assoc, out)...), nil
}

func (c *xorCipher) Open(assoc, body []byte) ([]byte, error) {
	if len(body) < c.ivLen+c.icvLen+1 || (len(body)-c.ivLen-c.icvLen)%c.block != 0 {
		return nil, fmt.Errorf("xorCipher: body of %d octets", len(body))
	}
	ivct, tag := body[:len(body)-c.icvLen], body[len(body)-c.icvLen:]
	if subtle.ConstantTimeCompare(c.icv(assoc, ivct), tag) != 1 {
		return nil, errors.New("xorCipher: ICV mismatch")
	}
	iv, ct := ivct[:c.ivLen], ivct[c.ivLen:]
	pt := make([]byte, len(ct))
	for i, b := range ct {
		pt[i] = b ^ c.stream(iv, i)
	}
	pad := int(pt[len(pt)-1])
	if pad+1 > len(pt) {
		return nil, errors.New("xorCipher: bad padding")
	}
	return pt[:len(pt)-pad-1], nil
}

// copySealer is the trivial Sealer of the benchmarks: the plaintext as is,
// then a 16-octet fake ICV.
type copySealer struct{}

func (copySealer) BodyLen(n int) int { return n + 16 }
func (copySealer) Seal(dst, _, plain []byte) ([]byte, error) {
	return append(append(dst, plain...), make([]byte, 16)...), nil
}
func (copySealer) Open(_, body []byte) ([]byte, error) {
	if len(body) < 16 {
		return nil, errors.New("copySealer: short body")
	}
	return body[:len(body)-16], nil
}

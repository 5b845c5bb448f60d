package ike

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/wire"
)

// fragModel is what RFC 7383, Section 2.6.1 asks of reassembly, written
// out plainly to check reassembly.add against: fragments kept by number,
// the first copy of a number wins, a new total starts over, and the whole
// message is the fragments' contents in number order.
type fragModel struct {
	total uint16
	first wire.PayloadType
	parts map[uint16][]byte
	size  int
}

func newFragModel() *fragModel { return &fragModel{parts: map[uint16][]byte{}} }

// add returns what reassembly.add must return: the whole message when
// complete, or wantErr when a limit or the numbering forbids the fragment.
func (m *fragModel) add(num, total uint16, next wire.PayloadType, plain []byte) (whole []byte, done, wantErr bool) {
	if total > MaxFragments || num == 0 || num > total {
		return nil, false, true
	}
	if m.total != 0 && total != m.total {
		*m = *newFragModel()
	}
	m.total = total
	if _, dup := m.parts[num]; dup {
		return nil, false, false
	}
	if m.size+len(plain) > MaxReassembled {
		return nil, false, true
	}
	if num == 1 {
		m.first = next
	}
	m.parts[num] = plain
	m.size += len(plain)
	if len(m.parts) < int(total) {
		return nil, false, false
	}
	for i := uint16(1); i <= total; i++ {
		whole = append(whole, m.parts[i]...)
	}
	return whole, true, false
}

// fragOp is one fuzzer-chosen fragment: 5 octets give its number, total,
// length (13 bits, so that 64 fragments can pass MaxReassembled) and a
// seed for its contents and Next Payload.
const fragOpLen = 5

func decodeFragOp(b []byte) (num, total uint16, next wire.PayloadType, plain []byte) {
	num, total = uint16(b[0]), uint16(b[1])
	n := int(binary.BigEndian.Uint16(b[2:4]) & 0x1fff)
	seed := b[4]
	plain = make([]byte, n)
	for i := range plain {
		// Contents depend on the number and the position, so a
		// reordering or a lost fragment shows in the whole.
		plain[i] = seed ^ byte(i) ^ byte(i>>8)*31 ^ byte(num)*17
	}
	return num, total, wire.PayloadType(seed % 56), plain
}

func fragOps(ops ...[5]int) []byte {
	var b []byte
	for _, o := range ops {
		b = append(b, byte(o[0]), byte(o[1]), byte(o[2]>>8), byte(o[2]), byte(o[3]))
	}
	return b
}

// FuzzReassembly feeds reassembly.add a fuzzer-chosen sequence of
// fragments, as ikeSA.decrypt does after each fragment's integrity check,
// and holds it to the model: no panic; never more than MaxFragments parts
// or MaxReassembled octets held; a duplicate changes nothing; a total
// above MaxFragments, a fragment number outside 1..total or a message
// above MaxReassembled is an error; and a completed message is the
// concatenation of the fragments in number order. As in decrypt, an error
// or a completed message starts a fresh reassembly.
func FuzzReassembly(f *testing.F) {
	f.Add(fragOps([5]int{1, 3, 100, 1}, [5]int{2, 3, 100, 2}, [5]int{3, 3, 10, 3}))
	f.Add(fragOps([5]int{3, 3, 10, 3}, [5]int{2, 3, 100, 2}, [5]int{2, 3, 7, 9}, [5]int{1, 3, 100, 1}))
	f.Add(fragOps([5]int{1, 4, 500, 1}, [5]int{2, 2, 500, 1}, [5]int{1, 2, 500, 4}))  // re-fragmented
	f.Add(fragOps([5]int{1, 65, 10, 1}, [5]int{1, 64, 10, 1}, [5]int{64, 64, 10, 1})) // count limit
	f.Add(fragOps([5]int{1, 2, 8191, 1}, [5]int{2, 2, 8191, 2}))
	f.Add(fragOps([5]int{0, 2, 10, 1}, [5]int{3, 2, 10, 1}, [5]int{1, 2, 10, 1}, [5]int{3, 2, 10, 1})) // bad numbers
	var big [][5]int
	for i := 1; i <= 9; i++ {
		big = append(big, [5]int{i, 9, 8000, i}) // 72,000 octets: over the size limit
	}
	f.Add(fragOps(big...))
	f.Add(fragOps([5]int{1, 1, 0, 0}))

	f.Fuzz(func(t *testing.T, ops []byte) {
		r, m := newReassembly(7, time.Time{}), newFragModel()
		for len(ops) >= fragOpLen {
			num, total, next, plain := decodeFragOp(ops[:fragOpLen])
			ops = ops[fragOpLen:]
			wantWhole, wantDone, wantErr := m.add(num, total, next, bytes.Clone(plain))
			whole, first, done, err := r.add(&wire.EncryptedFragment{Number: num, Total: total, NextPayload: next}, plain)

			if wantErr {
				if err == nil {
					t.Fatalf("fragment %d/%d of %d octets accepted; the model refuses it", num, total, len(plain))
				}
				r, m = newReassembly(7, time.Time{}), newFragModel()
				continue
			}
			if err != nil {
				t.Fatalf("fragment %d/%d of %d octets: %v", num, total, len(plain), err)
			}
			if done != wantDone {
				t.Fatalf("fragment %d/%d: done %v, model %v", num, total, done, wantDone)
			}
			if done {
				if !bytes.Equal(whole, wantWhole) {
					t.Fatalf("reassembled %d octets differ from the %d in fragment order", len(whole), len(wantWhole))
				}
				if first != m.first {
					t.Fatalf("first payload %v, fragment 1 named %v", first, m.first)
				}
				r, m = newReassembly(7, time.Time{}), newFragModel()
				continue
			}
			// Bounded, and holding exactly what the model holds.
			if len(r.parts) > MaxFragments || r.size > MaxReassembled {
				t.Fatalf("holding %d parts, %d octets", len(r.parts), r.size)
			}
			held := 0
			for n, p := range r.parts {
				held += len(p)
				if !bytes.Equal(p, m.parts[n]) {
					t.Fatalf("fragment %d holds other octets than its first copy", n)
				}
			}
			if held != r.size || len(r.parts) != len(m.parts) || r.total != m.total {
				t.Fatalf("size %d (counted %d), %d parts (model %d), total %d (model %d)",
					r.size, held, len(r.parts), len(m.parts), r.total, m.total)
			}
		}
	})
}

// TestReassemblyAnyOrder: every order of up to six fragments, each
// fragment also arriving twice, and shuffles of MaxFragments fragments,
// reassemble to the original message, completing exactly when the last
// missing fragment arrives.
func TestReassemblyAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(order []uint16, total uint16) {
		t.Helper()
		var want []byte
		parts := map[uint16][]byte{}
		for i := uint16(1); i <= total; i++ {
			parts[i] = bytes.Repeat([]byte{byte(i)}, int(i)*3)
			want = append(want, parts[i]...)
		}
		r := newReassembly(1, time.Time{})
		seen := map[uint16]bool{}
		for k, n := range order {
			whole, first, done, err := r.add(&wire.EncryptedFragment{Number: n, Total: total, NextPayload: wire.PayloadIDi}, bytes.Clone(parts[n]))
			require.NoError(t, err)
			seen[n] = true
			if len(seen) < int(total) {
				require.False(t, done, "order %v: done at step %d", order, k)
				continue
			}
			require.True(t, done, "order %v: not done with every fragment", order)
			assert.Equal(t, want, whole, "order %v", order)
			assert.Equal(t, wire.PayloadIDi, first)
			return
		}
		t.Fatalf("order %v never completed", order)
	}
	for total := uint16(1); total <= 6; total++ {
		perm := make([]uint16, total)
		for i := range perm {
			perm[i] = uint16(i + 1)
		}
		permute(perm, 0, func(p []uint16) {
			// Each fragment twice, the duplicate right after it.
			var dup []uint16
			for _, n := range p {
				dup = append(dup, n, n)
			}
			check(dup, total)
		})
	}
	for range 50 {
		order := rng.Perm(MaxFragments)
		var o []uint16
		for _, n := range order {
			o = append(o, uint16(n+1))
			if rng.IntN(4) == 0 {
				o = append(o, uint16(order[rng.IntN(len(order))]+1))
			}
		}
		check(o, MaxFragments)
	}
}

func permute(a []uint16, k int, visit func([]uint16)) {
	if k == len(a) {
		visit(a)
		return
	}
	for i := k; i < len(a); i++ {
		a[k], a[i] = a[i], a[k]
		permute(a, k+1, visit)
		a[k], a[i] = a[i], a[k]
	}
}

// TestReassemblyLimits: the count and size limits (RFC 7383, Section
// 2.6.1 leaves them to the receiver) refuse before anything is kept.
func TestReassemblyLimits(t *testing.T) {
	r := newReassembly(1, time.Time{})
	_, _, _, err := r.add(&wire.EncryptedFragment{Number: 1, Total: MaxFragments + 1}, []byte{1})
	assert.Error(t, err, "more fragments than MaxFragments")
	assert.Empty(t, r.parts)

	r = newReassembly(1, time.Time{})
	chunk := make([]byte, MaxReassembled/4)
	for n := uint16(1); n <= 4; n++ {
		_, _, done, err := r.add(&wire.EncryptedFragment{Number: n, Total: 5}, chunk)
		require.NoError(t, err)
		require.False(t, done)
	}
	_, _, _, err = r.add(&wire.EncryptedFragment{Number: 5, Total: 5}, []byte{1})
	assert.Error(t, err, "one octet over MaxReassembled")
	assert.Equal(t, MaxReassembled, r.size, "nothing of the refused fragment kept")

	for _, bad := range []wire.EncryptedFragment{{Number: 0, Total: 2}, {Number: 3, Total: 2}} {
		r = newReassembly(1, time.Time{})
		_, _, done, err := r.add(&wire.EncryptedFragment{Number: 1, Total: 2}, []byte{1})
		require.NoError(t, err)
		require.False(t, done)
		_, _, done, err = r.add(&bad, []byte{2})
		assert.Error(t, err, "fragment %d of %d", bad.Number, bad.Total)
		assert.False(t, done, "fragment %d of %d must not complete a message", bad.Number, bad.Total)
	}
}

// fragmentedRequest establishes a PSK IKE SA over a pipe with RFC 7383
// agreed, then encodes an INFORMATIONAL request large enough to go in
// several fragments, without sending it.
func fragmentedRequest(t *testing.T) (*harness, *Session, [][]byte) {
	t.Helper()
	cfg := Config{PSK: []byte("engine-test-psk-0123456789abcdef"), FragmentSize: 600}
	h := newHarness(t, cfg)
	ic := InitiatorConfig{ID: &wire.ID{IDType: wire.ID_FQDN, Data: []byte("client.lab")}, PSK: cfg.PSK,
		Fragmentation: true, FragmentSize: 580, Timeout: 200 * time.Millisecond}
	ic.IKE, ic.ESP = proposals(t, wire.ProtoIKE, "aes128-sha256-modp2048"), proposals(t, wire.ProtoESP, "aes128-sha256")
	s, err := connect(t, h, ic)
	require.NoError(t, err)
	for len(h.p.in) > 0 {
		<-h.p.in
	}
	hdr := wire.Header{SPIi: s.spii, SPIr: s.spir, MajorVersion: 2, Exchange: wire.INFORMATIONAL,
		Flags: wire.FlagInitiator, MessageID: s.myMsgID}
	frags, err := s.encode(hdr, []wire.Payload{&wire.VendorID{Data: bytes.Repeat([]byte("ikelab "), 400)}})
	require.NoError(t, err)
	require.Greater(t, len(frags), 3, "the request goes in fragments")
	return h, s, frags
}

// deliver hands datagrams to the responder and returns the responses it
// sent, waiting briefly for each.
func deliver(h *harness, msgs ...[]byte) [][]byte {
	for _, m := range msgs {
		h.e.Handle(Packet{Local: serverAP, Remote: clientAP, Data: bytes.Clone(m)})
	}
	var out [][]byte
	for {
		select {
		case m := <-h.p.in:
			out = append(out, m)
		case <-time.After(50 * time.Millisecond):
			return out
		}
	}
}

// TestEngineFragmentsAnyOrderWithDuplicates: the responder reassembles a
// request whose fragments come last to first, each twice, answers it
// once, ignores late duplicates, and answers a retransmitted fragment 1
// with the same response (RFC 7383, Section 2.6.1).
func TestEngineFragmentsAnyOrderWithDuplicates(t *testing.T) {
	h, s, frags := fragmentedRequest(t)
	var order [][]byte
	for i := len(frags) - 1; i >= 1; i-- {
		order = append(order, frags[i], frags[i])
	}
	require.Empty(t, deliver(h, order...), "no answer while fragment 1 is missing")
	resp := deliver(h, frags[0])
	require.Len(t, resp, 1, "one response once complete")
	m, err := wire.ParseMessage(resp[0])
	require.NoError(t, err)
	assert.True(t, m.IsResponse())
	assert.Equal(t, s.myMsgID, m.MessageID)
	inner, err := m.Decrypt(s.in)
	require.NoError(t, err)
	assert.Empty(t, inner, "an empty INFORMATIONAL response")

	assert.Empty(t, deliver(h, frags[2]), "a late duplicate of fragment 3 is ignored")
	again := deliver(h, frags[0])
	require.Len(t, again, 1)
	assert.Equal(t, resp[0], again[0], "a retransmitted fragment 1 gets the cached response")
}

// TestEngineCorruptFragmentNeverKept: each fragment's integrity is checked
// before it is kept (RFC 7383, Section 2.6.1), so a forged copy that
// arrives first does not block the genuine one as a "duplicate".
func TestEngineCorruptFragmentNeverKept(t *testing.T) {
	h, s, frags := fragmentedRequest(t)
	forged := bytes.Clone(frags[1])
	forged[len(forged)-1] ^= 0x01 // the ICV
	require.Empty(t, deliver(h, forged, frags[0]))
	resp := deliver(h, frags[1:]...)
	require.Len(t, resp, 1, "the genuine fragment 2 completed the message")
	m, err := wire.ParseMessage(resp[0])
	require.NoError(t, err)
	_, err = m.Decrypt(s.in)
	require.NoError(t, err)
}

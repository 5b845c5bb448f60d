package crypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
)

var hmacHashes = []struct {
	name string
	h    func() hash.Hash
}{
	{"MD5", md5.New}, {"SHA-1", sha1.New}, {"SHA-256", sha256.New},
	{"SHA-384", sha512.New384}, {"SHA-512", sha512.New},
}

// checkHMACPool compares the pooled HMAC with crypto/hmac for one key and
// message: Sum twice, Write after Sum, Reset, and the same object keyed
// again with another key after put.
func checkHMACPool(t *testing.T, key, msg []byte) {
	t.Helper()
	cut := len(msg) / 3
	for _, hh := range hmacHashes {
		src := hmacOf(hh.h)
		if _, ok := src.(*hmacPool); !ok {
			t.Fatalf("%s: digests cannot save their state; the pool is not used", hh.name)
		}
		want := hmac.New(hh.h, key)
		got := src.get(key)
		want.Write(msg[:cut])
		got.Write(msg[:cut])
		if w, g := want.Sum(nil), got.Sum(nil); !bytes.Equal(w, g) {
			t.Fatalf("%s key %d octets: first Sum %x, crypto/hmac %x", hh.name, len(key), g, w)
		}
		want.Write(msg[cut:])
		got.Write(msg[cut:])
		if w, g := want.Sum([]byte("prefix")), got.Sum([]byte("prefix")); !bytes.Equal(w, g) {
			t.Fatalf("%s key %d octets: Sum after more Writes %x, crypto/hmac %x", hh.name, len(key), g, w)
		}
		want.Reset()
		got.Reset()
		want.Write(msg)
		got.Write(msg)
		if w, g := want.Sum(nil), got.Sum(nil); !bytes.Equal(w, g) {
			t.Fatalf("%s key %d octets: after Reset %x, crypto/hmac %x", hh.name, len(key), g, w)
		}
		if got.Size() != want.Size() || got.BlockSize() != want.BlockSize() {
			t.Fatalf("%s: Size %d BlockSize %d, crypto/hmac %d %d", hh.name, got.Size(), got.BlockSize(), want.Size(), want.BlockSize())
		}
		src.put(got)
		// The next get may return the same object: nothing of the old key
		// may remain.
		other := append([]byte("other"), key...)
		want = hmac.New(hh.h, other)
		again := src.get(other)
		want.Write(msg)
		again.Write(msg)
		if w, g := want.Sum(nil), again.Sum(nil); !bytes.Equal(w, g) {
			t.Fatalf("%s: reused for another key %x, crypto/hmac %x", hh.name, g, w)
		}
		src.put(again)
	}
}

// RFC 2104's keys: shorter than a block, a block, and longer (hashed
// first), with messages across block boundaries.
func TestHMACPoolMatchesCryptoHMAC(t *testing.T) {
	for _, kl := range []int{0, 1, 20, 32, 64, 65, 128, 129, 300} {
		for _, ml := range []int{0, 1, 55, 64, 119, 128, 1000} {
			checkHMACPool(t, bytes.Repeat([]byte{byte(kl)}, kl), bytes.Repeat([]byte{byte(ml + 1)}, ml))
		}
	}
}

// Keying and using a pooled HMAC allocates nothing (the pool itself is
// sync.Pool's; under the race detector it drops objects on purpose).
func TestHMACPoolAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts need a build without -race")
	}
	m := hmacOf(sha256.New).get(nil).(*hmacHash)
	key, msg, out := make([]byte, 100), make([]byte, 100), make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		m.setKey(key)
		m.Write(msg)
		out = m.Sum(out[:0])
		m.Reset()
	}); n > 0 {
		t.Errorf("%v allocations per keyed HMAC", n)
	}
}

func FuzzHMACPool(f *testing.F) {
	f.Add([]byte("key"), []byte("The quick brown fox jumps over the lazy dog"))
	f.Add(bytes.Repeat([]byte{1}, 200), []byte{})
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		checkHMACPool(t, key, msg)
	})
}

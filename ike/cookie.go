package ike

import (
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// cookieSecretLifetime is how long one cookie secret is used; the previous
// one stays valid for another period so that retries in flight pass
// (RFC 7296, Section 2.6: "the responder should change the value of
// <secret> frequently").
const cookieSecretLifetime = 2 * time.Minute

// cookieLen is our cookie: one octet naming the secret, then
// HMAC-SHA-256(secret, Ni | IPi | SPIi) (RFC 7296, Section 2.6 builds it
// as Hash(Ni | IPi | SPIi | <secret>); a keyed MAC is the sound way to do
// that).
const cookieLen = 1 + sha256.Size

// cookies makes and checks stateless IKE_SA_INIT cookies.
type cookies struct {
	mu      sync.Mutex
	version uint8
	secrets [2][32]byte // current, previous
	rotated time.Time
}

func (c *cookies) rotate(rand io.Reader, now time.Time) {
	if !c.rotated.IsZero() && now.Sub(c.rotated) < cookieSecretLifetime {
		return
	}
	c.secrets[1] = c.secrets[0]
	io.ReadFull(rand, c.secrets[0][:])
	c.version++
	c.rotated = now
}

func cookieMAC(secret *[32]byte, version uint8, ni []byte, ip netip.Addr, spii wire.SPI) []byte {
	m := hmac.New(sha256.New, secret[:])
	m.Write(ni)
	m.Write(ip.Unmap().AsSlice())
	m.Write(spii[:])
	return m.Sum([]byte{version})
}

// make returns the cookie for an initiator.
func (c *cookies) make(rand io.Reader, now time.Time, ni []byte, ip netip.Addr, spii wire.SPI) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotate(rand, now)
	return cookieMAC(&c.secrets[0], c.version, ni, ip, spii)
}

// valid checks a returned cookie against the current and previous secret,
// in constant time.
func (c *cookies) valid(cookie, ni []byte, ip netip.Addr, spii wire.SPI) bool {
	if len(cookie) != cookieLen {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rotated.IsZero() {
		return false
	}
	for i, v := range []uint8{c.version, c.version - 1} {
		if cookie[0] == v && hmac.Equal(cookie, cookieMAC(&c.secrets[i], v, ni, ip, spii)) {
			return true
		}
	}
	return false
}

// halfOpen counts half-open IKE SAs, in all and per source address, for
// the cookie and blocking thresholds.
type halfOpen struct {
	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

func (h *halfOpen) counts(ip netip.Addr) (total, fromIP int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total, h.byIP[ip]
}

// reserve counts one more half-open SA from ip if that keeps the total
// below maxTotal and ip's count below maxIP (0: no limit), in one step.
func (h *halfOpen) reserve(ip netip.Addr, maxTotal, maxIP int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if (maxTotal > 0 && h.total >= maxTotal) || (maxIP > 0 && h.byIP[ip] >= maxIP) {
		return false
	}
	if h.byIP == nil {
		h.byIP = map[netip.Addr]int{}
	}
	h.total++
	h.byIP[ip]++
	return true
}

func (h *halfOpen) add(ip netip.Addr, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byIP == nil {
		h.byIP = map[netip.Addr]int{}
	}
	h.total += n
	h.byIP[ip] += n
	if h.byIP[ip] <= 0 {
		delete(h.byIP, ip)
	}
}

// rateCounter counts events in the current one-second window.
type rateCounter struct {
	mu     sync.Mutex
	window time.Time
	n      int
}

// tick counts one event and returns the count in the current window.
func (r *rateCounter) tick(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	r.n++
	return r.n
}

// current returns the count in the current window without counting.
func (r *rateCounter) current(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.window) >= time.Second {
		return 0
	}
	return r.n
}

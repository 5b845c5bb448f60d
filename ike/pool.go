package ike

import (
	"net/netip"
	"sync"

	"github.com/ikelab/ikelab/ike/wire"
)

// pools leases virtual addresses from configured prefixes, one per IKE SA
// and family, skipping the network address and the first host (which a lab
// gives the gateway).
type pools struct {
	mu     sync.Mutex
	leased map[netip.Addr]wire.SPI
	owner  map[wire.SPI][]netip.Addr
}

func (p *pools) lease(pfx netip.Prefix, owner wire.SPI) (netip.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leased == nil {
		p.leased, p.owner = map[netip.Addr]wire.SPI{}, map[wire.SPI][]netip.Addr{}
	}
	a := pfx.Masked().Addr().Next().Next()
	for ; pfx.Contains(a); a = a.Next() {
		if a == wire.PrefixSelector(pfx).End && a.Is4() {
			break // broadcast
		}
		if _, used := p.leased[a]; !used {
			p.leased[a] = owner
			p.owner[owner] = append(p.owner[owner], a)
			return a, true
		}
	}
	return netip.Addr{}, false
}

func (p *pools) release(owner wire.SPI) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.owner[owner] {
		delete(p.leased, a)
	}
	delete(p.owner, owner)
}

// transfer hands the leases of one IKE SA to its replacement after a
// rekey.
func (p *pools) transfer(from, to wire.SPI) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.owner[from] {
		p.leased[a] = to
	}
	if p.owner != nil {
		p.owner[to] = append(p.owner[to], p.owner[from]...)
		delete(p.owner, from)
	}
}

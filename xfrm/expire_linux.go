package xfrm

import (
	"errors"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// expireBuffer is how many expire events wait for the SA layer before the
// listener blocks (and the kernel starts dropping them, ENOBUFS, which
// triggers a resynchronisation).
const expireBuffer = 64

// Expires delivers the kernel's expire events for our child SAs, in the
// order the kernel sent them: for each child SA at most one soft and one
// hard event, for whichever of its two states expired first (they carry
// the same lifetimes). The channel must be drained; it is closed by Close.
// Events for SPIs allocated but never installed are not delivered.
func (x *Installer) Expires() <-chan Expire { return x.mon.ch }

// monitor listens on XFRMNLGRP_EXPIRE.
type monitor struct {
	x    *Installer
	sock *nl.NetlinkSocket
	ch   chan Expire
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// startMonitor subscribes, in the calling thread's network namespace, to
// the kernel's expire notifications.
//
// Equivalent to: ip xfrm monitor expire
func startMonitor(x *Installer) (*monitor, error) {
	s, err := nl.Subscribe(unix.NETLINK_XFRM, nl.XFRMNLGRP_EXPIRE)
	if err != nil {
		return nil, socketError(err)
	}
	// Room for bursts: a host with thousands of SAs expiring at once.
	_ = s.SetReceiveBufferSize(1<<20, false)
	m := &monitor{x: x, sock: s, ch: make(chan Expire, expireBuffer), done: make(chan struct{})}
	m.wg.Add(1)
	go m.run()
	return m, nil
}

func (m *monitor) stop() {
	m.once.Do(func() {
		close(m.done)
		m.sock.Close()
		m.wg.Wait()
		close(m.ch)
	})
}

func (m *monitor) run() {
	defer m.wg.Done()
	log := m.x.opts.logger()
	for {
		msgs, _, err := m.sock.Receive()
		select {
		case <-m.done:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, syscall.ENOBUFS) {
				// Events were lost: find out from the kernel which of our
				// states are gone.
				log.Warn("xfrm: expire events lost (receive buffer overrun), resynchronising with the kernel")
				for _, e := range m.x.resync() {
					m.deliver(e)
				}
				continue
			}
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			log.Error("xfrm: expire listener stopped: " + err.Error())
			return
		}
		for _, msg := range msgs {
			if msg.Header.Type != nl.XFRM_MSG_EXPIRE || len(msg.Data) < nl.SizeofXfrmUserExpire {
				continue
			}
			ue := nl.DeserializeXfrmUserExpire(msg.Data)
			info := &ue.XfrmUsersaInfo
			if !m.x.opts.owns(info.Reqid) || info.Id.Proto != unix.IPPROTO_ESP {
				continue
			}
			k := spiKey{addrFrom(info.Id.Daddr, info.Family), nl.Swap32(info.Id.Spi)}
			if e, ok := m.x.expired(k, ue.Hard != 0); ok {
				log.Info("xfrm: " + e.String())
				m.deliver(e)
			}
		}
	}
}

func (m *monitor) deliver(e Expire) {
	select {
	case m.ch <- e:
	case <-m.done:
	}
}

// expired records an expire event and returns what to deliver, if anything.
func (x *Installer) expired(k spiKey, hard bool) (Expire, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.expireEvents++
	if x.larval[k] {
		// An allocated SPI whose child SA never came: the kernel drops
		// the larval state after net.core.xfrm_acq_expires.
		if hard {
			delete(x.larval, k)
		}
		return Expire{}, false
	}
	rec := x.bySPI[k]
	if rec == nil {
		return Expire{}, false
	}
	e := Expire{SPI: k.spi, Inbound: k == spiKey{rec.in.Dst, rec.in.SPI}, SPIIn: rec.in.SPI, ReqID: rec.engineReqID, Hard: hard}
	if hard {
		if e.Inbound {
			rec.inGone = true
		} else {
			rec.outGone = true
		}
	}
	sent := &rec.softSent
	if hard {
		sent = &rec.hardSent
	}
	if *sent {
		return Expire{}, false
	}
	*sent = true
	return e, true
}

// resync compares our child SAs with the kernel's states and reports a
// hard expiry for every state that vanished.
func (x *Installer) resync() []Expire {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	states, err := x.c.states()
	if err != nil {
		x.opts.logger().Error("xfrm: listing states to resynchronise: " + err.Error())
		return nil
	}
	present := map[spiKey]bool{}
	for _, s := range states {
		present[spiKey{s.Dst, s.SPI}] = true
	}
	var out []Expire
	for k, rec := range x.bySPI {
		if present[k] {
			continue
		}
		inbound := k == spiKey{rec.in.Dst, rec.in.SPI}
		if inbound {
			rec.inGone = true
		} else {
			rec.outGone = true
		}
		if rec.hardSent {
			continue
		}
		rec.hardSent = true
		out = append(out, Expire{SPI: k.spi, Inbound: inbound, SPIIn: rec.in.SPI, ReqID: rec.engineReqID, Hard: true})
	}
	return out
}

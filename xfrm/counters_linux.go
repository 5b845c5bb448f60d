package xfrm

import (
	"errors"
	"fmt"
	"sort"
	"syscall"
	"time"

	"github.com/vishvananda/netlink/nl"
)

// Counters returns the kernel counters of the state with the given SPI,
// inbound or outbound, of one of our child SAs.
//
// Equivalent to: ip -s xfrm state get dst DST proto esp spi SPI
func (x *Installer) Counters(spi uint32) (Counters, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return Counters{}, errClosed
	}
	for k, rec := range x.bySPI {
		if k.spi != spi {
			continue
		}
		ks, err := x.c.getState(k.dst, spi)
		if errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENOENT) {
			return Counters{}, fmt.Errorf("xfrm: state spi 0x%08x is gone from the kernel: %w", spi, ErrUnknownSPI)
		}
		if err != nil {
			return Counters{}, fmt.Errorf("xfrm: reading state spi 0x%08x: %w", spi, err)
		}
		return counters(ks, rec), nil
	}
	return Counters{}, fmt.Errorf("xfrm: spi 0x%08x: %w", spi, ErrUnknownSPI)
}

// AllCounters returns the counters of every state of our child SAs, by
// child and inbound first, from one dump of the kernel's states.
//
// Equivalent to: ip -s xfrm state
func (x *Installer) AllCounters() ([]Counters, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil, errClosed
	}
	states, err := x.c.states()
	if err != nil {
		return nil, fmt.Errorf("xfrm: listing states: %w", err)
	}
	var out []Counters
	for _, ks := range states {
		if rec := x.bySPI[spiKey{ks.Dst, ks.SPI}]; rec != nil && ks.ReqID == rec.reqid {
			out = append(out, counters(ks, rec))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].KernelReqID != out[j].KernelReqID {
			return out[i].KernelReqID < out[j].KernelReqID
		}
		return out[i].Inbound && !out[j].Inbound
	})
	return out, nil
}

func counters(ks kernelState, rec *installed) Counters {
	c := Counters{
		SPI: ks.SPI, Inbound: ks.SPI == rec.in.SPI && ks.Dst == rec.in.Dst,
		ReqID: rec.engineReqID, KernelReqID: ks.ReqID,
		Bytes: ks.Cur.Bytes, Packets: ks.Cur.Packets,
		OutOfWindow: ks.Stats.ReplayWindow, Replayed: ks.Stats.Replay, IntegrityFailed: ks.Stats.IntegrityFailed,
		SoftTime: time.Duration(ks.Life.SoftAddExpiresSeconds) * time.Second,
		HardTime: time.Duration(ks.Life.HardAddExpiresSeconds) * time.Second,
	}
	if ks.Cur.AddTime != 0 {
		c.Added = time.Unix(int64(ks.Cur.AddTime), 0)
	}
	if ks.Cur.UseTime != 0 {
		c.LastUsed = time.Unix(int64(ks.Cur.UseTime), 0)
	}
	if ks.Life.HardByteLimit != nl.XFRM_INF {
		c.SoftBytes, c.HardBytes = ks.Life.SoftByteLimit, ks.Life.HardByteLimit
	}
	return c
}

package xfrm

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/sa"
)

// Probe checks that the kernel can install ESP states for the given suites
// (DefaultSuites if none), in tunnel mode and with ESP-in-UDP. It adds and
// deletes throwaway states in a private network namespace, or, without the
// privilege to create one, in the current namespace under SPIs that IANA
// reserves (RFC 4303, Section 2.1) and documentation addresses. The error
// names what is missing, e.g. "xfrm: kernel has no ESP (CONFIG_INET_ESP)".
func Probe(suites ...Suite) error {
	if len(suites) == 0 {
		suites = DefaultSuites
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			errc <- probeUnshared(suites)
			// No UnlockOSThread: after unshare the thread belongs to the
			// throwaway namespace, and Go retires it when this goroutine
			// ends.
			return
		}
		// The main thread is never retired, so it must not change
		// namespace: hold it while another thread does the work.
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			errc <- probeUnshared(suites)
		}()
		<-done
		runtime.UnlockOSThread()
	}()
	return <-errc
}

// probeUnshared runs probe in a new network namespace on the calling
// locked, non-main thread, or in the current one if it may not create one.
func probeUnshared(suites []Suite) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil && !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("xfrm: creating a network namespace to probe in: %w", err)
	}
	return probe(suites)
}

func probe(suites []Suite) error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.close()
	// TEST-NET-1 addresses and a reserved SPI: nothing real uses them.
	local, remote := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i, s := range suites {
		encLen, integLen, err := crypto.ESPKeyLengths(s.Encr, s.KeyBits, s.Integ)
		if err != nil {
			return fmt.Errorf("xfrm: probing %s: %w", s, err)
		}
		child := &sa.Child{
			Mode: sa.Tunnel, Local: netip.AddrPortFrom(local, 4500), Remote: netip.AddrPortFrom(remote, 4500),
			Encap: true, SPIIn: 256, SPIOut: 256,
			Encr: s.Encr, EncrKeyBits: s.KeyBits, Integ: s.Integ,
			EncKeyIn: probeKey(encLen), EncKeyOut: probeKey(encLen),
			IntegKeyIn: probeKey(integLen), IntegKeyOut: probeKey(integLen),
		}
		opts := Options{}
		if err := opts.setDefaults(); err != nil {
			return err
		}
		st, _, err := opts.states(child, opts.ReqIDBase)
		if err != nil {
			return err
		}
		st.SPI = uint32(1 + i) // reserved: never allocated to a real SA
		if err := c.addState(st, false); err != nil && !errors.Is(err, syscall.EEXIST) {
			err = stateError("adding", st, err)
			var se *SupportError
			if errors.As(err, &se) {
				// The missing support is the news, not the throwaway state.
				return fmt.Errorf("%w (probed with %s)", se, s)
			}
			return fmt.Errorf("xfrm: probing %s: %w", s, err)
		}
		if err := c.delState(st.Src, st.Dst, st.SPI); err != nil {
			return stateError("probing: deleting", st, err)
		}
	}
	return nil
}

// probeKey is a fixed, non-weak key of n octets (3DES refuses keys whose
// thirds are equal).
func probeKey(n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = byte(i*37 + 11)
	}
	return k
}

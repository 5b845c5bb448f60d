package lab

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// captureStartTimeout bounds the wait for dumpcap to open the interface and
// the output file; it takes about 50 ms here.
const captureStartTimeout = 15 * time.Second

// Capture is a running dumpcap writing pcapng from an interface inside a
// netns.
type Capture struct {
	// Path is the pcapng file.
	Path string

	proc       *Process
	stopOnce   sync.Once
	stopErr    error
	stopCalled atomic.Bool
}

// StartCapture captures everything on iface inside ns into path (pcapng)
// and returns once dumpcap really captures: it prints "File: PATH" only
// after it has opened the interface (the kernel queues packets for it from
// then on) and created the file, and the file has its pcapng header. The
// capture is stopped when the test ends; Stop it first to read the file.
//
// Equivalent to: ip netns exec NS dumpcap -i IFACE -w PATH -q
func StartCapture(t testing.TB, ns *Netns, iface, path string) *Capture {
	t.Helper()
	RequireRoot(t)
	RequireBinaries(t, "ip", "dumpcap")
	// -q: no packet counter on stderr, which would make the log useless.
	cmd := ns.Command(context.Background(), "dumpcap", "-q", "-i", iface, "-w", path)
	c := &Capture{Path: path}
	c.proc = StartCommand(t, "dumpcap-"+ns.Name+"-"+iface, cmd)
	t.Cleanup(func() {
		seen := c.stopCalled.Load()
		if err := c.stop(); err != nil && !seen {
			t.Errorf("%v", err)
		}
	})
	err := poll(captureStartTimeout, 10*time.Millisecond, func() (bool, error) {
		if exited, err := c.proc.Exited(); exited {
			return false, fmt.Errorf("dumpcap exited (%v)", err)
		}
		if !strings.Contains(c.proc.Output(), "File: ") {
			return false, nil
		}
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > 0, nil
	})
	if err != nil {
		t.Fatalf("lab: capture on %s in %s did not start: %v\noutput:\n%s", iface, ns.Name, err, c.proc.Output())
	}
	return c
}

// captureSettle is how long the file must stay the same size before Stop
// interrupts dumpcap. libpcap on Linux receives packets through a
// TPACKET_V3 ring whose blocks reach user space only when full or when the
// read timeout (250 ms in dumpcap) retires them; dumpcap has no immediate
// mode, and packets in a block not yet retired are lost on SIGINT. So the
// last packets of a test (the INFORMATIONAL Delete, typically) would be
// missing without this pause.
const captureSettle = 600 * time.Millisecond

// Stop waits until nothing new has reached the file for captureSettle (at
// most StopTimeout), ends the capture with SIGINT, on which dumpcap writes
// what it holds and closes the file, and waits for it. It is idempotent.
func (c *Capture) Stop() error {
	c.stopCalled.Store(true)
	return c.stop()
}

func (c *Capture) stop() error {
	// The capture reports its own stop errors; the process's cleanup
	// must not repeat them.
	c.proc.stopCalled.Store(true)
	c.stopOnce.Do(func() {
		if exited, err := c.proc.Exited(); exited {
			c.stopErr = fmt.Errorf("lab: dumpcap writing %s exited before Stop (%v): %s",
				c.Path, err, strings.TrimSpace(c.proc.Output()))
			return
		}
		c.settle()
		_ = syscall.Kill(c.proc.Pid(), syscall.SIGINT)
		select {
		case <-c.proc.Done():
		case <-time.After(StopTimeout):
			c.stopErr = fmt.Errorf("lab: dumpcap writing %s ignored SIGINT for %v; file may be truncated", c.Path, StopTimeout)
		}
		if err := c.proc.stop(); err != nil && c.stopErr == nil {
			c.stopErr = err
		}
	})
	return c.stopErr
}

// settle returns once the capture file has kept its size for captureSettle,
// or after StopTimeout when traffic never pauses.
func (c *Capture) settle() {
	size := int64(-1)
	since := time.Now()
	deadline := since.Add(StopTimeout)
	for now := since; now.Before(deadline); now = time.Now() {
		var cur int64
		if fi, err := os.Stat(c.Path); err == nil {
			cur = fi.Size()
		}
		if cur != size {
			size, since = cur, now
		} else if now.Sub(since) >= captureSettle {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Output returns what dumpcap printed (its interface and file lines and the
// statistics it prints on exit).
func (c *Capture) Output() string { return c.proc.Output() }

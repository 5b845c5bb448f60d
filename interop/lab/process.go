package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// StopTimeout is the default Process.StopTimeout: how long Stop waits after
// SIGTERM before it sends SIGKILL. charon and dumpcap exit within
// milliseconds of the signal.
const StopTimeout = 5 * time.Second

// maxDump caps how much of a log a failed test prints: enough for the
// tail of a charon log at level 2, not so much that the failure is lost.
const maxDump = 256 << 10

// Process is a background program, usually inside a netns, whose stdout and
// stderr go to a file that is printed through t.Log when the test fails and
// whose whole process group is killed when the test ends.
type Process struct {
	// Name labels the process in messages and in the log file's name.
	Name string
	// LogPath is the file that receives stdout and stderr.
	LogPath string
	// StopTimeout is how long Stop waits after SIGTERM (and then after
	// SIGKILL); StartCommand sets it to the package's StopTimeout. Change
	// it before calling Stop, not concurrently.
	StopTimeout time.Duration

	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, set before done is closed

	stopOnce   sync.Once
	stopErr    error
	stopCalled atomic.Bool // Stop was called by the test, which saw its error
}

// StartProcess starts args inside ns (on the host when ns is nil) in the
// background. See StartCommand.
func StartProcess(t testing.TB, ns *Netns, name string, args ...string) *Process {
	t.Helper()
	if len(args) == 0 {
		t.Fatalf("lab: StartProcess %s: no command", name)
	}
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(context.Background(), args...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	return StartCommand(t, name, cmd)
}

// StartCommand starts a prepared command (its Path, Args, Env and Dir are
// kept; Stdout, Stderr and SysProcAttr are set here) in a process group of
// its own, so that Stop reaches the children it forks as well. The child
// gets SIGKILL if the test binary dies, so a panicking or timed-out test
// leaves no daemons behind. When the test ends the group is stopped and, if
// the test failed, the output is logged.
func StartCommand(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), sanitizeFileName(name)+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatalf("lab: %s: creating log file: %v", name, err)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p := &Process{Name: name, LogPath: logPath, StopTimeout: StopTimeout, cmd: cmd, done: make(chan struct{})}
	err = spawn(cmd)
	logFile.Close() // the child holds its own descriptor
	if err != nil {
		t.Fatalf("lab: starting %s (%s): %v", name, strings.Join(cmd.Args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.cleanupStop(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("lab: output of %s (%s):\n%s", name, strings.Join(cmd.Args, " "), tail(p.Output(), maxDump))
		}
	})
	return p
}

// Pid returns the process ID, which is also its process group ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Output returns everything the process wrote so far.
func (p *Process) Output() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.LogPath, err)
	}
	return string(b)
}

// Stop sends SIGTERM to the process group, waits up to p.StopTimeout, then
// sends SIGKILL. It returns an error only when the process needed SIGKILL
// or would not die; an exit status caused by the signal is expected and
// not an error. Stop is idempotent.
func (p *Process) Stop() error {
	p.stopCalled.Store(true)
	return p.stop()
}

// cleanupStop stops the process at the end of the test and returns the
// error only if the test has not already seen it from Stop.
func (p *Process) cleanupStop() error {
	seen := p.stopCalled.Load()
	if err := p.stop(); err != nil && !seen {
		return err
	}
	return nil
}

func (p *Process) stop() error {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		select {
		case <-p.done:
			// Exited on its own a while ago: its group ID may have been
			// reused since, so signal nothing.
			return
		default:
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
			// Children it forked may outlive it in the group; the group
			// ID cannot be reused while one of them is alive.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		case <-time.After(p.StopTimeout):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
			p.stopErr = fmt.Errorf("lab: %s ignored SIGTERM for %v and was killed", p.Name, p.StopTimeout)
		case <-time.After(p.StopTimeout):
			p.stopErr = fmt.Errorf("lab: %s (pid %d) survived SIGKILL for %v", p.Name, pgid, p.StopTimeout)
		}
	})
	return p.stopErr
}

// WaitOutput waits until the output contains substr and fails the test if
// the process exits first or timeout passes.
func (p *Process) WaitOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	err := poll(timeout, 20*time.Millisecond, func() (bool, error) {
		if strings.Contains(p.Output(), substr) {
			return true, nil
		}
		if exited, err := p.Exited(); exited {
			return false, fmt.Errorf("%s exited (%v) first", p.Name, err)
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("lab: %s did not print %q: %v\noutput:\n%s", p.Name, substr, err, tail(p.Output(), maxDump))
	}
}

// spawnRequests feeds the spawner goroutine. Pdeathsig fires when the OS
// thread that forked the child exits, not when the process does, and Go
// retires threads whose goroutine exits while locked (as netns code does
// after setns). Forking from one goroutine that stays locked to its thread
// for the life of the binary makes Pdeathsig mean "the test binary died".
var (
	spawnOnce     sync.Once
	spawnRequests chan spawnRequest
)

type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnRequests = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread must outlive every child
			for r := range spawnRequests {
				r.reply <- r.cmd.Start()
			}
		}()
	})
	reply := make(chan error, 1)
	spawnRequests <- spawnRequest{cmd, reply}
	return <-reply
}

// poll calls cond every interval until it returns true, returns an error,
// or timeout passes. The returned error says which of the latter happened.
func poll(timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v", errTimeout, timeout)
		}
		time.Sleep(interval)
	}
}

var errTimeout = errors.New("timed out")

// Eventually waits until cond returns true, checking every 50 ms, and fails
// the test with "what" and the last error cond returned if timeout passes.
// cond's error does not end the wait: it is the reason reported at the end.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	err := poll(timeout, 50*time.Millisecond, func() (bool, error) {
		ok, err := cond()
		last = err
		return ok && err == nil, nil
	})
	if err != nil {
		if last != nil {
			t.Fatalf("lab: %s did not happen within %v; last error: %v", what, timeout, last)
		}
		t.Fatalf("lab: %s did not happen within %v", what, timeout)
	}
}

func sanitizeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// tail returns the last n bytes of s, starting at a line boundary, with a
// note when something was cut.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[len(s)-n:]
	if i := strings.IndexByte(cut, '\n'); i >= 0 {
		cut = cut[i+1:]
	}
	return fmt.Sprintf("[... %d bytes cut ...]\n%s", len(s)-len(cut), cut)
}

// Signal sends sig to the process (not its group), e.g. SIGHUP to make a
// daemon reload.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

package lab

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// alive reports whether pid exists and is not a zombie waiting for its
// (new) parent to reap it.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...; comm may hold blanks, so look after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// A background process in a netns: output captured, its whole process
// group stopped (a child it forked included), Stop idempotent.
func TestProcessInNetns(t *testing.T) {
	requireNetLab(t)
	ns := NewNetns(t, "pr")
	Link(t, ns, NewNetns(t, "pq"), "192.0.2.1/24", "192.0.2.2/24")
	p := StartProcess(t, ns, "shell", "sh", "-c",
		`sleep 60 & echo "child=$!"; ip -o -4 addr show dev eth0; echo ready >&2; wait`)
	p.WaitOutput(t, "ready", 10*time.Second)
	out := p.Output()
	assert.Contains(t, out, "192.0.2.1/24", "the process runs inside the netns")

	var child int
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "child="); ok {
			child, _ = strconv.Atoi(v)
		}
	}
	require.Positive(t, child, "output: %s", out)
	require.True(t, alive(child))

	exited, _ := p.Exited()
	assert.False(t, exited)
	require.NoError(t, p.Stop())
	require.NoError(t, p.Stop())
	exited, err := p.Exited()
	assert.True(t, exited)
	var ee *exec.ExitError
	if assert.ErrorAs(t, err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		assert.Equal(t, syscall.SIGTERM, ws.Signal())
	}
	Eventually(t, 5*time.Second, "the forked child's death", func() (bool, error) {
		return !alive(child), nil
	})
}

// A process that ignores SIGTERM is killed after its StopTimeout and Stop
// says so.
func TestProcessIgnoringSIGTERM(t *testing.T) {
	RequireBinaries(t, "sh", "sleep")
	p := StartProcess(t, nil, "stubborn", "sh", "-c", `trap "" TERM; echo armed; while :; do sleep 0.1; done`)
	p.WaitOutput(t, "armed", 10*time.Second)
	p.StopTimeout = 300 * time.Millisecond
	start := time.Now()
	err := p.Stop()
	assert.ErrorContains(t, err, "ignored SIGTERM for 300ms")
	assert.GreaterOrEqual(t, time.Since(start), p.StopTimeout)
	exited, _ := p.Exited()
	assert.True(t, exited)
}

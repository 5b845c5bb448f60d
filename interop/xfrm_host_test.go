package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/interop/lab"
	"github.com/ikelab/ikelab/xfrm"
)

// TestXFRMRequiredOnThisHost: with `xfrm: required` the responder refuses
// to start on a kernel without ESP and says what is missing; the default
// (auto) warns and negotiates only. The kernel path itself is proven under
// QEMU in interop/vm.
func TestXFRMRequiredOnThisHost(t *testing.T) {
	lab.RequireRoot(t)
	if xfrm.Probe() == nil {
		t.Skip("this kernel has ESP; the refusal path needs one without (interop/vm covers the kernel path)")
	}
	ns := lab.NewNetns(t, "ikx")
	bin := buildResponder(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "r.yaml")
	run := func(mode string) (string, error) {
		require.NoError(t, os.WriteFile(cfg, []byte("listen: 127.0.0.1\nport: 1500\nnatt_port: 14500\npsk: x\nxfrm: "+mode+"\n"), 0o600))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := ns.Command(ctx, bin, "run", "--config", cfg, "--control", filepath.Join(dir, "c.sock")).CombinedOutput()
		return string(out), err
	}
	out, err := run("required")
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "the responder must refuse to start: %s", out)
	assert.Contains(t, out, "kernel has no ESP (CONFIG_INET_ESP)")

	out, err = run("auto")
	require.Error(t, err, "auto keeps running until the timeout kills it")
	assert.Contains(t, out, "responder listening")
	assert.Contains(t, out, "CONFIG_INET_ESP", "auto warns about the missing support")
}

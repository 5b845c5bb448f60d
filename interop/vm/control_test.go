package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/interop/lab"
	"github.com/ikelab/ikelab/xfrm"
)

// control talks to vmresponder's control server in the guest, dialling
// from inside the host namespace that holds the guest's tap.
type control struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newControl(t *testing.T, ns *lab.Netns, addr string) *control {
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, a)
			return err
		})
		return c, err
	}
	return &control{t: t, base: "http://" + addr, hc: &http.Client{
		Timeout:   40 * time.Second,
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
	}}
}

// with returns the client bound to t, for use in a subtest (a failure
// must end the subtest, not its parent).
func (c *control) with(t *testing.T) *control {
	d := *c
	d.t = t
	return &d
}

func (c *control) do(method, path string, body []byte) (string, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// waitReady waits for the control server (after boot or a restart).
func (c *control) waitReady(timeout time.Duration) {
	lab.Eventually(c.t, timeout, "the guest's control server answering", func() (bool, error) {
		_, err := c.do("GET", "/ready", nil)
		return err == nil, err
	})
}

func (c *control) post(path string) string {
	c.t.Helper()
	out, err := c.do("POST", path, nil)
	require.NoError(c.t, err)
	return out
}

// run executes a command in the guest and returns its output; the command
// failing fails the test.
func (c *control) run(argv ...string) string {
	c.t.Helper()
	out, err := c.exec(argv...)
	require.NoError(c.t, err, "guest: %s\n%s", strings.Join(argv, " "), out)
	return out
}

func (c *control) exec(argv ...string) (string, error) {
	body, _ := json.Marshal(map[string][]string{"Argv": argv})
	out, err := c.do("POST", "/exec", body)
	if err != nil {
		return "", err
	}
	var res struct{ Output, Error string }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", err
	}
	if res.Error != "" {
		return res.Output, fmt.Errorf("%s", res.Error)
	}
	return res.Output, nil
}

func (c *control) counters() []xfrm.Counters {
	c.t.Helper()
	out, err := c.do("GET", "/counters", nil)
	require.NoError(c.t, err)
	var cs []xfrm.Counters
	require.NoError(c.t, json.Unmarshal([]byte(out), &cs))
	return cs
}

// counter returns one state's counters (xfrm.Installer.Counters).
func (c *control) counter(spi uint32) (xfrm.Counters, error) {
	out, err := c.do("GET", fmt.Sprintf("/counters?spi=%08x", spi), nil)
	if err != nil {
		return xfrm.Counters{}, err
	}
	var k xfrm.Counters
	return k, json.Unmarshal([]byte(out), &k)
}

func (c *control) expires() []xfrm.Expire {
	c.t.Helper()
	out, err := c.do("GET", "/expires", nil)
	require.NoError(c.t, err)
	var es []xfrm.Expire
	require.NoError(c.t, json.Unmarshal([]byte(out), &es))
	return es
}

// xfrmStates returns the guest kernel's states as ip(8) prints them.
func (c *control) xfrmStates() []ipState {
	c.t.Helper()
	st, err := parseIPXfrmState(c.run("/sbin/ip", "-s", "xfrm", "state", "list", "nokeys"))
	require.NoError(c.t, err)
	return st
}

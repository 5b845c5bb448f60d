package radius

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/ike/eap"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/interop/lab"
)

const (
	nasAddr    = "198.51.100.1"
	serverAddr = "198.51.100.2"
	strayAddr  = "198.51.100.3"
	secret     = "radius-harness-secret"
)

// converse runs one EAP conversation between an ikelab EAP client and the
// ikelab relay, whose RADIUS socket is opened inside ns, and returns the
// relay's result.
func converse(t *testing.T, ns *lab.Netns, from string, sharedSecret string, client eap.ClientConfig) *eap.Result {
	t.Helper()
	dial := func(network, address string) (c net.Conn, err error) {
		err = ns.Do(func() error {
			d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}
			c, err = d.Dial(network, address)
			return err
		})
		return c, err
	}
	srv, err := eap.NewServer(eap.ServerConfig{RADIUS: &eap.RADIUSConfig{Server: serverAddr, Secret: []byte(sharedSecret),
		Timeout: 500 * time.Millisecond, Retries: -1, Dial: dial}, CallingStationID: "192.0.2.9"})
	require.NoError(t, err)
	cli, err := eap.NewClient(client)
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := srv.Start()
	require.NoError(t, err)
	for range 50 {
		resp, done, _, err := cli.Next(ctx, req)
		require.NoError(t, err)
		if done {
			t.Fatalf("the client ended the conversation at %s", req.Summary())
		}
		next, done, res, err := srv.Next(ctx, resp)
		require.NoError(t, err)
		if done {
			// Let the client see EAP-Success / EAP-Failure too.
			_, cdone, cres, err := cli.Next(ctx, next)
			require.NoError(t, err)
			assert.True(t, cdone)
			assert.Equal(t, res.Success, cres != nil && cres.Success, "client and relay agree")
			return res
		}
		req = next
	}
	t.Fatal("no end of the conversation after 50 rounds")
	return nil
}

// TestStartInNetns runs the harness the way interop tests do: FreeRADIUS in
// a namespace of its own, a NAS in another, here the ikelab relay with an
// ikelab EAP-MSCHAPv2 client. It proves what the interop tests rely on:
// the configuration is accepted, users with a cleartext password work,
// FreeRADIUS answers only its clients, and ParseLog reads the real log.
func TestStartInNetns(t *testing.T) {
	lab.RequireRoot(t)
	Require(t)
	nas, rad := lab.NewNetns(t, "rnas"), lab.NewNetns(t, "rsrv")
	lab.Link(t, nas, rad, nasAddr+"/24,"+strayAddr+"/24", serverAddr+"/24")
	began := time.Now()
	s := Start(t, rad, Config{
		Listen:  netip.MustParseAddrPort(serverAddr + ":1812"),
		Clients: []Client{{Name: "nas", Addr: netip.MustParsePrefix(nasAddr + "/32"), Secret: secret}},
		Users:   []User{{Name: "carol", Password: "carol-password"}},
	})
	t.Logf("FreeRADIUS ready in %v", time.Since(began).Round(time.Millisecond))
	assert.Equal(t, serverAddr+":1812", s.Addr.String())

	t.Run("accept", func(t *testing.T) {
		res := converse(t, nas, nasAddr, secret, eap.ClientConfig{Identity: "carol", Password: "carol-password"})
		require.True(t, res.Success, res.Reason)
		assert.Equal(t, wire.EAPMSCHAPv2, res.Method)
		assert.Len(t, res.MSK, 32, "the two 16-octet MPPE keys")
		ex := s.WaitReply(t, AccessAccept, 5*time.Second)
		user, _ := ex.Request.Get("User-Name")
		assert.Equal(t, "carol", user)
		calling, _ := ex.Request.Get("Calling-Station-Id")
		assert.Equal(t, "192.0.2.9", calling)
		assert.Contains(t, ex.Login, "Login OK: [carol]")
		v, _ := ex.Reply.Get("MS-MPPE-Send-Key")
		assert.Equal(t, "<<< secret >>>", v, "keys are not in the log")
	})
	t.Run("reject", func(t *testing.T) {
		res := converse(t, nas, nasAddr, secret, eap.ClientConfig{Identity: "carol", Password: "wrong"})
		assert.False(t, res.Success)
		assert.ErrorIs(t, res.Err, eap.ErrRejected)
		ex := s.WaitReply(t, AccessReject, 5*time.Second)
		assert.Contains(t, ex.Login, "Login incorrect")
	})
	t.Run("unknown_client_ignored", func(t *testing.T) {
		before := len(s.Exchanges())
		res := converse(t, nas, strayAddr, secret, eap.ClientConfig{Identity: "carol", Password: "carol-password"})
		assert.False(t, res.Success)
		assert.ErrorIs(t, res.Err, eap.ErrRADIUS, "no answer: %s", res.Reason)
		s.WaitOutput(t, "from unknown client "+strayAddr, 5*time.Second)
		assert.Len(t, s.Exchanges(), before, "FreeRADIUS did not process the request")
	})
	t.Run("stop", func(t *testing.T) {
		require.NoError(t, s.Process().Stop())
		select {
		case <-s.Process().Done():
		default:
			t.Fatal("FreeRADIUS still running after Stop")
		}
	})
}

// TestCheckConfigRefuses: CheckConfig reports FreeRADIUS's own reason for
// a configuration it cannot load.
func TestCheckConfigRefuses(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	require.NoError(t, Config{Clients: []Client{{Name: "nas", Addr: netip.MustParsePrefix("127.0.0.1/32"), Secret: "x"}},
		Users: []User{{Name: "carol", Password: "p"}}}.Write(dir))
	// A module that does not exist, where authorize names "files".
	path := filepath.Join(dir, "radiusd.conf")
	conf, err := os.ReadFile(path)
	require.NoError(t, err)
	broken := strings.Replace(string(conf), "\tauthorize {\n\t\tfiles\n", "\tauthorize {\n\t\tno_such_module\n", 1)
	require.NotEqual(t, string(conf), broken)
	require.NoError(t, os.WriteFile(path, []byte(broken), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = CheckConfig(ctx, dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "radius: ")
	assert.Contains(t, err.Error(), "no_such_module")
}

package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func requireNetLab(t *testing.T) {
	t.Helper()
	RequireRoot(t)
	RequireBinaries(t, "ip", "ping", "sh")
}

// Proof 1: two namespaces joined by a veth pair reach each other over IPv4
// and IPv6 in both directions, with no wait for DAD.
func TestLinkPingBothWays(t *testing.T) {
	requireNetLab(t)
	a, b := NewNetns(t, "pa"), NewNetns(t, "pb")
	v := Link(t, a, b, "192.0.2.1/24,2001:db8:1::1/64", "192.0.2.2/24, 2001:db8:1::2/64")
	assert.Equal(t, "eth0", v.AIface)
	assert.Equal(t, "eth0", v.BIface)
	assert.Equal(t, "192.0.2.1", v.Addr(a, false).String())
	assert.Equal(t, "2001:db8:1::2", v.Addr(b, true).String())

	// nodad: the address is usable at once, not "tentative".
	assert.NotContains(t, a.IP(t, "-6", "addr", "show", "dev", "eth0"), "tentative")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		from *Netns
		dst  string
	}{
		{a, "192.0.2.2"}, {b, "192.0.2.1"}, {a, "2001:db8:1::2"}, {b, "2001:db8:1::1"},
	} {
		out, err := c.from.Ping(ctx, c.dst, 2)
		require.NoError(t, err, "ping %s from %s", c.dst, c.from)
		assert.Contains(t, out, "2 received")
	}

	// The host does not see the namespaces' addresses.
	out, err := runCommand(ctx, "ip", "-o", "addr", "show")
	require.NoError(t, err)
	assert.NotContains(t, out, "192.0.2.1/24")
}

// A second link between the same namespaces gets the next names, and
// routes through a third namespace work once forwarding is on.
func TestLinkNamesAndRoutes(t *testing.T) {
	requireNetLab(t)
	a, r, b := NewNetns(t, "ra"), NewNetns(t, "rr"), NewNetns(t, "rb")
	l1 := Link(t, a, r, "10.1.0.2/24,2001:db8:a::2/64", "10.1.0.1/24,2001:db8:a::1/64")
	l2 := Link(t, r, b, "10.2.0.1/24,2001:db8:b::1/64", "10.2.0.2/24,2001:db8:b::2/64")
	assert.Equal(t, "eth0", l1.Iface(r))
	assert.Equal(t, "eth1", l2.Iface(r))
	a.Route(t, "default", "10.1.0.1")
	a.Route(t, "default", "2001:db8:a::1")
	b.Route(t, "10.1.0.0/24", "10.2.0.1")
	b.Route(t, "2001:db8:a::/64", "2001:db8:b::1")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.Ping(ctx, "10.2.0.2", 1, "-W", "1")
	require.Error(t, err, "forwarding is off by default in a new netns")

	r.Sysctl(t, "net.ipv4.ip_forward", "1")
	r.Sysctl(t, "net.ipv6.conf.all.forwarding", "1")
	for _, dst := range []string{"10.2.0.2", "2001:db8:b::2"} {
		out, err := a.Ping(ctx, dst, 1)
		require.NoError(t, err)
		assert.Contains(t, out, "1 received")
	}
}

// Namespaces are gone after the test that made them, even a failed one's
// cleanup runs the same code.
func TestNetnsCleanup(t *testing.T) {
	requireNetLab(t)
	var names []string
	orphanDone := make(chan struct{})
	t.Run("make", func(t *testing.T) {
		a, b := NewNetns(t, "ca"), NewNetns(t, "cb")
		Link(t, a, b, "192.0.2.1/24", "192.0.2.2/24")
		// A process left running inside (not through StartProcess, so
		// nothing else stops it) must not keep the netns alive.
		cmd := a.Command(context.Background(), "sleep", "60")
		require.NoError(t, cmd.Start())
		go func() { _ = cmd.Wait(); close(orphanDone) }()
		names = []string{a.Name, b.Name}
		for _, n := range names {
			assert.LessOrEqual(t, len(n), maxIfName)
			_, err := os.Stat("/run/netns/" + n)
			require.NoError(t, err)
		}
	})
	out, err := runCommand(context.Background(), "ip", "netns", "list")
	require.NoError(t, err)
	for _, n := range names {
		assert.NotContains(t, strings.Fields(out), n)
		_, err := os.Stat("/run/netns/" + n)
		assert.True(t, os.IsNotExist(err), "netns %s still exists", n)
	}
	select {
	case <-orphanDone:
	case <-time.After(10 * time.Second):
		t.Fatal("lab: the process left inside the netns survived its deletion")
	}
}

// Proof 3's topology on its own: the server sees the router's address as
// the source of the client's packets.
func TestNATRouter(t *testing.T) {
	requireNetLab(t)
	n := NATRouter(t, "nt")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := n.Client.Ping(ctx, n.ServerAddr.String(), 1)
	require.NoError(t, err)
	// The server has no route to the private side.
	_, err = n.Server.Ping(ctx, n.ClientAddr.String(), 1)
	require.Error(t, err)

	// A datagram from the client's port 500 arrives from the router's
	// outside address: the masquerade rule works for IKE's port.
	var srv *net.UDPConn
	require.NoError(t, n.Server.Do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IP(n.ServerAddr.AsSlice()), Port: 500})
		return err
	}))
	defer srv.Close()
	var cli *net.UDPConn
	require.NoError(t, n.Client.Do(func() (err error) {
		cli, err = net.DialUDP("udp4", &net.UDPAddr{Port: 500}, &net.UDPAddr{IP: net.IP(n.ServerAddr.AsSlice()), Port: 500})
		return err
	}))
	defer cli.Close()
	_, err = cli.Write([]byte("ike?"))
	require.NoError(t, err)
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 16)
	nr, from, err := srv.ReadFromUDPAddrPort(buf)
	require.NoError(t, err, "datagram from the client never reached the server")
	assert.Equal(t, "ike?", string(buf[:nr]))
	assert.Equal(t, n.RouterOutside, from.Addr().Unmap())
}

// Do runs f inside the namespace and leaves no thread of the test binary
// that other code could run on there: the process's own namespace (that of
// its main thread) never changes, however often Do runs.
func TestNetnsDo(t *testing.T) {
	requireNetLab(t)
	ns := NewNetns(t, "do")
	host, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	fi, err := os.Stat("/run/netns/" + ns.Name)
	require.NoError(t, err)
	want := fmt.Sprintf("net:[%d]", fi.Sys().(*syscall.Stat_t).Ino)

	for i := 0; i < 200; i++ {
		var inside string
		require.NoError(t, ns.Do(func() (err error) {
			inside, err = os.Readlink("/proc/thread-self/ns/net")
			return err
		}))
		require.Equal(t, want, inside)
		now, err := os.Readlink("/proc/self/ns/net")
		require.NoError(t, err)
		require.Equal(t, host, now, "the main thread changed namespace")
	}
	out, err := runCommand(context.Background(), "ip", "netns", "pids", ns.Name)
	require.NoError(t, err)
	assert.NotContains(t, strings.Fields(out), strconv.Itoa(os.Getpid()))

	assert.ErrorContains(t, ns.Do(func() error { return fmt.Errorf("inner") }), "inner")
	gone := &Netns{Name: "lab-no-such-ns"}
	assert.Error(t, gone.Do(func() error { return nil }))
}

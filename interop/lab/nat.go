package lab

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// NATTopology is client – router – server, three namespaces in a line, the
// router masquerading everything the client sends towards the server: the
// shape of a road warrior behind a home router (RFC 3947 / RFC 7296,
// Section 2.23 NAT traversal is what it exercises).
//
//	client eth0 192.168.77.2/24 ── eth0 192.168.77.1/24 router eth1 198.51.100.1/24 ── eth0 198.51.100.2/24 server
//
// The client's default route points at the router; the server has no route
// to 192.168.77.0/24, so it can only answer the router's public address,
// exactly as on the Internet. The outside uses TEST-NET-2 (RFC 5737), the
// inside a private range (RFC 1918). Every namespace is private to the
// test, so the fixed addresses never clash with other tests.
type NATTopology struct {
	Client, Router, Server *Netns

	// ClientAddr is the client's private address; RouterInside is the
	// client's gateway; RouterOutside is the public address the server sees
	// as the source of the client's packets; ServerAddr is the server.
	ClientAddr, RouterInside, RouterOutside, ServerAddr netip.Addr

	// Inside joins client and router, Outside router and server; their
	// interface names are where to capture.
	Inside, Outside *Veth
}

// natRuleset is the router's nftables ruleset: source NAT of everything that
// leaves through the outside interface, with conntrack picking a new source
// port only when the original one is taken (so 500 and 4500 usually survive,
// as with most home routers).
const natRuleset = `table ip lab_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "OUTSIDE" masquerade
	}
}
`

// NATRouter builds the NAT topology with namespaces named prefix+"c",
// prefix+"r" and prefix+"s" (plus PID and counter). IPv4 only: NAT66 exists
// but no IKE deployment worth reproducing depends on it.
//
// Equivalent to the Link calls shown above, then in the router:
//
//	sysctl net.ipv4.ip_forward=1
//	nft -f - <<< 'table ip lab_nat { chain postrouting { type nat hook postrouting priority srcnat; oifname "eth1" masquerade } }'
func NATRouter(t testing.TB, prefix string) *NATTopology {
	t.Helper()
	RequireBinaries(t, "nft")
	n := &NATTopology{
		Client:        NewNetns(t, prefix+"c"),
		Router:        NewNetns(t, prefix+"r"),
		Server:        NewNetns(t, prefix+"s"),
		ClientAddr:    netip.MustParseAddr("192.168.77.2"),
		RouterInside:  netip.MustParseAddr("192.168.77.1"),
		RouterOutside: netip.MustParseAddr("198.51.100.1"),
		ServerAddr:    netip.MustParseAddr("198.51.100.2"),
	}
	n.Inside = Link(t, n.Client, n.Router, "192.168.77.2/24", "192.168.77.1/24")
	n.Outside = Link(t, n.Router, n.Server, "198.51.100.1/24", "198.51.100.2/24")
	n.Client.Route(t, "default", n.RouterInside.String())
	n.Router.Sysctl(t, "net.ipv4.ip_forward", "1")

	ruleset := strings.ReplaceAll(natRuleset, "OUTSIDE", n.Outside.AIface)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := n.Router.Command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab: loading the NAT ruleset into %s: %v: %s", n.Router.Name, err, strings.TrimSpace(string(out)))
	}
	return n
}

// Package radius runs a real FreeRADIUS 3.2 (Debian package freeradius) for
// interop tests: the RADIUS server behind the ikelab responder's EAP relay
// (RFC 3579), started in a network namespace of the lab package.
//
// Config describes the server in the terms a test cares about: the address
// it listens on, the NASes allowed to ask (clients.conf), the users file
// and the EAP module (EAP-MSCHAPv2, and EAP-TLS with a CA and CRLs). Write
// turns it into a self-contained configuration directory: a single
// radiusd.conf that loads nothing from /etc/freeradius, so the server is
// the same on every machine. Start writes it into a temporary directory and
// runs
//
//	ip netns exec NS freeradius -X -d DIR -n radiusd
//
// through lab.StartProcess, which kills it when the test ends and prints
// its debug log when the test failed.
//
// FreeRADIUS's debug output (-X) is the test's view into the server:
// ParseLog reads the packets it received and sent, with their attributes,
// so a test asserts on the Access-Accept or Access-Reject that answered
// each conversation and on the User-Name and Calling-Station-Id the relay
// sent, rather than on loose substrings.
//
// A typical test:
//
//	radius.Require(t)
//	ns := lab.NewNetns(t, "rad")
//	lab.Link(t, responderNS, ns, "203.0.113.1/24", "203.0.113.2/24")
//	srv := radius.Start(t, ns, radius.Config{
//		Listen:  netip.MustParseAddrPort("203.0.113.2:1812"),
//		Clients: []radius.Client{{Name: "responder", Addr: netip.MustParsePrefix("203.0.113.1/32"), Secret: secret}},
//		Users:   []radius.User{{Name: "carol", Password: "carol-password"}},
//	})
//	// ... run a conversation through the relay ...
//	ex := srv.WaitReply(t, radius.AccessAccept, 10*time.Second)
package radius

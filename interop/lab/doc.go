// Package lab is the real-peer test harness of ikelab: network namespaces
// joined by veth pairs, a NAT router, strongSwan's charon as the peer, packet
// captures and their dissection by tshark. It is a library for go test:
// every constructor takes a testing.TB, fails or skips the test itself, and
// registers a t.Cleanup that removes what it made even when the test fails,
// printing the logs of daemons (charon, the ikelab responder, dumpcap) when
// it did.
//
// A typical interop test:
//
//	lab.RequireStrongSwan(t)
//	a, b := lab.NewNetns(t, "ini"), lab.NewNetns(t, "rsp")
//	lab.Link(t, a, b, "192.0.2.1/24", "192.0.2.2/24")
//	rsp := lab.StartProcess(t, b, "responder", "/path/to/responder", "-listen", "192.0.2.2")
//	ini := lab.StartCharon(t, a, lab.CharonConfig{SwanctlConf: conf})
//	require.NoError(t, ini.Load())
//	out, err := ini.Initiate(ctx, "net", "home")
//	sa := ini.WaitIKESA(t, "home", lab.IKEStateEstablished, 10*time.Second)
//
// # Naming and cleanup
//
// go test runs the test binaries of several packages at once, all as root
// on one machine, so every namespace is named prefix + PID + "-" + counter
// (at most 15 characters, the interface name limit), veth ends are created
// directly inside their namespaces (named eth0, eth1, ... there, so they
// never clash with the host's interfaces), and charon directories are
// private temporary directories. Deleting a namespace deletes its veth,
// TUN and nftables state; processes are killed by process group, and a
// namespace's remaining processes are killed before it is deleted. Every
// wait is bounded and, on timeout, fails with a message naming what did
// not happen and what was seen instead.
//
// # Running charon in a namespace: the recipe and why
//
// StartCharon runs one strongSwan 5.9 charon per namespace, several side by
// side on one host (two in one namespace would both bind UDP 500 and 4500
// and both create the TUN device ipsec0). Each knob exists for a reason found on this kind of
// machine (Debian 12, a kernel without ESP):
//
//   - Private /run. charon hard-codes /var/run/charon.pid (and refuses to
//     start when it finds a live one), so two charons on one host collide.
//     The command is
//
//     ip netns exec NS sh -c 'mount --bind DIR/run /run && exec charon'
//
//     ip netns exec already puts the command in a private mount namespace
//     (slave to the host's), so the bind mount is seen by this charon only.
//
//   - STRONGSWAN_CONF=DIR/strongswan.conf. A configuration file per
//     charon, written by the lab, instead of /etc/strongswan.conf; swanctl
//     gets the same variable.
//
//   - charon.plugins.vici.socket = unix://DIR/run/charon.vici. The control
//     socket lives in the private run directory, reachable from the host as
//     DIR/run/charon.vici (the same directory the bind mount shows as
//     /run), so swanctl runs on the host with --uri and SWANCTL_DIR=DIR/swanctl.
//     swanctl wants its command option first: swanctl --load-all --uri ...
//
//   - load_modular with an explicit plugin list. The plugins do not come
//     from /etc/strongswan.d, so the lab is the same on every machine.
//     stroke is not loaded (it would listen on /var/run/charon.ctl and is
//     replaced by vici), nor is resolve (it writes the host's
//     /etc/resolv.conf when a peer hands out DNS servers).
//
//   - kernel-libipsec, always. The host kernel has XFRM but no ESP
//     (CONFIG_INET_ESP): with kernel-netlink alone the IKE SA comes up but
//     installing the CHILD SA fails and charon answers IKE_AUTH with
//     NO_PROPOSAL_CHOSEN for it. kernel-libipsec does ESP in user space over
//     a TUN device (ipsec0) and makes charon always UDP-encapsulate ESP: it
//     fakes a NAT by sending a random NAT_DETECTION_SOURCE_IP hash (RFC
//     7296, Section 2.23), so after IKE_SA_INIT every exchange moves to UDP
//     4500 with the non-ESP marker (RFC 3948, Section 2.2), even on a plain
//     veth. A peer tested against it therefore needs NAT-T from the start.
//     Two consequences for configurations:
//     host-to-host /32 traffic selectors are refused (TS_UNACCEPTABLE), so
//     use a virtual IP from the responder's pool (CP, RFC 7296, Section
//     3.15) or subnets; and a responder whose local_ts is a subnet needs an
//     address inside it (a /32 on lo will do), because libipsec installs
//     its route with a source address from the local selector and fails
//     the CHILD SA when there is none ("no local address found in traffic
//     selector").
//
//   - A file log, DIR/charon.log, flushed per line, with levels
//     default=1, ike=2, cfg=2 unless LogLevels says otherwise. Level 4
//     would log keys and is refused. The log is printed when a test fails.
//
//   - Raised DoS thresholds. As a responder charon sends COOKIEs after 3
//     half-open SAs from one address (cookie_threshold_ip) and drops
//     silently after 5 (block_threshold); half-open SAs last 30 s. Tests
//     that open many SAs from one namespace would stall, so the lab sets
//     cookie_threshold, cookie_threshold_ip to 10000 and block_threshold to
//     10001 (it must exceed the per-IP cookie threshold). A test of cookies
//     sets them back through CharonConfig.Options.
//
// Measured here (BenchmarkStrongSwanRoadWarrior, 2 cores shared with other
// work): two namespaces, a veth and both charons started with their
// configurations loaded in about 90 ms; one IKE SA plus CHILD SA
// (MODP-2048, PSK, a virtual IP) initiated and deleted again through
// swanctl in 35 to 45 ms.
//
// # Captures and dissection
//
// StartCapture runs dumpcap inside a namespace and returns only once the
// interface is open and the pcapng header written. Dissect runs tshark over
// a capture, optionally with Wireshark key tables (ikev2_decryption_table,
// esp_sa) copied into a private WIRESHARK_CONFIG_DIR, and reports IKEv2
// message counts per exchange, SK payloads decrypted with a correct ICV,
// malformed packets and expert infos. charon's own keys are never logged,
// so captures of lab charons are dissected without decryption.
package lab

// Package matrix runs ikelab's policy scenario matrix (issue 8): a table of
// scenarios, each a client profile, a server policy and a client
// certificate with the outcome that must follow, run three ways:
//
//   - ikelab → ikelab: cmd/initiator against cmd/responder;
//   - ikelab → strongSwan: cmd/initiator against a strongSwan responder
//     configured with the same policy (its proposals as strongSwan
//     keywords, Proposal.Keywords), the same lab PKI and strict CRL checks;
//   - strongSwan → ikelab: a strongSwan initiator offering the client
//     profile's proposals in the profile's order against cmd/responder.
//
// Each run gets fresh network namespaces joined by a veth pair, a pcapng
// capture on the server's end, and Wireshark key tables from whichever side
// is ikelab (the responder through its key_export configuration, the
// initiator through --keys-dir). A run passes when
//
//   - the initiator's view of the outcome (established, child SA refused,
//     refused with a notification, the Windows error code a Windows client
//     would show, the negotiated suites, the insecure flag, the PFS group
//     of a rekey) equals the scenario's expectation;
//   - the responder's view (ikelab's audit records, strongSwan's log)
//     agrees with the initiator's on result, notification and suites;
//   - tshark, given each exported key table in turn, decrypts every SK and
//     SKF payload with a correct ICV, finds no malformed packet and no
//     error-level expert info, and sees the exchanges the outcome implies;
//   - ESP sent through a strongSwan initiator's tunnel decrypts with the
//     ikelab responder's esp_sa rows and passes its ICV check;
//   - PFS on rekey (rekey.go): in strongSwan → ikelab runs that establish
//     a child SA, strongSwan rekeys it (swanctl --rekey), then the ikelab
//     responder does (responder rekey); after each, strongSwan's new child
//     SA shows the expected group, the responder's audit has a
//     child_rekeyed record with its SPIs, every CREATE_CHILD_SA message
//     decrypts and carries a KE payload of that group, and an ICMP echo
//     through the new child SA decrypts with ikelab's keys. The other
//     ways cannot rekey (cmd/initiator neither starts nor answers
//     CREATE_CHILD_SA) and the report says so;
//   - both ikelab programs say loudly that key export is on.
//
// The runner writes a report: report.md, a self-contained report.html (inline
// CSS, relative links only) and results.json, with one row per scenario and
// way linking that run's capture, key tables and logs under runs/. A run's
// directory doubles as a WIRESHARK_CONFIG_DIR (it holds a preferences file
// that turns ESP decryption on), so a student opens a capture decrypted with
//
//	WIRESHARK_CONFIG_DIR=runs/NAME wireshark runs/NAME/capture.pcapng
//
// TestMatrix needs root, strongSwan (with kernel-libipsec), tshark and
// dumpcap, and skips without them. The report goes to -report DIR, else
// $IKELAB_REPORT_DIR, else a temporary directory:
//
//	go test ./interop/matrix/ -run TestMatrix -v -args -report /tmp/ikelab-report
//
// docs/scenarios.md explains each scenario's outcome for Windows admins.
package matrix

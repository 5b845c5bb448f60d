package matrix

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/interop/lab"
)

// Addresses of every run: the client and server ends of the veth, the
// virtual IP pool, and the network behind the server (its local traffic
// selector, with one address on the server's loopback, see serverTSAddr).
const (
	clientAddr   = "192.0.2.1"
	serverAddr   = "192.0.2.2"
	vipPool      = "10.99.200.0/24"
	serverNet    = "10.99.1.0/24"
	serverTSAddr = "10.99.1.1"
)

// policyProposals returns the policy's IKE and ESP proposals as strongSwan
// proposal strings: "the same policy" for a strongSwan responder. The ESP
// ones keep their key exchange keywords: strongSwan ignores them in
// IKE_AUTH as ikelab does (RFC 7296, Section 1.2) and requires them for
// PFS on CREATE_CHILD_SA.
func policyProposals(pol *policy.Policy) (ike, esp string) {
	var i, e []string
	for _, p := range pol.IKE {
		i = append(i, p.Keywords())
	}
	for _, p := range pol.ESP {
		e = append(e, p.Keywords())
	}
	return strings.Join(i, ","), strings.Join(e, ",")
}

// responderConf is swanctl.conf for a strongSwan responder with the
// policy's proposals, the family's server certificate, both lab roots and
// their CRLs (revocation = strict, as ikelab's crl mode require), and a
// pool of virtual IPs, narrowing TSr to serverNet as the ikelab responder
// does with local_ts.
func responderConf(pol *policy.Policy) string {
	ike, esp := policyProposals(pol)
	return fmt.Sprintf(`# strongSwan responder with ikelab's policy %q
connections {
	rw {
		local_addrs = %s
		proposals = %s
		pools = vips
		local {
			auth = pubkey
			certs = server.pem
		}
		remote {
			auth = pubkey
			revocation = strict
		}
		children {
			net {
				local_ts = %s
				esp_proposals = %s
			}
		}
	}
}
pools {
	vips {
		addrs = %s
		dns = %s
	}
}
`, pol.Name, serverAddr, ike, serverNet, esp, vipPool, serverTSAddr)
}

// initiatorConf is swanctl.conf for a strongSwan initiator that offers the
// client profile's proposals in the profile's order and asks for a virtual
// IP, like a Windows client. What strongSwan cannot reproduce (see
// initiatorOptions) is listed in the report.
func initiatorConf(prof *profile.Profile) string {
	return fmt.Sprintf("# strongSwan initiator playing client profile %q\n", prof.Name) +
		lab.CertInitiatorConn(clientAddr, serverAddr, strings.Join(prof.IKE, ","), strings.Join(prof.ESP, ","), serverNet)
}

// initiatorOptions are the charon settings that bring a strongSwan
// initiator closer to the profile: Windows fragments IKE_AUTH at
// FragmentSize octets and signs with the classic AUTH methods (1 for RSA,
// 9 for ECDSA P-256), never RFC 7427 digital signatures.
func initiatorOptions(prof *profile.Profile) map[string]string {
	opts := map[string]string{}
	if prof.Fragmentation && prof.FragmentSize > 0 {
		opts["fragment_size"] = fmt.Sprint(prof.FragmentSize)
	}
	if !prof.SignatureHashes {
		opts["signature_authentication"] = "no"
	}
	return opts
}

// strongSwanLimits says what a strongSwan initiator cannot reproduce of
// the profile.
func strongSwanLimits(prof *profile.Profile) string {
	if !prof.Windows {
		return ""
	}
	return "strongSwan as a Windows client reproduces the profile's proposals in their order, " +
		"IKE fragmentation at " + fmt.Sprint(prof.FragmentSize) + " octets and the classic AUTH methods " +
		"(1 for RSA, 9 for ECDSA), but not Windows' vendor IDs, 48-octet nonces, CP attributes " +
		"23456/23457 or CERTREQ list"
}

// charonView is what a charon's log says about one connection attempt.
type charonView struct {
	// IKE is the last IKE "selected proposal" line and ESP the first ESP
	// one, that of the IKE_AUTH child SA, in strongSwan's notation.
	// RekeyESP are the later ESP ones, of CREATE_CHILD_SA rekeys, which
	// name the PFS group ("ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/
	// NO_EXT_SEQ").
	IKE, ESP string
	RekeyESP []string
	// IKEUp and ChildUp are set once an IKE SA or a CHILD SA was
	// established.
	IKEUp, ChildUp bool
	// Messages are the IKE messages charon generated and parsed, in order.
	Messages []charonMessage
}

// charonMessage is one "generating/parsed EXCHANGE request|response N [
// payloads ]" line.
type charonMessage struct {
	Generated bool
	Exchange  string
	Response  bool
	// Notifies are the abbreviations inside N(...), as strongSwan logs
	// them ("NO_PROP", "AUTH_FAILED").
	Notifies []string
}

var (
	selectedRE = regexp.MustCompile(`selected proposal: ((?:IKE|ESP):\S+)`)
	messageRE  = regexp.MustCompile(`(generating|parsed) (\S+) (request|response) \d+ \[([^\]]*)\]`)
	notifyRE   = regexp.MustCompile(`N\(([A-Z_0-9]+)\)`)
)

// parseCharonLog reads a lab charon's file log (ike level 2).
func parseCharonLog(log string) charonView {
	var v charonView
	for _, line := range strings.Split(log, "\n") {
		if m := selectedRE.FindStringSubmatch(line); m != nil {
			switch {
			case strings.HasPrefix(m[1], "IKE:"):
				v.IKE = m[1]
			case v.ESP == "":
				v.ESP = m[1]
			default:
				v.RekeyESP = append(v.RekeyESP, m[1])
			}
		}
		if strings.Contains(line, "IKE_SA ") && strings.Contains(line, " established between ") {
			v.IKEUp = true
		}
		if strings.Contains(line, "CHILD_SA ") && strings.Contains(line, " established with SPIs ") {
			v.ChildUp = true
		}
		if m := messageRE.FindStringSubmatch(line); m != nil {
			msg := charonMessage{Generated: m[1] == "generating", Exchange: m[2], Response: m[3] == "response"}
			for _, n := range notifyRE.FindAllStringSubmatch(m[4], -1) {
				msg.Notifies = append(msg.Notifies, n[1])
			}
			v.Messages = append(v.Messages, msg)
		}
	}
	return v
}

// errorNotify returns the first error notification in a response that
// charon generated (generated true: it refused) or parsed (false: it was
// refused), with the exchange, in ikelab's long names.
func (v *charonView) errorNotify(generated bool) (exchange, notify string) {
	for _, m := range v.Messages {
		if m.Generated != generated || !m.Response {
			continue
		}
		for _, short := range m.Notifies {
			if n, ok := notifyByShort(short); ok && n.IsError() {
				return m.Exchange, n.String()
			}
		}
	}
	return "", ""
}

// outcome turns the view into an Outcome, from the point of view of the
// side whose log it is (generated: the responder refused; parsed: the
// initiator was refused).
func (v *charonView) outcome(responder bool) Outcome {
	exchange, notify := v.errorNotify(responder)
	switch {
	case v.ChildUp:
		return Outcome{Result: Established, IKE: v.IKE, ESP: v.ESP}
	case v.IKEUp && notify != "" && exchange == "IKE_AUTH":
		return Outcome{Result: ChildRefused, IKE: v.IKE, Exchange: exchange, Notify: notify}
	case notify != "":
		return Outcome{Result: Refused, Exchange: exchange, Notify: notify}
	}
	return Outcome{Result: Failed}
}

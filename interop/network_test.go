package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ikelab/ikelab/ike/capture"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/internal/labpki"
	"github.com/ikelab/ikelab/interop/lab"
)

// This file proves the responder on real networks (issue 5): through a
// NAT (RFC 7296, Section 2.23; RFC 3948), with IKE fragmentation (RFC
// 7383), over IPv6, and behind a load balancer. The COOKIE and flood tests
// (RFC 7296, Section 2.6) are in flood_test.go.

// netRig is a rig whose responder runs in a namespace of a topology the
// test built itself.
type netRig struct {
	*rig
}

// startResponderIn starts the responder in ns with a capture on iface, a
// key export for tshark and an audit file; yaml adds listen, pools,
// policy and credentials ("PKI/" stands for the lab PKI directory).
func startResponderIn(t *testing.T, ns *lab.Netns, iface string, pki *labpki.PKI, yaml string, debug bool) *netRig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), pki: pki, server: ns}
	r.auditPath = filepath.Join(r.dir, "audit.json")
	r.configPath = filepath.Join(r.dir, "responder.yaml")
	r.keysDir = filepath.Join(r.dir, "keys")
	require.NoError(t, os.MkdirAll(r.keysDir, 0o700))
	cfg := fmt.Sprintf("audit: %s\nkey_export:\n  ikev2_decryption_table: %s\n  esp_sa: %s\n", r.auditPath,
		filepath.Join(r.keysDir, "ikev2_decryption_table"), filepath.Join(r.keysDir, "esp_sa"))
	if !strings.Contains(yaml, "dpd:") {
		cfg += "dpd: 0s\n"
	}
	cfg += yaml
	if pki != nil {
		cfg = strings.ReplaceAll(cfg, "PKI/", pki.Dir+"/")
	}
	require.NoError(t, os.WriteFile(r.configPath, []byte(cfg), 0o600))
	if iface != "" {
		r.capture = lab.StartCapture(t, ns, iface, filepath.Join(r.dir, ns.Name+".pcapng"))
	}
	args := []string{buildResponder(t), "run", "--config", r.configPath}
	if debug {
		args = append(args, "--debug")
	}
	r.responder = lab.StartProcess(t, ns, "ikelab-responder-"+ns.Name, args...)
	r.responder.WaitOutput(t, "responder listening", 10*time.Second)
	return &netRig{r}
}

// newLabPKI generates the lab PKI with the server certificate naming ips.
func newLabPKI(t *testing.T, ips ...string) *labpki.PKI {
	t.Helper()
	var nips []net.IP
	for _, s := range ips {
		nips = append(nips, net.ParseIP(s))
	}
	pki, err := labpki.Generate(labpki.Options{Dir: filepath.Join(t.TempDir(), "pki"), ServerIPs: nips})
	require.NoError(t, err)
	return pki
}

// startClient starts charon in ns as the rig's initiator and loads conn.
func (r *netRig) startClient(ns *lab.Netns, conn string, files map[string][]byte, opts map[string]string) *lab.Charon {
	r.client = ns
	r.charon = lab.StartCharon(r.t, ns, lab.CharonConfig{Name: "initiator-" + ns.Name, SwanctlConf: conn, Files: files, Options: opts})
	require.NoError(r.t, r.charon.Load())
	return r.charon
}

// responderLog is what the responder printed so far.
func (r *netRig) responderLog() string { return r.responder.Output() }

// auditWith returns the audit records of an event.
func (r *netRig) auditWith(event string) []map[string]any {
	var out []map[string]any
	for _, a := range r.audits() {
		if a["event"] == event {
			out = append(out, a)
		}
	}
	return out
}

// ikeDatagram is one IKE message of a capture, decoded.
type ikeDatagram struct {
	capture.Datagram
	Msg *wire.Message
}

// readIKE decodes every IKE message of a stopped capture.
func readIKE(t *testing.T, path string) []ikeDatagram {
	t.Helper()
	ds, err := capture.ReadFile(path)
	require.NoError(t, err)
	var out []ikeDatagram
	for _, d := range ds {
		m, err := wire.ParseMessage(d.Data)
		require.NoError(t, err, "frame %d from %v does not parse", d.Frame, d.Src)
		out = append(out, ikeDatagram{d, m})
	}
	return out
}

// natdHash is NAT_DETECTION_*_IP: SHA-1(SPIi | SPIr | IP | port), RFC 7296,
// Section 2.23, computed here independently of the engine.
func natdHash(spii, spir wire.SPI, ap netip.AddrPort) []byte {
	h := sha1.New()
	h.Write(spii[:])
	h.Write(spir[:])
	h.Write(ap.Addr().Unmap().AsSlice())
	h.Write(binary.BigEndian.AppendUint16(nil, ap.Port()))
	return h.Sum(nil)
}

func notifyData(m *wire.Message, t wire.NotifyType) [][]byte {
	var out [][]byte
	for _, p := range m.Payloads {
		if n, ok := p.(*wire.Notify); ok && n.NotifyType == t {
			out = append(out, n.Data)
		}
	}
	return out
}

// keepalives counts NAT-T keepalives (a single 0xff octet on UDP 4500, RFC
// 3948, Section 2.3) from src in a capture; ike/capture skips them.
func keepalives(t *testing.T, path string, src netip.Addr) int {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	ng, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	require.NoError(t, err)
	n := 0
	for {
		data, _, err := ng.ReadPacketData()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, ng.LinkType(), gopacket.Default)
		ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil || udp.DstPort != 4500 {
			continue
		}
		if a, _ := netip.AddrFromSlice(ip.SrcIP); a == src && bytes.Equal(udp.Payload, []byte{0xff}) {
			n++
		}
	}
	return n
}

// udpEncapOf returns, by local port, the UDP_ENCAP type (linux/udp.h) of
// every UDP socket of process pid, read with pidfd_getfd(2) and
// getsockopt(2) on a duplicate of the process's own descriptor.
func udpEncapOf(t *testing.T, pid int) map[uint16]int {
	t.Helper()
	const udpEncap = 100
	pidfd, err := unix.PidfdOpen(pid, 0)
	require.NoError(t, err, "pidfd_open(%d)", pid)
	defer unix.Close(pidfd)
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	out := map[uint16]int{}
	for _, e := range ents {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:") {
			continue
		}
		n, err := strconv.Atoi(e.Name())
		require.NoError(t, err)
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		require.NoError(t, err, "pidfd_getfd(%d, %d)", pid, n)
		if proto, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err == nil && proto == unix.IPPROTO_UDP {
			sa, err := unix.Getsockname(fd)
			require.NoError(t, err)
			encap, err := unix.GetsockoptInt(fd, unix.IPPROTO_UDP, udpEncap)
			require.NoError(t, err)
			switch sa := sa.(type) {
			case *unix.SockaddrInet4:
				out[uint16(sa.Port)] = encap
			case *unix.SockaddrInet6:
				out[uint16(sa.Port)] = encap
			}
		}
		unix.Close(fd)
	}
	return out
}

func ecdsaTrustYAML(listen, pool string) string {
	return fmt.Sprintf("listen: %s\npool4: %s\nlocal_ts: [%s]\n", listen, pool, serverNet) + fmt.Sprintf(trustYAML, "ecdsa")
}

// TestNetNAT: a strongSwan road warrior behind a masquerading router. NAT
// detection (RFC 7296, Section 2.23) finds the NAT from both sides, IKE
// floats to UDP 4500 with the non-ESP marker (RFC 3948, Section 2.2), NAT-T
// keepalives are taken silently, and the 4500 socket is the one kernel
// ESP-in-UDP SAs would use (UDP_ENCAP set on it).
func TestNetNAT(t *testing.T) {
	lab.RequireStrongSwan(t)
	n := lab.NATRouter(t, "nat")
	pki := newLabPKI(t, n.ServerAddr.String())
	r := startResponderIn(t, n.Server, n.Outside.Iface(n.Server), pki, ecdsaTrustYAML(n.ServerAddr.String(), vipPool), true)
	c := r.startClient(n.Client, lab.CertConn{Local: n.ClientAddr.String(), Remote: n.ServerAddr.String(),
		Proposals: "aes128gcm16-prfsha256-ecp256", ESP: "aes128gcm16", VIPs: "0.0.0.0", RemoteTS: serverNet}.String(),
		certFiles(t, pki.ECDSA, pki.ECDSA.Clients[0]),
		// A keepalive a second (default 20 s) so that some flow in the test.
		map[string]string{"keep_alive": "1s"})
	r.initiate(true)

	sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	// charon compares the responder's NAT_DETECTION_DESTINATION_IP, a hash
	// of the address the responder saw, with its own private address.
	assert.True(t, sa.NATLocal, "charon found itself behind the NAT")
	assert.Equal(t, n.ServerAddr, sa.RemoteHost)
	assert.EqualValues(t, 4500, sa.RemotePort, "IKE floated to 4500")
	assert.EqualValues(t, 4500, sa.LocalPort)
	require.Len(t, sa.Children, 1)
	assert.Equal(t, lab.ChildStateInstalled, sa.Children[0].State)
	assert.True(t, sa.Children[0].Encap, "ESP in UDP")

	initAudit := r.waitAudit("ike_sa_init")
	assert.Equal(t, netip.AddrPortFrom(n.RouterOutside, 500).String(), initAudit["peer"], "the responder sees the router's address")
	assert.Equal(t, true, initAudit["nat_remote"], "the audit records the NAT")
	est := r.waitAudit("established")
	assert.Equal(t, true, est["nat_remote"])

	// Keepalives flow for a few seconds and change nothing.
	lab.Eventually(t, 10*time.Second, "three NAT-T keepalives from charon", func() (bool, error) {
		if n := strings.Count(c.Log(), "sending keep alive to"); n < 3 {
			return false, fmt.Errorf("%d sent", n)
		}
		return true, nil
	})
	c.WaitIKESA(t, "home", lab.IKEStateEstablished, time.Second)

	encap := udpEncapOf(t, r.responder.Pid())
	assert.Equal(t, map[uint16]int{500: 0, 4500: 2}, encap, "UDP_ENCAP_ESPINUDP (2) on the 4500 socket only")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Terminate(ctx, "home"), "the responder answers the delete at the NAT's 4500 mapping")
	r.waitAudit("deleted")
	assert.NotContains(t, r.responderLog(), "not an IKE message", "keepalives are no IKE messages to complain about")

	r.checkWire(6)
	ka := keepalives(t, r.capture.Path, n.RouterOutside)
	t.Logf("%d NAT-T keepalives reached the responder; its sockets' UDP_ENCAP by port: %v", ka, encap)
	assert.GreaterOrEqual(t, ka, 3, "NAT-T keepalives reached the responder")

	// The NAT detection hashes on the wire, recomputed here.
	var sawInit, sawAuth bool
	for _, d := range readIKE(t, r.capture.Path) {
		m := d.Msg
		switch {
		case m.Exchange == wire.IKE_SA_INIT && m.IsResponse():
			sawInit = true
			assert.Equal(t, [][]byte{natdHash(m.SPIi, m.SPIr, d.Src)}, notifyData(m, wire.NAT_DETECTION_SOURCE_IP),
				"NATD_S_IP hashes the responder's own address and port")
			assert.Equal(t, [][]byte{natdHash(m.SPIi, m.SPIr, d.Dst)}, notifyData(m, wire.NAT_DETECTION_DESTINATION_IP),
				"NATD_D_IP hashes the address and port the request came from")
			assert.Equal(t, n.RouterOutside, d.Dst.Addr())
		case m.Exchange == wire.IKE_AUTH:
			sawAuth = true
			assert.True(t, d.NATT, "IKE_AUTH on UDP 4500 with the non-ESP marker (frame %d)", d.Frame)
			assert.EqualValues(t, 4500, d.Src.Port())
			assert.EqualValues(t, 4500, d.Dst.Port())
		}
	}
	assert.True(t, sawInit && sawAuth, "IKE_SA_INIT and IKE_AUTH captured")
}

var peerMoved = regexp.MustCompile(`peer moved from ([0-9a-f.:]+)\[(\d+)\] to ([0-9a-f.:]+)\[(\d+)\]`)

// The random ports stay above 20000: tshark dissects a low port by its
// well-known protocol (434 is Mobile IP) and would call IKE malformed.
//
// TestNetNATPortChanges: a NAT that picks a random public port for every
// new mapping (masquerade random) and forgets mappings after a second of
// silence. IKE_SA_INIT arrives from one port, IKE_AUTH from another, and
// every DPD exchange of the client from yet another: the responder finds
// the IKE SA by its SPIs alone and follows the peer to the address and
// port of each authenticated message (RFC 7296, Section 2.23).
func TestNetNATPortChanges(t *testing.T) {
	lab.RequireStrongSwan(t)
	n := lab.NATRouter(t, "natp")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := n.Router.Run(ctx, "nft", "flush chain ip lab_nat postrouting; add rule ip lab_nat postrouting oifname "+
		n.Outside.Iface(n.Router)+" meta l4proto udp masquerade to :20000-60000 random")
	require.NoError(t, err)
	for _, k := range []string{"net.netfilter.nf_conntrack_udp_timeout", "net.netfilter.nf_conntrack_udp_timeout_stream"} {
		n.Router.Sysctl(t, k, "1")
	}
	pki := newLabPKI(t, n.ServerAddr.String())
	r := startResponderIn(t, n.Server, n.Outside.Iface(n.Server), pki, ecdsaTrustYAML(n.ServerAddr.String(), vipPool), true)
	c := r.startClient(n.Client, lab.CertConn{Local: n.ClientAddr.String(), Remote: n.ServerAddr.String(),
		Proposals: "aes128gcm16-prfsha256-ecp256", ESP: "aes128gcm16", VIPs: "0.0.0.0", RemoteTS: serverNet,
		// A liveness check after two idle seconds: each one finds the
		// NAT mapping expired and gets a new public port.
		Extra: "dpd_delay = 2s"}.String(),
		certFiles(t, pki.ECDSA, pki.ECDSA.Clients[0]), nil)
	r.initiate(true)
	c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)

	lab.Eventually(t, 20*time.Second, "the responder following the peer three times", func() (bool, error) {
		if n := len(peerMoved.FindAllString(r.responderLog(), -1)); n < 3 {
			return false, fmt.Errorf("%d moves logged", n)
		}
		return true, nil
	})
	lab.Eventually(t, 10*time.Second, "charon's DPD answered at its new port", func() (bool, error) {
		if n := strings.Count(c.Log(), "parsed INFORMATIONAL response"); n < 2 {
			return false, fmt.Errorf("%d INFORMATIONAL responses parsed by charon", n)
		}
		return true, nil
	})
	c.WaitIKESA(t, "home", lab.IKEStateEstablished, time.Second)
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	require.NoError(t, c.Terminate(dctx, "home"), "the delete is answered at the latest mapping")
	r.waitAudit("deleted")
	// IKE_SA_INIT, IKE_AUTH, at least two DPD exchanges and the delete.
	r.checkWire(10)

	ports := map[uint16]bool{}
	for _, m := range peerMoved.FindAllStringSubmatch(r.responderLog(), -1) {
		for _, hp := range [][]string{m[1:3], m[3:5]} {
			assert.Equal(t, n.RouterOutside.String(), hp[0])
			p, err := strconv.Atoi(hp[1])
			require.NoError(t, err)
			ports[uint16(p)] = true
		}
	}
	assert.GreaterOrEqual(t, len(ports), 4, "distinct public ports the peer used: %v", ports)
	t.Logf("the peer used %d public ports: %v", len(ports), ports)

	var initPort, authPort uint16
	for _, d := range readIKE(t, r.capture.Path) {
		if d.Src.Addr() != n.RouterOutside || d.Msg.IsResponse() {
			continue
		}
		switch d.Msg.Exchange {
		case wire.IKE_SA_INIT:
			initPort = d.Src.Port()
		case wire.IKE_AUTH:
			authPort = d.Src.Port()
			assert.True(t, d.NATT)
		}
	}
	assert.NotZero(t, initPort)
	assert.NotZero(t, authPort)
	assert.NotEqual(t, initPort, authPort, "IKE_AUTH came from another public port than IKE_SA_INIT")
	assert.NotContains(t, []uint16{500, 4500}, authPort, "the NAT rewrote the source port")
}

// issueRSAServer issues a server certificate with a fresh RSA key of bits
// under parent, naming ip, and writes the chain (leaf, then parent) and key
// as PEM into dir.
func issueRSAServer(t *testing.T, dir string, parent *labpki.Issued, bits int, ip string) (chainPath, keyPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "vpn-big.ikelab.test", Organization: []string{"ikelab lab"}},
		DNSNames:     []string{"vpn-big.ikelab.test", ip},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.Cert, &key.PublicKey, parent.Key)
	require.NoError(t, err)
	var chain bytes.Buffer
	require.NoError(t, pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der}))
	require.NoError(t, pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: parent.Cert.Raw}))
	chainPath, keyPath = filepath.Join(dir, "big-server.pem"), filepath.Join(dir, "big-server.key")
	require.NoError(t, os.WriteFile(chainPath, chain.Bytes(), 0o600))
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600))
	return chainPath, keyPath
}

var splitLine = regexp.MustCompile(`splitting IKE message \((\d+) bytes\) into (\d+) fragments`)

// TestNetFragmentation: RFC 7383 both ways. The responder authenticates
// with an RSA-4096 certificate under the lab intermediate and sends the
// chain; strongSwan (fragmentation = force, 600-octet datagrams) sends its
// own chain. The client's namespace drops the first fragments of the
// IKE_AUTH response once: strongSwan retransmits its request and the
// responder resends the very same fragments (Section 2.6.1).
func TestNetFragmentation(t *testing.T) {
	lab.RequireStrongSwan(t)
	lab.RequireBinaries(t, "nft")
	cl, sv := lab.NewNetns(t, "frc"), lab.NewNetns(t, "frs")
	v := lab.Link(t, cl, sv, clientAddr+"/24", serverAddr+"/24")
	pki := newLabPKI(t, serverAddr)
	chain, key := issueRSAServer(t, t.TempDir(), pki.RSA.Intermediate, 4096, serverAddr)
	const fragmentSize = 576
	r := startResponderIn(t, sv, v.Iface(sv), pki, fmt.Sprintf(`listen: %s
pool4: %s
local_ts: [%s]
fragment_size: %d
policy:
  builtin: recommended
identity:
  certificate: %s
  key: %s
trust:
  root_ca_files: [PKI/rsa/root.pem]
  crl:
    mode: require
    files: [PKI/rsa/root.crl, PKI/rsa/intermediate.crl]
`, serverAddr, vipPool, serverNet, fragmentSize, chain, key), true)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := cl.Command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(`table inet lossy {
	chain in {
		type filter hook input priority 0; policy accept;
		udp sport 4500 udp length > 300 quota until 1000 bytes drop
	}
}
`)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "nft: %s", out)

	files := certFiles(t, pki.RSA, pki.RSA.IntermediateClient)
	files["x509ca/intermediate.pem"] = mustRead(t, pki.RSA.Intermediate.CertPath)
	c := r.startClient(cl, lab.CertConn{Local: clientAddr, Remote: serverAddr, Proposals: "aes128-sha256-modp2048",
		ESP: "aes128-sha256", VIPs: "0.0.0.0", RemoteTS: serverNet, Extra: "fragmentation = force"}.String(),
		files, map[string]string{"fragment_size": "600", "retransmit_timeout": "1"})
	r.initiate(true)
	sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
	require.Len(t, sa.Children, 1)
	assert.Equal(t, lab.ChildStateInstalled, sa.Children[0].State)
	est := r.waitAudit("established")
	cert, _ := est["certificate"].(map[string]any)
	require.NotNil(t, cert)
	assert.Equal(t, true, cert["accepted"], "the client's chain through the intermediate verified")

	rlog := r.responderLog()
	split := splitLine.FindStringSubmatch(rlog)
	require.NotNil(t, split, "the responder says it split the IKE_AUTH response:\n%s", rlog)
	respFrags, _ := strconv.Atoi(split[2])
	size, _ := strconv.Atoi(split[1])
	assert.Greater(t, size, 3000, "IKE_AUTH response with an RSA-4096 chain")
	assert.Contains(t, rlog, "reassembled fragmented IKE message")
	assert.Contains(t, rlog, "retransmitting response", "fragment 1 of the retransmitted request triggered the resend")
	clog := c.Log()
	assert.Contains(t, clog, "reassembled fragmented IKE message", "strongSwan reassembled the response")
	assert.Contains(t, clog, "retransmit 1 of request with message ID 1")

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	require.NoError(t, c.Terminate(dctx, "home"))
	r.waitAudit("deleted")
	r.checkWire(6)

	// On the wire: both directions in complete sets of SKF payloads, every
	// response fragment sent twice and identical both times.
	reqFrags := map[uint16]int{}
	respCopies := map[uint16][][]byte{}
	var reqTotal, respTotal uint16
	for _, d := range readIKE(t, r.capture.Path) {
		f := d.Msg.Fragment()
		if d.Msg.Exchange != wire.IKE_AUTH || f == nil {
			continue
		}
		if d.Msg.IsResponse() {
			assert.LessOrEqual(t, len(d.Data), fragmentSize, "response fragment %d/%d within fragment_size", f.Number, f.Total)
			respTotal = f.Total
			respCopies[f.Number] = append(respCopies[f.Number], d.Data)
		} else {
			assert.LessOrEqual(t, len(d.Data)+4+8+20, 600, "strongSwan's fragment %d/%d within its datagram size", f.Number, f.Total)
			reqTotal = f.Total
			reqFrags[f.Number]++
		}
	}
	assert.GreaterOrEqual(t, reqTotal, uint16(3), "the request came in fragments")
	assert.Len(t, reqFrags, int(reqTotal), "every request fragment arrived")
	assert.EqualValues(t, respFrags, respTotal, "as many fragments as the log says")
	require.Len(t, respCopies, int(respTotal), "every response fragment sent")
	t.Logf("IKE_AUTH request in %d fragments; response of %d octets in %d fragments, sent twice", reqTotal, size, respTotal)
	for num, copies := range respCopies {
		require.Len(t, copies, 2, "fragment %d sent, then resent once", num)
		assert.Equal(t, copies[0], copies[1], "fragment %d resent byte for byte", num)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// IPv6 addresses of TestNetIPv6 (RFC 3849 documentation prefix).
const (
	clientAddr6 = "2001:db8:1::1"
	serverAddr6 = "2001:db8:1::2"
	vipPool6    = "2001:db8:99::/120"
	serverNet6  = "2001:db8:10::/64"
)

// TestNetIPv6: the certificate interop of TestStrongSwanCertificates over
// IPv6. The responder listens on an IPv4 and an IPv6 address; strongSwan
// reaches it over IPv6 (floating to 4500 as kernel-libipsec does), gets an
// IPv6 virtual address from pool6, and IPv6 traffic selectors are narrowed
// to local_ts and to that address; one case also asks for IPv4 inside.
func TestNetIPv6(t *testing.T) {
	cases := []struct {
		name, family, proposals, esp string
		vips, remoteTS               string
		wantRemoteTS                 []string
		wantVIPs                     int
	}{
		{"ECDSA-IPv6Child", "ecdsa", "aes128gcm16-prfsha256-ecp256", "aes128gcm16", "::", serverNet6, []string{serverNet6}, 1},
		{"RSA-DualStackChild", "rsa", "aes128-sha256-modp2048", "aes128-sha256", "0.0.0.0, ::", serverNet + ", " + serverNet6,
			[]string{serverNet, serverNet6}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lab.RequireStrongSwan(t)
			cl, sv := lab.NewNetns(t, "v6c"), lab.NewNetns(t, "v6s")
			v := lab.Link(t, cl, sv, clientAddr+"/24,"+clientAddr6+"/64", serverAddr+"/24,"+serverAddr6+"/64")
			pki := newLabPKI(t, serverAddr, serverAddr6)
			r := startResponderIn(t, sv, v.Iface(sv), pki, fmt.Sprintf("listen: [%s, %s]\npool4: %s\npool6: %s\nlocal_ts: [%s, %s]\n",
				serverAddr, serverAddr6, vipPool, vipPool6, serverNet, serverNet6)+fmt.Sprintf(trustYAML, tc.family), true)
			f := pki.RSA
			if tc.family == "ecdsa" {
				f = pki.ECDSA
			}
			c := r.startClient(cl, lab.CertConn{Local: clientAddr6, Remote: serverAddr6, Proposals: tc.proposals, ESP: tc.esp,
				VIPs: tc.vips, RemoteTS: tc.remoteTS}.String(), certFiles(t, f, f.Clients[0]), nil)
			r.initiate(true)
			sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			assert.Equal(t, netip.MustParseAddr(serverAddr6), sa.RemoteHost, "IKE over IPv6")
			assert.Equal(t, netip.MustParseAddr(clientAddr6), sa.LocalHost)
			assert.EqualValues(t, 4500, sa.RemotePort)
			require.Len(t, sa.LocalVIPs, tc.wantVIPs)
			var vip6 netip.Addr
			var wantLocalTS []string
			for _, a := range sa.LocalVIPs {
				if a.Is6() {
					vip6 = a
					assert.True(t, netip.MustParsePrefix(vipPool6).Contains(a), "%v from pool6", a)
				} else {
					assert.True(t, netip.MustParsePrefix(vipPool).Contains(a), "%v from pool4", a)
				}
				wantLocalTS = append(wantLocalTS, netip.PrefixFrom(a, a.BitLen()).String())
			}
			require.True(t, vip6.IsValid(), "an IPv6 virtual address")
			require.Len(t, sa.Children, 1)
			child := sa.Children[0]
			assert.Equal(t, lab.ChildStateInstalled, child.State)
			assert.ElementsMatch(t, tc.wantRemoteTS, child.RemoteTS, "TSr narrowed to local_ts")
			assert.ElementsMatch(t, wantLocalTS, child.LocalTS, "TSi narrowed to the virtual addresses")

			a := r.waitAudit("established")
			assert.Equal(t, "["+clientAddr6+"]:500", a["peer"])
			assert.Equal(t, "["+serverAddr6+"]:500", a["local"])
			assert.Contains(t, a["assigned_ip"], vip6.String())
			assert.Contains(t, a["ts_i"], netip.PrefixFrom(vip6, 128).String())
			assert.Contains(t, a["ts_r"], serverNet6)
			cert, _ := a["certificate"].(map[string]any)
			require.NotNil(t, cert)
			assert.Equal(t, true, cert["accepted"])

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, c.Terminate(ctx, "home"))
			r.waitAudit("deleted")
			r.checkWire(6)
			for _, d := range readIKE(t, r.capture.Path) {
				assert.True(t, d.Src.Addr().Is6() && d.Dst.Addr().Is6(), "frame %d over IPv6", d.Frame)
			}
		})
	}
}

// Addresses of TestNetLoadBalancer: clients on their own links, a virtual
// address (RFC 5737 TEST-NET-3) on the balancer, two responders behind it.
const (
	lbVIP     = "203.0.113.10"
	lbClient1 = "172.16.1.2" // even: backend A under the parity map
	lbClient2 = "172.16.2.3" // odd: backend B
	lbBackA   = "10.0.1.2"
	lbBackB   = "10.0.2.2"
)

// lbPersistent balances by source address, keeping 500 and 4500 of one
// client on one backend (docs/load-balancers.md): the last bit of the
// source address picks the backend, a deterministic stand-in for a source
// hash ("jhash ip saddr mod 2") whose choice a test can predict.
const lbPersistent = `table ip lb {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr VIP udp dport { 500, 4500 } dnat to ip saddr & 0.0.0.1 map { 0.0.0.0 : BACKA, 0.0.0.1 : BACKB }
	}
}
`

// lbJHash is the source hash of docs/load-balancers.md, verbatim.
const lbJHash = `table ip ikelb {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr VIP udp dport { 500, 4500 } dnat to jhash ip saddr mod 2 seed 0x1ce map { 0 : BACKA, 1 : BACKB }
	}
}
`

// lbPortSplit balances by port: the mistake the document warns about.
const lbPortSplit = `table ip lb {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr VIP udp dport 500 dnat to BACKA
		ip daddr VIP udp dport 4500 dnat to BACKB
	}
}
`

// TestNetLoadBalancer: two responders share nothing but a configuration;
// a balancer that keeps each client's UDP 500 and 4500 on one responder
// serves both clients, because every IKE SA is found by its SPIs wherever
// its packets come from. One that splits 500 from 4500 breaks every
// IKE_AUTH: the second responder has never seen the SPIs and drops it.
func TestNetLoadBalancer(t *testing.T) {
	type topo struct {
		c1, c2, lb, ra, rb *lab.Netns
		pki                *labpki.PKI
		a, b               *netRig
	}
	build := func(t *testing.T, ruleset string) *topo {
		lab.RequireStrongSwan(t)
		lab.RequireBinaries(t, "nft")
		tp := &topo{c1: lab.NewNetns(t, "lbc"), c2: lab.NewNetns(t, "lbc"), lb: lab.NewNetns(t, "lbx"),
			ra: lab.NewNetns(t, "lba"), rb: lab.NewNetns(t, "lbb")}
		lab.Link(t, tp.c1, tp.lb, lbClient1+"/24", "172.16.1.1/24")
		lab.Link(t, tp.c2, tp.lb, lbClient2+"/24", "172.16.2.1/24")
		lab.Link(t, tp.ra, tp.lb, lbBackA+"/24", "10.0.1.1/24")
		lab.Link(t, tp.rb, tp.lb, lbBackB+"/24", "10.0.2.1/24")
		tp.c1.Route(t, "default", "172.16.1.1")
		tp.c2.Route(t, "default", "172.16.2.1")
		tp.ra.Route(t, "default", "10.0.1.1")
		tp.rb.Route(t, "default", "10.0.2.1")
		tp.lb.Sysctl(t, "net.ipv4.ip_forward", "1")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := tp.lb.Command(ctx, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(strings.NewReplacer("VIP", lbVIP, "BACKA", lbBackA, "BACKB", lbBackB).Replace(ruleset))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "nft: %s", out)
		tp.pki = newLabPKI(t, lbVIP)
		// Each backend leases from its own pool: they share no state.
		backend := func(ns *lab.Netns, addr, pool string) *netRig {
			return startResponderIn(t, ns, "", tp.pki, ecdsaTrustYAML(addr, pool), true)
		}
		tp.a, tp.b = backend(tp.ra, lbBackA, "10.99.201.0/24"), backend(tp.rb, lbBackB, "10.99.202.0/24")
		return tp
	}
	client := func(t *testing.T, tp *topo, r *netRig, ns *lab.Netns, addr string, opts map[string]string) *lab.Charon {
		return r.startClient(ns, lab.CertConn{Local: addr, Remote: lbVIP, Proposals: "aes128gcm16-prfsha256-ecp256",
			ESP: "aes128gcm16", VIPs: "0.0.0.0", RemoteTS: serverNet}.String(),
			certFiles(t, tp.pki.ECDSA, tp.pki.ECDSA.Clients[0]), opts)
	}

	t.Run("SourceIPPersistent", func(t *testing.T) {
		tp := build(t, lbPersistent)
		for _, cs := range []struct {
			r        *netRig
			ns       *lab.Netns
			addr     string
			pool     string
			other    *netRig
			backName string
		}{
			{tp.a, tp.c1, lbClient1, "10.99.201.0/24", tp.b, "A"},
			{tp.b, tp.c2, lbClient2, "10.99.202.0/24", tp.a, "B"},
		} {
			c := client(t, tp, cs.r, cs.ns, cs.addr, nil)
			cs.r.initiate(true)
			sa := c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			assert.Equal(t, netip.MustParseAddr(lbVIP), sa.RemoteHost, "the client only knows the VIP")
			assert.EqualValues(t, 4500, sa.RemotePort)
			require.Len(t, sa.LocalVIPs, 1)
			assert.True(t, netip.MustParsePrefix(cs.pool).Contains(sa.LocalVIPs[0]), "address from backend %s's pool", cs.backName)
			a := cs.r.waitAudit("established")
			assert.Equal(t, cs.addr+":500", a["peer"], "backend %s sees the client's own address", cs.backName)
			assert.Equal(t, true, a["nat_local"], "backend %s finds itself behind the balancer's NAT", cs.backName)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			require.NoError(t, c.Terminate(ctx, "home"))
			cancel()
			cs.r.waitAudit("deleted")
		}
		for name, r := range map[string]*netRig{"A": tp.a, "B": tp.b} {
			assert.Len(t, r.auditWith("established"), 1, "backend %s served exactly its client", name)
			assert.NotContains(t, r.responderLog(), "unknown IKE SA", "backend %s saw no stray packet", name)
		}
	})

	t.Run("JHash", func(t *testing.T) {
		tp := build(t, lbJHash)
		for _, cs := range []struct {
			ns   *lab.Netns
			addr string
		}{{tp.c1, lbClient1}, {tp.c2, lbClient2}} {
			// The client's charon is driven through the rig of backend A;
			// where the hash sends it is for the audits to tell.
			c := client(t, tp, tp.a, cs.ns, cs.addr, nil)
			tp.a.initiate(true)
			c.WaitIKESA(t, "home", lab.IKEStateEstablished, 5*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			require.NoError(t, c.Terminate(ctx, "home"))
			cancel()
			lab.Eventually(t, 10*time.Second, "the delete of "+cs.addr+" audited", func() (bool, error) {
				var held []string
				for name, r := range map[string]*netRig{"A": tp.a, "B": tp.b} {
					for _, a := range r.auditWith("deleted") {
						if a["peer"] == cs.addr+":500" {
							held = append(held, name)
						}
					}
				}
				if len(held) != 1 {
					return false, fmt.Errorf("backends holding the SA of %s: %v", cs.addr, held)
				}
				return true, nil
			})
		}
		for name, r := range map[string]*netRig{"A": tp.a, "B": tp.b} {
			assert.NotContains(t, r.responderLog(), "unknown IKE SA", "backend %s saw no stray packet", name)
		}
		assert.Equal(t, 2, len(tp.a.auditWith("established"))+len(tp.b.auditWith("established")))
	})

	t.Run("PortSplitBreaks", func(t *testing.T) {
		tp := build(t, lbPortSplit)
		c := client(t, tp, tp.a, tp.c1, lbClient1, map[string]string{"retransmit_tries": "1", "retransmit_timeout": "0.5"})
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := c.Initiate(ctx, "net", "home")
		require.Error(t, err, "IKE_AUTH cannot reach the responder holding the SA:\n%s", out)
		lab.Eventually(t, 5*time.Second, "backend B dropping the IKE_AUTH it cannot place", func() (bool, error) {
			if !strings.Contains(tp.b.responderLog(), "for unknown IKE SA") {
				return false, fmt.Errorf("backend B's log has no drop")
			}
			return true, nil
		})
		assert.Len(t, tp.a.auditWith("ike_sa_init"), 1, "backend A answered IKE_SA_INIT")
		assert.Empty(t, tp.a.auditWith("established"))
		assert.Empty(t, tp.b.auditWith("established"))
	})
}

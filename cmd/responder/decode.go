package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/capture"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/ike/wskeys"
)

func runDecode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keys := fs.String("keys", "", "Wireshark ikev2_decryption_table `file` for decrypting SK payloads")
	verbose := fs.Bool("v", false, "print every payload in detail")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: responder decode [-v] [--keys FILE] CAPTURE")
		return 2
	}
	var table []wskeys.IKESA
	if *keys != "" {
		f, err := os.Open(*keys)
		if err != nil {
			fmt.Fprintf(stderr, "responder: %v\n", err)
			return 1
		}
		table, err = wskeys.ReadIKE(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "responder: %v\n", err)
			return 1
		}
	}
	dgs, err := capture.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "responder: %v\n", err)
		return 1
	}
	d := &decoder{w: stdout, keys: table, verbose: *verbose, frags: map[fragKey]*fragSet{}}
	for i := range dgs {
		d.datagram(&dgs[i])
	}
	return 0
}

type fragKey struct {
	spii, spir wire.SPI
	msgID      uint32
	response   bool
}

type fragSet struct {
	total uint16
	first wire.PayloadType
	parts map[uint16][]byte
}

type decoder struct {
	w       io.Writer
	keys    []wskeys.IKESA
	verbose bool
	frags   map[fragKey]*fragSet
}

func (d *decoder) datagram(dg *capture.Datagram) {
	prefix := fmt.Sprintf("%5d  %s -> %s", dg.Frame, dg.Src, dg.Dst)
	h, err := wire.ParseHeader(dg.Data)
	if err != nil {
		fmt.Fprintf(d.w, "%s  not an IKE message: %v\n", prefix, err)
		return
	}
	if h.MajorVersion != 2 {
		// IKEv1 (ISAKMP) shares the header layout but not the payloads.
		fmt.Fprintf(d.w, "%s  %s/%s  IKEv%d.%d message (exchange %d), not decoded\n",
			prefix, h.SPIi, h.SPIr, h.MajorVersion, h.MinorVersion, uint8(h.Exchange))
		return
	}
	prefix += fmt.Sprintf("  %s/%s", h.SPIi, h.SPIr)
	m, err := wire.ParseMessage(dg.Data)
	if err != nil {
		fmt.Fprintf(d.w, "%s  %s malformed: %v\n", prefix, h.Summary(), err)
		return
	}
	inner, ok, note := d.decrypt(m)
	line := m.Summary()
	if ok {
		line = wire.SummaryLine(&m.Header, inner)
		if f := m.Fragment(); f != nil {
			line += fmt.Sprintf(" (reassembled from %d fragments)", f.Total)
		}
	}
	fmt.Fprintf(d.w, "%s  %s%s\n", prefix, line, note)
	if d.verbose {
		for _, l := range strings.Split(strings.TrimRight(m.Dump(), "\n"), "\n")[1:] {
			fmt.Fprintf(d.w, "       %s\n", l)
		}
		if ok {
			var b strings.Builder
			wire.DumpPayloads(&b, inner, "         ")
			fmt.Fprintf(d.w, "       decrypted:\n%s", b.String())
		}
	}
}

// decrypt returns the inner payloads of an SK payload, or of the last
// fragment that completes a message, when keys for the SA are known; the
// note explains why nothing was decrypted when keys were given.
func (d *decoder) decrypt(m *wire.Message) (inner []wire.Payload, ok bool, note string) {
	if d.keys == nil {
		return nil, false, ""
	}
	e, f := m.Encrypted(), m.Fragment()
	if e == nil && f == nil {
		return nil, false, ""
	}
	row := wskeys.Find(d.keys, m.SPIi, m.SPIr)
	if row == nil {
		return nil, false, "  (no keys for this IKE SA)"
	}
	if row.IntegUnknown != 0 {
		return nil, false, "  (key table gives no integrity key)"
	}
	encKey, integKey := row.SKer, row.SKar
	if m.IsInitiator() {
		encKey, integKey = row.SKei, row.SKai
	}
	c, err := crypto.NewSKCipher(row.Encr, row.EncrKeyBits, row.Integ, encKey, integKey)
	if err != nil {
		return nil, false, fmt.Sprintf("  (cannot decrypt: %v)", err)
	}
	if e != nil {
		plain, err := c.Open(e.AssociatedData(), e.Body)
		if err != nil {
			return nil, false, fmt.Sprintf("  (decryption failed: %v)", err)
		}
		inner, err = wire.ParsePayloads(e.NextPayload, plain)
		if err != nil {
			return nil, false, fmt.Sprintf("  (decrypted, inner payloads malformed: %v)", err)
		}
		return inner, true, "  (decrypted, ICV ok)"
	}
	plain, err := c.Open(f.AssociatedData(), f.Body)
	if err != nil {
		return nil, false, fmt.Sprintf("  (fragment decryption failed: %v)", err)
	}
	k := fragKey{m.SPIi, m.SPIr, m.MessageID, m.IsResponse()}
	set := d.frags[k]
	if set == nil || set.total != f.Total {
		set = &fragSet{total: f.Total, parts: map[uint16][]byte{}}
		d.frags[k] = set
	}
	if f.Number == 1 {
		set.first = f.NextPayload
	}
	set.parts[f.Number] = plain
	if len(set.parts) < int(set.total) {
		return nil, false, fmt.Sprintf("  (fragment %d/%d decrypted, ICV ok)", f.Number, f.Total)
	}
	delete(d.frags, k)
	var whole []byte
	for i := uint16(1); i <= set.total; i++ {
		whole = append(whole, set.parts[i]...)
	}
	inner, err = wire.ParsePayloads(set.first, whole)
	if err != nil {
		return nil, false, fmt.Sprintf("  (reassembled, inner payloads malformed: %v)", err)
	}
	return inner, true, "  (decrypted, ICV ok)"
}

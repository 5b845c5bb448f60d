package wire

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Dump returns a multi-line, indented description of the message and its
// payloads, for people learning the protocol. Inner payloads of an SK
// payload are not known here; pass them to DumpPayloads.
func (m *Message) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", m.Summary())
	fmt.Fprintf(&b, "  header: SPIi %s SPIr %s version %d.%d flags %s message ID %d length %d\n",
		m.SPIi, m.SPIr, m.MajorVersion, m.MinorVersion, m.Flags, m.MessageID, m.Length)
	DumpPayloads(&b, m.Payloads, "  ")
	return b.String()
}

// DumpPayloads writes one block per payload to b, each line indented.
func DumpPayloads(b *strings.Builder, ps []Payload, indent string) {
	for _, p := range ps {
		lines := describe(p)
		crit := ""
		if p.generic().Critical() {
			crit = " (critical)"
		}
		fmt.Fprintf(b, "%s%s%s: %s\n", indent, p.Type(), crit, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(b, "%s    %s\n", indent, l)
		}
	}
}

func shortHex(d []byte) string {
	if len(d) <= 48 {
		return hex.EncodeToString(d)
	}
	return fmt.Sprintf("%s... (%d octets)", hex.EncodeToString(d[:32]), len(d))
}

// describe returns a headline and detail lines for one payload.
func describe(p Payload) []string {
	switch p := p.(type) {
	case *SA:
		out := []string{fmt.Sprintf("%d proposal(s)", len(p.Proposals))}
		for _, pr := range p.Proposals {
			spi := ""
			if len(pr.SPI) > 0 {
				spi = fmt.Sprintf(" SPI %x", pr.SPI)
			}
			out = append(out, fmt.Sprintf("#%d %s%s", pr.Number, pr.String(), spi))
		}
		return out
	case *KE:
		return []string{fmt.Sprintf("%s, %d octets: %s", TransformName(TransformKE, p.Group), len(p.Data), shortHex(p.Data))}
	case *Nonce:
		return []string{fmt.Sprintf("%d octets: %s", len(p.Data), shortHex(p.Data))}
	case *ID:
		return []string{fmt.Sprintf("%s %s", p.IDType, p.String())}
	case *Cert:
		return []string{fmt.Sprintf("%s, %d octets", p.Encoding, len(p.Data))}
	case *CertReq:
		out := []string{fmt.Sprintf("%s, %d CA hash(es)", p.Encoding, len(p.Authorities()))}
		for _, h := range p.Authorities() {
			out = append(out, hex.EncodeToString(h))
		}
		return out
	case *Auth:
		out := []string{fmt.Sprintf("%s, %d octets: %s", p.Method, len(p.Data), hex.EncodeToString(p.Data))}
		if alg, sig, err := p.DigitalSignature(); err == nil {
			out = append(out, fmt.Sprintf("AlgorithmIdentifier %x", alg), fmt.Sprintf("signature %s", shortHex(sig)))
		}
		return out
	case *Notify:
		head := p.NotifyType.String()
		if p.Protocol != ProtoNone || len(p.SPI) > 0 {
			head += fmt.Sprintf(" protocol %s SPI %x", p.Protocol, p.SPI)
		}
		if g, ok := p.KEGroup(); ok {
			head += " group " + TransformName(TransformKE, g)
		} else if code, ok := p.Win32Error(); ok {
			head += fmt.Sprintf(" Win32 error %d", code)
		} else if algs := p.HashAlgorithms(); len(algs) > 0 {
			head += fmt.Sprintf(" %v", algs)
		} else if len(p.Data) > 0 {
			head += " data " + shortHex(p.Data)
		}
		return []string{head}
	case *Delete:
		spis := make([]string, len(p.SPIs))
		for i, s := range p.SPIs {
			spis[i] = hex.EncodeToString(s)
		}
		return []string{fmt.Sprintf("%s SA(s) %s", p.Protocol, strings.Join(spis, " "))}
	case *VendorID:
		if v := LookupVendor(p.Data); v.Name != "" {
			return []string{fmt.Sprintf("%s (%x)", v.Name, p.Data)}
		}
		return []string{fmt.Sprintf("unknown %x", p.Data)}
	case *TS:
		out := []string{fmt.Sprintf("%d selector(s)", len(p.Selectors))}
		for _, s := range p.Selectors {
			out = append(out, s.String())
		}
		return out
	case *CP:
		out := []string{p.Summary()}
		for _, a := range p.Attributes {
			out = append(out, a.String())
		}
		return out
	case *EAP:
		return []string{fmt.Sprintf("%s identifier %d, %d octets of type data", p.Summary(), p.Identifier, len(p.Data))}
	case *Encrypted:
		return []string{fmt.Sprintf("first inner payload %s, %d octets of IV, ciphertext and ICV", p.NextPayload, len(p.Body))}
	case *EncryptedFragment:
		return []string{fmt.Sprintf("fragment %d of %d, first inner payload %s, %d octets", p.Number, p.Total, p.NextPayload, len(p.Body))}
	case *Unknown:
		return []string{fmt.Sprintf("not decoded, %d octets", len(p.Data))}
	}
	return []string{p.Summary()}
}

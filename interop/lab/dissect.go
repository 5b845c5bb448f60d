package lab

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dissectTimeout bounds one tshark run; the corpus captures take well under
// a second.
const dissectTimeout = 2 * time.Minute

// DissectReport is what tshark makes of a capture, counted from its PDML
// output (tshark -T pdml), which carries every field with the text
// Wireshark displays, including the ICV verdicts that no plain field holds.
type DissectReport struct {
	Frames int

	// IKEv2Messages and IKEv1Messages count ISAKMP headers by major version.
	IKEv2Messages int
	IKEv1Messages int
	// Exchanges counts IKEv2 messages by exchange type name
	// ("IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL").
	Exchanges map[string]int

	// SKPayloads counts Encrypted (SK, 46) and Encrypted Fragment (SKF,
	// 53) payloads (RFC 7296, Section 3.14; RFC 7383, Section 2.5).
	SKPayloads int
	// Decrypted counts encrypted payloads tshark decrypted with the key
	// table. It decrypts with whatever key it has, so a wrong key still
	// counts here: look at DecryptedValid.
	Decrypted int
	// DecryptedValid counts decrypted payloads whose Integrity Checksum
	// Data (or AEAD tag) tshark verified as correct.
	DecryptedValid int
	// ChecksumIncorrect counts payloads whose ICV tshark found wrong.
	ChecksumIncorrect int
	// ChecksumNotValidated counts payloads decrypted without an ICV check
	// (a key table row with integrity "ANY ... [No Checking]").
	ChecksumNotValidated int

	// ESPPackets counts ESP packets, plain or UDP-encapsulated.
	ESPPackets int

	// Malformed counts frames with a dissector exception.
	Malformed int
	// ExpertErrors and ExpertWarnings list expert infos of severity Error
	// and Warning (malformed packets appear among the errors too).
	ExpertErrors   []ExpertInfo
	ExpertWarnings []ExpertInfo
}

// ExpertInfo is one Wireshark expert info.
type ExpertInfo struct {
	Frame    int
	Severity string // Error, Warning, Note, Chat
	Group    string // Malformed, Checksum, Protocol, ...
	Message  string
}

func (e ExpertInfo) String() string {
	return fmt.Sprintf("frame %d: %s/%s: %s", e.Frame, e.Severity, e.Group, e.Message)
}

// keyTableFiles are the Wireshark UAT files that Dissect takes from keysDir:
// the IKEv2 SA table (SPIs, SK_e*, SK_a*, algorithms) and the ESP SA table.
var keyTableFiles = []string{"ikev2_decryption_table", "esp_sa", "ikev1_decryption_table"}

// Dissect runs tshark over the capture at path and counts what it finds.
// keysDir, when not "", holds Wireshark key tables (ikev2_decryption_table,
// esp_sa); they are copied into a fresh WIRESHARK_CONFIG_DIR so that tshark
// neither writes into keysDir nor reads the user's own profile. Without
// keys it still gets an empty config dir, for the same reason.
//
// Equivalent to: WIRESHARK_CONFIG_DIR=DIR tshark -n -r PATH -T pdml
func Dissect(t testing.TB, path, keysDir string) (*DissectReport, error) {
	t.Helper()
	RequireBinaries(t, "tshark")
	conf := t.TempDir()
	if keysDir != "" {
		copied := 0
		for _, name := range keyTableFiles {
			b, err := os.ReadFile(filepath.Join(keysDir, name))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("lab: reading key table: %w", err)
			}
			if err := os.WriteFile(filepath.Join(conf, name), b, 0o600); err != nil {
				return nil, fmt.Errorf("lab: copying key table: %w", err)
			}
			copied++
		}
		if copied == 0 {
			return nil, fmt.Errorf("lab: no key table (%s) in %s", strings.Join(keyTableFiles, ", "), keysDir)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), dissectTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", path, "-T", "pdml")
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("lab: tshark: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lab: starting tshark: %w", err)
	}
	rep, perr := parsePDML(stdout)
	if perr != nil {
		// Drain so tshark is not blocked on a full pipe when it is waited.
		_, _ = io.Copy(io.Discard, stdout)
	}
	werr := cmd.Wait()
	if werr != nil {
		return nil, fmt.Errorf("lab: tshark -r %s: %w: %s", path, werr, strings.TrimSpace(stderr.String()))
	}
	if perr != nil {
		return nil, fmt.Errorf("lab: tshark -r %s: %w", path, perr)
	}
	return rep, nil
}

// pdmlState tracks where the decoder is inside one <packet>.
type pdmlState struct {
	rep   *DissectReport
	frame int

	v2        bool // the current ISAKMP header is IKEv2
	decrypted int  // decrypted SK/SKF payloads in this packet not yet matched with an ICV
	malformed bool

	experts []*ExpertInfo // open _ws.expert elements, innermost last
}

// parsePDML streams tshark's PDML and fills a report. Elements nest as
// packet > proto > field > field...; the names used are
//   - geninfo's "num" (frame number),
//   - isakmp.version (show "0x20" for 2.0), isakmp.exchangetype,
//     isakmp.typepayload (show "46"/"53"),
//   - isakmp.enc.decrypted and isakmp.enc.icd, whose showname ends in
//     "[correct]", "[incorrect, should be ...]" or "[not validated]",
//   - the esp and _ws.malformed protocols,
//   - _ws.expert with its _ws.expert.message, .severity and .group.
func parsePDML(r io.Reader) (*DissectReport, error) {
	rep := &DissectReport{Exchanges: map[string]int{}}
	dec := xml.NewDecoder(r)
	var st *pdmlState
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lab: parsing PDML: %w", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attrs := pdmlAttrs(el)
			switch el.Name.Local {
			case "packet":
				rep.Frames++
				st = &pdmlState{rep: rep}
			case "proto":
				if st != nil {
					st.proto(attrs)
				}
			case "field":
				if st != nil {
					st.field(attrs)
				}
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "packet":
				if st != nil && st.malformed {
					rep.Malformed++
				}
				st = nil
			case "field":
				if st != nil {
					st.endField()
				}
			}
		}
	}
	return rep, nil
}

type pdmlAttr struct{ name, show, showname string }

func pdmlAttrs(el xml.StartElement) pdmlAttr {
	var a pdmlAttr
	for _, at := range el.Attr {
		switch at.Name.Local {
		case "name":
			a.name = at.Value
		case "show":
			a.show = at.Value
		case "showname":
			a.showname = at.Value
		}
	}
	return a
}

func (st *pdmlState) proto(a pdmlAttr) {
	switch a.name {
	case "esp":
		st.rep.ESPPackets++
	case "_ws.malformed":
		st.malformed = true
	}
}

// field handles a <field> start. Fields nest, and every start has an end,
// so _ws.expert elements are tracked on a stack whose entries endField
// closes; other fields are only pushed as nil to keep the stack aligned.
func (st *pdmlState) field(a pdmlAttr) {
	var open *ExpertInfo
	switch a.name {
	case "num":
		st.frame, _ = strconv.Atoi(a.show)
	case "isakmp.version":
		// RFC 7296, Section 3.1: MjVer 2 in the high nibble.
		switch {
		case strings.HasPrefix(a.show, "0x2"):
			st.v2 = true
			st.rep.IKEv2Messages++
		case strings.HasPrefix(a.show, "0x1"):
			st.v2 = false
			st.rep.IKEv1Messages++
		}
	case "isakmp.exchangetype":
		if st.v2 {
			st.rep.Exchanges[exchangeName(a)]++
		}
	case "isakmp.typepayload":
		if a.show == "46" || a.show == "53" {
			st.rep.SKPayloads++
		}
	case "isakmp.enc.decrypted":
		st.rep.Decrypted++
		st.decrypted++
	case "isakmp.enc.icd":
		switch {
		case strings.HasSuffix(a.showname, "[correct]"):
			if st.decrypted > 0 {
				st.decrypted--
				st.rep.DecryptedValid++
			}
		case strings.Contains(a.showname, "[incorrect"):
			st.rep.ChecksumIncorrect++
		case strings.HasSuffix(a.showname, "[not validated]"):
			st.rep.ChecksumNotValidated++
		}
	case "_ws.expert":
		open = &ExpertInfo{Frame: st.frame}
		// "Expert Info (Error/Malformed): message" is the fallback when
		// the child fields are missing.
		if s, ok := strings.CutPrefix(a.showname, "Expert Info ("); ok {
			if sev, rest, ok := strings.Cut(s, ")"); ok {
				open.Severity, open.Group, _ = strings.Cut(sev, "/")
				open.Message = strings.TrimPrefix(rest, ": ")
			}
		}
	case "_ws.expert.message":
		if e := st.innerExpert(); e != nil {
			e.Message = a.show
		}
	}
	st.experts = append(st.experts, open)
}

func (st *pdmlState) innerExpert() *ExpertInfo {
	for i := len(st.experts) - 1; i >= 0; i-- {
		if st.experts[i] != nil {
			return st.experts[i]
		}
	}
	return nil
}

func (st *pdmlState) endField() {
	if len(st.experts) == 0 {
		return
	}
	e := st.experts[len(st.experts)-1]
	st.experts = st.experts[:len(st.experts)-1]
	if e == nil {
		return
	}
	switch e.Severity {
	case "Error":
		st.rep.ExpertErrors = append(st.rep.ExpertErrors, *e)
	case "Warning":
		st.rep.ExpertWarnings = append(st.rep.ExpertWarnings, *e)
	}
}

// exchangeName takes "IKE_AUTH" from the showname "Exchange type: IKE_AUTH
// (35)", falling back to the number.
func exchangeName(a pdmlAttr) string {
	s := strings.TrimPrefix(a.showname, "Exchange type: ")
	if i := strings.LastIndex(s, " ("); i > 0 {
		return s[:i]
	}
	return "exchange " + a.show
}

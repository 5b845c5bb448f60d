package radius

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Packet codes as FreeRADIUS prints them (RFC 2865, Section 3).
const (
	AccessRequest   = "Access-Request"
	AccessAccept    = "Access-Accept"
	AccessReject    = "Access-Reject"
	AccessChallenge = "Access-Challenge"
)

// Exchange is one request FreeRADIUS handled, as its debug log shows it.
type Exchange struct {
	// Number is FreeRADIUS's request number, the "(N)" of its log lines.
	Number int
	// Request is the packet received.
	Request Packet
	// Reply is the packet sent; nil while there is none (a dropped or
	// unfinished request).
	Reply *Packet
	// Login is FreeRADIUS's verdict line for the request, from its
	// "Login OK" or "Login incorrect" log entry, or "".
	Login string
}

// Packet is a RADIUS packet as logged: the header line and the attributes
// that follow it.
type Packet struct {
	// Code is the packet type (AccessRequest, AccessAccept, ...).
	Code string
	// ID is the RADIUS Identifier.
	ID int
	// From and To are the addresses as host:port.
	From, To string
	// Attrs are the attributes in the order printed.
	Attrs []Attr
}

// Attr is one attribute as FreeRADIUS prints it. Value is the printed form
// with the quotes of strings removed: "carol", 0x0201..., 192.0.2.1, or
// "<<< secret >>>" for a hidden one.
type Attr struct {
	Name, Value string
}

// Get returns the value of the first attribute called name.
func (p *Packet) Get(name string) (string, bool) {
	for _, a := range p.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

var (
	// (3) Received Access-Request Id 93 from 203.0.113.1:40304 to 203.0.113.2:1812 length 127
	packetLine = regexp.MustCompile(`^\((\d+)\) (Received|Sent) ([A-Za-z-]+) Id (\d+) from (\S+) to (\S+) length \d+$`)
	// (3)   User-Name = "carol"
	attrLine = regexp.MustCompile(`^\((\d+)\)   ([A-Za-z0-9][A-Za-z0-9.:-]*) = (.*)$`)
	// (5) Login OK: [carol] (from client responder port 0 cli 192.0.2.1)
	// (5) Login incorrect (eap_tls: ...): [...] (from client ...)
	// In -X mode on stdout; in a log file "Auth: " and a date precede it.
	loginLine = regexp.MustCompile(`^(?:.* : )?(?:Auth: )?\((\d+)\) (Login (?:OK|incorrect).*)$`)
)

// ParseLog reads FreeRADIUS's debug output (-X) into the requests it
// handled, in the order received. Lines it does not know are skipped:
// the log is meant for people, and only the packet lines (printed by
// FreeRADIUS as "(N) Received ...", "(N) Sent ...", each followed by
// "(N)   Name = value" per attribute) and the "Login" verdicts are read.
func ParseLog(log string) []Exchange {
	var out []Exchange
	index := map[int]int{} // request number -> position in out
	var cur *Packet        // the packet whose attributes are being read
	curNum := -1
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimRight(line, "\r")
		if cur != nil {
			if m := attrLine.FindStringSubmatch(line); m != nil && atoi(m[1]) == curNum {
				cur.Attrs = append(cur.Attrs, Attr{Name: m[2], Value: unquote(m[3])})
				continue
			}
			cur = nil
		}
		if m := packetLine.FindStringSubmatch(line); m != nil {
			num := atoi(m[1])
			p := Packet{Code: m[3], ID: atoi(m[4]), From: m[5], To: m[6]}
			if m[2] == "Received" {
				// A request number is reused only after the request is
				// cleaned up; a new Received starts a new exchange.
				index[num] = len(out)
				out = append(out, Exchange{Number: num, Request: p})
				cur, curNum = &out[len(out)-1].Request, num
				continue
			}
			if i, ok := index[num]; ok {
				out[i].Reply = &p
				cur, curNum = out[i].Reply, num
			}
			continue
		}
		if m := loginLine.FindStringSubmatch(line); m != nil {
			if i, ok := index[atoi(m[1])]; ok {
				out[i].Login = m[2]
			}
		}
	}
	return out
}

// Summary describes exchanges in one line each, for failure messages:
// "(0) Access-Request User-Name=carol -> Access-Challenge". No attribute
// values other than User-Name are shown.
func Summary(ex []Exchange) string {
	if len(ex) == 0 {
		return "nothing (no request reached it)"
	}
	var b strings.Builder
	for _, e := range ex {
		user, _ := e.Request.Get("User-Name")
		reply := "no reply"
		if e.Reply != nil {
			reply = e.Reply.Code
		}
		fmt.Fprintf(&b, "\n\t(%d) %s from %s User-Name=%q -> %s", e.Number, e.Request.Code, e.Request.From, user, reply)
	}
	return b.String()
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// unquote removes the double quotes FreeRADIUS puts around strings, and
// undoes its escapes for them.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
		return v[1 : len(v)-1]
	}
	return v
}

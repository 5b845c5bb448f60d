package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ, which
// Linux fixes at 100 on every architecture it exports it to user space).
const userHZ = 100

// cpuTimes is a process's CPU time so far, its threads (live and exited)
// included: utime and stime, fields 14 and 15 of /proc/PID/stat (proc(5)).
type cpuTimes struct {
	User, System time.Duration
}

// Total is user plus system time.
func (c cpuTimes) Total() time.Duration { return c.User + c.System }

// Sub is the CPU time used between an earlier reading and c.
func (c cpuTimes) Sub(earlier cpuTimes) cpuTimes {
	return cpuTimes{User: c.User - earlier.User, System: c.System - earlier.System}
}

func cpuTime(pid int) (cpuTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, fmt.Errorf("bench: %w", err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime from a /proc/PID/stat line. The
// command name (field 2) is in parentheses and may itself hold spaces and
// parentheses, so the fields are counted from the last ")".
func parseStatCPU(b []byte) (cpuTimes, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpuTimes{}, fmt.Errorf("bench: /proc stat line without a command name")
	}
	// After ")" come field 3 (state) onwards; utime and stime are fields
	// 14 and 15, the 12th and 13th here.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return cpuTimes{}, fmt.Errorf("bench: /proc stat line has %d fields after the command, want 13 or more", len(f))
	}
	var ticks [2]int64
	for j, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return cpuTimes{}, fmt.Errorf("bench: bad CPU time %q in /proc stat line", s)
		}
		ticks[j] = n
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }
	return cpuTimes{User: tick(ticks[0]), System: tick(ticks[1])}, nil
}

// rss returns a process's resident set size in bytes (VmRSS in
// /proc/PID/status).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return parseVmRSS(b)
}

func parseVmRSS(b []byte) (int64, error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: VmRSS line %q is not \"N kB\"", line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: VmRSS line %q: %w", line, err)
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("bench: no VmRSS line (a kernel thread, or a zombie?)")
}

// parseUDPRcvbufErrors reads the Udp RcvbufErrors counter from the text of
// /proc/net/snmp: a "Udp:" line of names followed by a "Udp:" line of
// values.
func parseUDPRcvbufErrors(snmp string) (int64, error) {
	var names []string
	for _, line := range strings.Split(snmp, "\n") {
		rest, ok := strings.CutPrefix(line, "Udp:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				return strconv.ParseInt(f[i], 10, 64)
			}
		}
		break
	}
	return 0, fmt.Errorf("bench: no Udp RcvbufErrors in /proc/net/snmp")
}

package matrix

import (
	"flag"
	"os"
	"testing"
)

var reportFlag = flag.String("report", "", "write the matrix report into this `directory` (default $IKELAB_REPORT_DIR, else a temporary directory)")

// reportDir is -report, else $IKELAB_REPORT_DIR, else a directory that
// lives as long as the test.
func reportDir(t *testing.T) string {
	if *reportFlag != "" {
		return *reportFlag
	}
	if d := os.Getenv("IKELAB_REPORT_DIR"); d != "" {
		return d
	}
	return t.TempDir()
}

// TestMatrix runs every scenario three ways (issue 8) and writes the
// report. It needs root, strongSwan, tshark and dumpcap, and skips
// without them.
//
//	go test ./interop/matrix/ -run TestMatrix -v -args -report /tmp/ikelab-report
func TestMatrix(t *testing.T) {
	env := NewEnv(t, reportDir(t))
	env.RunAll(t, Scenarios(), Ways)
}

package matrix

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ikelab/ikelab/ike/wskeys"
)

// Wireshark's key table files (UAT), as both ikelab programs name them.
const (
	ikeTable = "ikev2_decryption_table"
	espTable = "esp_sa"
)

// wiresharkPreferences turns on what the key tables need: ESP payload
// decryption and ICV checking are off in Wireshark by default (IKEv2 SK
// decryption needs no switch). With it, a run directory works as
// WIRESHARK_CONFIG_DIR.
const wiresharkPreferences = `# Wireshark preferences for an ikelab matrix run (see report.html)
esp.enable_encryption_decode: TRUE
esp.enable_authentication_check: TRUE
`

// readIKETable reads an ikev2_decryption_table; a missing file is no rows.
func readIKETable(path string) ([]wskeys.IKESA, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return wskeys.ReadIKE(f)
}

// mergeIKETables writes to dst every IKE SA found in the tables of srcs,
// once per SPI pair, first source first. Rows are matched by SPIs only;
// the keys are copied, never compared.
func mergeIKETables(dst string, srcs ...string) (int, error) {
	var out []wskeys.IKESA
	for _, src := range srcs {
		rows, err := readIKETable(src)
		if err != nil {
			return 0, fmt.Errorf("matrix: %s: %w", src, err)
		}
		for _, r := range rows {
			if wskeys.Find(out, r.SPIi, r.SPIr) == nil {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		return 0, nil
	}
	var b bytes.Buffer
	for i := range out {
		if err := wskeys.WriteIKE(&b, &out[i]); err != nil {
			return 0, fmt.Errorf("matrix: %w", err)
		}
	}
	return len(out), os.WriteFile(dst, b.Bytes(), 0o600)
}

// countRows counts the non-comment rows of a UAT file; a missing file
// has none.
func countRows(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n, sc.Err()
}

// copyFile copies src to dst with mode; a missing src is not an error
// and copies nothing (the bool says whether it did).
func copyFile(dst, src string, mode os.FileMode) (bool, error) {
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return false, err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return false, err
	}
	return true, out.Close()
}

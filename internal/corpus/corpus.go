// Package corpus finds the shared third-party test corpus, ../shared/corpus
// beside the repository (see its README for each file's origin and
// licence). Tests read it in place: several files are GPL and are never
// copied into the repository, so tests that need it skip when it is absent.
package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// devFallback is where the corpus lives on the developers' machines when
// the repository is checked out somewhere else.
const devFallback = "/work/shared/corpus"

// Find returns the corpus directory, or "" and why it was not found.
func Find() (dir, why string) {
	var tried []string
	if root, err := repoRoot(); err == nil {
		d := filepath.Join(root, "..", "shared", "corpus")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d, ""
		}
		tried = append(tried, d)
	}
	if fi, err := os.Stat(devFallback); err == nil && fi.IsDir() {
		return devFallback, ""
	}
	tried = append(tried, devFallback)
	return "", "test needs the shared corpus (../shared/corpus); not found at " + strings.Join(tried, " or ")
}

// Dir returns the corpus directory or skips the test.
func Dir(tb testing.TB) string {
	tb.Helper()
	d, why := Find()
	if d == "" {
		tb.Skip(why)
	}
	return d
}

// repoRoot is the directory holding go.mod above the working directory
// (go test runs in the package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("corpus: no go.mod above the working directory")
		}
		dir = parent
	}
}

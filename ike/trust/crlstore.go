package trust

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// crlStore holds the CRLs read from configured files and a directory,
// indexed by issuer name. A reload swaps the whole index at once.
type crlStore struct {
	files   []string
	dir     string
	maxSize int64

	mu       sync.RWMutex
	byIssuer map[string][]*CRL // key: RawIssuer
	count    int
}

func newCRLStore(files []string, dir string, maxSize int64) *crlStore {
	return &crlStore{files: files, dir: dir, maxSize: maxSize, byIssuer: map[string][]*CRL{}}
}

// crlFileExts are the directory entries read as CRLs.
var crlFileExts = []string{".crl", ".der", ".pem"}

// load reads every configured file and the directory. It is all or
// nothing: on any error the previous index stays in force, so that a CRL
// file caught half written does not silently drop revocations.
func (s *crlStore) load() error {
	paths := append([]string(nil), s.files...)
	if s.dir != "" {
		entries, err := os.ReadDir(s.dir)
		if err != nil {
			return fmt.Errorf("trust: reading crl dir: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
				continue
			}
			ext := strings.ToLower(filepath.Ext(name))
			for _, want := range crlFileExts {
				if ext == want {
					paths = append(paths, filepath.Join(s.dir, name))
					break
				}
			}
		}
	}
	sort.Strings(paths[len(s.files):])

	index := map[string][]*CRL{}
	count := 0
	var errs []error
	for _, p := range paths {
		crls, err := readCRLFile(p, s.maxSize)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range crls {
			k := string(c.List.RawIssuer)
			index[k] = append(index[k], c)
			count++
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Newest first, so that lookups prefer the most recent CRL.
	for _, l := range index {
		sort.SliceStable(l, func(i, j int) bool { return l[i].List.ThisUpdate.After(l[j].List.ThisUpdate) })
	}
	s.mu.Lock()
	s.byIssuer, s.count = index, count
	s.mu.Unlock()
	return nil
}

// readCRLFile reads a DER CRL or a PEM file with one or more "X509 CRL"
// blocks.
func readCRLFile(path string, maxSize int64) ([]*CRL, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust: reading crl: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("trust: reading crl %s: %w", path, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCRLTooLarge, path, maxSize)
	}
	if !isPEM(data) {
		c, err := parseCRLDER(data, path)
		if err != nil {
			return nil, err
		}
		return []*CRL{c}, nil
	}
	var out []*CRL
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "X509 CRL" {
			continue
		}
		c, err := parseCRLDER(block.Bytes, path)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no \"X509 CRL\" PEM block", ErrMalformedCRL, path)
	}
	return out, nil
}

// lookup returns the CRLs whose issuer name equals rawIssuer, newest first.
func (s *crlStore) lookup(rawIssuer []byte) []*CRL {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byIssuer[string(rawIssuer)]
}

func (s *crlStore) size() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

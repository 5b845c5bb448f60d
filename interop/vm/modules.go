package vm

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Modules resolves kernel modules and their dependencies from an unpacked
// linux-image package. Debian ships no modules.dep in the package (depmod
// writes it at install time), so dependencies are read from each module's
// .modinfo section ("depends=a,b"), which is what depmod reads too; no
// kmod tools are needed on the host, and the guest loads the files with
// busybox insmod in the order Resolve returns.
type Modules struct {
	dir     string            // lib/modules/KVER
	byName  map[string]string // module name -> path
	builtin map[string]bool
}

// modName normalises a module or file name: the kernel treats - and _
// alike in module names (KBUILD_MODNAME uses _).
func modName(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(s), ".ko"), "-", "_")
}

// OpenModules indexes the modules under dir (lib/modules/KVER).
func OpenModules(dir string) (*Modules, error) {
	m := &Modules{dir: dir, byName: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			m.byName[modName(p)] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vm: indexing modules: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			m.builtin[modName(sc.Text())] = true
		}
	}
	return m, nil
}

// Resolve returns the module files for names with their dependencies,
// each after the modules it depends on. Built-in modules need no file and
// are skipped; an unknown name is an error.
func (m *Modules) Resolve(names ...string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n, from string) error
	visit = func(n, from string) error {
		n = modName(n)
		switch state[n] {
		case 1:
			return fmt.Errorf("vm: module dependency cycle at %s", n)
		case 2:
			return nil
		}
		p, ok := m.byName[n]
		if !ok {
			if m.builtin[n] {
				state[n] = 2
				return nil
			}
			if from != "" {
				return fmt.Errorf("vm: module %s (needed by %s) not found", n, from)
			}
			return fmt.Errorf("vm: module %s not found", n)
		}
		state[n] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, n); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleDepends reads the depends= entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vm: module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("vm: module %s has no .modinfo", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("vm: module %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

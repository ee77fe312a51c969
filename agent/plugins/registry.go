package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Registry holds the tasks an agent can run: the built-in shell plugin and
// the external plugins of a plugins folder.
type Registry struct {
	tasks map[string]Task
	// Manifests lists the loaded external plugins.
	Manifests []*Manifest
}

// NewRegistry holds only the built-in shell plugin.
func NewRegistry() *Registry {
	return &Registry{tasks: map[string]Task{ShellName: Shell{}}}
}

// Load builds a registry from the plugins folder dir: every subfolder with a
// manifest.yaml is a plugin. A plugin whose manifest is bad is left out and
// its problem is in the returned error (errors.Join, one per plugin); the
// registry is usable either way. A missing folder gives just the shell.
func Load(dir string) (*Registry, error) {
	r := NewRegistry()
	if dir == "" {
		return r, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return r, nil
		}
		return r, fmt.Errorf("reading plugins folder: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		pdir := filepath.Join(dir, e.Name())
		m, err := LoadManifest(pdir)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %s: %w", pdir, err))
			continue
		}
		if err := r.Add(pdir, m); err != nil {
			errs = append(errs, fmt.Errorf("plugin %s: %w", pdir, err))
		}
	}
	return r, errors.Join(errs...)
}

// Add registers the external plugin of folder dir with its checked manifest:
// "<name>.<task>" for each task, and "<name>" for its default task.
func (r *Registry) Add(dir string, m *Manifest) error {
	names := map[string]Task{}
	for _, t := range m.Tasks {
		names[m.Name+"."+t.Name] = &external{dir: dir, manifest: m, spec: t}
	}
	if d := m.defaultTask(); d != "" {
		names[m.Name] = names[m.Name+"."+d]
	}
	for n := range names {
		if _, dup := r.tasks[n]; dup {
			return fmt.Errorf("plugin name %q: already loaded", n)
		}
	}
	for n, t := range names {
		r.tasks[n] = t
	}
	r.Manifests = append(r.Manifests, m)
	return nil
}

// Lookup finds a task by the name a composition calls it.
func (r *Registry) Lookup(name string) (Task, bool) {
	t, ok := r.tasks[name]
	return t, ok
}

// Names lists every callable name, sorted ("hello", "hello.greet", "shell").
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.tasks))
	for n := range r.tasks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

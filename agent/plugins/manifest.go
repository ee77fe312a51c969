package plugins

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// ManifestFile is the file name of a plugin's manifest in its folder.
const ManifestFile = "manifest.yaml"

// Manifest describes an external plugin (its folder's manifest.yaml).
type Manifest struct {
	// Name is how compositions call the plugin.
	Name string `yaml:"name"`
	// Version is the plugin's version (free text).
	Version string `yaml:"version"`
	// Description says what it does.
	Description string `yaml:"description"`
	// Command is the executable, relative to the plugin folder.
	Command string `yaml:"command"`
	// DefaultTask is the task `plugin: "<name>"` runs; a single-task plugin's
	// only task is its default.
	DefaultTask string `yaml:"default_task"`
	// Tasks are the plugin's tasks.
	Tasks []TaskSpec `yaml:"tasks"`
}

var pluginName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// LoadManifest reads and checks the manifest of the plugin in dir. Errors
// name the file and the offending entry.
func LoadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading plugin manifest: %w", err)
	}
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty manifest", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.check(dir); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// check validates the manifest of the plugin in dir.
func (m *Manifest) check(dir string) error {
	switch {
	case !pluginName.MatchString(m.Name):
		return fmt.Errorf("name %q: want lower-case letters, digits, '-' or '_'", m.Name)
	case m.Name == ShellName:
		return fmt.Errorf("name %q: reserved for the built-in plugin", m.Name)
	case m.Command == "":
		return fmt.Errorf("command: required (the executable, relative to %s)", dir)
	case filepath.IsAbs(m.Command) || strings.HasPrefix(filepath.Clean(m.Command), ".."):
		return fmt.Errorf("command %q: must be a path inside the plugin folder", m.Command)
	case len(m.Tasks) == 0:
		return fmt.Errorf("tasks: at least one task is required")
	}
	exe := filepath.Join(dir, m.Command)
	st, err := os.Stat(exe)
	if err != nil {
		return fmt.Errorf("command %q: %w", m.Command, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("command %q: not an executable file", m.Command)
	}
	seen := map[string]bool{}
	for i, t := range m.Tasks {
		if !pluginName.MatchString(t.Name) {
			return fmt.Errorf("tasks[%d].name %q: want lower-case letters, digits, '-' or '_'", i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("tasks[%d].name %q: duplicate task", i, t.Name)
		}
		seen[t.Name] = true
		fields := map[string]bool{}
		for j, f := range t.Fields {
			where := fmt.Sprintf("tasks[%d].fields[%d]", i, j)
			if f.Name == "" {
				return fmt.Errorf("%s.name: required", where)
			}
			if fields[f.Name] {
				return fmt.Errorf("%s.name %q: duplicate field", where, f.Name)
			}
			fields[f.Name] = true
			if !f.Type.Valid() {
				return fmt.Errorf("%s.type %q: want string, int, bool, list, map or duration", where, f.Type)
			}
			if f.Default != nil {
				d, err := CheckType(f.Type, f.Default)
				if err != nil {
					return fmt.Errorf("%s.default: %w", where, err)
				}
				m.Tasks[i].Fields[j].Default = d
			}
		}
	}
	if m.DefaultTask != "" && !seen[m.DefaultTask] {
		return fmt.Errorf("default_task %q: no such task", m.DefaultTask)
	}
	return nil
}

// defaultTask is the task run by `plugin: "<name>"`, or "".
func (m *Manifest) defaultTask() string {
	if m.DefaultTask != "" {
		return m.DefaultTask
	}
	if len(m.Tasks) == 1 {
		return m.Tasks[0].Name
	}
	return ""
}

package facts

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestExternalFactsAllFormats(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "10-base.txt", "role=builder\nShared=from-txt\nspaces = kept \nno equals sign\nempty=\n", 0o644)
	writeFile(t, dir, "20-data.json", `{"rack": {"row": 4, "slots": [1, 2]}, "shared": "from-json", "ratio": 1.5, "big": 4520031799277581759}`, 0o644)
	writeFile(t, dir, "30-data.yaml", "zone: eu\nflags:\n  ssd: yes\n  gpu: off\ncount: 010\nwhen: 2024-01-02\nquoted: \"yes\"\n", 0o644)
	writeFile(t, dir, "35-extra.yml", "yml_fact: 1\n", 0o644)
	writeFile(t, dir, "40-script", "#!/bin/sh\necho script_fact=$LC_ALL\necho shared=from-script\n", 0o755)
	writeFile(t, dir, "45-yaml-script", "#!/bin/sh\necho 'structured: {a: 1}'\n", 0o755)
	writeFile(t, dir, "50-not-executable.sh", "#!/bin/sh\necho nope=1\n", 0o644)
	writeFile(t, dir, ".hidden.txt", "hidden=1\n", 0o644)
	writeFile(t, dir, "README.md", "doc=1\n", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "sub.txt"), 0o755); err != nil {
		t.Fatal(err)
	}

	log, lines := newCapture()
	got := External(context.Background(), dir, 5*time.Second, log)
	want := map[string]any{
		"role":        "builder",
		"shared":      "from-script", // later files override earlier ones, by name
		"spaces ":     " kept ",      // Facter keeps key and value verbatim
		"rack":        map[string]any{"row": int64(4), "slots": []any{int64(1), int64(2)}},
		"ratio":       1.5,
		"big":         int64(4520031799277581759),
		"zone":        "eu",
		"flags":       map[string]any{"ssd": true, "gpu": false},
		"count":       int64(8), // YAML 1.1 octal, as Ruby reads it
		"when":        "2024-01-02",
		"quoted":      "yes",
		"yml_fact":    int64(1),
		"script_fact": "C",
		"structured":  map[string]any{"a": int64(1)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("External =\n%#v\nwant\n%#v", got, want)
	}
	if l := lines(); len(l) != 0 {
		t.Errorf("unexpected log lines: %q", l)
	}
}

func TestExternalFactsBrokenFileIsLoggedOthersLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", `{"broken": `, 0o644)
	writeFile(t, dir, "b.yaml", "key: [unclosed\n", 0o644)
	writeFile(t, dir, "c.json", `["not", "an", "object"]`, 0o644)
	writeFile(t, dir, "d.txt", "good=1\n", 0o644)
	writeFile(t, dir, "e-slow", "#!/bin/sh\nsleep 30\necho late=1\n", 0o755)
	writeFile(t, dir, "f-fails", "#!/bin/sh\necho partial=1\necho oops >&2\nexit 3\n", 0o755)

	log, lines := newCapture()
	got := External(context.Background(), dir, 300*time.Millisecond, log)
	want := map[string]any{"good": "1", "partial": "1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("External = %v, want %v", got, want)
	}
	logged := strings.Join(lines(), "\n")
	for _, w := range []string{
		filepath.Join(dir, "a.json"), "parsing JSON",
		filepath.Join(dir, "b.yaml"), "parsing YAML",
		filepath.Join(dir, "c.json"), "want an object",
		filepath.Join(dir, "e-slow"), "killed after 300ms",
		filepath.Join(dir, "f-fails"), "exit status 3", "oops",
	} {
		if !strings.Contains(logged, w) {
			t.Errorf("log does not mention %q:\n%s", w, logged)
		}
	}
}

func TestExternalFactsMissingDir(t *testing.T) {
	log, lines := newCapture()
	got := External(context.Background(), filepath.Join(t.TempDir(), "nope"), time.Second, log)
	if len(got) != 0 || len(lines()) != 0 {
		t.Errorf("missing dir gave %v, logs %q", got, lines())
	}
}

func TestGatherExternalOverridesCore(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "k.txt", "kernel=Custom\n", 0o644)
	f := Gather(context.Background(), Options{ExternalDir: dir})
	if f["kernel"] != "Custom" {
		t.Errorf("kernel = %v, want the external fact Custom", f["kernel"])
	}
	SetAgentcloud(f, "linux", "agent-1", "i-123")
	if v, _ := Lookup(f, "agentcloud.agent_id"); v != "agent-1" {
		t.Errorf("agentcloud.agent_id = %v", v)
	}
}

func TestParseYAMLFacts(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]any
		err  string
	}{
		{"a: yes\nb: No\nc: ON\nd: y\ne: true\n", map[string]any{"a": true, "b": false, "c": true, "d": "y", "e": true}, ""},
		{"n: ~\nf: 1.5\nh: 0x1F\n", map[string]any{"n": nil, "f": 1.5, "h": int64(31)}, ""},
		{"base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n", map[string]any{"base": map[string]any{"x": int64(1)}, "derived": map[string]any{"x": int64(1), "y": int64(2)}}, ""},
		{"", map[string]any{}, ""},
		{"- a\n- b\n", nil, "not a mapping"},
	}
	for _, tt := range tests {
		got, err := parseYAMLFacts([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseYAMLFacts(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseYAMLFacts(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

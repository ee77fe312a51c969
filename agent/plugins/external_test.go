package plugins

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// examplePlugins is the repository's example plugins folder.
const examplePlugins = "../../examples/plugins"

func TestLoadExamplePlugin(t *testing.T) {
	reg, err := Load(examplePlugins)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := reg.Names(), []string{"hello", "hello.greet", "hello.wave", "shell"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if len(reg.Manifests) != 1 || reg.Manifests[0].Version != "1.0.0" {
		t.Errorf("Manifests = %+v", reg.Manifests)
	}
}

// runTask prepares and runs a registry task as the runner does.
func runTask(t *testing.T, reg *Registry, name string, own, ctxValues map[string]any) (*recorder, error) {
	t.Helper()
	task, ok := reg.Lookup(name)
	if !ok {
		t.Fatalf("task %q not found", name)
	}
	fields, err := PrepareFields(task.Spec(), own, ctxValues)
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	err = task.Run(context.Background(), Call{Name: name, Fields: fields, Context: ctxValues, WorkDir: t.TempDir()}, rec.events())
	return rec, err
}

func TestExamplePluginRuns(t *testing.T) {
	reg, err := Load(examplePlugins)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runTask(t, reg, "hello", map[string]any{"who": "ops", "times": float64(2), "shout": true}, map[string]any{"who": "shadowed"})
	if err != nil {
		t.Fatalf("hello: %v", err)
	}
	if want := []string{"HELLO, OPS", "HELLO, OPS"}; !reflect.DeepEqual(rec.stdout, want) {
		t.Errorf("stdout = %q, want %q", rec.stdout, want)
	}
	if want := []map[string]any{{"greeting": "HELLO, OPS"}}; !reflect.DeepEqual(rec.context, want) {
		t.Errorf("context = %v, want %v", rec.context, want)
	}

	// Defaults from the manifest, and the context as a field default.
	rec, err = runTask(t, reg, "hello.greet", nil, nil)
	if err != nil || !reflect.DeepEqual(rec.stdout, []string{"hello, world"}) {
		t.Errorf("hello.greet defaults: stdout %q, err %v", rec.stdout, err)
	}
	rec, err = runTask(t, reg, "hello.greet", nil, map[string]any{"who": "from-context"})
	if err != nil || !reflect.DeepEqual(rec.stdout, []string{"hello, from-context"}) {
		t.Errorf("hello.greet from context: stdout %q, err %v", rec.stdout, err)
	}

	rec, err = runTask(t, reg, "hello.wave", map[string]any{"at": "bob"}, nil)
	if err != nil || !contains(rec.lines, "stderr: *waves at bob*") {
		t.Errorf("hello.wave: lines %q, err %v", rec.lines, err)
	}
}

func TestExamplePluginFieldErrors(t *testing.T) {
	reg, err := Load(examplePlugins)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		task string
		own  map[string]any
		want string
	}{
		{"hello.wave", nil, `field "at": required by hello.wave, not given`},
		{"hello", map[string]any{"times": "two"}, `field "times": want int, got string "two"`},
		{"hello", map[string]any{"colour": "red"}, `field "colour": unknown field of hello.greet (known: who, times, shout)`},
	}
	for _, tt := range tests {
		_, err := runTask(t, reg, tt.task, tt.own, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %v: err = %v, want %q", tt.task, tt.own, err, tt.want)
		}
	}
}

// TestExternalPluginRequest checks what a plugin reads on stdin and its env.
func TestExternalPluginRequest(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "echo")
	writePlugin(t, pdir, `name: echo
command: bin/run
tasks:
  - name: show
    fields:
      - {name: items, type: list, default: [1, "a"]}
      - {name: wait, type: duration, required: true}
`, "#!/bin/sh\ncat\necho\necho \"dir=$AGENTCLOUD_PLUGIN_DIR\"\nexit 4\n")
	reg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := runTask(t, reg, "echo", map[string]any{"wait": "2s"}, map[string]any{"run": "x"})
	var exit *ExitError
	if err == nil || !strings.Contains(err.Error(), "exit status 4") || !asExit(err, &exit) {
		t.Errorf("err = %v, want exit status 4", err)
	}
	if len(rec.stdout) != 2 {
		t.Fatalf("stdout = %q", rec.stdout)
	}
	var req map[string]any
	if err := json.Unmarshal([]byte(rec.stdout[0]), &req); err != nil {
		t.Fatalf("stdin was not JSON: %q", rec.stdout[0])
	}
	want := map[string]any{
		"task":    "show",
		"fields":  map[string]any{"items": []any{1.0, "a"}, "wait": "2s"},
		"context": map[string]any{"run": "x"},
	}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("request = %v, want %v", req, want)
	}
	if rec.stdout[1] != "dir="+pdir+"/bin" && rec.stdout[1] != "dir="+pdir {
		t.Errorf("AGENTCLOUD_PLUGIN_DIR line = %q", rec.stdout[1])
	}
}

func asExit(err error, target **ExitError) bool {
	for err != nil {
		if e, ok := err.(*ExitError); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func writePlugin(t *testing.T, dir, manifest, script string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		if err := os.WriteFile(filepath.Join(dir, "bin", "run"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestManifestValidation(t *testing.T) {
	const ok = "#!/bin/sh\nexit 0\n"
	tests := []struct {
		name, manifest, script, want string
	}{
		{"unknown key", "name: p\ncommand: bin/run\ncolour: red\ntasks: [{name: t}]\n", ok, "field colour not found"},
		{"bad name", "name: My Plugin\ncommand: bin/run\ntasks: [{name: t}]\n", ok, `name "My Plugin"`},
		{"reserved name", "name: shell\ncommand: bin/run\ntasks: [{name: t}]\n", ok, `reserved`},
		{"no command", "name: p\ntasks: [{name: t}]\n", ok, "command: required"},
		{"command outside", "name: p\ncommand: ../x\ntasks: [{name: t}]\n", ok, "must be a path inside the plugin folder"},
		{"command missing", "name: p\ncommand: bin/nope\ntasks: [{name: t}]\n", ok, `command "bin/nope"`},
		{"command not executable", "name: p\ncommand: manifest.yaml\ntasks: [{name: t}]\n", ok, "not an executable file"},
		{"no tasks", "name: p\ncommand: bin/run\n", ok, "tasks: at least one task"},
		{"duplicate task", "name: p\ncommand: bin/run\ntasks: [{name: t}, {name: t}]\n", ok, `tasks[1].name "t": duplicate task`},
		{"bad type", "name: p\ncommand: bin/run\ntasks: [{name: t, fields: [{name: f, type: float}]}]\n", ok, `tasks[0].fields[0].type "float"`},
		{"default of wrong type", "name: p\ncommand: bin/run\ntasks: [{name: t, fields: [{name: f, type: int, default: many}]}]\n", ok, `tasks[0].fields[0].default: want int, got string "many"`},
		{"duplicate field", "name: p\ncommand: bin/run\ntasks: [{name: t, fields: [{name: f, type: int}, {name: f, type: int}]}]\n", ok, `duplicate field`},
		{"bad default task", "name: p\ncommand: bin/run\ndefault_task: x\ntasks: [{name: t}]\n", ok, `default_task "x": no such task`},
		{"not yaml", "name: [\n", ok, "manifest.yaml"},
		{"empty", "", ok, "empty manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			writePlugin(t, dir, tt.manifest, tt.script)
			_, err := LoadManifest(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, ManifestFile)) {
				t.Errorf("err %q does not name the manifest file", err)
			}
		})
	}
}

func TestLoadKeepsGoodPluginsAndReportsBadOnes(t *testing.T) {
	dir := t.TempDir()
	writePlugin(t, filepath.Join(dir, "a-good"), "name: good\ncommand: bin/run\ntasks: [{name: a}, {name: b}]\n", "#!/bin/sh\n")
	writePlugin(t, filepath.Join(dir, "bad"), "name: bad\ncommand: bin/run\ntasks: [{name: t, fields: [{name: f, type: float}]}]\n", "#!/bin/sh\n")
	writePlugin(t, filepath.Join(dir, "z-dup"), "name: good\ncommand: bin/run\ntasks: [{name: a}]\n", "#!/bin/sh\n")
	if err := os.WriteFile(filepath.Join(dir, "stray-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := Load(dir)
	if err == nil {
		t.Fatal("Load reported no error for the bad plugins")
	}
	for _, want := range []string{filepath.Join(dir, "bad"), `"float"`, filepath.Join(dir, "z-dup"), "already loaded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// "good" has two tasks and no default task: only the dotted names.
	if got, want := reg.Names(), []string{"good.a", "good.b", "shell"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
}

func TestLoadMissingFolderGivesShell(t *testing.T) {
	reg, err := Load(filepath.Join(t.TempDir(), "none"))
	if err != nil || !reflect.DeepEqual(reg.Names(), []string{"shell"}) {
		t.Errorf("Load(missing) = %v, %v", reg.Names(), err)
	}
}

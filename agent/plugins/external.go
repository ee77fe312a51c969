package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
)

// PluginDirEnv tells an external plugin's executable its own folder.
const PluginDirEnv = "AGENTCLOUD_PLUGIN_DIR"

// external is one task of an external plugin.
type external struct {
	dir      string
	manifest *Manifest
	spec     TaskSpec
}

// Spec declares the task's fields, as the manifest does.
func (e *external) Spec() TaskSpec {
	s := e.spec
	s.Name = e.manifest.Name + "." + e.spec.Name
	return s
}

// request is what an external plugin reads on stdin. The keys come in this
// order (context, fields, task), which simple line-oriented plugins may rely on.
type request struct {
	Context map[string]any `json:"context"`
	Fields  map[string]any `json:"fields"`
	Task    string         `json:"task"`
}

// Run runs the plugin's executable in the work dir with the request as JSON
// on stdin.
func (e *external) Run(ctx context.Context, call Call, ev Events) error {
	fields, ctxValues := call.Fields, call.Context
	if fields == nil {
		fields = map[string]any{}
	}
	if ctxValues == nil {
		ctxValues = map[string]any{}
	}
	in, err := json.Marshal(request{Context: ctxValues, Fields: fields, Task: e.spec.Name})
	if err != nil {
		return fmt.Errorf("encoding request for plugin %s: %w", e.manifest.Name, err)
	}
	exe := filepath.Join(e.dir, e.manifest.Command)
	if abs, err := filepath.Abs(exe); err == nil {
		exe = abs
	}
	cmd := exec.Command(exe)
	cmd.Dir = call.WorkDir
	env, err := taskEnv(Call{Context: call.Context})
	if err != nil {
		return err
	}
	cmd.Env = append(env, PluginDirEnv+"="+filepath.Dir(exe))
	return runProcess(ctx, cmd, in, 0, ev)
}

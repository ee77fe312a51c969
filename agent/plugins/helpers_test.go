package plugins

import (
	"context"
	"sync"
	"testing"
)

// recorder collects a task's events.
type recorder struct {
	mu      sync.Mutex
	lines   []string // "stdout: text"
	stdout  []string
	context []map[string]any
}

func (r *recorder) events() Events {
	return Events{
		Output: func(stream, line string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.lines = append(r.lines, stream+": "+line)
			if stream == Stdout {
				r.stdout = append(r.stdout, line)
			}
		},
		Context: func(v map[string]any) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.context = append(r.context, v)
		},
	}
}

// runShell prepares fields like the runner does and runs the shell plugin.
func runShell(t *testing.T, ctx context.Context, workDir string, fields map[string]any) (*recorder, error) {
	t.Helper()
	sh := Shell{}
	f, err := PrepareFields(sh.Spec(), fields, nil)
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	err = sh.Run(ctx, Call{Name: ShellName, Task: ShellName, Fields: f, WorkDir: workDir, Context: map[string]any{"k": "v"}}, rec.events())
	return rec, err
}

// Package runner runs one composition at a time: its tasks in order, each
// through its plugin, stopping at the first failing task, streaming output
// lines and published context as they come.
//
// Fields and context: each task's fields are, per field the plugin declares,
// the task's own value, else the composition context value of the same name,
// else the plugin's default (plugins.PrepareFields). The context starts as the
// assignment's context; values a task publishes ("::context") replace the
// top-level keys of the same name and are seen by every later task, both as
// field defaults and whole (AGENTCLOUD_CONTEXT, the plugin request).
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"

	"github.com/agentcloud/agentcloud/agent/plugins"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

// Plugins finds a task by the name a composition calls it (*plugins.Registry).
type Plugins interface {
	Lookup(name string) (plugins.Task, bool)
}

// ErrBusy is returned when a composition is already running.
var ErrBusy = errors.New("runner busy: a composition is already running")

// Runner runs compositions, one at a time.
type Runner struct {
	plugins Plugins
	workDir string
	log     *slog.Logger
	mu      sync.Mutex
}

// New makes a runner that runs tasks in workDir.
func New(p Plugins, workDir string, log *slog.Logger) *Runner {
	return &Runner{plugins: p, workDir: workDir, log: log}
}

// Events receives what the tasks produce; task is the task's index.
// Callbacks are never called concurrently.
type Events struct {
	Output  func(task int, stream, line string)
	Context func(task int, values map[string]any)
}

// Outcome is how a composition run ended.
type Outcome struct {
	// Result is succeeded or failed.
	Result wire.Result
	// FailedTask is the index of the failing task, or -1.
	FailedTask int
	// ExitCode is the failing program's exit status; -1 when it has none
	// (bad fields, killed, cancelled); 0 on success.
	ExitCode int
	// Err says why it failed; for a cancelled run it wraps the context's cause.
	Err error
	// Context is the composition context at the end.
	Context map[string]any
}

// Run runs tasks in order with the initial context. When ctx ends, the
// running task is killed and the outcome's Err wraps context.Cause(ctx).
func (r *Runner) Run(ctx context.Context, tasks []api.Task, initial map[string]any, ev Events) Outcome {
	if !r.mu.TryLock() {
		return Outcome{Result: wire.ResultFailed, FailedTask: -1, ExitCode: -1, Err: ErrBusy}
	}
	defer r.mu.Unlock()

	cur := maps.Clone(initial)
	if cur == nil {
		cur = map[string]any{}
	}
	if err := os.MkdirAll(r.workDir, 0o755); err != nil {
		return Outcome{Result: wire.ResultFailed, FailedTask: 0, ExitCode: -1,
			Err: fmt.Errorf("creating work dir: %w", err), Context: cur}
	}
	for i, t := range tasks {
		if ctx.Err() != nil {
			return fail(i, fmt.Errorf("before task %d: %w", i, context.Cause(ctx)), cur)
		}
		log := r.log.With("task", i, "plugin", t.Plugin)
		if t.Name != "" {
			log = log.With("name", t.Name)
		}
		log.Info("task starting")
		err := r.runTask(ctx, i, t, cur, ev)
		if err != nil {
			log.Info("task failed", "err", err)
			return fail(i, err, cur)
		}
		log.Info("task succeeded")
	}
	return Outcome{Result: wire.ResultSucceeded, FailedTask: -1, Context: cur}
}

func fail(task int, err error, cur map[string]any) Outcome {
	code := -1
	var exit *plugins.ExitError
	if errors.As(err, &exit) {
		code = exit.Code
	}
	return Outcome{Result: wire.ResultFailed, FailedTask: task, ExitCode: code, Err: err, Context: cur}
}

// runTask runs task i, merging the context it publishes into cur.
func (r *Runner) runTask(ctx context.Context, i int, t api.Task, cur map[string]any, ev Events) error {
	p, ok := r.plugins.Lookup(t.Plugin)
	if !ok {
		return fmt.Errorf("task %d: plugin %q: not installed on this agent", i, t.Plugin)
	}
	spec := p.Spec()
	fields, err := plugins.PrepareFields(spec, t.Fields, cur)
	if err != nil {
		return fmt.Errorf("task %d (%s): %w", i, t.Plugin, err)
	}
	call := plugins.Call{Name: t.Plugin, Task: spec.Name, Fields: fields, Context: maps.Clone(cur), WorkDir: r.workDir}
	err = p.Run(ctx, call, plugins.Events{
		Output: func(stream, line string) {
			if ev.Output != nil {
				ev.Output(i, stream, line)
			}
		},
		Context: func(values map[string]any) {
			maps.Copy(cur, values)
			if ev.Context != nil {
				ev.Context(i, values)
			}
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("task %d (%s): %w", i, t.Plugin, context.Cause(ctx))
		}
		return fmt.Errorf("task %d (%s): %w", i, t.Plugin, err)
	}
	return nil
}

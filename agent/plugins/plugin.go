package plugins

import (
	"context"
	"fmt"
)

// Task is one callable plugin task ("shell", "hello", "hello.greet").
type Task interface {
	// Spec declares the task's fields.
	Spec() TaskSpec
	// Run runs the task with fields already checked by PrepareFields. It
	// returns nil on success, an *ExitError when the program exited non-zero,
	// or another error (bad field value, timeout, cancellation).
	Run(ctx context.Context, call Call, ev Events) error
}

// Call is one task invocation.
type Call struct {
	// Name is the callable name the composition used ("hello.greet").
	Name string
	// Task is the plugin's task name ("greet"; "shell" for the shell plugin).
	Task string
	// Fields are the task's fields after PrepareFields.
	Fields map[string]any
	// Context is the composition context so far (read only).
	Context map[string]any
	// WorkDir is the agent's work dir; relative paths start there.
	WorkDir string
}

// Events receives what a running task produces. The callbacks are never
// called concurrently, and in the order the task produced them per stream.
type Events struct {
	// Output receives each output line (without its newline); stream is
	// "stdout" or "stderr".
	Output func(stream, line string)
	// Context receives context the task publishes.
	Context func(values map[string]any)
}

func (e Events) output(stream, line string) {
	if e.Output != nil {
		e.Output(stream, line)
	}
}

func (e Events) context(values map[string]any) {
	if e.Context != nil && len(values) > 0 {
		e.Context(values)
	}
}

// ExitError is a task program that exited with a non-zero status.
type ExitError struct {
	// Code is the exit status.
	Code int
}

// Error reads "exit status N".
func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Stream names.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

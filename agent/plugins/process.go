package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxLine is the longest output line passed on whole; longer lines are split.
const maxLine = 64 * 1024

// ContextPrefix starts a stdout line that publishes context instead of output.
const ContextPrefix = "::context "

// ErrTimeout is the cause of a task killed by its timeout.
var ErrTimeout = errors.New("timed out")

// waitDelay is how long a task's output is still read after its program
// exited (a background child may hold the pipes open).
const waitDelay = 2 * time.Second

// runProcess runs cmd in its own process group, feeds it stdin, streams its
// stdout and stderr line by line to ev (stdout "::context" lines become
// context), and kills the whole group when ctx ends or timeout (if > 0)
// passes, and also when the program exits (no leftovers). It returns nil,
// *ExitError, or why it was stopped.
func runProcess(ctx context.Context, cmd *exec.Cmd, stdin []byte, timeout time.Duration, ev Events) error {
	runCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w after %s", ErrTimeout, timeout))
		defer cancel()
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var mu sync.Mutex
	out := &lineWriter{stream: Stdout, mu: &mu, ev: ev}
	errw := &lineWriter{stream: Stderr, mu: &mu, ev: ev}
	cmd.Stdout, cmd.Stderr = out, errw
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	pgid := cmd.Process.Pid

	// Kill the whole group when the run context ends; Go's own
	// CommandContext would only kill the leader.
	stopped := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		select {
		case <-runCtx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			close(killed)
		case <-stopped:
		}
	}()
	waitErr := cmd.Wait()
	close(stopped)
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // leftovers of the task
	out.flush()
	errw.flush()

	select {
	case <-killed:
		return context.Cause(runCtx)
	default:
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("killed by signal %s", ws.Signal())
		}
		return &ExitError{Code: exitErr.ExitCode()}
	}
	if waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return fmt.Errorf("waiting for %s: %w", cmd.Path, waitErr)
	}
	return nil
}

// lineWriter splits what a program writes into lines and passes each to ev,
// under mu so callbacks of both streams never overlap.
type lineWriter struct {
	stream string
	mu     *sync.Mutex
	ev     Events
	buf    []byte
}

// Write passes on every complete line (and cuts lines at maxLine).
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		switch {
		case i >= 0 && i <= maxLine:
			w.emit(strings.TrimSuffix(string(w.buf[:i]), "\r"))
			w.buf = w.buf[i+1:]
			continue
		case len(w.buf) >= maxLine:
			w.emit(string(w.buf[:maxLine]))
			w.buf = w.buf[maxLine:]
			continue
		}
		break
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(p), nil
}

// flush passes on a last line without a newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(strings.TrimSuffix(string(w.buf), "\r"))
		w.buf = nil
	}
}

func (w *lineWriter) emit(line string) {
	if w.stream == Stdout && strings.HasPrefix(line, ContextPrefix) {
		values, err := ParseContextLine(line)
		if err != nil {
			w.ev.output(Stderr, "agentcloud: ignoring "+err.Error())
			return
		}
		w.ev.context(values)
		return
	}
	w.ev.output(w.stream, line)
}

var contextKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// ParseContextLine reads a "::context ..." line: either a JSON object
// (`::context {"version": "1.2", "ok": true}`) or one key=value
// (`::context version=1.2`, the value a string).
func ParseContextLine(line string) (map[string]any, error) {
	rest := strings.TrimSpace(strings.TrimPrefix(line, ContextPrefix))
	if strings.HasPrefix(rest, "{") {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(rest))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("malformed ::context line (want a JSON object or key=value): %w", err)
		}
		return normalizeNumbers(m).(map[string]any), nil
	}
	k, v, ok := strings.Cut(rest, "=")
	if !ok || !contextKey.MatchString(k) {
		return nil, fmt.Errorf("malformed ::context line %q (want a JSON object or key=value)", line)
	}
	return map[string]any{k: v}, nil
}

// normalizeNumbers turns json.Number into int64 or float64 throughout v.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

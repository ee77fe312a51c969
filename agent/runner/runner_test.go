package runner

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/agentcloud/agentcloud/agent/plugins"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

// fakeTask records its calls and publishes what it is told.
type fakeTask struct {
	spec    plugins.TaskSpec
	mu      sync.Mutex
	calls   []plugins.Call
	publish map[string]any
	err     error
	block   chan struct{} // if set, Run waits for it or ctx
}

func (f *fakeTask) Spec() plugins.TaskSpec { return f.spec }

func (f *fakeTask) Run(ctx context.Context, call plugins.Call, ev plugins.Events) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	ev.Output(plugins.Stdout, "fake ran")
	if f.publish != nil {
		ev.Context(f.publish)
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return f.err
}

// registry maps names to tasks, falling back to the real registry (shell).
type registry map[string]plugins.Task

func (r registry) Lookup(name string) (plugins.Task, bool) {
	if t, ok := r[name]; ok {
		return t, true
	}
	return plugins.NewRegistry().Lookup(name)
}

type events struct {
	mu      sync.Mutex
	output  []string // "task:stream:line"
	context []string
}

func (e *events) ev() Events {
	return Events{
		Output: func(task int, stream, line string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.output = append(e.output, strings.Join([]string{itoa(task), stream, line}, ":"))
		},
		Context: func(task int, values map[string]any) {
			e.mu.Lock()
			defer e.mu.Unlock()
			for k, v := range values {
				e.context = append(e.context, itoa(task)+":"+k+"="+v.(string))
			}
		},
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func newRunner(t *testing.T, r registry) *Runner {
	return New(r, t.TempDir(), slog.New(slog.DiscardHandler))
}

func TestRunContextMergesAcrossTasks(t *testing.T) {
	consumer := &fakeTask{spec: plugins.TaskSpec{Name: "consume", Fields: []plugins.FieldSpec{
		{Name: "version", Type: plugins.TypeString, Required: true},
		{Name: "target", Type: plugins.TypeString, Default: "default-target"},
		{Name: "mode", Type: plugins.TypeString},
	}}}
	r := newRunner(t, registry{"consume": consumer})
	var ev events
	tasks := []api.Task{
		{Plugin: "shell", Fields: map[string]any{"command": `echo "seed=$(echo $AGENTCLOUD_CONTEXT)"; echo ::context version=1.2.3; echo '::context {"mode": "fast"}'`}},
		{Plugin: "consume", Fields: map[string]any{"mode": "own-wins"}},
		{Plugin: "shell", Fields: map[string]any{"command": `echo "$AGENTCLOUD_CONTEXT"`}},
	}
	out := r.Run(context.Background(), tasks, map[string]any{"seed": "s", "target": "from-assign"}, ev.ev())
	if out.Result != wire.ResultSucceeded || out.FailedTask != -1 || out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	if len(consumer.calls) != 1 {
		t.Fatalf("consumer calls = %d", len(consumer.calls))
	}
	wantFields := map[string]any{"version": "1.2.3", "target": "from-assign", "mode": "own-wins"}
	if got := consumer.calls[0].Fields; !reflect.DeepEqual(got, wantFields) {
		t.Errorf("task 1 fields = %v, want %v (own > context > default)", got, wantFields)
	}
	if got := consumer.calls[0].Context["version"]; got != "1.2.3" {
		t.Errorf("task 1 context version = %v", got)
	}
	wantOut := []string{
		`0:stdout:seed={"seed":"s","target":"from-assign"}`,
		"1:stdout:fake ran",
		`2:stdout:{"mode":"fast","seed":"s","target":"from-assign","version":"1.2.3"}`,
	}
	if !reflect.DeepEqual(ev.output, wantOut) {
		t.Errorf("output =\n%q\nwant\n%q", ev.output, wantOut)
	}
	if want := []string{"0:version=1.2.3", "0:mode=fast"}; !reflect.DeepEqual(ev.context, want) {
		t.Errorf("context events = %q, want %q", ev.context, want)
	}
	wantCtx := map[string]any{"seed": "s", "target": "from-assign", "version": "1.2.3", "mode": "fast"}
	if !reflect.DeepEqual(out.Context, wantCtx) {
		t.Errorf("final context = %v, want %v", out.Context, wantCtx)
	}
}

func TestRunStopsAtFirstFailingTask(t *testing.T) {
	after := &fakeTask{spec: plugins.TaskSpec{Name: "after"}}
	r := newRunner(t, registry{"after": after})
	var ev events
	out := r.Run(context.Background(), []api.Task{
		{Plugin: "shell", Fields: map[string]any{"command": "true"}},
		{Plugin: "shell", Fields: map[string]any{"command": "echo failing; exit 7"}},
		{Plugin: "after"},
	}, nil, ev.ev())
	if out.Result != wire.ResultFailed || out.FailedTask != 1 || out.ExitCode != 7 {
		t.Fatalf("outcome = %+v, want failed at task 1 with exit 7", out)
	}
	if !strings.Contains(out.Err.Error(), "exit status 7") {
		t.Errorf("err = %v", out.Err)
	}
	if len(after.calls) != 0 {
		t.Errorf("the task after the failure ran")
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name string
		task api.Task
		want string
	}{
		{"unknown plugin", api.Task{Plugin: "nope"}, `plugin "nope": not installed on this agent`},
		{"bad field", api.Task{Plugin: "shell", Fields: map[string]any{"command": "true", "colour": "red"}}, `field "colour": unknown field of shell`},
		{"plugin error", api.Task{Plugin: "broken"}, "broken on purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, registry{"broken": &fakeTask{spec: plugins.TaskSpec{Name: "broken"}, err: errors.New("broken on purpose")}})
			out := r.Run(context.Background(), []api.Task{tt.task}, nil, Events{})
			if out.Result != wire.ResultFailed || out.FailedTask != 0 || out.ExitCode != -1 {
				t.Errorf("outcome = %+v", out)
			}
			if out.Err == nil || !strings.Contains(out.Err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", out.Err, tt.want)
			}
		})
	}
}

func TestRunCancelledReportsCauseAndIsBusyMeanwhile(t *testing.T) {
	block := &fakeTask{spec: plugins.TaskSpec{Name: "block"}, block: make(chan struct{})}
	r := newRunner(t, registry{"block": block})
	ctx, cancel := context.WithCancelCause(context.Background())
	started := make(chan struct{})
	done := make(chan Outcome)
	go func() {
		done <- r.Run(ctx, []api.Task{{Plugin: "block"}, {Plugin: "shell", Fields: map[string]any{"command": "true"}}}, nil, Events{
			Output: func(int, string, string) { close(started) },
		})
	}()
	<-started
	if out := r.Run(context.Background(), nil, nil, Events{}); !errors.Is(out.Err, ErrBusy) {
		t.Errorf("second Run while busy = %+v, want ErrBusy", out)
	}
	cause := errors.New("stop it")
	cancel(cause)
	out := <-done
	if out.Result != wire.ResultFailed || out.FailedTask != 0 || !errors.Is(out.Err, cause) {
		t.Errorf("outcome = %+v, want failed at 0 with the cause", out)
	}
	// Free again.
	if out := r.Run(context.Background(), nil, nil, Events{}); out.Result != wire.ResultSucceeded {
		t.Errorf("Run after = %+v", out)
	}
}

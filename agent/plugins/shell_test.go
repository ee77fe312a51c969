package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestShellStreamsStdoutInOrderAndStderr(t *testing.T) {
	rec, err := runShell(t, context.Background(), t.TempDir(), map[string]any{
		"command": "i=1; while [ $i -le 200 ]; do echo line $i; i=$((i+1)); done; echo oops >&2; printf 'no newline'",
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rec.stdout) != 201 {
		t.Fatalf("got %d stdout lines, want 201", len(rec.stdout))
	}
	for i := 0; i < 200; i++ {
		if want := fmt.Sprintf("line %d", i+1); rec.stdout[i] != want {
			t.Fatalf("stdout line %d = %q, want %q", i, rec.stdout[i], want)
		}
	}
	if rec.stdout[200] != "no newline" {
		t.Errorf("last partial line = %q", rec.stdout[200])
	}
	if !contains(rec.lines, "stderr: oops") {
		t.Errorf("stderr line missing: %q", rec.lines[len(rec.lines)-3:])
	}
}

func TestShellStreamsLinesAsTheyCome(t *testing.T) {
	got := make(chan string, 10)
	release := filepath.Join(t.TempDir(), "release")
	sh := Shell{}
	f, _ := PrepareFields(sh.Spec(), map[string]any{
		"command": "echo first; while [ ! -e " + release + " ]; do sleep 0.05; done; echo second",
	}, nil)
	done := make(chan error, 1)
	go func() {
		done <- sh.Run(context.Background(), Call{Fields: f, WorkDir: t.TempDir()}, Events{Output: func(_, l string) { got <- l }})
	}()
	if l := <-got; l != "first" {
		t.Fatalf("first line = %q", l)
	}
	// The first line arrived while the command still runs.
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if l := <-got; l != "second" {
		t.Fatalf("second line = %q", l)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestShellEnvDirAndArgs(t *testing.T) {
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	rec, err := runShell(t, context.Background(), work, map[string]any{
		"command": `echo "$GREETING $COUNT $FLAG"; pwd; echo "$AGENTCLOUD_CONTEXT"`,
		"env":     map[string]any{"GREETING": "hi", "COUNT": float64(3), "FLAG": true},
		"dir":     "sub",
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"hi 3 true", filepath.Join(work, "sub"), `{"k":"v"}`}
	if !reflect.DeepEqual(rec.stdout, want) {
		t.Errorf("stdout = %q, want %q", rec.stdout, want)
	}

	rec, err = runShell(t, context.Background(), work, map[string]any{"args": []any{"/bin/echo", "a b", "c"}})
	if err != nil || !reflect.DeepEqual(rec.stdout, []string{"a b c"}) {
		t.Errorf("args: stdout %q, err %v", rec.stdout, err)
	}
	rec, err = runShell(t, context.Background(), work, map[string]any{"command": "pwd"})
	if err != nil || !reflect.DeepEqual(rec.stdout, []string{work}) {
		t.Errorf("default dir: stdout %q, err %v; want the work dir", rec.stdout, err)
	}
}

func TestShellFieldErrors(t *testing.T) {
	work := t.TempDir()
	tests := []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{}, `field "command" or "args": one is required`},
		{map[string]any{"command": "true", "args": []any{"true"}}, `give one, not both`},
		{map[string]any{"command": "true", "dir": "missing"}, `field "dir"`},
		{map[string]any{"args": []any{"no-such-program-xyz"}}, `field "args": program "no-such-program-xyz"`},
		{map[string]any{"args": []any{"echo", map[string]any{}}}, `field "args": item 1`},
		{map[string]any{"command": "true", "timeout": "soon"}, `field "timeout": want a duration`},
		{map[string]any{"command": 42}, `field "command": want string, got number 42`},
		{map[string]any{"command": "true", "colour": "red"}, `field "colour": unknown field of shell`},
	}
	for _, tt := range tests {
		_, err := runShell(t, context.Background(), work, tt.fields)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fields %v: err = %v, want it to contain %q", tt.fields, err, tt.want)
		}
	}
}

func TestShellExitCode(t *testing.T) {
	_, err := runShell(t, context.Background(), t.TempDir(), map[string]any{"command": "echo bye; exit 3"})
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 3 || err.Error() != "exit status 3" {
		t.Fatalf("err = %v, want exit status 3", err)
	}
}

// processGone waits until pid no longer runs (gone, or a zombie).
func processGone(t *testing.T, pid int) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// The state follows the command name in parentheses.
		if s := string(b); strings.Contains(s[strings.LastIndex(s, ")"):], " Z ") {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	return pid
}

func TestShellTimeoutKillsProcessGroup(t *testing.T) {
	work := t.TempDir()
	pidFile := filepath.Join(work, "child.pid")
	_, err := runShell(t, context.Background(), work, map[string]any{
		"command": "sleep 60 & echo $! > " + pidFile + "; echo started; wait",
		"timeout": "300ms",
	})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if pid := readPid(t, pidFile); !processGone(t, pid) {
		t.Errorf("child %d of the timed-out command still runs", pid)
	}
}

func TestShellCancelKillsAndReportsCause(t *testing.T) {
	work := t.TempDir()
	cause := errors.New("stop now")
	ctx, cancel := context.WithCancelCause(context.Background())
	started := make(chan struct{})
	sh := Shell{}
	f, _ := PrepareFields(sh.Spec(), map[string]any{"command": "echo up; sleep 60"}, nil)
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		err = sh.Run(ctx, Call{Fields: f, WorkDir: work}, Events{Output: func(_, l string) {
			if l == "up" {
				close(started)
			}
		}})
	}()
	<-started
	cancel(cause)
	<-done
	if !errors.Is(err, cause) {
		t.Fatalf("err = %v, want the cancel cause", err)
	}
}

func TestShellKillsLeftoversOnExit(t *testing.T) {
	work := t.TempDir()
	pidFile := filepath.Join(work, "bg.pid")
	_, err := runShell(t, context.Background(), work, map[string]any{
		"command": "sleep 60 >/dev/null 2>&1 & echo $! > " + pidFile,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if pid := readPid(t, pidFile); !processGone(t, pid) {
		t.Errorf("background process %d left running after the task", pid)
	}
}

func TestShellContextLines(t *testing.T) {
	rec, err := runShell(t, context.Background(), t.TempDir(), map[string]any{
		"command": `echo before; echo '::context version=1.2.3'; echo '::context {"n": 5, "ok": true, "m": {"a": [1]}}'; echo '::context not valid'; echo after`,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantCtx := []map[string]any{
		{"version": "1.2.3"},
		{"n": int64(5), "ok": true, "m": map[string]any{"a": []any{int64(1)}}},
	}
	if !reflect.DeepEqual(rec.context, wantCtx) {
		t.Errorf("context = %#v, want %#v", rec.context, wantCtx)
	}
	if !reflect.DeepEqual(rec.stdout, []string{"before", "after"}) {
		t.Errorf("stdout = %q; ::context lines must not be output", rec.stdout)
	}
	if !containsPrefix(rec.lines, "stderr: agentcloud: ignoring malformed ::context line") {
		t.Errorf("malformed ::context not reported: %q", rec.lines)
	}
}

func TestShellSplitsVeryLongLines(t *testing.T) {
	rec, err := runShell(t, context.Background(), t.TempDir(), map[string]any{
		"command": "head -c 150000 /dev/zero | tr '\\0' x; echo",
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range rec.stdout {
		if len(l) > maxLine {
			t.Errorf("line of %d bytes passed on, max %d", len(l), maxLine)
		}
		total += len(l)
	}
	if total != 150000 || len(rec.stdout) != 3 {
		t.Errorf("got %d lines, %d bytes; want 3 lines, 150000 bytes", len(rec.stdout), total)
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func containsPrefix(list []string, p string) bool {
	for _, l := range list {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

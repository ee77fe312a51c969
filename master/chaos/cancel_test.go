package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// `master cancel` on a composition that a real agent process runs: the
// task's processes are killed, the composition ends cancelled with the
// reason, it is not dispatched again although attempts are left, and the
// agent takes the next work. A second cancel is refused: it has finished.
func TestCancelStopsARunningComposition(t *testing.T) {
	need(t)
	dir := t.TempDir()
	m := startMaster(t, filepath.Join(dir, "master"), "cancel", pkg.amq.URL, credsFlagOrFile)
	startAgent(t, filepath.Join(dir, "agents"), "c1", "cancel", "linux", pkg.amq.URL, credsFlagOrFile)
	waitAgents(t, m, "c1")
	ctx := context.Background()

	pidFile := filepath.Join(dir, "task.pid")
	long, err := m.client.Submit(ctx, api.CompositionRequest{Pool: "linux", MaxAttempts: 3,
		Tasks: []api.Task{{Plugin: "shell", Fields: map[string]any{
			// A child that outlives its shell unless the whole group is killed.
			"command": "sleep 300 & echo $! > " + pidFile + "; wait"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 {
		if data, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(data), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task did not start\n%s", m.logTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}

	out, code := runMaster(t, "cancel", "-master", m.base, "-reason", "wrong branch", long.ID)
	if code != 0 || !strings.Contains(out, long.ID+" is being stopped on agent c1") {
		t.Fatalf("master cancel: exit %d, output %q", code, out)
	}
	final := waitFinal(t, m, []string{long.ID}, 30*time.Second)[long.ID]
	if final.State != api.CompCancelled || final.Attempt != 1 ||
		!strings.HasPrefix(final.Error, "cancelled: wrong branch (stopped on agent c1") {
		t.Fatalf("after cancel: state %s, attempt %d, error %q", final.State, final.Attempt, final.Error)
	}
	if state := procState(pid); state != "" && state != "Z" { // a zombie waits for init to reap it
		t.Errorf("the task's child %d is still alive after the cancel (state %s)", pid, state)
	}

	next, err := m.client.Submit(ctx, api.CompositionRequest{Pool: "linux",
		Tasks: []api.Task{{Plugin: "shell", Fields: map[string]any{"command": "echo next"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := waitFinal(t, m, []string{next.ID}, 30*time.Second)[next.ID]; c.State != api.CompSucceeded || c.Agent != "c1" {
		t.Errorf("the next composition: state %s on agent %q (%s), want succeeded on c1", c.State, c.Agent, c.Error)
	}
	if c, err := m.client.Get(ctx, long.ID); err != nil || c.State != api.CompCancelled || c.Attempt != 1 {
		t.Errorf("the cancelled composition later: %+v, %v; want still cancelled at attempt 1", c, err)
	}

	out, code = runMaster(t, "cancel", "-master", m.base, long.ID, "c-nope")
	if code != 1 || !strings.Contains(out, "already finished (state cancelled)") || !strings.Contains(out, `"c-nope" not found`) {
		t.Errorf("second master cancel: exit %d, output %q; want 1 saying it finished and the other is unknown", code, out)
	}
}

// procState is the state letter of process pid ("R", "S", "Z", ...), or ""
// when there is no such process.
func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	rest := string(data[bytes.LastIndexByte(data, ')')+1:])
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	return ""
}

// runMaster runs the master binary with args and returns its combined
// output and exit code.
func runMaster(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, pkg.masterBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	}
	t.Fatalf("running master %v: %v", args, err)
	return "", 0
}

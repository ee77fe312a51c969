package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/local"
)

// teardown destroys, through the real local provider, every instance of the
// config's owner: their processes end and their dirs go; another owner's
// instance stays.
func TestTeardownCommand(t *testing.T) {
	dir := t.TempDir()
	instances := filepath.Join(dir, "instances")
	cfg := filepath.Join(dir, "cloudmgr.yaml")
	must(t, os.WriteFile(cfg, []byte(`id: cm-test
policies: ./policies
providers:
  - name: local
    type: local
    settings: {dir: ./instances, command: "/bin/sleep 300", stop_grace: 5s}
installations:
  - name: demo
    master_url: http://127.0.0.1:1
    agent: {broker_url: "stomp://127.0.0.1:1"}
`), 0o600))
	p, err := local.New(local.Config{Dir: instances, Command: []string{"/bin/sleep", "300"}}, nil)
	must(t, err)
	var reqs []providers.CreateRequest
	for i, owner := range []string{"cm-test", "cm-test", "cm-test", "cm-other"} {
		reqs = append(reqs, providers.CreateRequest{Name: fmt.Sprintf("demo-linux-%d", i+1), Owner: owner, Installation: "demo", Pool: "linux"})
	}
	_, err = p.Create(t.Context(), reqs)
	must(t, err)
	t.Cleanup(func() {
		p.Destroy(t.Context(), []string{"demo-linux-1", "demo-linux-2", "demo-linux-3", "demo-linux-4"})
	})
	_, err = p.Suspend(t.Context(), providers.SuspendStop, []string{"demo-linux-2"})
	must(t, err)
	pids := map[string]int{}
	for _, name := range []string{"demo-linux-1", "demo-linux-3", "demo-linux-4"} {
		pids[name] = pidOf(t, filepath.Join(instances, name))
	}

	code, out, errOut := runCmd(t, "teardown", "-config", cfg, "-timeout", "1m")
	if code != 0 {
		t.Fatalf("teardown = %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"teardown: destroyed demo-linux-1 (provider local, pool demo/linux, was running)",
		"teardown: destroyed demo-linux-2 (provider local, pool demo/linux, was suspended)",
		"teardown: destroyed demo-linux-3 (provider local, pool demo/linux, was running)",
		"teardown: no instance of owner cm-test is left (3 destroyed)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	entries, err := os.ReadDir(instances)
	must(t, err)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, ",") != "demo-linux-4" {
		t.Errorf("instance dirs left = %v, want only another owner's", left)
	}
	for _, name := range []string{"demo-linux-1", "demo-linux-3"} {
		if alive(pids[name]) {
			t.Errorf("%s's process %d is alive after teardown", name, pids[name])
		}
	}
	if !alive(pids["demo-linux-4"]) {
		t.Error("another owner's process was stopped")
	}

	if code, _, errOut := runCmd(t, "teardown", "-config", filepath.Join(dir, "none.yaml")); code != 1 || !strings.Contains(errOut, "none.yaml") {
		t.Errorf("teardown of a missing config = %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "teardown", "-config", cfg, "-timeout", "soon"); code != 2 {
		t.Errorf("teardown with a bad timeout = %d, want 2", code)
	}
}

// pidOf reads the agent pid from an instance's record.
func pidOf(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "instance.json"))
	must(t, err)
	var r struct {
		PID int `json:"pid"`
	}
	must(t, json.Unmarshal(b, &r))
	if r.PID == 0 {
		t.Fatalf("%s has no pid", dir)
	}
	return r.PID
}

// alive reports whether pid is a live process (a zombie is dead).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

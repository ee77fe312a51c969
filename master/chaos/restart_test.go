package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// A master that restarts on an external broker meets agents whose broker
// connections survived: they do not reconnect, so they would not register
// again by themselves. The master answers their heartbeats with a
// reregister; they register again and get work, and the composition that
// ran through the restart still completes.
func TestMasterRestartAgentsRegisterAgain(t *testing.T) {
	need(t)
	dir := t.TempDir()
	m := startMaster(t, filepath.Join(dir, "master"), "mrestart", pkg.amq.URL, credsFlagOrFile)
	ids := []string{"r1", "r2", "r3"}
	var agents []*agent
	for _, id := range ids {
		agents = append(agents, startAgent(t, filepath.Join(dir, "agents"), id, "mrestart", "linux", pkg.amq.URL, credsFlagOrFile))
	}
	waitAgents(t, m, ids...)
	log := runLog{path: filepath.Join(dir, "runs.log")}
	ctx := context.Background()
	submit := func(sleep time.Duration) string {
		c, err := m.client.Submit(ctx, api.CompositionRequest{Pool: "linux", MaxAttempts: 1,
			Tasks: []api.Task{{Plugin: "shell", Fields: map[string]any{"command": log.command(sleep, 0)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	through := submit(4 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := m.client.Get(ctx, through)
		if err != nil {
			t.Fatal(err)
		}
		if c.State == api.CompRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("composition did not start: %+v", c)
		}
		time.Sleep(50 * time.Millisecond)
	}

	m.signal(t, syscall.SIGKILL, time.Minute)
	restarted := time.Now()
	m.start(t)
	m.waitHealthy(t)
	var after []string
	for range 6 {
		after = append(after, submit(200*time.Millisecond))
	}
	final := waitFinal(t, m, append([]string{through}, after...), 90*time.Second)
	for id, c := range final {
		if c.State != api.CompSucceeded {
			t.Errorf("composition %s ended %s (%s)", id, c.State, c.Error)
		}
	}
	regs := m.registrations(t, restarted)
	if len(regs) != len(ids) {
		t.Errorf("agents registered again after the restart: %v, want all of %v", regs, ids)
	}
	for id, at := range regs {
		t.Logf("agent %s registered again %s after the master restart", id, at.Sub(restarted).Round(time.Millisecond))
	}
	if !strings.Contains(m.logTail(1000), "asking it to register again") {
		t.Error("the master did not ask the agents to register again")
	}
	for _, a := range agents {
		data, _ := os.ReadFile(a.logPath)
		if strings.Contains(string(data), "broker reconnected") {
			t.Errorf("agent %s reconnected to the broker: this test wants surviving connections", a.id)
		}
		if !strings.Contains(string(data), "the master asks this agent to register again") {
			t.Errorf("agent %s was not asked to register again:\n%s", a.id, a.logTail(20))
		}
	}
	runs, dups := log.runs(t)
	if len(dups) > 0 || len(runs) != 1+len(after) {
		t.Errorf("runs = %v (duplicates %v), want each of the %d compositions once", runs, dups, 1+len(after))
	}
}

// Two installations share one broker, each with its own prefix: neither
// master's agents ever get the other's work. (Installation b's master and
// agents take the broker credentials from the environment, a's from a file
// and flags.)
func TestInstallationsShareOneBroker(t *testing.T) {
	need(t)
	dir := t.TempDir()
	log := runLog{path: filepath.Join(dir, "runs.log")}
	type inst struct {
		name   string
		how    credentials // b's processes take the credentials from the environment
		m      *master
		agents map[string]bool
		comps  []string
	}
	insts := []*inst{{name: "insta", how: credsFlagOrFile}, {name: "instb", how: credsEnv}}
	for _, in := range insts {
		in.m = startMaster(t, filepath.Join(dir, in.name, "master"), in.name, pkg.amq.URL, in.how)
		in.agents = map[string]bool{}
		// "twin" exists in both installations: same agent id, other prefix.
		ids := []string{in.name + "-1", in.name + "-2", "twin"}
		for _, id := range ids {
			startAgent(t, filepath.Join(dir, in.name, "agents"), id, in.name, "linux", pkg.amq.URL, in.how)
			in.agents[id] = true
		}
		waitAgents(t, in.m, ids...)
	}
	ctx := context.Background()
	for i := range 20 {
		for _, in := range insts {
			c, err := in.m.client.Submit(ctx, api.CompositionRequest{Pool: "linux",
				Context: map[string]any{"installation": in.name, "n": i},
				Tasks:   []api.Task{{Plugin: "shell", Fields: map[string]any{"command": log.command(100*time.Millisecond, 0)}}}})
			if err != nil {
				t.Fatal(err)
			}
			in.comps = append(in.comps, c.ID)
		}
	}
	owner := map[string]*inst{}
	for _, in := range insts {
		for id, c := range waitFinal(t, in.m, in.comps, 90*time.Second) {
			owner[id] = in
			if c.State != api.CompSucceeded {
				t.Errorf("%s: composition %s ended %s (%s)", in.name, id, c.State, c.Error)
			}
			if !in.agents[c.Agent] {
				t.Errorf("%s: composition %s ran on agent %s, not one of its own", in.name, id, c.Agent)
			}
		}
	}
	runs, dups := log.runs(t)
	if len(dups) > 0 {
		t.Errorf("attempts that ran twice: %v", dups)
	}
	perInst := map[string]int{}
	for _, r := range runs {
		in := owner[r.comp]
		if in == nil {
			t.Errorf("run of unknown composition %s", r.comp)
			continue
		}
		// The work dir says which installation's agent process ran it.
		if !strings.Contains(r.dir, string(filepath.Separator)+in.name+string(filepath.Separator)) || !in.agents[r.agent] {
			t.Errorf("composition %s of %s ran on agent %s in %s", r.comp, in.name, r.agent, r.dir)
		}
		perInst[in.name]++
	}
	for _, in := range insts {
		if perInst[in.name] != len(in.comps) {
			t.Errorf("%s: %d runs, want %d", in.name, perInst[in.name], len(in.comps))
		}
	}
	t.Logf("runs per installation: %v", fmt.Sprint(perInst))
}

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The whole cycle with the local provider: scale from zero on a backlog,
// drain and suspend idle agents keeping their work dirs, resume them (not
// create) on the next backlog, destroy them after suspended_ttl; never more
// than max agents; nothing left after teardown.
func TestWholeCycle(t *testing.T) {
	t.Parallel()
	const maxAgents = 3
	e := newEnv(t, policyYAML{max: maxAgents, scaleUpStep: 10, idle: "3s", ttl: "6s", boot: "30s", cooldownUp: "0s", cooldownDown: "0s"})
	s := e.sample()
	cm := e.startCloudmgr("cloudmgr.log")
	eventually(t, "cloudmgr subscribed to the pool events", func() bool {
		return cm.metric(t, "agentcloud_events_connected", map[string]string{"installation": "demo"}) == 1
	})
	if n := cm.actions(t, "create", ""); n != 0 {
		t.Fatalf("%d creates before any work", n)
	}

	// Scale from zero: six jobs, each leaving a mark in its agent's work dir.
	var burst1 []string
	for i := 1; i <= 6; i++ {
		burst1 = append(burst1, e.submit(fmt.Sprintf(`echo "job-%d@$AGENTCLOUD_AGENT_ID" >> cache.txt; sleep 1`, i)))
	}
	wrote := map[string][]string{} // agent: the marks its jobs left
	done1 := e.waitDone(burst1...)
	for i, id := range burst1 {
		c := done1[id]
		wrote[c.Agent] = append(wrote[c.Agent], fmt.Sprintf("job-%d@%s", i+1, c.Agent))
	}
	created := cm.actions(t, "create", "backlog")
	if created < 1 || created > maxAgents {
		t.Fatalf("created %d agents for 6 jobs, want 1..%d", created, maxAgents)
	}
	if len(wrote) > created {
		t.Errorf("jobs ran on %d agents, but cloudmgr created %d", len(wrote), created)
	}
	t.Logf("burst 1: %d agents created; jobs per agent: %v", created, wrote)

	// Idle: drained, then suspended: the processes stop, the work dirs stay.
	eventually(t, "every agent drained and suspended", func() bool {
		recs := e.records()
		for _, r := range recs {
			if r.Desired != "suspended" {
				return false
			}
		}
		return len(recs) == created
	})
	settle(func() bool { return cm.actions(t, "suspend", "") >= created }) // logged once the call returns
	if d, sus := cm.actions(t, "drain", "idle_timeout"), cm.actions(t, "suspend", ""); d < created || sus != created {
		t.Errorf("drains %d, suspends %d; want every one of the %d agents drained, then suspended", d, sus, created)
	}
	if procs, err := liveAgents(e.instances); err != nil || len(procs) != 0 {
		t.Errorf("agent processes while every agent is suspended: %v (%v)", procs, err)
	}
	for agent, marks := range wrote {
		b, err := os.ReadFile(filepath.Join(e.instances, agent, "work", "cache.txt"))
		if err != nil {
			t.Fatalf("suspended %s lost its work dir: %v", agent, err)
		}
		for _, m := range marks {
			if !strings.Contains(string(b), m) {
				t.Errorf("suspended %s's cache lacks %q:\n%s", agent, m, b)
			}
		}
	}

	// The next backlog resumes suspended agents before any create; a job on
	// a resumed agent reads what the earlier jobs left there.
	createsBefore := cm.actions(t, "create", "")
	logBefore := len(cm.lines(t))
	var burst2 []string
	for range 2 {
		burst2 = append(burst2, e.submit(`echo "on $AGENTCLOUD_AGENT_ID the cache holds:"; cat cache.txt 2>/dev/null || echo "no cache"; sleep 1`))
	}
	hits := 0
	for id, c := range e.waitDone(burst2...) {
		marks, ok := wrote[c.Agent]
		if !ok {
			t.Errorf("job %s ran on %s, not on a resumed agent (burst 1 ran on %v)", id, c.Agent, wrote)
			continue
		}
		out := output(c)
		for _, m := range marks {
			if !strings.Contains(out, m) {
				t.Errorf("job %s on resumed %s does not see %q in its cache; output:\n%s", id, c.Agent, m, out)
			}
		}
		hits += len(marks)
		t.Logf("burst 2: %s on %s printed:\n%s", id, c.Agent, out)
	}
	if hits == 0 {
		t.Error("no job of burst 2 found a cache")
	}
	if n := cm.actions(t, "create", ""); n != createsBefore {
		t.Errorf("creates went from %d to %d on the second backlog; want resumes only", createsBefore, n)
	}
	if n := cm.actions(t, "resume", "backlog"); n < 1 {
		t.Errorf("resumes = %d, want at least one", n)
	}
	var scaleUps []string
	for _, l := range cm.lines(t)[logBefore:] {
		if l["msg"] == "action" && (l["kind"] == "create" || l["kind"] == "resume") {
			scaleUps = append(scaleUps, l["kind"]+" "+l["instance"])
		}
	}
	if len(scaleUps) == 0 || !strings.HasPrefix(scaleUps[0], "resume ") || slices.ContainsFunc(scaleUps, func(s string) bool { return strings.HasPrefix(s, "create ") }) {
		t.Errorf("scale-up actions logged after the second backlog: %v; want resumes only", scaleUps)
	}

	// Suspended past suspended_ttl: destroyed, work dir and all.
	eventually(t, "every instance destroyed after suspended_ttl", func() bool { return len(e.records()) == 0 })
	// cloudmgr logs a destroy once the provider call returns, after the record is gone.
	settle(func() bool { return cm.actions(t, "destroy", "suspended_ttl") >= created })
	if n := cm.actions(t, "destroy", "suspended_ttl"); n != created {
		t.Errorf("destroys for suspended_ttl = %d, want %d (every agent)", n, created)
	}
	if n := cm.actions(t, "destroy", "boot_timeout"); n != 0 {
		t.Errorf("%d boot failures", n)
	}

	// Stop: cloudmgr, teardown, master. Nothing runs, nothing is on disk.
	cm.signal(t, syscall.SIGTERM)
	if out := e.teardown(); !strings.Contains(out, "teardown: no instance of owner cm-e2e is left (0 destroyed)") {
		t.Errorf("teardown said:\n%s", out)
	}
	e.master.signal(t, syscall.SIGTERM)
	s.check(t, maxAgents)
	s.noneLeft(t)
}

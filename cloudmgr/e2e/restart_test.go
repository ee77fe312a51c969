package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A cloudmgr killed with SIGKILL in the middle of a scale-up, and started
// again, adopts the machines that exist: no name twice, never more than
// wanted, every machine one it manages, and after teardown none.
func TestKilledMidScaleUpAdopts(t *testing.T) {
	t.Parallel()
	const jobs = 4
	// One machine per tick, a second apart: the scale-up to four spans ticks.
	e := newEnv(t, policyYAML{max: jobs, scaleUpStep: 1, idle: "1m", ttl: "1m", boot: "30s", cooldownUp: "1s", cooldownDown: "0s"})
	s := e.sample()
	first := e.startCloudmgr("cloudmgr-1.log")

	var ids []string
	for i := 1; i <= jobs; i++ {
		ids = append(ids, e.submit(fmt.Sprintf(`echo "job %d on $AGENTCLOUD_AGENT_ID"; sleep 3`, i)))
	}
	// Kill it as soon as the first machine's agent runs: between the first
	// create call and the next, well before the scale-up is done. (Not inside
	// a create call: the local provider has a window there, between starting
	// an agent and recording its pid, where a SIGKILL leaks the process.)
	deadline := time.Now().Add(waitLong)
	for !slices.ContainsFunc(slices.Collect(maps.Values(e.records())), func(r record) bool { return r.PID > 0 }) {
		if time.Now().After(deadline) {
			t.Fatal("no instance was created")
		}
		time.Sleep(time.Millisecond)
	}
	first.signal(t, syscall.SIGKILL)
	before := e.records()
	t.Logf("killed cloudmgr with instances %v", names(before))
	if len(before) >= jobs {
		t.Fatalf("the scale-up was complete (%d instances) when cloudmgr was killed", len(before))
	}
	// Local agents run in their own process groups: they outlive cloudmgr.
	for name, r := range before {
		if r.PID > 0 && !alive(r.PID) {
			t.Errorf("agent %s (pid %d) died with cloudmgr", name, r.PID)
		}
	}

	second := e.startCloudmgr("cloudmgr-2.log")
	done := e.waitDone(ids...)
	ran := map[string]bool{}
	for _, c := range done {
		ran[c.Agent] = true
	}
	after := e.records()
	t.Logf("after the restart: instances %v; jobs ran on %v", names(after), ran)
	if len(after) > jobs {
		t.Errorf("%d instances for %d jobs: duplicates", len(after), jobs)
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("instance %s, created before the kill, is gone: not adopted", name)
		}
	}
	for name, r := range after {
		if r.Owner != "cm-e2e" {
			t.Errorf("instance %s has owner %q", name, r.Owner)
		}
	}
	for agent := range ran {
		if _, ok := after[agent]; !ok {
			t.Errorf("a job ran on %s, which is no instance of ours", agent)
		}
	}
	// Every instance dir is one the restarted cloudmgr manages: its status
	// counts them all.
	eventually(t, "the restarted cloudmgr to count every instance", func() bool {
		n := 0
		for _, state := range []string{"pending", "running", "suspending", "suspended", "resuming", "destroying"} {
			n += int(second.metric(t, "agentcloud_pool_instances", map[string]string{"installation": "demo", "pool": "linux", "state": state}))
		}
		return n == len(e.records())
	})
	// Every live agent process belongs to an instance dir.
	procs, err := liveAgents(e.instances)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range procs {
		if _, ok := after[a.agentID]; !ok {
			t.Errorf("agent process %d (agent %q) belongs to no instance: leaked", a.pid, a.agentID)
		}
	}
	created := first.exitedCreates(t) + second.actions(t, "create", "")
	if created > jobs {
		t.Errorf("%d creates for %d jobs", created, jobs)
	}

	second.signal(t, syscall.SIGTERM)
	out := e.teardown()
	if !strings.Contains(out, "teardown: no instance of owner cm-e2e is left") {
		t.Errorf("teardown said:\n%s", out)
	}
	e.master.signal(t, syscall.SIGTERM)
	s.check(t, jobs)
	s.noneLeft(t)
}

// exitedCreates counts the creates a stopped cloudmgr logged.
func (c *cloudmgr) exitedCreates(t *testing.T) int {
	n := 0
	for _, l := range c.lines(t) {
		if l["msg"] == "action" && l["kind"] == "create" {
			n++
		}
	}
	return n
}

func names(recs map[string]record) []string {
	var out []string
	for n := range recs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

// The whole cycle through cloudmgr with the docker provider and real agents
// in containers (the agent image built with a busybox shell), connected to
// the master's embedded broker over the host network: scale from zero on a
// backlog, every composition run in a container; idle agents drained and
// their containers stopped, the files their compositions wrote kept; the next
// backlog resumes a stopped container before any create, and a composition
// there prints what the earlier ones wrote; a cloudmgr killed with SIGKILL
// and started again adopts the running and the stopped containers without a
// duplicate; stopped containers destroyed after suspended_ttl with their
// volumes; never more than max; nothing of the run left on the engine.
func TestDockerWholeCycle(t *testing.T) {
	t.Parallel()
	g := newDockerEngine(t)
	const maxAgents = 3
	e := newDockerEnv(t, g, "cycle", dockerPolicy{max: maxAgents, idle: "3s", ttl: "15s", boot: "60s",
		suspend: "stop", cooldownUp: "0s", cooldownDn: "0s"})
	s := e.sample()
	cm := e.startCloudmgr("cloudmgr-1.log")
	eventually(t, "cloudmgr subscribed to the pool events", func() bool {
		return cm.metric(t, "agentcloud_events_connected", map[string]string{"installation": e.installation}) == 1
	})
	if n := cm.actions(t, "create", ""); n != 0 {
		t.Fatalf("%d creates before any work", n)
	}
	if cs := g.mustContainers(t, e.owner); len(cs) != 0 {
		t.Fatalf("containers before any work: %v", cs)
	}

	// Scale from zero: six jobs, each leaving a mark in its agent's work dir.
	var burst1 []string
	for i := 1; i <= 6; i++ {
		burst1 = append(burst1, e.submit(fmt.Sprintf(`echo "job-%d@$AGENTCLOUD_AGENT_ID" >> /work/cache.txt; sleep 2`, i)))
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
	ctrs := g.mustContainers(t, e.owner)
	byName := map[string]ctrInfo{}
	for _, c := range ctrs {
		byName[c.name] = c
	}
	if len(ctrs) != created {
		t.Errorf("%d containers of owner %s for %d creates: %v", len(ctrs), e.owner, created, ctrs)
	}
	for agent := range wrote {
		c, ok := byName[agent]
		switch {
		case !ok:
			t.Errorf("a job ran on agent %q, which is no container of ours (%v)", agent, slices.Sorted(maps.Keys(byName)))
		case c.labels[providers.LabelInstallation] != e.installation || c.labels[providers.LabelPool] != "linux":
			t.Errorf("container %s has labels %v", agent, c.labels)
		}
	}
	t.Logf("burst 1: %d containers created; jobs per agent: %v", created, wrote)

	// Idle: drained, then suspended: the containers stop, their filesystems
	// (with /work) stay.
	eventually(t, "every agent drained and its container stopped", func() bool {
		cs := g.mustContainers(t, e.owner)
		for _, c := range cs {
			if c.state != "exited" {
				return false
			}
		}
		return len(cs) == created && e.instances(t, cm, "suspended") == created
	})
	settle(func() bool { return cm.actions(t, "suspend", "") >= created }) // logged once the call returns
	if d, sus := cm.actions(t, "drain", "idle_timeout"), cm.actions(t, "suspend", ""); d < created || sus != created {
		t.Errorf("drains %d, suspends %d; want every one of the %d agents drained, then suspended", d, sus, created)
	}
	for agent, marks := range wrote {
		got, err := g.readFile(t, agent, "/work/cache.txt")
		if err != nil {
			t.Fatalf("stopped container %s lost its work dir: %v", agent, err)
		}
		for _, m := range marks {
			if !strings.Contains(got, m) {
				t.Errorf("stopped container %s's /work/cache.txt lacks %q:\n%s", agent, m, got)
			}
		}
	}
	if created < 2 {
		t.Fatalf("only %d container for 6 jobs: the restart below needs a stopped one next to a running one", created)
	}

	// The next backlog resumes one stopped container, before any create; the
	// job there reads what the earlier jobs left. It is still running when
	// cloudmgr is killed.
	createsBefore := cm.actions(t, "create", "")
	logBefore := len(cm.lines(t))
	job := e.submit(`echo "on $AGENTCLOUD_AGENT_ID the cache holds:"; cat /work/cache.txt; sleep 5`)
	var running api.Composition
	eventually(t, "the burst 2 job running", func() bool {
		c, err := e.client.Get(context.Background(), job)
		if err != nil {
			t.Fatalf("reading %s: %v", job, err)
		}
		if c.State.Final() {
			t.Fatalf("the burst 2 job ended before cloudmgr was killed: %s %s", c.State, c.Error)
		}
		running = c
		return c.State == api.CompRunning
	})
	if _, ok := wrote[running.Agent]; !ok {
		t.Errorf("the burst 2 job runs on %s, not on a resumed agent (burst 1 ran on %v)", running.Agent, slices.Sorted(maps.Keys(wrote)))
	}
	if n := cm.actions(t, "create", ""); n != createsBefore {
		t.Errorf("creates went from %d to %d on the second backlog; want a resume only", createsBefore, n)
	}
	if n := cm.actions(t, "resume", "backlog"); n != 1 {
		t.Errorf("resumes = %d, want 1 (one job)", n)
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

	// SIGKILL cloudmgr with one container running (busy) and the others
	// stopped; a new cloudmgr adopts them all from the engine: nothing
	// created, nothing duplicated, every container counted in its state.
	before := g.mustContainers(t, e.owner)
	states := func(cs []ctrInfo) map[string]string {
		m := map[string]string{}
		for _, c := range cs {
			m[c.name] = c.state
		}
		return m
	}
	nRunning, nStopped := 0, 0
	for _, c := range before {
		switch c.state {
		case "running":
			nRunning++
		case "exited":
			nStopped++
		}
	}
	if nRunning != 1 || nStopped != len(before)-1 {
		t.Fatalf("before the kill: containers %v; want one running, the others stopped", states(before))
	}
	cm.signal(t, syscall.SIGKILL)
	t.Logf("killed cloudmgr with containers %v", states(before))
	cm2 := e.startCloudmgr("cloudmgr-2.log")
	eventually(t, "the restarted cloudmgr to count the running and the stopped containers", func() bool {
		return e.instances(t, cm2, "running") == nRunning && e.instances(t, cm2, "suspended") == nStopped
	})
	out := output(e.waitDone(job)[job])
	t.Logf("burst 2: the job on resumed %s printed:\n%s", running.Agent, out)
	for _, m := range wrote[running.Agent] {
		if !strings.Contains(out, m) {
			t.Errorf("the job on resumed %s does not print %q from its cache; output:\n%s", running.Agent, m, out)
		}
	}
	after := g.mustContainers(t, e.owner)
	seen := map[string]bool{}
	for _, c := range after {
		if seen[c.name] {
			t.Errorf("container name %s twice: %v", c.name, after)
		}
		seen[c.name] = true
		if _, ok := states(before)[c.name]; !ok {
			t.Errorf("container %s appeared after the restart: not adopted but created", c.name)
		}
	}
	if len(after) > maxAgents {
		t.Errorf("%d containers after the restart, max %d: %v", len(after), maxAgents, states(after))
	}
	if n := cm2.actions(t, "create", ""); n != 0 {
		t.Errorf("the restarted cloudmgr created %d containers; want it to adopt the existing ones", n)
	}

	// Stopped past suspended_ttl: destroyed, with their volumes and markers.
	// A destroy removes the container, then its marker volumes, and cloudmgr
	// logs it once the call returns: wait for all three before counting.
	eventually(t, "every container destroyed after suspended_ttl", func() bool {
		return len(g.mustContainers(t, e.owner)) == 0
	})
	settle(func() bool {
		return len(g.volumes(t, e.owner)) == 0 && cm2.actions(t, "destroy", "suspended_ttl") >= created
	})
	if vs := g.volumes(t, e.owner); len(vs) != 0 {
		t.Errorf("volumes of owner %s left after every destroy: %v", e.owner, vs)
	}
	if n := cm2.actions(t, "destroy", "suspended_ttl"); n != created {
		t.Errorf("destroys for suspended_ttl = %d, want %d (every container)", n, created)
	}
	if n := cm.exitedDestroys(t) + cm2.actions(t, "destroy", "boot_timeout"); n != 0 {
		t.Errorf("%d destroys by the killed cloudmgr or for boot_timeout; want none", n)
	}

	// Stop: cloudmgr, teardown, master. Nothing of the run's owner is left.
	cm2.signal(t, syscall.SIGTERM)
	if out := e.teardown(); !strings.Contains(out, "teardown: no instance of owner "+e.owner+" is left (0 destroyed)") {
		t.Errorf("teardown said:\n%s", out)
	}
	e.master.signal(t, syscall.SIGTERM)
	s.check(t, maxAgents)
	if cs := g.mustContainers(t, e.owner); len(cs) != 0 {
		t.Errorf("containers left after teardown: %v", cs)
	}
	if vs := g.volumes(t, e.owner); len(vs) != 0 {
		t.Errorf("volumes left after teardown: %v", vs)
	}
}

// exitedDestroys counts the destroys a stopped cloudmgr logged.
func (c *cloudmgr) exitedDestroys(t testing.TB) int {
	n := 0
	for _, l := range c.lines(t) {
		if l["msg"] == "action" && l["kind"] == "destroy" {
			n++
		}
	}
	return n
}

package scaler

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

func TestBacklogCreatesOneBatchWithDeterministicNames(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 3})

	r := e.tick()

	creates := e.calls(fake.OpCreate)
	if len(creates) != 1 {
		t.Fatalf("Create calls = %d, want 1 batch", len(creates))
	}
	reqs := creates[0].Requests
	if got := names(reqs); !slices.Equal(got, []string{"demo-linux-1", "demo-linux-2", "demo-linux-3"}) {
		t.Errorf("names = %v", got)
	}
	for _, req := range reqs {
		want := map[string]string{
			"AGENTCLOUD_BROKER_URL": "stomp://127.0.0.1:61613",
			"AGENTCLOUD_PREFIX":     "demo-prefix",
			"AGENTCLOUD_POOL":       "linux",
			"AGENTCLOUD_AGENT_ID":   req.Name,
			"AGENTCLOUD_TOKEN":      "agent-token",
			"EXTRA":                 "value",
		}
		if !maps.Equal(req.Env, want) {
			t.Errorf("%s env = %v, want %v", req.Name, req.Env, want)
		}
		if req.Owner != "cm-test" || req.Installation != "demo" || req.Pool != "linux" || req.Image != "agent:1" ||
			req.Offering != (providers.Offering{Zone: "z1", MachineType: "small"}) || req.Settings["cpus"] != "2" {
			t.Errorf("request = %+v", req)
		}
	}
	pr := pool(t, r, "demo", "linux")
	if pr.Want != 3 || len(pr.Actions) != 3 || pr.Actions[0].Kind != "create" || pr.Actions[0].Code != policies.ReasonBacklog || pr.Actions[0].Error != "" {
		t.Errorf("report = %+v", pr)
	}
	if !strings.Contains(pr.Actions[0].Reason, "3 queued") {
		t.Errorf("reason = %q", pr.Actions[0].Reason)
	}
	if ok, why := e.loop.Ready(); !ok {
		t.Errorf("not ready after a tick: %s", why)
	}
}

func TestRestartDoesNotDuplicate(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 3})
	e.tick()
	if n := len(e.prov.Instances()); n != 3 {
		t.Fatalf("instances after the first tick = %d", n)
	}

	e.restart(policy("demo", "linux", "fake"))
	e.clock.Advance(time.Second)
	r := e.tick()
	if n := len(e.calls(fake.OpCreate)); n != 1 {
		t.Errorf("Create calls after a restart = %d, want still 1: the booting instances count", n)
	}
	if n := len(e.prov.Instances()); n != 3 {
		t.Errorf("instances after restart = %d, want 3", n)
	}
	if pr := pool(t, r, "demo", "linux"); pr.Agents.Booting != 3 || pr.Agents.Capacity != 3 {
		t.Errorf("after restart: %+v", pr.Agents)
	}
}

// A cloudmgr killed mid-scale-up left demo-linux-1 and -3: the next names are
// the lowest free ones.
func TestNamesFillGaps(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.prov.Seed(
		providers.Instance{Name: "demo-linux-1", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StatePending},
		providers.Instance{Name: "demo-linux-3", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StatePending},
	)
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 4}, api.PoolStatus{Pool: "other", Agents: []api.AgentStatus{idleAgent("demo-linux-2", t0)}})
	e.tick()
	creates := e.calls(fake.OpCreate)
	if len(creates) != 1 || !slices.Equal(names(creates[0].Requests), []string{"demo-linux-2", "demo-linux-4"}) {
		t.Fatalf("creates = %+v", creates)
	}
}

func TestIdleAgentsAreDrainedThenSuspended(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.prov.Seed(running("demo-linux-1", "linux"), running("demo-linux-2", "linux"), running("demo-linux-3", "linux"))
	e.master.busyOnDrain["demo-linux-2"] = true
	e.master.set(api.PoolStatus{Pool: "linux", Agents: []api.AgentStatus{
		idleAgent("demo-linux-1", t0.Add(-time.Hour)),
		idleAgent("demo-linux-2", t0.Add(-time.Hour)),
		{ID: "demo-linux-3", State: api.AgentBusy, LastSeen: t0},
	}})

	e.tick()

	if got := e.master.drained(); !slices.Equal(sorted(got), []string{"demo-linux-1", "demo-linux-2"}) {
		t.Fatalf("drained %v, want the two idle agents (never the busy one)", got)
	}
	sus := e.calls(fake.OpSuspend)
	if len(sus) != 1 || sus[0].Mode != providers.SuspendStop || len(sus[0].IDs) != 1 {
		t.Fatalf("suspend calls = %+v, want one for the agent the master confirmed idle", sus)
	}
	states := stateByName(e.prov.Instances())
	if states["demo-linux-1"] != providers.StateSuspended || states["demo-linux-2"] != providers.StateRunning || states["demo-linux-3"] != providers.StateRunning {
		t.Errorf("states = %v", states)
	}

	// The master now shows demo-linux-2 drained and idle: Decide suspends it.
	e.master.set(api.PoolStatus{Pool: "linux", Agents: []api.AgentStatus{
		{ID: "demo-linux-2", State: api.AgentIdle, Draining: true, IdleSince: t0, LastSeen: t0},
		{ID: "demo-linux-3", State: api.AgentBusy, LastSeen: t0},
	}})
	e.clock.Advance(time.Second)
	r := e.tick()
	if got := stateByName(e.prov.Instances())["demo-linux-2"]; got != providers.StateSuspended {
		t.Errorf("demo-linux-2 = %s after the drain was confirmed", got)
	}
	pr := pool(t, r, "demo", "linux")
	if len(pr.Actions) != 1 || pr.Actions[0].Code != policies.ReasonDrainConfirmed {
		t.Errorf("actions = %+v", pr.Actions)
	}
	if err := testutil.GatherAndCompare(e.metrics.Registry, strings.NewReader(`
# HELP agentcloud_actions_total Actions executed, by kind and reason code.
# TYPE agentcloud_actions_total counter
agentcloud_actions_total{installation="demo",kind="drain",pool="linux",reason="idle_timeout"} 2
agentcloud_actions_total{installation="demo",kind="suspend",pool="linux",reason="drain_confirmed"} 2
`), "agentcloud_actions_total"); err != nil {
		t.Error(err)
	}
}

func TestStaleMasterHolds(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.prov.Seed(running("demo-linux-1", "linux"), running("demo-linux-2", "linux"))
	e.master.set(api.PoolStatus{Pool: "linux", Agents: []api.AgentStatus{
		{ID: "demo-linux-1", State: api.AgentIdle, Draining: true, IdleSince: t0.Add(-time.Hour)},
		idleAgent("demo-linux-2", t0.Add(-time.Hour)),
	}})
	e.watcher.PollAll(t.Context()) // a good poll...
	e.master.setDown(true)         // ...then the master fails

	r := e.tick()

	if d := e.master.drained(); len(d) != 0 {
		t.Errorf("drained %v with a stale status", d)
	}
	for _, op := range []string{fake.OpSuspend, fake.OpDestroy, fake.OpCreate} {
		if n := len(e.calls(op)); n != 0 {
			t.Errorf("%d %s calls with a stale status", n, op)
		}
	}
	pr := pool(t, r, "demo", "linux")
	if !pr.Stale || r.Installations[0].Poll.Up || !strings.Contains(r.Installations[0].Poll.Error, "503") {
		t.Errorf("report = %+v / %+v", pr, r.Installations[0].Poll)
	}

	// Old status (no failed poll, but older than stale_after) holds too.
	e.master.setDown(false)
	e.watcher.PollAll(t.Context())
	e.clock.Advance(46 * time.Second)
	e.loop.Tick(t.Context())
	if d := e.master.drained(); len(d) != 0 {
		t.Errorf("drained %v with a status older than stale_after", d)
	}
}

func TestProviderErrorBacksOff(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 2})
	e.prov.FailNext(fake.OpCreate, providers.Errorf(providers.KindQuota, "create", "", "CPUS quota exceeded"), 2)

	r := e.tick()
	pr := pool(t, r, "demo", "linux")
	if pr.Failures != 1 || !pr.BackoffUntil.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("after a failure: failures %d until %v (want 1, t0+5s: NextBackoff(1) with the middle jitter)", pr.Failures, pr.BackoffUntil)
	}
	if len(pr.Actions) != 2 || pr.Actions[0].ErrorKind != "quota" {
		t.Errorf("actions = %+v", pr.Actions)
	}
	if err := testutil.GatherAndCompare(e.metrics.Registry, strings.NewReader(`
# HELP agentcloud_action_errors_total Actions that failed, by kind and error kind.
# TYPE agentcloud_action_errors_total counter
agentcloud_action_errors_total{error_kind="quota",installation="demo",kind="create",pool="linux"} 2
`), "agentcloud_action_errors_total"); err != nil {
		t.Error(err)
	}

	e.clock.Advance(time.Second)
	r = e.tick()
	if n := len(e.calls(fake.OpCreate)); n != 1 {
		t.Errorf("Create calls during backoff = %d, want still 1", n)
	}
	if pr := pool(t, r, "demo", "linux"); !containsAny(pr.Holds, "backoff") {
		t.Errorf("holds during backoff = %v", pr.Holds)
	}

	e.clock.Advance(5 * time.Second)
	r = e.tick()
	if n := len(e.calls(fake.OpCreate)); n != 2 {
		t.Fatalf("Create calls after the backoff = %d, want 2", n)
	}
	if pr := pool(t, r, "demo", "linux"); pr.Failures != 0 {
		t.Errorf("failures after a success = %d, want 0", pr.Failures)
	}
}

func TestCapacityErrorTriesNextOffering(t *testing.T) {
	p := policy("demo", "linux", "fake")
	p.Offerings = []providers.Offering{{Zone: "z1"}, {Zone: "z2"}}
	e := newEnv(t, p)
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 1})
	e.prov.SetErrorFunc(func(a fake.Attempt) error {
		if a.Op == fake.OpCreate && a.Request.Offering.Zone == "z1" {
			return providers.Errorf(providers.KindCapacity, "create", a.ID, "zone z1 exhausted")
		}
		return nil
	})

	r := e.tick()
	if pr := pool(t, r, "demo", "linux"); pr.Failures != 0 || len(pr.Actions) != 1 || pr.Actions[0].ErrorKind != "capacity" {
		t.Fatalf("after a capacity error: %+v", pr)
	}
	e.clock.Advance(time.Second)
	e.tick()
	creates := e.calls(fake.OpCreate)
	if len(creates) != 2 {
		t.Fatalf("Create calls = %d, want 2 (no backoff after a capacity error)", len(creates))
	}
	if z := creates[1].Requests[0].Offering.Zone; z != "z2" {
		t.Errorf("second create in %q, want the next offering z2", z)
	}
	if creates[1].Requests[0].Name != "demo-linux-1" {
		t.Errorf("retry named %q, want the same deterministic name", creates[1].Requests[0].Name)
	}
	// After UnavailableFor, z1 is tried again.
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 2})
	e.clock.Advance(3 * time.Minute)
	e.tick()
	creates = e.calls(fake.OpCreate)
	if z := creates[len(creates)-1].Requests[0].Offering.Zone; z != "z1" {
		t.Errorf("after 3m the create went to %q, want z1 again", z)
	}
}

func TestOneListPerProviderPerTick(t *testing.T) {
	e := newEnv(t)
	e.provs["fake2"] = fake.New("fake2", fake.WithClock(e.clock))
	var pols []*policies.Policy
	var statuses []api.PoolStatus
	for i := range 30 {
		prov := "fake"
		if i%2 == 1 {
			prov = "fake2"
		}
		name := fmt.Sprintf("pool%d", i)
		pols = append(pols, policy("demo", name, prov))
		statuses = append(statuses, api.PoolStatus{Pool: name, Queued: 1})
	}
	e.restart(pols...)
	e.master.set(statuses...)

	r := e.tick()
	e.clock.Advance(time.Second)
	e.tick()

	if n := e.prov.CallCount(fake.OpList); n != 2 {
		t.Errorf("fake listed %d times in 2 ticks, want 2", n)
	}
	if n := e.provs["fake2"].(*fake.Provider).CallCount(fake.OpList); n != 2 {
		t.Errorf("fake2 listed %d times in 2 ticks, want 2", n)
	}
	if r.ListCalls != 2 {
		t.Errorf("report ListCalls = %d", r.ListCalls)
	}
	if n := e.prov.CallCount(fake.OpCreate); n != 15 {
		t.Errorf("fake Create calls = %d, want one per pool (15)", n)
	}
}

func TestMetricsAfterTick(t *testing.T) {
	p := policy("demo", "linux", "fake")
	p.MaxWait = time.Minute
	p.MinAgents = 1
	e := newEnv(t, p)
	e.prov.Seed(running("demo-linux-1", "linux"), providers.Instance{Name: "demo-linux-9", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StateSuspended})
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 4, OldestWaitSeconds: 30, Unschedulable: 1, Agents: []api.AgentStatus{
		{ID: "demo-linux-1", State: api.AgentBusy},
		idleAgent("by-hand-1", t0),
	}})

	e.tick()

	// Want = 4 queued - 1 unschedulable + 1 busy = 4; capacity 2 (ours busy + by hand): resume 1, create 1.
	const want = `
# HELP agentcloud_pool_queued Compositions waiting for an agent of the pool.
# TYPE agentcloud_pool_queued gauge
agentcloud_pool_queued{installation="demo",pool="linux"} 4
# HELP agentcloud_pool_oldest_wait_seconds How long the oldest queued composition of the pool has waited.
# TYPE agentcloud_pool_oldest_wait_seconds gauge
agentcloud_pool_oldest_wait_seconds{installation="demo",pool="linux"} 30
# HELP agentcloud_pool_max_wait_seconds The policy's max_wait (0: off).
# TYPE agentcloud_pool_max_wait_seconds gauge
agentcloud_pool_max_wait_seconds{installation="demo",pool="linux"} 60
# HELP agentcloud_pool_unschedulable Queued compositions no agent of the pool could take as its facts stand.
# TYPE agentcloud_pool_unschedulable gauge
agentcloud_pool_unschedulable{installation="demo",pool="linux"} 1
# HELP agentcloud_pool_desired_agents The capacity the policy wants (clamped).
# TYPE agentcloud_pool_desired_agents gauge
agentcloud_pool_desired_agents{installation="demo",pool="linux"} 4
# HELP agentcloud_pool_actual_agents The pool's capacity: booting plus registered agents not draining.
# TYPE agentcloud_pool_actual_agents gauge
agentcloud_pool_actual_agents{installation="demo",pool="linux"} 2
# HELP agentcloud_pool_min_agents The effective (schedule-aware) minimum.
# TYPE agentcloud_pool_min_agents gauge
agentcloud_pool_min_agents{installation="demo",pool="linux"} 1
# HELP agentcloud_pool_max_agents The policy's max_agents.
# TYPE agentcloud_pool_max_agents gauge
agentcloud_pool_max_agents{installation="demo",pool="linux"} 10
# HELP agentcloud_pool_agents Agents of the pool by state (booting: our instances not yet registered).
# TYPE agentcloud_pool_agents gauge
agentcloud_pool_agents{installation="demo",pool="linux",state="booting"} 0
agentcloud_pool_agents{installation="demo",pool="linux",state="busy"} 1
agentcloud_pool_agents{installation="demo",pool="linux",state="draining"} 0
agentcloud_pool_agents{installation="demo",pool="linux",state="idle"} 1
# HELP agentcloud_pool_instances Our instances of the pool by provider state.
# TYPE agentcloud_pool_instances gauge
agentcloud_pool_instances{installation="demo",pool="linux",state="destroying"} 0
agentcloud_pool_instances{installation="demo",pool="linux",state="pending"} 0
agentcloud_pool_instances{installation="demo",pool="linux",state="resuming"} 0
agentcloud_pool_instances{installation="demo",pool="linux",state="running"} 1
agentcloud_pool_instances{installation="demo",pool="linux",state="suspended"} 1
agentcloud_pool_instances{installation="demo",pool="linux",state="suspending"} 0
# HELP agentcloud_actions_total Actions executed, by kind and reason code.
# TYPE agentcloud_actions_total counter
agentcloud_actions_total{installation="demo",kind="create",pool="linux",reason="backlog"} 1
agentcloud_actions_total{installation="demo",kind="resume",pool="linux",reason="backlog"} 1
`
	names := []string{"agentcloud_pool_queued", "agentcloud_pool_oldest_wait_seconds", "agentcloud_pool_max_wait_seconds",
		"agentcloud_pool_unschedulable", "agentcloud_pool_desired_agents", "agentcloud_pool_actual_agents",
		"agentcloud_pool_min_agents", "agentcloud_pool_max_agents", "agentcloud_pool_agents", "agentcloud_pool_instances",
		"agentcloud_actions_total"}
	if err := testutil.GatherAndCompare(e.metrics.Registry, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]int{
		"agentcloud_tick_duration_seconds":          1,
		"agentcloud_provider_call_duration_seconds": 3, // list, resume, create
	} {
		if got, err := testutil.GatherAndCount(e.metrics.Registry, name); err != nil || got != n {
			t.Errorf("%s: %d series (%v), want %d", name, got, err, n)
		}
	}
}

func TestPoolLeavingPoliciesLosesItsSeries(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"), policy("demo", "win", "fake"))
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 1}, api.PoolStatus{Pool: "win", Queued: 1})
	e.tick()
	e.loop.SetPolicies(policySet(t, nil, policy("demo", "linux", "fake")))
	e.clock.Advance(time.Second)
	r := e.tick()
	if got, _ := testutil.GatherAndCount(e.metrics.Registry, "agentcloud_pool_desired_agents"); got != 1 {
		t.Errorf("desired series = %d, want 1 (win left the policies)", got)
	}
	if got, _ := testutil.GatherAndCount(e.metrics.Registry, "agentcloud_actions_total"); got != 1 {
		t.Errorf("actions series = %d, want 1", got)
	}
	if len(r.Installations[0].Pools) != 1 {
		t.Errorf("report pools = %+v", r.Installations[0].Pools)
	}
}

func TestInstallationCapSharesHeadroomInPolicyOrder(t *testing.T) {
	e := newEnv(t)
	e.loop.SetPolicies(policySet(t, map[string]int{"demo": 5}, policy("demo", "a", "fake"), policy("demo", "b", "fake")))
	e.prov.Seed(running("demo-a-1", "a"))
	e.master.set(
		api.PoolStatus{Pool: "a", Queued: 3, Agents: []api.AgentStatus{{ID: "demo-a-1", State: api.AgentBusy}}},
		api.PoolStatus{Pool: "b", Queued: 3},
	)
	r := e.tick()
	a, b := pool(t, r, "demo", "a"), pool(t, r, "demo", "b")
	// Cap 5, capacity 1: a takes 3 of the 4 left, b gets 1.
	if len(a.Actions) != 3 || len(b.Actions) != 1 {
		t.Errorf("a created %d, b created %d; want 3 and 1 under the cap of 5", len(a.Actions), len(b.Actions))
	}
}

func TestReloadKeepsLastGoodSet(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	good := e.loop.Policies()
	calls := 0
	e.loop.deps.Load = func() (*policies.Set, error) {
		calls++
		return nil, policies.Problems{{Source: "p.yaml:3", Field: "max_agents", Msg: "must be at least 1"}, {Source: "p.yaml:9", Msg: "unknown field"}}
	}
	if err := e.loop.Reload(); err == nil || !strings.Contains(err.Error(), "p.yaml:9") {
		t.Fatalf("Reload err = %v", err)
	}
	if e.loop.Policies() != good {
		t.Error("a failed reload replaced the policies")
	}
	next := policySet(t, nil, policy("demo", "win", "fake"))
	e.loop.deps.Load = func() (*policies.Set, error) { return next, nil }
	if err := e.loop.Reload(); err != nil || e.loop.Policies() != next {
		t.Errorf("good reload: %v", err)
	}
}

func TestPlanChangesNothing(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.prov.Seed(running("demo-linux-1", "linux"))
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 3, Agents: []api.AgentStatus{idleAgent("demo-linux-1", t0.Add(-time.Hour)), idleAgent("x", t0)}})
	e.watcher.PollAll(t.Context())
	e.loop.deps.Drainer = nil

	r := e.loop.Plan(t.Context())

	for _, c := range e.prov.Calls() {
		if c.Op != fake.OpList {
			t.Errorf("dry run made a %s call", c.Op)
		}
	}
	pr := pool(t, r, "demo", "linux")
	if !r.DryRun || len(pr.Actions) == 0 || !pr.Actions[0].Planned {
		t.Errorf("plan report = %+v", pr)
	}
	if ok, _ := e.loop.Ready(); ok {
		t.Error("a dry run counted as a tick")
	}
	if n, _ := testutil.GatherAndCount(e.metrics.Registry, "agentcloud_pool_desired_agents"); n != 0 {
		t.Errorf("a dry run published %d pool series", n)
	}
}

func TestSkipsPoolsWhoseProviderListFails(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.master.set(api.PoolStatus{Pool: "linux", Queued: 2})
	e.prov.FailNext(fake.OpList, providers.Errorf(providers.KindUnavailable, "list", "", "connection refused"), 1)
	r := e.tick()
	if n := e.prov.CallCount(fake.OpCreate); n != 0 {
		t.Errorf("created %d with the instances unknown", n)
	}
	if pr := pool(t, r, "demo", "linux"); !containsAny(pr.Holds, "instances unknown") {
		t.Errorf("holds = %v", pr.Holds)
	}
	if r.ProviderErrors["fake"] == "" {
		t.Errorf("provider errors = %v", r.ProviderErrors)
	}
}

// The loop's capacity for the installation cap is the one Decide counts.
func TestCapacityMatchesDecide(t *testing.T) {
	p := policy("demo", "linux", "fake")
	if err := policies.Validate(&policies.Set{Pools: []*policies.Policy{p}}, nil); err != nil {
		t.Fatal(err)
	}
	insts := []providers.Instance{
		running("a", "linux"), running("b", "linux"), running("c", "linux"),
		{Name: "d", State: providers.StatePending}, {Name: "e", State: providers.StateResuming},
		{Name: "f", State: providers.StateSuspended}, {Name: "g", State: providers.StateSuspending},
		{Name: "h", State: providers.StateDestroying},
	}
	status := &api.PoolStatus{Pool: "linux", Agents: []api.AgentStatus{
		{ID: "a", State: api.AgentBusy}, {ID: "b", State: api.AgentIdle, Draining: true}, {ID: "c", State: api.AgentIdle},
		{ID: "f", State: api.AgentIdle}, {ID: "hand1", State: api.AgentBusy}, {ID: "hand2", State: api.AgentIdle, Draining: true},
	}}
	for _, c := range []struct {
		name   string
		status *api.PoolStatus
		stale  bool
	}{{"fresh", status, false}, {"stale", status, true}, {"missing", nil, true}} {
		plan := policies.Decide(policies.Input{Now: t0, Policy: p, Status: c.status, StatusStale: c.stale, Instances: insts, Headroom: -1})
		if got := capacity(c.status, c.stale, insts); got != plan.Counts.Capacity {
			t.Errorf("%s: capacity = %d, Decide counts %d", c.name, got, plan.Counts.Capacity)
		}
	}
}

func TestRunTicksAndTriggers(t *testing.T) {
	e := newEnv(t, policy("demo", "linux", "fake"))
	e.loop.cfg.TickInterval = time.Hour
	ctx := t.Context()
	done := make(chan error, 1)
	go func() { done <- e.loop.Run(ctx) }()
	waitTicks(t, e.loop, 1)
	e.loop.Trigger()
	waitTicks(t, e.loop, 2)
}

func waitTicks(t *testing.T, l *Loop, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Status().Ticks < n {
		if time.Now().After(deadline) {
			t.Fatalf("ticks = %d, want %d", l.Status().Ticks, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestErrorFor(t *testing.T) {
	capErr := providers.NewError(providers.KindCapacity, "create", "n1", errors.New("full"))
	quota := providers.NewError(providers.KindQuota, "create", "n2", errors.New("quota"))
	joined := fmt.Errorf("creating: %w", errors.Join(fmt.Errorf("creating instance n1: %w", capErr), quota))
	if got := errorFor(joined, "n1"); got != capErr {
		t.Errorf("n1 -> %v", got)
	}
	if got := errorFor(joined, "id2", "n2"); got != quota {
		t.Errorf("n2 -> %v", got)
	}
	if got := errorFor(joined, "n3"); got != joined {
		t.Errorf("n3 -> %v, want the whole error", got)
	}
	if errorFor(nil, "n1") != nil {
		t.Error("nil error")
	}
}

func names(reqs []providers.CreateRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Name
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func stateByName(insts []providers.Instance) map[string]providers.State {
	out := map[string]providers.State{}
	for _, in := range insts {
		out[in.Name] = in.State
	}
	return out
}

func containsAny(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

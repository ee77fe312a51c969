package scheduler

import (
	"reflect"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/selector"
)

var t0 = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

func debian(cpus float64) map[string]any {
	return map[string]any{"os": map[string]any{"family": "Debian", "architecture": "amd64"}, "processors": map[string]any{"count": cpus}}
}

func redhat() map[string]any {
	return map[string]any{"os": map[string]any{"family": "RedHat", "architecture": "arm64"}}
}

// agent builds a free agent of pool "p" with the shell plugin, idle since t0+idle seconds.
func agent(id string, facts map[string]any, idle int, opts ...func(*Agent)) *Agent {
	a := &Agent{ID: id, Pool: "p", Facts: facts, Plugins: map[string]bool{"shell": true}, Live: true,
		IdleSince: t0.Add(time.Duration(idle) * time.Second), LastSeen: t0}
	for _, o := range opts {
		o(a)
	}
	return a
}

func busy(c string) func(*Agent) { return func(a *Agent) { a.Composition = c } }
func draining(a *Agent)          { a.Draining = true }
func dead(a *Agent)              { a.Live = false }
func pool(p string) func(*Agent) { return func(a *Agent) { a.Pool = p } }
func plugins(ps ...string) func(*Agent) {
	return func(a *Agent) {
		a.Plugins = map[string]bool{}
		for _, p := range ps {
			a.Plugins[p] = true
		}
	}
}

func job(t *testing.T, id, sel string, sec int, plugins ...string) *Job {
	t.Helper()
	s, err := selector.Parse(sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(plugins) == 0 {
		plugins = []string{"shell"}
	}
	return &Job{ID: id, Pool: "p", Selector: s, Plugins: plugins, SubmittedAt: t0.Add(time.Duration(sec) * time.Second)}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		name   string
		agents []*Agent
		queue  []*Job
		want   []Assignment
	}{
		{
			name:   "FIFO: one agent takes the oldest",
			agents: []*Agent{agent("a1", debian(4), 0)},
			queue:  []*Job{job(t, "j1", "", 1), job(t, "j2", "", 2)},
			want:   []Assignment{{"a1", "j1"}},
		},
		{
			name:   "two agents take the two oldest, longest idle first",
			agents: []*Agent{agent("a2", debian(4), 5), agent("a1", debian(4), 9), agent("a3", debian(4), 1)},
			queue:  []*Job{job(t, "j1", "", 1), job(t, "j2", "", 2)},
			want:   []Assignment{{"a3", "j1"}, {"a2", "j2"}},
		},
		{
			name:   "selector routes past a job the agent cannot run",
			agents: []*Agent{agent("deb", debian(2), 0)},
			queue:  []*Job{job(t, "j1", "os.family=RedHat", 1), job(t, "j2", "os.family=Debian", 2)},
			want:   []Assignment{{"deb", "j2"}},
		},
		{
			name:   "each agent gets the oldest it matches",
			agents: []*Agent{agent("deb", debian(2), 0), agent("rh", redhat(), 1)},
			queue:  []*Job{job(t, "j1", "os.family=RedHat", 1), job(t, "j2", "", 2), job(t, "j3", "os.family=Debian", 3)},
			want:   []Assignment{{"deb", "j2"}, {"rh", "j1"}},
		},
		{
			name:   "numeric selector",
			agents: []*Agent{agent("small", debian(2), 0), agent("big", debian(16), 1)},
			queue:  []*Job{job(t, "j1", "processors.count>=8", 1)},
			want:   []Assignment{{"big", "j1"}},
		},
		{
			name:   "plugins: agent without the plugin gets nothing",
			agents: []*Agent{agent("a1", debian(4), 0)},
			queue:  []*Job{job(t, "j1", "", 1, "shell", "docker")},
			want:   nil,
		},
		{
			name:   "plugins: agent with every plugin gets it",
			agents: []*Agent{agent("a1", debian(4), 0, plugins("shell")), agent("a2", debian(4), 1, plugins("shell", "docker"))},
			queue:  []*Job{job(t, "j1", "", 1, "shell", "docker")},
			want:   []Assignment{{"a2", "j1"}},
		},
		{
			name:   "draining agent gets nothing",
			agents: []*Agent{agent("a1", debian(4), 0, draining)},
			queue:  []*Job{job(t, "j1", "", 1)},
			want:   nil,
		},
		{
			name:   "busy and dead agents get nothing",
			agents: []*Agent{agent("a1", debian(4), 0, busy("jx")), agent("a2", debian(4), 0, dead)},
			queue:  []*Job{job(t, "j1", "", 1)},
			want:   nil,
		},
		{
			name:   "other pool's agent gets nothing",
			agents: []*Agent{agent("a1", debian(4), 0, pool("q"))},
			queue:  []*Job{job(t, "j1", "", 1)},
			want:   nil,
		},
		{
			name:   "empty queue",
			agents: []*Agent{agent("a1", debian(4), 0)},
			want:   nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Match(c.agents, c.queue)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestUnschedulable(t *testing.T) {
	cases := []struct {
		name   string
		agents []*Agent
		queue  []*Job
		want   int
	}{
		{"no agents: nothing counted", nil, []*Job{job(t, "j1", "os.family=Windows", 1)}, 0},
		{"no agent matches facts", []*Agent{agent("a1", debian(4), 0)}, []*Job{job(t, "j1", "os.family=Windows", 1), job(t, "j2", "", 2)}, 1},
		{"busy agent that matches counts as able", []*Agent{agent("a1", debian(4), 0, busy("x"))}, []*Job{job(t, "j1", "os.family=Debian", 1)}, 0},
		{"draining agent that matches counts as able", []*Agent{agent("a1", debian(4), 0, draining)}, []*Job{job(t, "j1", "", 1)}, 0},
		{"missing plugin", []*Agent{agent("a1", debian(4), 0)}, []*Job{job(t, "j1", "", 1, "docker")}, 1},
		{"agents only in another pool", []*Agent{agent("a1", debian(4), 0, pool("q"))}, []*Job{job(t, "j1", "", 1)}, 0},
	}
	for _, c := range cases {
		if got := Unschedulable(c.agents, c.queue); got != c.want {
			t.Errorf("%s: Unschedulable = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestPools(t *testing.T) {
	mem := debian(4)
	mem["memory"] = map[string]any{"system": map[string]any{"total_bytes": float64(8589934592)}}
	agents := []*Agent{
		agent("b", mem, 3, busy("j0"), func(a *Agent) { a.Instance = "i-1" }),
		agent("a", redhat(), 5, draining),
		agent("w", nil, 0, pool("win")),
	}
	queue := []*Job{job(t, "j1", "os.family=Windows", 10), job(t, "j2", "", 20)}
	now := t0.Add(70 * time.Second)
	got := Pools(agents, queue, now)
	want := []api.PoolStatus{
		{
			Pool: "p", Queued: 2, OldestQueuedAt: t0.Add(10 * time.Second), OldestWaitSeconds: 60, Unschedulable: 1,
			Agents: []api.AgentStatus{
				{ID: "a", State: api.AgentIdle, Draining: true, IdleSince: t0.Add(5 * time.Second), LastSeen: t0,
					Facts: map[string]string{"os.family": "RedHat", "os.architecture": "arm64"}},
				{ID: "b", Instance: "i-1", State: api.AgentBusy, LastSeen: t0, Composition: "j0",
					Facts: map[string]string{"os.family": "Debian", "os.architecture": "amd64", "processors.count": "4", "memory.system.total_bytes": "8589934592"}},
			},
		},
		{Pool: "win", Agents: []api.AgentStatus{{ID: "w", State: api.AgentIdle, IdleSince: t0, LastSeen: t0}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Pools =\n%+v\nwant\n%+v", got, want)
	}
}

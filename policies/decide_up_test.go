package policies

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

func TestDecideScaleUp(t *testing.T) {
	c0 := "create @0 backlog"
	window := func(cron string) func(*Policy) {
		return func(p *Policy) {
			p.Schedule = []Window{{Cron: cron, Duration: 10 * time.Hour, MinAgents: 4, Timezone: "Europe/Paris"}}
		}
	}
	var hundredBooting []providers.Instance
	for i := range 100 {
		hundredBooting = append(hundredBooting, booting(fmt.Sprintf("b%03d", i), time.Minute))
	}
	runDecide(t, []decideCase{
		{name: "from zero on backlog", in: mk(pol(), status(3)), want: times(3, c0)},
		{name: "nothing queued, nothing to do", in: mk(pol(), status(0)), want: nil},
		{name: "warm agents beyond the queue", in: mk(pol(func(p *Policy) { p.Warm = 2 }), status(1)), want: times(3, c0)},
		{name: "busy agents count as wanted", in: mk(pol(), status(1, busy("a"), busy("b")), running("a"), running("b")), want: times(1, c0)},
		{name: "idle agents take the queue", in: mk(pol(), status(2, idle("a", 0), idle("b", 0)), running("a"), running("b")), want: nil},
		{name: "scale_up_step caps a tick", in: mk(pol(func(p *Policy) { p.ScaleUpStep = 5 }), status(25)), want: times(5, c0)},
		{name: "never above max_agents", in: mk(pol(func(p *Policy) { p.ScaleUpStep = 100 }), status(50)), want: times(10, c0)},
		{name: "max_agents counts what runs", in: mk(pol(), status(50, busy("a"), busy("b")), running("a"), running("b"), booting("c", time.Minute)), want: times(7, c0)},
		{name: "installation headroom caps", in: with(mk(pol(), status(8)), func(in *Input) { in.Headroom = 3 }), want: times(3, c0)},
		{name: "no headroom: no scale-up, no scale-down", in: with(mk(pol(), status(8, busy("a")), running("a")), func(in *Input) { in.Headroom = 0 }), want: nil},
		{name: "up to min_agents", in: mk(pol(func(p *Policy) { p.MinAgents = 3 }), status(0)), want: times(3, "create @0 min_agents")},
		{name: "min_agents counts booting", in: mk(pol(func(p *Policy) { p.MinAgents = 3 }), status(0), booting("a", time.Minute)), want: times(2, "create @0 min_agents")},
		{name: "open window raises min (13:00 Paris, Monday)", in: mk(pol(window("0 8 * * 1-5")), status(0)), want: times(4, "create @0 min_agents")},
		{name: "closed window does not (opens 20:00 Paris)", in: mk(pol(window("0 20 * * *")), status(0)), want: nil},
		{name: "min above max stays at max", in: mk(pol(func(p *Policy) { p.MinAgents, p.MaxAgents = 5, 2 }), status(0)), want: times(2, "create @0 min_agents")},
		{name: "100 queued, 30 booting: 70 more", in: mk(pol(func(p *Policy) { p.ScaleUpStep, p.MaxAgents = 100, 200 }), status(100), hundredBooting[:30]...), want: times(70, c0)},
		{name: "next tick, 100 booting: none more", in: mk(pol(func(p *Policy) { p.ScaleUpStep, p.MaxAgents = 100, 200 }), status(100), hundredBooting...), want: nil},
		{name: "a draining agent's work is not wanted capacity", in: mk(pol(), status(0, drained(busy("a"))), running("a")), want: nil},
		{name: "suspending and destroying are not capacity", in: mk(pol(), status(2), inst("a", providers.StateSuspending), inst("b", providers.StateDestroying)), want: times(2, c0)},
	})
}

func TestDecideMaxWait(t *testing.T) {
	// One queued composition waits while the one agent stays idle (it cannot take it).
	waiting := func(secs float64, agents ...api.AgentStatus) *api.PoolStatus {
		st := status(1, agents...)
		st.OldestWaitSeconds = secs
		return st
	}
	mw := func(p *Policy) { p.MaxWait = 5 * time.Minute }
	runDecide(t, []decideCase{
		{name: "waited too long: one more", in: mk(pol(mw), waiting(301, idle("a", 0)), running("a")), want: []string{"create @0 max_wait"}},
		{name: "not yet", in: mk(pol(mw), waiting(299, idle("a", 0)), running("a")), want: nil},
		{name: "off", in: mk(pol(), waiting(3000, idle("a", 0)), running("a")), want: nil},
		{name: "something booting already", in: mk(pol(mw), waiting(301, idle("a", 0)), running("a"), booting("b", time.Minute)),
			want: nil, holds: []string{"max_wait: oldest queued waited 5m1s > max_wait 5m, but 1 booting"}},
		{name: "at max_agents", in: mk(pol(mw, func(p *Policy) { p.MaxAgents = 1 }), waiting(301, idle("a", 0)), running("a")),
			want: nil, holds: []string{"but at max_agents 1"}},
		{name: "installation cap", in: with(mk(pol(mw), waiting(301, idle("a", 0)), running("a")), func(in *Input) { in.Headroom = 0 }),
			want: nil, holds: []string{"but at the installation's cap (headroom 0)"}},
		{name: "backlog already scales up", in: mk(pol(mw), waiting(301)), want: []string{"create @0 backlog"}},
		{name: "stale status never triggers it", in: with(mk(pol(mw), waiting(3000, idle("a", 0)), running("a")), func(in *Input) { in.StatusStale = true }), want: nil},
	})
}

func TestDecideResumeBeforeCreate(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "newest suspended first, unknown time last, then create",
			in:   mk(pol(), status(4), susp("old", 5*time.Hour), susp("unknown", 0), susp("new", time.Hour)),
			want: []string{"resume i-new backlog", "resume i-old backlog", "resume i-unknown backlog", "create @0 backlog"}},
		{name: "only as many as wanted",
			in:   mk(pol(), status(1), susp("old", 5*time.Hour), susp("new", time.Hour)),
			want: []string{"resume i-new backlog"}},
		{name: "scale_up_step counts resumes",
			in:   mk(pol(func(p *Policy) { p.ScaleUpStep = 2 }), status(5), susp("a", 3*time.Hour), susp("b", 2*time.Hour), susp("c", time.Hour)),
			want: []string{"resume i-c backlog", "resume i-b backlog"}},
		{name: "a suspending machine cannot be resumed yet",
			in:   mk(pol(), status(1), inst("going", providers.StateSuspending), susp("gone", time.Hour)),
			want: []string{"resume i-gone backlog"}},
		{name: "resume to reach min_agents",
			in:   mk(pol(func(p *Policy) { p.MinAgents = 1 }), status(0), susp("a", time.Hour)),
			want: []string{"resume i-a min_agents"}},
	})
}

func TestDecideOfferings(t *testing.T) {
	unavailable := func(m map[int]time.Time) func(*Input) {
		return func(in *Input) { in.State.Unavailable = m }
	}
	runDecide(t, []decideCase{
		{name: "first offering", in: mk(pol(), status(2)), want: times(2, "create @0 backlog")},
		{name: "next offering after a capacity error",
			in:   with(mk(pol(), status(2)), unavailable(map[int]time.Time{0: t0.Add(5 * time.Minute)})),
			want: times(2, "create @1 backlog")},
		{name: "a mark that has passed is available again",
			in:   with(mk(pol(), status(2)), unavailable(map[int]time.Time{0: t0})),
			want: times(2, "create @0 backlog")},
		{name: "all unavailable: no create, resumes still happen",
			in:    with(mk(pol(), status(3), susp("s", time.Hour)), unavailable(map[int]time.Time{0: t0.Add(5 * time.Minute), 1: t0.Add(2 * time.Minute)})),
			want:  []string{"resume i-s backlog"},
			holds: []string{"all offerings unavailable after capacity errors until 2025-03-10T12:02:00Z"}},
		{name: "no offerings configured: the provider default",
			in:   mk(pol(func(p *Policy) { p.Offerings = nil }), status(1)),
			want: []string{"create @0 backlog"}},
	})
	plan := Decide(with(mk(pol(), status(1)), unavailable(map[int]time.Time{0: t0.Add(time.Minute)})))
	if a := plan.Actions[0]; a.Offering != (providers.Offering{Zone: "z2"}) || a.OfferingIndex != 1 {
		t.Errorf("create offering = %+v index %d, want z2 index 1", a.Offering, a.OfferingIndex)
	}
}

// Queued work that no registered agent of the pool could take (the master's
// unschedulable count) does not raise want: more machines from the same
// image would not take it either. max_wait can still add one at a time.
func TestDecideUnschedulable(t *testing.T) {
	unsched := func(queued, u int, agents ...api.AgentStatus) *api.PoolStatus {
		st := status(queued, agents...)
		st.Unschedulable = u
		return st
	}
	runDecide(t, []decideCase{
		{name: "all unschedulable: nothing created",
			in: mk(pol(), unsched(5, 5, idle("a", 0)), running("a")), want: nil},
		{name: "only the schedulable part counts",
			in: mk(pol(), unsched(5, 2, busy("a")), running("a")), want: times(3, "create @0 backlog")},
		{name: "idle agents beyond the schedulable want are drained",
			in:   mk(pol(), unsched(3, 3, idle("a", time.Hour), idle("b", time.Hour)), running("a"), running("b")),
			want: []string{"drain i-a then suspend idle_timeout", "drain i-b then suspend idle_timeout"}},
		{name: "max_wait still tries one more",
			in:   mk(pol(func(p *Policy) { p.MaxWait = time.Minute }), waited(unsched(2, 2, idle("a", 0)), 120), running("a")),
			want: []string{"create @0 max_wait"}},
		{name: "an unschedulable count above queued is clamped (the warm agent stays)",
			in: mk(pol(func(p *Policy) { p.Warm = 1 }), unsched(1, 4, idle("a", time.Hour)), running("a")), want: nil},
		{name: "stale status ignores it (holds at min)",
			in: with(mk(pol(func(p *Policy) { p.MinAgents = 1 }), unsched(5, 5)), func(in *Input) { in.StatusStale = true }), want: times(1, "create @0 min_agents")},
	})
	plan := Decide(mk(pol(), unsched(5, 2, busy("a")), running("a")))
	if plan.Counts.Unschedulable != 2 || plan.Counts.Queued != 5 {
		t.Errorf("counts = %+v, want queued 5 with 2 unschedulable", plan.Counts)
	}
	if len(plan.Actions) == 0 || !strings.Contains(plan.Actions[0].Reason, "3 queued (and 2 unschedulable, not counted) + 1 busy + 0 warm = 4 wanted") {
		t.Errorf("reason = %q, want it to say the unschedulable ones are not counted", plan.Actions[0].Reason)
	}
}

// waited sets the oldest wait of a status.
func waited(st *api.PoolStatus, waitedSeconds float64) *api.PoolStatus {
	st.OldestWaitSeconds = waitedSeconds
	return st
}

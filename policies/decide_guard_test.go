package policies

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

func TestDecideStaleOrMissingStatus(t *testing.T) {
	stale := func(in *Input) { in.StatusStale = true }
	missing := func(in *Input) { in.Status = nil }
	min3 := pol(func(p *Policy) { p.MinAgents = 3 })
	// Everything that would scale down or destroy with a fresh status.
	doomed := []providers.Instance{running("a"), running("b"), susp("old", 48*time.Hour), booting("late", time.Hour)}
	overCap := pol(func(p *Policy) { p.MaxSuspended = 0 })
	runDecide(t, []decideCase{
		{name: "stale: a big queue does not scale up, min does",
			in:    with(mk(min3, status(50), running("a")), stale),
			want:  times(2, "create @0 min_agents"),
			holds: []string{"status stale: no scale-down"}},
		{name: "stale: capacity from instances, not from agents",
			in:   with(mk(min3, status(0, idle("h1", 0), idle("h2", 0), idle("h3", 0)), running("a"), booting("b", time.Minute)), stale),
			want: times(1, "create @0 min_agents")},
		{name: "stale: resume first to reach min",
			in:   with(mk(min3, status(0), running("a"), running("b"), susp("s", time.Hour)), stale),
			want: []string{"resume i-s min_agents"}},
		{name: "stale: no drain, no suspend, no destroy of any kind",
			in:    with(mk(overCap, status(0, idle("a", time.Hour), drained(idle("b", time.Hour))), doomed...), stale),
			want:  nil,
			holds: []string{"status stale: no scale-down and no destroys; only keeping min_agents 0 (capacity 3 counted from instances)"}},
		{name: "missing: the same",
			in:    with(mk(overCap, nil, doomed...), missing),
			want:  nil,
			holds: []string{"status missing: no scale-down"}},
		{name: "missing: min still met",
			in:   with(mk(min3, nil), missing),
			want: times(3, "create @0 min_agents")},
	})
}

func TestDecideCooldown(t *testing.T) {
	up := func(ago time.Duration) func(*Input) {
		return func(in *Input) { in.Policy.Cooldown.Up = 30 * time.Second; in.State.LastScaleUp = t0.Add(-ago) }
	}
	down := func(ago time.Duration) func(*Input) {
		return func(in *Input) { in.Policy.Cooldown.Down = time.Minute; in.State.LastScaleDown = t0.Add(-ago) }
	}
	idleA := func() Input { return mk(pol(), status(0, idle("a", time.Hour)), running("a")) }
	runDecide(t, []decideCase{
		{name: "up: within cooldown", in: with(mk(pol(), status(2)), up(10*time.Second)), want: nil,
			holds: []string{"cooldown up 30s since the last scale-up at 2025-03-10T11:59:50Z: not adding 2 before 2025-03-10T12:00:20Z"}},
		{name: "up: cooldown over", in: with(mk(pol(), status(2)), up(30*time.Second)), want: times(2, "create @0 backlog")},
		{name: "up: holds resumes too", in: with(mk(pol(), status(1), susp("s", time.Hour)), up(time.Second)), want: nil},
		{name: "down: within cooldown", in: with(idleA(), down(30*time.Second)), want: nil,
			holds: []string{"cooldown down 1m since the last scale-down at 2025-03-10T11:59:30Z: not draining 1 before 2025-03-10T12:00:30Z"}},
		{name: "down: cooldown over", in: with(idleA(), down(time.Minute)), want: []string{"drain i-a then suspend idle_timeout"}},
		{name: "down cooldown does not hold up a scale-up", in: with(mk(pol(), status(1)), down(time.Second)), want: []string{"create @0 backlog"}},
		{name: "down cooldown does not hold a confirmed drain",
			in:   with(mk(pol(), status(0, drained(idle("a", time.Hour))), running("a")), down(time.Second)),
			want: []string{"suspend i-a drain_confirmed"}},
	})
}

func TestDecideBackoff(t *testing.T) {
	backoff := func(in *Input) { in.State.BackoffUntil, in.State.Failures = t0.Add(time.Minute), 3 }
	over := func(in *Input) { in.State.BackoffUntil, in.State.Failures = t0, 3 }
	everything := func() Input {
		return mk(pol(func(p *Policy) { p.MaxSuspended = 1 }),
			status(0, idle("a", time.Hour), drained(idle("b", time.Hour))),
			running("a"), running("b"), booting("late", time.Hour), susp("old", 48*time.Hour), susp("s1", time.Hour), susp("s2", 2*time.Hour))
	}
	runDecide(t, []decideCase{
		{name: "no scale-up", in: with(mk(pol(), status(5)), backoff), want: nil,
			holds: []string{"backoff until 2025-03-10T12:01:00Z after 3 provider failures: not adding 5 (backlog)"}},
		{name: "nothing else either", in: with(everything(), backoff), want: nil,
			holds: []string{
				"not destroying 1 machine past boot_timeout 10m",
				"not draining 1 idle agent",
				"not suspending 1 drained agent",
				"not destroying 2 suspended machines",
			}},
		{name: "backoff over", in: with(everything(), over), want: []string{
			"destroy i-late boot_timeout boot-failure",
			"drain i-a then suspend idle_timeout",
			"suspend i-b drain_confirmed",
			"destroy i-old suspended_ttl",
			"destroy i-s2 max_suspended",
			"destroy i-s1 max_suspended",
		}},
	})
}

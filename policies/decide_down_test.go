package policies

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

func TestDecideScaleDown(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "idle past idle_timeout: drain, then suspend",
			in:   mk(pol(), status(0, idle("a", 15*time.Minute)), running("a")),
			want: []string{"drain i-a then suspend idle_timeout"}},
		{name: "idle under idle_timeout: not yet",
			in:   mk(pol(), status(0, idle("a", 5*time.Minute)), running("a")),
			want: nil, holds: []string{"capacity 1 above want 0, but no agent of ours has been idle for idle_timeout 10m"}},
		{name: "longest idle first, only the excess",
			in:   mk(pol(func(p *Policy) { p.Warm = 1 }), status(0, idle("a", 20*time.Minute), idle("b", 40*time.Minute), idle("c", 15*time.Minute)), running("a"), running("b"), running("c")),
			want: []string{"drain i-b then suspend idle_timeout", "drain i-a then suspend idle_timeout"}},
		{name: "never below min_agents",
			in:   mk(pol(func(p *Policy) { p.MinAgents = 2 }), status(0, idle("a", time.Hour), idle("b", time.Hour), idle("c", 2*time.Hour)), running("a"), running("b"), running("c")),
			want: []string{"drain i-c then suspend idle_timeout"}},
		{name: "an open window's min holds agents",
			in: mk(pol(func(p *Policy) {
				p.Schedule = []Window{{Cron: "0 8 * * *", Duration: 10 * time.Hour, MinAgents: 2}}
			}), status(0, idle("a", time.Hour), idle("b", time.Hour)), running("a"), running("b")),
			want: nil},
		{name: "busy agents are never drained",
			in:   mk(pol(), status(0, busy("a"), idle("b", time.Hour), busy("c")), running("a"), running("b"), running("c")),
			want: []string{"drain i-b then suspend idle_timeout"}},
		{name: "booting machines are not drained",
			in:   mk(pol(), status(0), booting("a", time.Minute)),
			want: nil, holds: []string{"capacity 1 above want 0, but no agent of ours"}},
		{name: "fewer drainable than the excess says so",
			in:    mk(pol(), status(0, idle("a", time.Hour), idle("b", time.Minute)), running("a"), running("b")),
			want:  []string{"drain i-a then suspend idle_timeout"},
			holds: []string{"capacity 2 above want 0: draining only 1"}},
		{name: "suspend none: drain, then destroy",
			in:   mk(pol(func(p *Policy) { p.Suspend = providers.SuspendNone }), status(0, idle("a", time.Hour)), running("a")),
			want: []string{"drain i-a then destroy idle_timeout"}},
		{name: "max_suspended 0: drain, then destroy",
			in:   mk(pol(func(p *Policy) { p.MaxSuspended = 0 }), status(0, idle("a", time.Hour)), running("a")),
			want: []string{"drain i-a then destroy idle_timeout"}},
		{name: "an agent already draining is not capacity: no second drain",
			in:   mk(pol(func(p *Policy) { p.MinAgents = 1 }), status(0, drained(busy("a")), idle("b", time.Hour)), running("a"), running("b")),
			want: nil},
	})
}

func TestDecideDrainConfirmed(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "drained and idle: suspend",
			in:   mk(pol(), status(0, drained(idle("a", time.Minute))), running("a")),
			want: []string{"suspend i-a drain_confirmed"}},
		{name: "drained and idle, suspend none: destroy",
			in:   mk(pol(func(p *Policy) { p.Suspend = providers.SuspendNone }), status(0, drained(idle("a", time.Minute))), running("a")),
			want: []string{"destroy i-a drain_confirmed"}},
		{name: "drained but busy: nothing",
			in:   mk(pol(), status(0, drained(busy("a"))), running("a")),
			want: nil, holds: []string{"1 draining agent still busy (a)"}},
		{name: "whatever want is: backlog creates, the drained one still goes",
			in:   mk(pol(), status(2, drained(idle("a", time.Minute))), running("a")),
			want: []string{"create @0 backlog", "create @0 backlog", "suspend i-a drain_confirmed"}},
		{name: "a drained agent started by hand is never touched",
			in:   mk(pol(), status(0, drained(idle("hand", time.Hour)))),
			want: nil},
	})
}

func TestDecideNeverTouchesBusyOrByHandAgents(t *testing.T) {
	// Everything that could act on a machine is primed: no queue, min 0, suspend
	// none, expired suspended and timed-out booting machines around them.
	p := pol(func(p *Policy) { p.Suspend, p.IdleTimeout = providers.SuspendNone, 0 })
	in := mk(p, status(0, busy("b1"), drained(busy("b2")), idle("hand1", 48*time.Hour), drained(idle("hand2", 48*time.Hour)), busy("hand3")),
		running("b1"), running("b2"), susp("old", 48*time.Hour), booting("late", time.Hour))
	plan := Decide(in)
	for _, a := range plan.Actions {
		switch a.InstanceID {
		case "i-b1", "i-b2":
			t.Errorf("acted on a busy agent: %s (%s)", short(a), a.Reason)
		}
		switch a.Name {
		case "hand1", "hand2", "hand3":
			t.Errorf("acted on an agent started by hand: %s", short(a))
		}
	}
	want := Counts{Queued: 0, Busy: 2, Idle: 1, Draining: 2, Booting: 0, Suspended: 1, ByHand: 3, Capacity: 3}
	if plan.Counts != want {
		t.Errorf("counts = %+v, want %+v", plan.Counts, want)
	}
	// The boot timeout and the expired suspended machine are still handled.
	got := map[string]bool{}
	for _, a := range plan.Actions {
		got[short(a)] = true
	}
	for _, s := range []string{"destroy i-late boot_timeout boot-failure", "destroy i-old suspended_ttl"} {
		if !got[s] {
			t.Errorf("missing %s in %v", s, plan.Actions)
		}
	}
}

func TestDecideByHandAgentsCountAsCapacity(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "by-hand idle agents take the queue", in: mk(pol(), status(2, idle("h1", 0), idle("h2", 0))), want: nil},
		{name: "by-hand busy agents count as busy and as capacity", in: mk(pol(), status(1, busy("h1"))), want: []string{"create @0 backlog"}},
		{name: "excess by-hand agents: drain ours, not theirs",
			in:   mk(pol(), status(0, idle("h1", time.Hour), idle("ours", time.Minute*30)), running("ours")),
			want: []string{"drain i-ours then suspend idle_timeout"}},
		{name: "only by-hand agents in excess: hold",
			in:   mk(pol(), status(0, idle("h1", time.Hour), idle("h2", time.Hour))),
			want: nil, holds: []string{"capacity 2 above want 0, but no agent of ours"}},
	})
}

package policies

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

// t0 is the decision time of the Decide tests: Monday 10 March 2025, 12:00 UTC.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// pol is a policy with two offerings and round numbers, changed by mods.
func pol(mods ...func(*Policy)) *Policy {
	p := &Policy{
		Installation: "acme", Pool: "linux", Provider: "fake", MaxAgents: 10, ScaleUpStep: 10,
		IdleTimeout: 10 * time.Minute, Suspend: providers.SuspendStop, MaxSuspended: 10,
		SuspendedTTL: 24 * time.Hour, BootTimeout: 10 * time.Minute,
		Offerings: []providers.Offering{{Zone: "z1"}, {Zone: "z2"}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

// inst is an instance started two hours ago.
func inst(name string, s providers.State) providers.Instance {
	return providers.Instance{
		ID: "i-" + name, Name: name, State: s,
		CreatedAt: t0.Add(-2 * time.Hour), StartedAt: t0.Add(-2 * time.Hour),
	}
}

// running is a running instance.
func running(name string) providers.Instance { return inst(name, providers.StateRunning) }

// booting is a pending instance started age ago.
func booting(name string, age time.Duration) providers.Instance {
	in := inst(name, providers.StatePending)
	in.StartedAt, in.CreatedAt = t0.Add(-age), t0.Add(-age)
	return in
}

// susp is an instance suspended ago (0: at an unknown time).
func susp(name string, ago time.Duration) providers.Instance {
	in := inst(name, providers.StateSuspended)
	if ago > 0 {
		in.SuspendedAt = t0.Add(-ago)
	}
	return in
}

// idle is a registered agent idle for the given time.
func idle(name string, idleFor time.Duration) api.AgentStatus {
	return api.AgentStatus{ID: name, State: api.AgentIdle, IdleSince: t0.Add(-idleFor), LastSeen: t0}
}

// busy is a registered agent running a composition.
func busy(name string) api.AgentStatus {
	return api.AgentStatus{ID: name, State: api.AgentBusy, LastSeen: t0, Composition: "c-" + name}
}

// drained marks an agent as draining.
func drained(a api.AgentStatus) api.AgentStatus { a.Draining = true; return a }

// status is a fresh pool status.
func status(queued int, agents ...api.AgentStatus) *api.PoolStatus {
	return &api.PoolStatus{Pool: "linux", Queued: queued, Agents: agents}
}

// mk builds an Input at t0 with no installation cap.
func mk(p *Policy, st *api.PoolStatus, insts ...providers.Instance) Input {
	return Input{Now: t0, Policy: p, Status: st, Instances: insts, Headroom: -1}
}

// with applies changes to an input.
func with(in Input, f func(*Input)) Input { f(&in); return in }

// short renders an action for exact comparison: kind, target and code.
func short(a Action) string {
	switch a.Kind {
	case ActCreate:
		return fmt.Sprintf("create @%d %s", a.OfferingIndex, a.Code)
	case ActDrain:
		return fmt.Sprintf("drain %s then %s %s", a.InstanceID, a.Then, a.Code)
	}
	s := fmt.Sprintf("%s %s %s", a.Kind, a.InstanceID, a.Code)
	if a.BootFailure {
		s += " boot-failure"
	}
	return s
}

// times repeats s n times.
func times(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// cat joins lists of expected actions.
func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// decideCase is one row of a Decide table.
type decideCase struct {
	name string
	in   Input
	want []string // exact actions, in order, as short renders them
	// holds are substrings each of which some hold must contain.
	holds []string
	// noHold is a substring no hold may contain.
	noHold string
}

// runDecide runs a Decide table.
func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := Decide(c.in)
			var got []string
			for _, a := range plan.Actions {
				got = append(got, short(a))
				if a.Code == "" || !strings.HasPrefix(a.Reason, a.Code+": ") {
					t.Errorf("action %s: reason %q does not start with its code %q", short(a), a.Reason, a.Code)
				}
				if a.Kind == ActCreate && a.Name != "" {
					t.Errorf("create with a name %q: the executor names instances", a.Name)
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("actions:\n  %s\nwant:\n  %s\nholds: %q", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "), plan.Holds)
			}
			all := strings.Join(plan.Holds, "\n")
			for _, h := range c.holds {
				if !strings.Contains(all, h) {
					t.Errorf("no hold contains %q; holds: %q", h, plan.Holds)
				}
			}
			if c.noHold != "" && strings.Contains(all, c.noHold) {
				t.Errorf("a hold contains %q; holds: %q", c.noHold, plan.Holds)
			}
		})
	}
}

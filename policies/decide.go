package policies

import (
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

// Decide is the pure scaling decision of DESIGN.md §4.3: from the pool's
// policy, status, instances and remembered state at in.Now, the plan of this
// tick. It reads no clock and does no I/O; the same input gives the same plan.
//
// In order:
//
//  1. Classify. Our instances are matched to registered agents by name (agent
//     id == instance name). A capacity instance (pending, running, resuming)
//     with an agent is a registered agent of ours; without one it is booting.
//     An agent with no instance of ours was started by hand: it counts, it is
//     never acted on. Suspended and suspending instances are suspended;
//     destroying ones are ignored. Draining agents are not capacity and their
//     work is not counted as busy: they take no new work.
//     Capacity = booting + registered agents not draining (ours and by hand).
//  2. Boot timeout: a booting instance started (created or resumed) at least
//     boot_timeout ago is destroyed as a boot failure and leaves capacity, so
//     its replacement is created in the same tick.
//  3. Want = clamp(queued + busy + warm, EffectiveMin, max_agents), then at
//     most capacity + in.Headroom when the installation has a cap (a cap never
//     forces a scale-down). When the oldest queued composition has waited
//     longer than max_wait, nothing is booting and want does not exceed
//     capacity, want becomes capacity + 1 (within the same caps).
//  4. Scale up when want > capacity, at most scale_up_step (0: no limit):
//     resume suspended machines first, newest suspended first, then create
//     in the first offering not marked unavailable.
//  5. Scale down when capacity > want: drain our idle agents idle for at
//     least idle_timeout, longest idle first, then (Action.Then) suspend, or
//     destroy when suspend is none or max_suspended is 0.
//  6. Our agents the master reports draining and idle are suspended (or
//     destroyed) whatever want is. Busy agents are never drained, suspended or
//     destroyed.
//  7. Suspended machines past suspended_ttl, then the oldest beyond
//     max_suspended, are destroyed, never one this plan resumes.
//
// With the status missing or stale nothing is drained, suspended or
// destroyed: capacity is counted from capacity instances alone and the pool
// is only brought up to its minimum; Plan.Counts then holds only Capacity
// (capacity instances) and Suspended. During backoff (State.BackoffUntil) no
// action is planned at all; cooldowns hold scale-ups and drains. Every rule
// that blocks an action says so in Plan.Holds.
//
// A zero boot_timeout or suspended_ttl turns that rule off; a zero StartedAt
// (and CreatedAt) never times out; a zero IdleSince or SuspendedAt counts as
// the longest idle or the oldest suspended.
func Decide(in Input) Plan {
	if in.Policy == nil {
		return Plan{Holds: []string{"no policy: holding"}}
	}
	d := &decision{
		in:      in,
		p:       in.Policy,
		now:     in.Now,
		fresh:   in.Status != nil && !in.StatusStale,
		backoff: in.Now.Before(in.State.BackoffUntil),
		touched: map[string]bool{},
	}
	d.classify()
	d.bootTimeouts()
	d.computeWant()
	d.scaleUp()
	d.scaleDown()
	d.drainConfirmed()
	d.housekeeping()
	d.counts.Booting = len(d.booting)
	d.counts.Capacity = d.capacity()
	d.plan.Counts = d.counts
	return d.plan
}

// decision is one run of Decide.
type decision struct {
	in      Input
	p       *Policy
	now     time.Time
	fresh   bool // status present and not stale
	backoff bool // in provider backoff: no action at all

	booting   []*providers.Instance // capacity instances whose agent has not registered
	ours      []member              // our registered agents, draining too
	suspended []*providers.Instance // suspended and suspending instances
	// staleCapacity is the capacity counted from instances alone (status not fresh).
	staleCapacity int

	counts Counts
	plan   Plan

	// code and why explain want; see computeWant.
	code string
	why  string

	// touched holds the ids of instances this plan resumes or destroys.
	touched map[string]bool
	// resumed and suspending count resumes and suspends this plan makes.
	resumed, suspending int
}

// member is one of our instances with its registered agent.
type member struct {
	inst  *providers.Instance
	agent *api.AgentStatus
}

// capacity is booting + registered agents not draining (ours and by hand).
func (d *decision) capacity() int {
	if !d.fresh {
		return d.staleCapacity
	}
	return len(d.booting) + d.counts.Busy + d.counts.Idle
}

func (d *decision) add(a Action) { d.plan.Actions = append(d.plan.Actions, a) }

func (d *decision) hold(s string) { d.plan.Holds = append(d.plan.Holds, s) }

// backoffHold words a hold for an action blocked by backoff.
func (d *decision) backoffHold(what string) {
	d.hold("backoff until " + fmtTime(d.in.State.BackoffUntil) + " after " + itoa(d.in.State.Failures) +
		" provider failures: not " + what)
}

// then is what follows a drain: suspend, or destroy when the pool keeps no
// suspended machines.
func (d *decision) then() ActionKind {
	if d.p.Suspend == providers.SuspendNone || d.p.MaxSuspended == 0 {
		return ActDestroy
	}
	return ActSuspend
}

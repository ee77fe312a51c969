package policies

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agentcloud/agentcloud/master/api"
)

// scaleDown drains our agents idle for idle_timeout beyond want, longest idle
// first (rule 4). The machine is suspended or destroyed once the master
// confirms the drain (Action.Then, or drainConfirmed on a later tick).
func (d *decision) scaleDown() {
	p := d.p
	capacity, want := d.capacity(), d.plan.Want
	if !d.fresh || capacity <= want {
		return
	}
	excess := capacity - want
	var idle []member
	for _, m := range d.ours {
		a := m.agent
		if !a.Draining && a.State == api.AgentIdle && (a.IdleSince.IsZero() || d.now.Sub(a.IdleSince) >= p.IdleTimeout) {
			idle = append(idle, m)
		}
	}
	if len(idle) == 0 {
		d.hold(fmt.Sprintf("capacity %d above want %d, but no agent of ours has been idle for idle_timeout %s",
			capacity, want, fmtDur(p.IdleTimeout)))
		return
	}
	k := min(excess, len(idle))
	if d.backoff {
		d.backoffHold("draining " + plural(k, "idle agent"))
		return
	}
	if until := d.in.State.LastScaleDown.Add(p.Cooldown.Down); p.Cooldown.Down > 0 && d.now.Before(until) {
		d.hold(fmt.Sprintf("cooldown down %s since the last scale-down at %s: not draining %d before %s",
			fmtDur(p.Cooldown.Down), fmtTime(d.in.State.LastScaleDown), k, fmtTime(until)))
		return
	}
	// Longest idle first; a zero IdleSince is the longest. Ties keep name order.
	sort.SliceStable(idle, func(i, j int) bool { return idle[i].agent.IdleSince.Before(idle[j].agent.IdleSince) })
	then := d.then()
	for _, m := range idle[:k] {
		d.add(Action{
			Kind: ActDrain, InstanceID: m.inst.ID, Name: m.inst.Name, Then: then, Code: ReasonIdle,
			Reason: fmt.Sprintf("%s: capacity %d above want %d (%s): draining %s, idle %s (idle_timeout %s), then %s",
				ReasonIdle, capacity, want, d.why, m.inst.Name, strings.TrimSuffix(d.ago(m.agent.IdleSince), " ago"),
				fmtDur(p.IdleTimeout), then),
		})
	}
	if k < excess {
		d.hold(fmt.Sprintf("capacity %d above want %d: draining only %d; the others are busy, booting, started by hand or idle under idle_timeout %s",
			capacity, want, k, fmtDur(p.IdleTimeout)))
	}
}

// drainConfirmed suspends (or destroys) our agents the master reports drained
// and idle, whatever want is: they take no new work (rule 4).
func (d *decision) drainConfirmed() {
	if !d.fresh {
		return
	}
	var done []member
	var busy []string
	for _, m := range d.ours {
		switch {
		case !m.agent.Draining:
		case m.agent.State == api.AgentIdle:
			done = append(done, m)
		default:
			busy = append(busy, m.inst.Name)
		}
	}
	if len(busy) > 0 {
		d.hold(fmt.Sprintf("%s still busy (%s): acting once idle", plural(len(busy), "draining agent"), strings.Join(busy, ", ")))
	}
	if len(done) == 0 {
		return
	}
	then := d.then()
	if d.backoff {
		d.backoffHold(verb(then) + " " + plural(len(done), "drained agent"))
		return
	}
	for _, m := range done {
		if then == ActSuspend {
			d.suspending++
		} else {
			d.touched[m.inst.ID] = true
		}
		d.add(Action{
			Kind: then, InstanceID: m.inst.ID, Name: m.inst.Name, Code: ReasonDrainConfirmed,
			Reason: fmt.Sprintf("%s: %s is drained and idle: %s (suspend %s, max_suspended %d)",
				ReasonDrainConfirmed, m.inst.Name, verb(then), d.p.Suspend, d.p.MaxSuspended),
		})
	}
}

// verb renders an action kind as "suspending", "destroying"...
func verb(k ActionKind) string {
	switch k {
	case ActSuspend:
		return "suspending"
	case ActDestroy:
		return "destroying"
	}
	return string(k)
}

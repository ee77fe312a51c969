package policies

import (
	"sort"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

// classify sorts instances and agents into booting, ours, by hand and
// suspended, and counts them (rule 1).
func (d *decision) classify() {
	insts := make([]*providers.Instance, len(d.in.Instances))
	for i := range d.in.Instances {
		insts[i] = &d.in.Instances[i]
	}
	sort.Slice(insts, func(i, j int) bool {
		if insts[i].Name != insts[j].Name {
			return insts[i].Name < insts[j].Name
		}
		return insts[i].ID < insts[j].ID
	})
	if d.in.Status != nil {
		d.counts.Queued = d.in.Status.Queued
		d.counts.Unschedulable = min(max(d.in.Status.Unschedulable, 0), d.counts.Queued)
	}
	if !d.fresh {
		// Without a fresh status, agents are unknown: count instances alone.
		d.counts.Queued, d.counts.Unschedulable = 0, 0
		for _, in := range insts {
			switch {
			case in.State.Capacity():
				d.staleCapacity++
			case in.State == providers.StateSuspended || in.State == providers.StateSuspending:
				d.suspended = append(d.suspended, in)
			}
		}
		d.counts.Suspended = len(d.suspended)
		return
	}
	agents := make(map[string]*api.AgentStatus, len(d.in.Status.Agents))
	for i := range d.in.Status.Agents {
		a := &d.in.Status.Agents[i]
		agents[a.ID] = a
	}
	matched := make(map[string]bool, len(insts))
	for _, in := range insts {
		a := agents[in.Name]
		if a != nil {
			matched[a.ID] = true
		}
		switch {
		case in.State.Capacity() && a != nil:
			d.ours = append(d.ours, member{inst: in, agent: a})
			d.count(a)
		case in.State.Capacity():
			d.booting = append(d.booting, in)
		case in.State == providers.StateSuspended || in.State == providers.StateSuspending:
			d.suspended = append(d.suspended, in)
		}
	}
	for i := range d.in.Status.Agents {
		if a := &d.in.Status.Agents[i]; !matched[a.ID] {
			d.counts.ByHand++
			d.count(a)
		}
	}
	d.counts.Suspended = len(d.suspended)
}

// count adds a registered agent to the counts. An agent in a state Decide
// does not know counts as busy: it is never scaled down.
func (d *decision) count(a *api.AgentStatus) {
	switch {
	case a.Draining:
		d.counts.Draining++
	case a.State == api.AgentIdle:
		d.counts.Idle++
	default:
		d.counts.Busy++
	}
}

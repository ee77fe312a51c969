package simulate

import (
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// input builds Decide's input as cloudmgr's loop does: the master's fresh
// status, the pool's instances as a provider lists them, and what the loop
// remembers.
func (p *pool) input(headroom int) policies.Input {
	e := p.e
	now := e.at(e.now)
	st := &p.status
	st.Pool = p.name
	st.Queued = p.queued()
	st.OldestQueuedAt, st.OldestWaitSeconds = time.Time{}, 0
	if st.Queued > 0 {
		first := e.jobs[p.queue[p.head]].Arrival
		st.OldestQueuedAt = first
		st.OldestWaitSeconds = now.Sub(first).Seconds()
	}
	st.Agents = st.Agents[:0]
	p.insts = p.insts[:0]
	for _, m := range p.machines {
		if m.agent {
			a := api.AgentStatus{ID: m.name, Instance: m.id, State: agentState(m), Draining: m.draining, LastSeen: now}
			if !m.busy {
				a.IdleSince = e.at(m.idleSince)
			}
			st.Agents = append(st.Agents, a)
		}
		if m.byHand {
			continue
		}
		in := providers.Instance{
			ID: m.id, Name: m.name, Owner: simOwner, Installation: p.pol.Installation, Pool: p.pol.Pool,
			State: m.state, CreatedAt: e.at(m.created), StartedAt: e.at(m.started),
		}
		if m.suspended {
			in.SuspendedAt = e.at(m.suspendedAt)
		}
		p.insts = append(p.insts, in)
	}
	return policies.Input{
		Now:       now,
		Policy:    p.pol,
		Status:    st,
		Instances: p.insts,
		State:     p.state,
		Headroom:  headroom,
	}
}

// capacity counts the pool's capacity as cloudmgr does for the installation
// cap: capacity instances whose agent is not draining, and agents started by hand.
func (p *pool) capacity() int {
	n := 0
	for _, m := range p.machines {
		if (m.byHand && m.agent && !m.draining) || (!m.byHand && m.state.Capacity() && !(m.agent && m.draining)) {
			n++
		}
	}
	return n
}

// execute carries a plan out as cloudmgr's executor does: drains first (a
// drain the master confirms idle is followed at once by its Then), then
// destroys, suspends, resumes and creates. Every provider call succeeds.
// LastScaleUp is set when a create or resume was done, LastScaleDown when
// an idle_timeout action was.
func (p *pool) execute(plan policies.Plan) {
	if len(plan.Actions) == 0 {
		return
	}
	var destroys, suspends, resumes []policies.Action
	creates := 0
	up, down := false, false
	done := func(a policies.Action) {
		switch {
		case a.Kind == policies.ActCreate || a.Kind == policies.ActResume:
			up = true
		case a.Code == policies.ReasonIdle:
			down = true
		}
	}
	for _, a := range plan.Actions {
		switch a.Kind {
		case policies.ActDrain:
			m := p.agentNamed(a.Name)
			if m == nil {
				continue // the master knows no such agent: the drain fails
			}
			m.draining = true
			p.drains++
			done(a)
			if m.busy {
				continue // Decide suspends it once the status shows it drained and idle
			}
			then := a.Then
			if then == "" {
				then = policies.ActSuspend
			}
			if then == policies.ActSuspend && p.pol.Suspend == providers.SuspendNone {
				then = policies.ActDestroy
			}
			t := policies.Action{Kind: then, InstanceID: a.InstanceID, Name: a.Name, Code: policies.ReasonDrainConfirmed}
			if then == policies.ActSuspend {
				suspends = append(suspends, t)
			} else {
				destroys = append(destroys, t)
			}
		case policies.ActDestroy:
			destroys = append(destroys, a)
		case policies.ActSuspend:
			suspends = append(suspends, a)
		case policies.ActResume:
			resumes = append(resumes, a)
		case policies.ActCreate:
			creates++
		}
	}
	for _, a := range destroys {
		if m := p.byID[a.InstanceID]; m != nil {
			p.destroy(m)
		}
		if a.BootFailure {
			p.bootFailures++
		}
		done(a) // destroying what is gone is a success
	}
	for _, a := range suspends {
		if m := p.byID[a.InstanceID]; m != nil {
			p.suspend(m)
			done(a)
		}
	}
	for _, a := range resumes {
		if m := p.byID[a.InstanceID]; m != nil {
			p.resume(m)
			done(a)
		}
	}
	if creates > 0 {
		for _, name := range p.newNames(creates) {
			p.create(name)
		}
		up = true
	}
	now := p.e.at(p.e.now)
	if up {
		p.state.LastScaleUp = now
	}
	if down {
		p.state.LastScaleDown = now
	}
}

// agentNamed finds the registered agent with the given id.
func (p *pool) agentNamed(name string) *machine {
	for _, m := range p.machines {
		if m.agent && m.name == name {
			return m
		}
	}
	return nil
}

// agentState renders a machine's agent state for the status.
func agentState(m *machine) api.AgentState {
	if m.busy {
		return api.AgentBusy
	}
	return api.AgentIdle
}

// simOwner is the owner label of every simulated instance.
const simOwner = "simulate"

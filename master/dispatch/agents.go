package dispatch

import (
	"context"
	"crypto/subtle"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/scheduler"
	"github.com/agentcloud/agentcloud/master/wire"
)

// agent is a registered agent.
type agent struct {
	id       string
	instance string
	pool     string
	facts    map[string]any
	plugins  map[string]bool
	draining bool
	// session is the agent process's id from its last register.
	session   string
	idleSince time.Time
	lastSeen  time.Time
	// ref is the attempt the master gave it and considers current.
	ref *wire.Ref
	// foreign is an attempt it says it runs that the master does not consider
	// current (cancelled); it gets no new work until it stops.
	foreign *wire.Ref
}

func (a *agent) busy() bool { return a.ref != nil || a.foreign != nil }

// view is the agent as the scheduler sees it.
func (a *agent) view(now time.Time, heartbeatTimeout time.Duration) *scheduler.Agent {
	v := &scheduler.Agent{
		ID:        a.id,
		Instance:  a.instance,
		Pool:      a.pool,
		Facts:     a.facts,
		Plugins:   a.plugins,
		Draining:  a.draining,
		Live:      now.Sub(a.lastSeen) < heartbeatTimeout,
		IdleSince: a.idleSince,
		LastSeen:  a.lastSeen,
	}
	switch {
	case a.ref != nil:
		v.Composition = a.ref.Composition
	case a.foreign != nil:
		v.Composition = a.foreign.Composition
	}
	return v
}

// onRegister handles a register (lock held).
func (d *Dispatcher) onRegister(ctx context.Context, r *wire.Register) {
	if d.cfg.AgentToken != "" && subtle.ConstantTimeCompare([]byte(r.Token), []byte(d.cfg.AgentToken)) != 1 {
		reason := "wrong token"
		if r.Token == "" {
			reason = "no token"
		}
		d.log.Warn("rejecting register: "+reason, "agent", r.Agent, "pool", r.Pool, "instance", r.Instance)
		d.cfg.Metrics.MessagesDropped.WithLabelValues("bad_token").Inc()
		return
	}
	now := d.cfg.Now()
	if r.LastDone != nil {
		done := *r.LastDone
		if done.Agent == "" {
			done.Agent = r.Agent
		}
		if err := validDone(&done); err == nil {
			d.onDone(ctx, &done)
		} else {
			d.log.Warn("ignoring malformed last_done in register", "agent", r.Agent, "err", err)
		}
	}
	a, known := d.agents[r.Agent]
	if !known {
		a = &agent{id: r.Agent, idleSince: now}
		d.agents[r.Agent] = a
		delete(d.unknown, r.Agent)
		if _, ok := d.drained[r.Agent]; ok {
			a.draining = true // drained before the master restarted
			delete(d.drained, r.Agent)
		}
	} else {
		if a.pool != r.Pool {
			d.events.mark(a.pool)
		}
		if a.draining && r.Session != "" && a.session != "" && r.Session != a.session {
			// A new process under the same id (its machine was suspended and
			// resumed, and its bye was lost): it was never drained.
			a.draining = false
			if err := d.store.ClearDraining(ctx, a.id); err != nil {
				d.log.Warn("cannot forget the drain of a restarted agent", "agent", a.id, "err", err)
			}
			d.log.Info("agent restarted: drain cleared", "agent", a.id, "pool", r.Pool)
		}
	}
	a.session = r.Session
	a.instance, a.pool, a.lastSeen = r.Instance, r.Pool, now
	a.facts = r.Facts
	if a.facts == nil {
		a.facts = map[string]any{}
	}
	a.plugins = make(map[string]bool, len(r.Plugins))
	for _, p := range r.Plugins {
		a.plugins[p] = true
	}
	d.log.Info("agent registered", "agent", a.id, "pool", a.pool, "instance", a.instance,
		"again", known, "draining", a.draining, "plugins", r.Plugins, "running", refString(r.Running))

	d.reconcile(ctx, a, r.Running)
	if a.draining {
		d.sendAgent(a.id, &wire.Drain{Type: wire.TypeDrain}) // it may have missed it
	}
	d.events.mark(a.pool)
	d.toSched[a.pool] = true
}

// reconcile matches what a re-registering agent says it runs with what the
// master believes it runs (lock held).
func (d *Dispatcher) reconcile(ctx context.Context, a *agent, running *wire.Ref) {
	wasBusy := a.busy()
	var cands []wire.Ref
	if a.ref != nil {
		cands = append(cands, *a.ref)
	}
	for id := range d.orphans {
		if en := d.active[id]; en != nil && en.c.Agent == a.id {
			cands = append(cands, wire.Ref{Composition: id, Attempt: en.c.Attempt})
			delete(d.orphans, id)
		}
	}
	a.ref = nil
	var rest []wire.Ref
	for _, ref := range cands {
		en := d.current(ref, a.id)
		switch {
		case en == nil:
		case running != nil && *running == ref:
			a.ref = &ref
			if en.c.State == api.CompAssigned {
				d.markRunning(ctx, en)
			}
			if en.c.CancelRequested != "" {
				d.sendCancel(en)
			}
		default:
			rest = append(rest, ref)
		}
	}
	for _, ref := range rest {
		en := d.current(ref, a.id)
		if en.c.State == api.CompAssigned && a.ref == nil {
			a.ref = &ref // the assign may still be on its way; the accept timeout decides
			continue
		}
		d.lost(ctx, en, fmt.Sprintf("agent %s re-registered without running attempt %d", a.id, ref.Attempt), metrics.ReasonAgentLost)
	}
	a.foreign = nil
	if running != nil && (a.ref == nil || *a.ref != *running) {
		d.cancelForeign(a, *running, "attempt is not current")
	}
	if wasBusy && !a.busy() {
		d.idle(a)
	}
}

// cancelForeign notes that a runs an attempt the master does not consider
// current and asks it to stop (lock held).
func (d *Dispatcher) cancelForeign(a *agent, ref wire.Ref, reason string) {
	d.log.Info("agent runs an attempt that is not current; cancelling it", "agent", a.id,
		"composition", ref.Composition, "attempt", ref.Attempt, "reason", reason)
	r := ref
	a.foreign = &r
	d.sendAgent(a.id, &wire.Cancel{Type: wire.TypeCancel, Ref: ref, Reason: reason})
	d.events.mark(a.pool)
}

// onHeartbeat handles a heartbeat (lock held).
func (d *Dispatcher) onHeartbeat(ctx context.Context, h *wire.Heartbeat) {
	now := d.cfg.Now()
	a := d.agents[h.Agent]
	if a == nil {
		d.noteUnknown(h.Agent, h.Running)
		return
	}
	a.lastSeen = now
	switch {
	case h.Running == nil:
		if a.foreign != nil {
			a.foreign = nil
			d.idle(a)
		}
	case a.ref != nil && *h.Running == *a.ref:
		en := d.current(*a.ref, a.id)
		if en != nil && en.c.State == api.CompAssigned {
			d.markRunning(ctx, en) // its accepted was lost: running is as good
		}
		if en != nil && en.c.CancelRequested != "" {
			d.sendCancel(en) // it still runs: the cancel was lost, or sent before a master restart
		}
	case a.foreign != nil && *h.Running == *a.foreign:
	default:
		d.cancelForeign(a, *h.Running, "attempt is not current")
	}
}

// noteUnknown handles a heartbeat from an agent that is not registered, e.g.
// after a master restart on an external broker: it keeps alive the
// composition it runs and asks the agent to register again, at once and then
// at most once per heartbeat timeout (an agent whose register is refused,
// say for a wrong token, keeps heartbeating) (lock held).
func (d *Dispatcher) noteUnknown(agentID string, running *wire.Ref) {
	now := d.cfg.Now()
	if running != nil {
		if _, orphan := d.orphans[running.Composition]; orphan && d.current(*running, agentID) != nil {
			d.orphans[running.Composition] = now.Add(d.cfg.HeartbeatTimeout)
		}
	}
	d.cfg.Metrics.MessagesDropped.WithLabelValues("unknown_agent").Inc()
	last, asked := d.unknown[agentID]
	if asked && now.Sub(last) < d.cfg.HeartbeatTimeout {
		return
	}
	d.unknown[agentID] = now
	if !asked {
		d.log.Warn("heartbeat from an agent that is not registered; asking it to register again", "agent", agentID)
	}
	d.sendAgent(agentID, &wire.Reregister{Type: wire.TypeReregister, Reason: "the master does not know this agent (did it restart?)"})
}

// onBye handles a bye (lock held).
func (d *Dispatcher) onBye(ctx context.Context, b *wire.Bye) {
	a := d.agents[b.Agent]
	if a == nil {
		return
	}
	d.log.Info("agent left", "agent", a.id, "pool", a.pool)
	d.remove(ctx, a, fmt.Sprintf("agent %s left (bye)", a.id))
}

// remove forgets an agent; what it ran is lost with reason (lock held).
func (d *Dispatcher) remove(ctx context.Context, a *agent, reason string) {
	delete(d.agents, a.id)
	d.events.mark(a.pool)
	if a.draining {
		if err := d.store.ClearDraining(ctx, a.id); err != nil {
			d.log.Warn("cannot forget the drain of a removed agent", "agent", a.id, "err", err)
		}
	}
	if a.ref == nil {
		return
	}
	if en := d.current(*a.ref, a.id); en != nil {
		d.lost(ctx, en, reason, metrics.ReasonAgentLost)
	}
}

// Drain closes an agent to new work and tells it so. The answer says whether
// it runs nothing now.
func (d *Dispatcher) Drain(ctx context.Context, agentID string) (api.DrainResponse, error) {
	var resp api.DrainResponse
	var err error
	d.do(ctx, func(ctx context.Context) {
		a := d.agents[agentID]
		if a == nil {
			err = fmt.Errorf("draining agent %s: %w", agentID, ErrUnknownAgent)
			return
		}
		if !a.draining {
			if err = d.store.SetDraining(ctx, a.id, d.cfg.Now()); err != nil {
				err = fmt.Errorf("draining agent %s: %w", agentID, err)
				return
			}
			d.log.Info("draining agent", "agent", a.id, "pool", a.pool, "busy", a.busy())
			a.draining = true
			d.events.mark(a.pool)
		}
		d.sendAgent(a.id, &wire.Drain{Type: wire.TypeDrain})
		resp = api.DrainResponse{Agent: a.id, Draining: true, Idle: !a.busy()}
	})
	return resp, err
}

// AgentCounts counts registered agents per pool and state (idle, busy,
// draining); it implements metrics.Source.
func (d *Dispatcher) AgentCounts() map[metrics.AgentKey]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[metrics.AgentKey]int{}
	for _, a := range d.agents {
		state := string(api.AgentIdle)
		switch {
		case a.draining:
			state = "draining"
		case a.busy():
			state = string(api.AgentBusy)
		}
		out[metrics.AgentKey{Pool: a.pool, State: state}]++
	}
	return out
}

// agentsView returns every agent as the scheduler sees it (lock held).
func (d *Dispatcher) agentsView(now time.Time) []*scheduler.Agent {
	out := make([]*scheduler.Agent, 0, len(d.agents))
	for _, id := range slices.Sorted(maps.Keys(d.agents)) {
		out = append(out, d.agents[id].view(now, d.cfg.HeartbeatTimeout))
	}
	return out
}

func refString(r *wire.Ref) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s#%d", r.Composition, r.Attempt)
}

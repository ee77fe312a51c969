package dispatch

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/scheduler"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// The functions here change compositions; all run with the lock held. Each
// change is written to the store first and applied in memory only when the
// write succeeded, so memory never runs ahead of the store.

// current returns the active composition whose current attempt is ref and
// belongs to agentID, if any.
func (d *Dispatcher) current(ref wire.Ref, agentID string) *entry {
	en := d.active[ref.Composition]
	if en == nil || en.c.Attempt != ref.Attempt || en.c.Agent != agentID {
		return nil
	}
	if en.c.State != api.CompAssigned && en.c.State != api.CompRunning {
		return nil
	}
	return en
}

// save applies change to a copy of en's composition, stores it, then keeps it.
func (d *Dispatcher) save(ctx context.Context, en *entry, change func(c *store.Composition)) bool {
	next := *en.c
	change(&next)
	if err := d.store.Update(ctx, &next); err != nil {
		d.log.Error("cannot store composition change; keeping the previous state", "composition", en.c.ID, "err", err)
		return false
	}
	*en.c = next
	return true
}

// enqueue puts a composition in its pool's queue, oldest first.
func (d *Dispatcher) enqueue(en *entry) {
	q := d.queues[en.c.Pool]
	i, _ := slices.BinarySearchFunc(q, en.job, compareJobs)
	d.queues[en.c.Pool] = slices.Insert(q, i, en.job)
	d.events.mark(en.c.Pool)
	d.toSched[en.c.Pool] = true
}

// dequeue takes a composition out of its pool's queue.
func (d *Dispatcher) dequeue(en *entry) {
	q := d.queues[en.c.Pool]
	if i, found := slices.BinarySearchFunc(q, en.job, compareJobs); found {
		q = slices.Delete(q, i, i+1)
	}
	if len(q) == 0 {
		delete(d.queues, en.c.Pool)
	} else {
		d.queues[en.c.Pool] = q
	}
	d.events.mark(en.c.Pool)
}

func compareJobs(x, y *scheduler.Job) int {
	return cmp.Or(x.SubmittedAt.Compare(y.SubmittedAt), cmp.Compare(x.ID, y.ID))
}

// scheduleMarked runs the scheduler on every pool marked since the last run.
func (d *Dispatcher) scheduleMarked(ctx context.Context) {
	for len(d.toSched) > 0 {
		pools := slices.Sorted(maps.Keys(d.toSched))
		clear(d.toSched)
		for _, pool := range pools {
			d.schedule(ctx, pool)
		}
	}
}

// schedule hands the pool's queued compositions to its free agents.
func (d *Dispatcher) schedule(ctx context.Context, pool string) {
	queue := d.queues[pool]
	if len(queue) == 0 {
		return
	}
	now := d.cfg.Now()
	var agents []*scheduler.Agent
	for _, a := range d.agents {
		if a.pool == pool && !a.busy() && !a.draining {
			agents = append(agents, a.view(now, d.cfg.HeartbeatTimeout))
		}
	}
	if len(agents) == 0 {
		return
	}
	for _, as := range scheduler.Match(agents, queue) {
		d.assign(ctx, d.agents[as.Agent], d.active[as.Job])
	}
}

// assign dispatches a queued composition to a free agent: a new attempt.
func (d *Dispatcher) assign(ctx context.Context, a *agent, en *entry) {
	now := d.cfg.Now()
	ok := d.save(ctx, en, func(c *store.Composition) {
		c.Attempt++
		c.State = api.CompAssigned
		c.Agent = a.id
		c.AssignedAt = now
	})
	if !ok {
		return
	}
	d.dequeue(en)
	ref := wire.Ref{Composition: en.c.ID, Attempt: en.c.Attempt}
	a.ref = &ref
	d.events.mark(a.pool)
	d.cfg.Metrics.Dispatches.Inc()
	d.log.Info("assigning composition", "composition", en.c.ID, "attempt", en.c.Attempt, "agent", a.id, "pool", a.pool)
	d.sendAgent(a.id, &wire.Assign{
		Type:    wire.TypeAssign,
		Ref:     ref,
		Tasks:   en.c.Tasks,
		Context: maps.Clone(en.c.Context),
	})
}

// markRunning records that the agent accepted the current attempt.
func (d *Dispatcher) markRunning(ctx context.Context, en *entry) {
	now := d.cfg.Now()
	first := en.c.Accepted == 0
	ok := d.save(ctx, en, func(c *store.Composition) {
		c.State = api.CompRunning
		c.Accepted++
		c.StartedAt = now
	})
	if !ok {
		return
	}
	delete(d.orphans, en.c.ID)
	if first {
		d.cfg.Metrics.SubmitToStart.Observe(now.Sub(en.c.SubmittedAt).Seconds())
	}
	d.log.Info("composition running", "composition", en.c.ID, "attempt", en.c.Attempt, "agent", en.c.Agent)
}

// requeue puts an attempt's composition back in the queue.
// A composition whose cancel was requested ends cancelled instead.
func (d *Dispatcher) requeue(ctx context.Context, en *entry, reason, metricReason string) {
	if d.endCancelled(ctx, en, reason) {
		return
	}
	agentID, ref := en.c.Agent, wire.Ref{Composition: en.c.ID, Attempt: en.c.Attempt}
	ok := d.save(ctx, en, func(c *store.Composition) {
		c.State = api.CompQueued
		c.Agent = ""
		c.Error = reason
	})
	if !ok {
		return
	}
	delete(d.orphans, en.c.ID)
	d.release(agentID, ref)
	d.enqueue(en)
	d.cfg.Metrics.Redispatches.WithLabelValues(metricReason).Inc()
	d.log.Info("composition back in the queue", "composition", en.c.ID, "attempt", ref.Attempt,
		"accepted", en.c.Accepted, "max_attempts", en.c.MaxAttempts, "reason", reason)
}

// finish ends a composition: succeeded, or failed with errText.
func (d *Dispatcher) finish(ctx context.Context, en *entry, state api.CompositionState, errText string) {
	if state == "" {
		state = api.CompFailed
	}
	agentID, ref := en.c.Agent, wire.Ref{Composition: en.c.ID, Attempt: en.c.Attempt}
	now := d.cfg.Now()
	ok := d.save(ctx, en, func(c *store.Composition) {
		c.State = state
		c.FinishedAt = now
		c.Error = errText
	})
	if !ok {
		return
	}
	delete(d.active, en.c.ID)
	delete(d.orphans, en.c.ID)
	if en.job != nil {
		d.dequeue(en) // no-op unless it was queued
	}
	d.release(agentID, ref)
	d.events.mark(en.c.Pool)
	d.log.Info("composition finished", "composition", en.c.ID, "state", state, "attempt", ref.Attempt,
		"agent", agentID, "error", errText)
}

// lost handles an attempt that will not finish: back to the queue while
// accepted attempts are fewer than max_attempts, else failed.
// A composition whose cancel was requested ends cancelled instead.
func (d *Dispatcher) lost(ctx context.Context, en *entry, reason, metricReason string) {
	if d.endCancelled(ctx, en, reason) {
		return
	}
	if en.c.Accepted < en.c.MaxAttempts {
		d.requeue(ctx, en, fmt.Sprintf("attempt %d lost: %s", en.c.Attempt, reason), metricReason)
		return
	}
	d.finish(ctx, en, api.CompFailed, fmt.Sprintf("%s; no attempts left (%d of max_attempts %d used)",
		reason, en.c.Accepted, en.c.MaxAttempts))
}

// release frees the agent that ran ref.
func (d *Dispatcher) release(agentID string, ref wire.Ref) {
	a := d.agents[agentID]
	if a == nil {
		return
	}
	switch {
	case a.ref != nil && *a.ref == ref:
		a.ref = nil
	case a.foreign != nil && *a.foreign == ref:
		a.foreign = nil
	default:
		return
	}
	d.idle(a)
}

// idle notes that an agent may be idle now.
func (d *Dispatcher) idle(a *agent) {
	if a.busy() {
		return
	}
	a.idleSince = d.cfg.Now()
	d.events.mark(a.pool)
	d.toSched[a.pool] = true
}

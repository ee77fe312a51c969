package dispatch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/wire"
)

// checkTimeouts removes silent agents, withdraws assignments not accepted in
// time, and gives up on compositions whose agent never came back after a
// restart (lock held).
func (d *Dispatcher) checkTimeouts(ctx context.Context) {
	now := d.cfg.Now()
	if d.cfg.Connected != nil && !d.cfg.Connected() {
		if !d.offline {
			d.offline = true
			d.log.Warn("broker connection down: heartbeat and accept timeouts paused until it is back")
		}
		d.resumedAt = now
		return
	}
	if d.offline {
		d.offline = false
		d.log.Info("broker connection back: agents get a whole heartbeat timeout to report again")
	}
	for _, id := range slices.Sorted(maps.Keys(d.agents)) {
		a := d.agents[id]
		if silent := now.Sub(later(a.lastSeen, d.resumedAt)); silent >= d.cfg.HeartbeatTimeout {
			d.log.Warn("agent stopped heartbeating; removing it", "agent", a.id, "pool", a.pool,
				"last_seen", a.lastSeen, "running", refString(a.ref))
			d.remove(ctx, a, fmt.Sprintf("agent %s stopped heartbeating (silent for %s)", a.id, silent.Round(time.Millisecond)))
			continue
		}
		if a.ref == nil {
			continue
		}
		en := d.current(*a.ref, a.id)
		if en == nil {
			a.ref = nil // finished meanwhile
			d.idle(a)
			continue
		}
		if en.c.State == api.CompAssigned && now.Sub(later(en.c.AssignedAt, d.resumedAt)) >= d.cfg.AcceptTimeout {
			ref := *a.ref
			d.requeue(ctx, en, fmt.Sprintf("agent %s did not accept attempt %d within %s", a.id, ref.Attempt, d.cfg.AcceptTimeout),
				metrics.ReasonAcceptTimeout)
			d.sendAgent(a.id, &wire.Cancel{Type: wire.TypeCancel, Ref: ref, Reason: "not accepted in time"})
		}
	}
	for id, deadline := range d.drained {
		if now.Before(deadline) || now.Sub(d.resumedAt) < d.cfg.HeartbeatTimeout {
			continue
		}
		delete(d.drained, id)
		if err := d.store.ClearDraining(ctx, id); err != nil {
			d.log.Warn("cannot forget the drain of an agent that did not come back", "agent", id, "err", err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(d.orphans)) {
		if now.Before(d.orphans[id]) || now.Sub(d.resumedAt) < d.cfg.HeartbeatTimeout {
			continue
		}
		delete(d.orphans, id)
		en := d.active[id]
		if en == nil {
			continue
		}
		d.lost(ctx, en, fmt.Sprintf("agent %s did not come back within %s after the master restarted", en.c.Agent, d.cfg.HeartbeatTimeout),
			metrics.ReasonAgentLost)
	}
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/agentcloud/agentcloud/policies"
)

// source is where the next step comes from.
type source int

const (
	srcEvent source = iota
	srcArrival
	srcEnd
	srcTick
)

// run processes events, arrivals and ticks until every job completed and
// the horizon is reached.
func (e *engine) run(ctx context.Context) error {
	var longest time.Duration
	for _, j := range e.jobs {
		longest = max(longest, j.Duration)
	}
	limit := e.end + longest + overrun
	tick := time.Duration(0)
	arrival := 0
	for step := 0; ; step++ {
		if step&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// Lowest priority first; each later source wins ties.
		t, src := tick, srcTick
		if !e.ended && e.end <= t {
			t, src = e.end, srcEnd
		}
		if arrival < len(e.jobs) {
			if a := e.jobs[arrival].Arrival.Sub(e.cfg.Start); a <= t {
				t, src = a, srcArrival
			}
		}
		if len(e.events) > 0 && e.events[0].at <= t {
			t, src = e.events[0].at, srcEvent
		}
		if t > limit {
			return e.stalled()
		}
		e.now = t
		switch src {
		case srcEvent:
			e.handle(e.events.pop())
		case srcArrival:
			e.arrive(arrival)
			arrival++
		case srcEnd:
			e.ended = true
		case srcTick:
			e.tick()
			tick += e.cfg.TickInterval
		}
		if e.ended && e.done == len(e.jobs) {
			return nil
		}
	}
}

// stalled explains a replay that left jobs waiting far past the horizon.
func (e *engine) stalled() error {
	for _, p := range e.pools {
		if q := p.queued(); q > 0 {
			return fmt.Errorf("pool %s still has %d jobs queued %s after the horizon, the oldest since %s: the policy never gives them an agent (max_agents, installation cap, boot_timeout?)",
				p.name, q, (e.now - e.end).Round(time.Hour), e.at(e.jobs[p.queue[p.head]].Arrival.Sub(e.cfg.Start)).Format(time.RFC3339))
		}
	}
	return fmt.Errorf("jobs still unfinished %s after the horizon", (e.now - e.end).Round(time.Hour))
}

// handle processes one scheduled event.
func (e *engine) handle(ev event) {
	switch ev.kind {
	case evMachine:
		if ev.m.gen == ev.gen && !ev.m.gone {
			ev.m.pool.settle(ev.m)
		}
	case evDone:
		if ev.m.gen == ev.gen && ev.m.busy && ev.m.job == ev.job {
			e.pools[e.jobPool[ev.job]].complete(ev.m, int(ev.job))
		}
	}
}

// arrive queues job i in its pool and dispatches.
func (e *engine) arrive(i int) {
	p := e.pools[e.jobPool[i]]
	p.queue = append(p.queue, int32(i))
	p.dispatch()
}

// tick decides every pool with a policy, installation by installation, and
// samples the timeline.
func (e *engine) tick() {
	for gi := range e.groups {
		g := &e.groups[gi]
		headroom := -1
		if g.cap > 0 {
			used := 0
			for _, p := range g.pools {
				used += p.capacity()
			}
			headroom = max(g.cap-used, 0)
		}
		for _, p := range g.pools {
			plan := policies.Decide(p.input(headroom))
			p.execute(plan)
			if headroom >= 0 {
				for _, a := range plan.Actions {
					if a.Kind == policies.ActCreate || a.Kind == policies.ActResume {
						headroom--
					}
				}
				headroom = max(headroom, 0)
			}
		}
	}
	if e.cfg.Timeline {
		for _, p := range e.pools {
			p.sample()
		}
	}
}

package scheduler

import (
	"cmp"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/selector"
)

// summaryFacts are the facts an agent's status shows.
var summaryFacts = []string{"os.family", "os.architecture", "processors.count", "memory.system.total_bytes"}

// FactsSummary picks the facts an agent status shows (os.family,
// os.architecture, processors.count, memory.system.total_bytes), as text.
func FactsSummary(facts map[string]any) map[string]string {
	out := make(map[string]string, len(summaryFacts))
	for _, k := range summaryFacts {
		if v, ok := selector.Lookup(facts, k); ok {
			out[k] = selector.Text(v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Pools summarises every pool that has queued jobs or agents, sorted by name.
// queue is oldest first.
func Pools(agents []*Agent, queue []*Job, now time.Time) []api.PoolStatus {
	byPool := map[string]*api.PoolStatus{}
	get := func(pool string) *api.PoolStatus {
		p, ok := byPool[pool]
		if !ok {
			p = &api.PoolStatus{Pool: pool, Agents: []api.AgentStatus{}}
			byPool[pool] = p
		}
		return p
	}
	for _, j := range queue {
		p := get(j.Pool)
		p.Queued++
		if p.OldestQueuedAt.IsZero() || j.SubmittedAt.Before(p.OldestQueuedAt) {
			p.OldestQueuedAt = j.SubmittedAt
		}
	}
	for _, a := range agents {
		p := get(a.Pool)
		st := api.AgentStatus{
			ID:          a.ID,
			Instance:    a.Instance,
			State:       api.AgentIdle,
			Draining:    a.Draining,
			LastSeen:    a.LastSeen,
			Composition: a.Composition,
			Facts:       FactsSummary(a.Facts),
		}
		if a.Busy() {
			st.State = api.AgentBusy
		} else {
			st.IdleSince = a.IdleSince
		}
		p.Agents = append(p.Agents, st)
	}
	out := make([]api.PoolStatus, 0, len(byPool))
	for _, p := range byPool {
		if !p.OldestQueuedAt.IsZero() {
			p.OldestWaitSeconds = max(0, now.Sub(p.OldestQueuedAt).Seconds())
		}
		p.Unschedulable = Unschedulable(poolAgents(agents, p.Pool), poolJobs(queue, p.Pool))
		slices.SortFunc(p.Agents, func(x, y api.AgentStatus) int { return cmp.Compare(x.ID, y.ID) })
		out = append(out, *p)
	}
	slices.SortFunc(out, func(x, y api.PoolStatus) int { return cmp.Compare(x.Pool, y.Pool) })
	return out
}

func poolAgents(agents []*Agent, pool string) []*Agent {
	var out []*Agent
	for _, a := range agents {
		if a.Pool == pool {
			out = append(out, a)
		}
	}
	return out
}

func poolJobs(queue []*Job, pool string) []*Job {
	var out []*Job
	for _, j := range queue {
		if j.Pool == pool {
			out = append(out, j)
		}
	}
	return out
}

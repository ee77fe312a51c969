package simulate

import (
	"sort"
	"time"

	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// Scenario kinds.
const (
	KindStatic        = "static"
	KindCreateDestroy = "create-destroy"
	KindPolicy        = "policy"
	KindSweep         = "sweep"
)

// PeakConcurrency is the most jobs that run at once if each starts on
// arrival (a job ending at t and another arriving at t do not overlap).
func PeakConcurrency(jobs []Job) int {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(jobs))
	for _, j := range jobs {
		edges = append(edges, edge{j.Arrival, 1}, edge{j.Arrival.Add(j.Duration), -1})
	}
	sort.Slice(edges, func(a, b int) bool {
		if !edges[a].at.Equal(edges[b].at) {
			return edges[a].at.Before(edges[b].at)
		}
		return edges[a].delta < edges[b].delta
	})
	n, peak := 0, 0
	for _, e := range edges {
		n += e.delta
		peak = max(peak, n)
	}
	return peak
}

// StaticScenario sizes every pool of specs statically at its peak
// concurrency in jobs: nobody waits, and every agent runs the whole replay.
func StaticScenario(specs []PoolSpec, jobs []Job) Scenario {
	byPool := map[string][]Job{}
	for _, j := range jobs {
		byPool[j.Pool] = append(byPool[j.Pool], j)
	}
	sc := Scenario{Name: KindStatic, Kind: KindStatic}
	for _, s := range specs {
		sc.Pools = append(sc.Pools, PoolSpec{Pool: s.Pool, Static: PeakConcurrency(byPool[s.Pool]), Model: s.Model})
	}
	return sc
}

// CreateDestroyScenario is sc with every policy set to suspend: none, so
// idle machines are destroyed and new work creates machines afresh.
func CreateDestroyScenario(sc Scenario) Scenario {
	out := Scenario{Name: KindCreateDestroy, Kind: KindCreateDestroy, Installations: sc.Installations}
	for _, s := range sc.Pools {
		if s.Policy != nil {
			cp := *s.Policy
			cp.Suspend = providers.SuspendNone
			s.Policy = &cp
		}
		out.Pools = append(out.Pools, s)
	}
	return out
}

// PolicyScenario runs specs under their policies.
func PolicyScenario(name string, set *policies.Set, specs []PoolSpec) Scenario {
	return Scenario{Name: name, Kind: KindPolicy, Pools: specs, Installations: set.Installations}
}

package simulate

import (
	"math"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Run is what one replay measured.
type Run struct {
	// Name and Kind come from the scenario.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// End is when the replay stopped: the horizon, or the last completion if later.
	End time.Time `json:"end"`
	// Pools holds each pool's measures, in the scenario's order.
	Pools []PoolResult `json:"pools"`
	// Overall sums the pools (waits over every job).
	Overall Stats `json:"overall"`
}

// PoolResult is one pool's measures.
type PoolResult struct {
	Pool string `json:"pool"`
	// Policy is "installation/pool" of the policy that scaled it ("" for static).
	Policy string `json:"policy,omitempty"`
	// Static is the size of a static pool.
	Static int `json:"static_agents,omitempty"`
	Stats
	// Timeline samples the pool at every tick (when asked for).
	Timeline []Sample `json:"-"`
}

// Stats are the measures of a pool, or of all pools.
type Stats struct {
	// Jobs counts the jobs run.
	Jobs int `json:"jobs"`
	// Wait is the time from arrival to start, in seconds.
	Wait WaitStats `json:"wait_seconds"`
	// RunningHours and SuspendedHours are machine-hours billed at each price.
	RunningHours   float64 `json:"running_hours"`
	SuspendedHours float64 `json:"suspended_hours"`
	// BusyHours is the sum of job durations: agent-hours doing work.
	BusyHours float64 `json:"busy_hours"`
	// Provider actions done, and drains asked of the master.
	Creates      int `json:"creates"`
	Resumes      int `json:"resumes"`
	Suspends     int `json:"suspends"`
	Destroys     int `json:"destroys"`
	Drains       int `json:"drains"`
	BootFailures int `json:"boot_failures"`
	// Lost counts jobs whose agent's machine was stopped under them (the
	// rules forbid it: always 0 unless something is wrong).
	Lost int `json:"lost"`
	// PeakMachines is the most machines billed as running at once.
	PeakMachines int `json:"peak_machines"`
	// Cost is running and suspended hours at their prices; Floor is the busy
	// hours at the running price: what the work costs with no idle machine.
	Cost        float64 `json:"cost"`
	Floor       float64 `json:"floor"`
	CostToFloor float64 `json:"cost_to_floor"`
}

// WaitStats summarises waits, in seconds (nearest-rank percentiles).
type WaitStats struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Sample is a pool at one tick.
type Sample struct {
	At        time.Duration // since the start
	Queued    int32
	Booting   int32 // pending or resuming
	Idle      int32 // registered, running nothing (draining too)
	Busy      int32
	Suspended int32 // suspending or suspended
}

// sample records the pool now.
func (p *pool) sample() {
	s := Sample{At: p.e.now, Queued: int32(p.queued())}
	for _, m := range p.machines {
		switch {
		case m.agent && m.busy:
			s.Busy++
		case m.agent:
			s.Idle++
		case m.state == providers.StatePending || m.state == providers.StateResuming:
			s.Booting++
		case m.state == providers.StateSuspending || m.state == providers.StateSuspended:
			s.Suspended++
		}
	}
	p.timeline = append(p.timeline, s)
}

// result gathers the measures once the replay ended.
func (e *engine) result(sc Scenario) *Run {
	r := &Run{Name: sc.Name, Kind: sc.Kind, End: e.at(e.now)}
	all := make([]time.Duration, 0, len(e.jobs))
	perPool := make([][]time.Duration, len(e.pools))
	for i := range e.jobs {
		pi := e.jobPool[i]
		perPool[pi] = append(perPool[pi], e.waits[i])
		all = append(all, e.waits[i])
	}
	var sum Stats
	for i, p := range e.pools {
		for _, m := range p.machines {
			p.bill(m)
		}
		pr := PoolResult{Pool: p.name, Static: p.spec.Static, Timeline: p.timeline}
		if p.pol != nil {
			pr.Policy = p.pol.Key()
			pr.Static = 0
		}
		pr.Stats = Stats{
			Jobs:           p.jobs,
			Wait:           waitStats(perPool[i]),
			RunningHours:   hours(p.runningTime),
			SuspendedHours: hours(p.suspendedTime),
			BusyHours:      hours(p.busyTime),
			Creates:        p.creates, Resumes: p.resumes, Suspends: p.suspends, Destroys: p.destroys,
			Drains: p.drains, BootFailures: p.bootFailures, Lost: p.lost, PeakMachines: p.peak,
		}
		price := p.spec.Model.Prices
		pr.Cost = pr.RunningHours*price.Running + pr.SuspendedHours*price.Suspended
		pr.Floor = pr.BusyHours * price.Running
		pr.CostToFloor = ratio(pr.Cost, pr.Floor)
		r.Pools = append(r.Pools, pr)
		sum.add(pr.Stats)
	}
	sum.Wait = waitStats(all)
	sum.PeakMachines = e.peak
	sum.CostToFloor = ratio(sum.Cost, sum.Floor)
	r.Overall = sum
	return r
}

// add sums the additive measures of o into s.
func (s *Stats) add(o Stats) {
	s.Jobs += o.Jobs
	s.RunningHours += o.RunningHours
	s.SuspendedHours += o.SuspendedHours
	s.BusyHours += o.BusyHours
	s.Creates += o.Creates
	s.Resumes += o.Resumes
	s.Suspends += o.Suspends
	s.Destroys += o.Destroys
	s.Drains += o.Drains
	s.BootFailures += o.BootFailures
	s.Lost += o.Lost
	s.Cost += o.Cost
	s.Floor += o.Floor
}

// waitStats summarises waits; it sorts its argument.
func waitStats(ws []time.Duration) WaitStats {
	if len(ws) == 0 {
		return WaitStats{}
	}
	slices.Sort(ws)
	var total time.Duration
	for _, w := range ws {
		total += w
	}
	return WaitStats{
		P50:  percentile(ws, 0.50).Seconds(),
		P95:  percentile(ws, 0.95).Seconds(),
		P99:  percentile(ws, 0.99).Seconds(),
		Max:  ws[len(ws)-1].Seconds(),
		Mean: (total / time.Duration(len(ws))).Seconds(),
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// hours converts a duration to hours.
func hours(d time.Duration) float64 { return d.Hours() }

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentcloud/agentcloud/providers"
)

// PoolSample is one pool's state after a tick.
type PoolSample struct {
	Queued            int
	OldestWaitSeconds float64
	MaxWaitSeconds    float64
	Unschedulable     int
	// Idle, Busy, Draining and Booting count agents (booting: our instances
	// whose agent has not registered).
	Idle, Busy, Draining, Booting int
	// Instances counts our instances by provider state.
	Instances map[providers.State]int
	Desired   int
	Actual    int
	Min       int
	Max       int
}

// Pool holds one pool's gauges, resolved once so a tick sets them without
// label lookups. Get it with Metrics.Pool; drop it after Metrics.DeletePool.
type Pool struct {
	queued, oldestWait, maxWait, unschedulable prometheus.Gauge
	idle, busy, draining, booting              prometheus.Gauge
	instances                                  []prometheus.Gauge // by instanceStates
	desired, actual, min, max                  prometheus.Gauge
}

// Pool resolves the gauges of one pool.
func (m *Metrics) Pool(installation, pool string) *Pool {
	g := func(v *prometheus.GaugeVec, extra ...string) prometheus.Gauge {
		return v.WithLabelValues(append([]string{installation, pool}, extra...)...)
	}
	p := &Pool{
		queued:        g(m.queued),
		oldestWait:    g(m.oldestWait),
		maxWait:       g(m.maxWait),
		unschedulable: g(m.unschedulable),
		idle:          g(m.agents, "idle"),
		busy:          g(m.agents, "busy"),
		draining:      g(m.agents, "draining"),
		booting:       g(m.agents, "booting"),
		desired:       g(m.desired),
		actual:        g(m.actual),
		min:           g(m.minAgents),
		max:           g(m.maxAgents),
	}
	for _, s := range instanceStates {
		p.instances = append(p.instances, g(m.instances, string(s)))
	}
	// The boot-failure counter exists at 0 from the pool's first tick, so that
	// increase() in the alert rules sees the first failure too.
	m.bootFailures.WithLabelValues(installation, pool)
	return p
}

// Set publishes a sample.
func (p *Pool) Set(s PoolSample) {
	p.queued.Set(float64(s.Queued))
	p.oldestWait.Set(s.OldestWaitSeconds)
	p.maxWait.Set(s.MaxWaitSeconds)
	p.unschedulable.Set(float64(s.Unschedulable))
	p.idle.Set(float64(s.Idle))
	p.busy.Set(float64(s.Busy))
	p.draining.Set(float64(s.Draining))
	p.booting.Set(float64(s.Booting))
	for i, st := range instanceStates {
		p.instances[i].Set(float64(s.Instances[st]))
	}
	p.desired.Set(float64(s.Desired))
	p.actual.Set(float64(s.Actual))
	p.min.Set(float64(s.Min))
	p.max.Set(float64(s.Max))
}

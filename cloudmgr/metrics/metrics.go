// Package metrics holds cloudmgr's Prometheus metrics, on a registry of its
// own (no global registry): pool gauges, action and error counters, provider
// call timings, tick durations and installation poll health. The names are
// the contract in the project brief; alert rules and dashboards rely on them.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/agentcloud/agentcloud/providers"
)

// Label names.
const (
	lInstallation = "installation"
	lPool         = "pool"
)

// instanceStates are the values of agentcloud_pool_instances' state label.
var instanceStates = []providers.State{
	providers.StatePending, providers.StateRunning, providers.StateSuspending,
	providers.StateSuspended, providers.StateResuming, providers.StateDestroying,
}

// Metrics is every metric cloudmgr exports, registered on Registry.
type Metrics struct {
	// Registry holds them all, plus the Go and process collectors.
	Registry *prometheus.Registry

	queued, oldestWait, maxWait, unschedulable *prometheus.GaugeVec
	agents, instances                          *prometheus.GaugeVec
	desired, actual, minAgents, maxAgents      *prometheus.GaugeVec
	actions, actionErrors, bootFailures        *prometheus.CounterVec
	providerDuration                           *prometheus.HistogramVec
	providerErrors                             *prometheus.CounterVec
	tickDuration                               prometheus.Histogram
	installationUp, lastPollSuccess            *prometheus.GaugeVec
	pollErrors                                 *prometheus.CounterVec
	events                                     eventMetrics
}

// New creates the metrics on a fresh registry.
func New() *Metrics {
	pool := []string{lInstallation, lPool}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append(append([]string{}, pool...), labels...))
	}
	m := &Metrics{
		Registry:      prometheus.NewRegistry(),
		queued:        gauge("agentcloud_pool_queued", "Compositions waiting for an agent of the pool."),
		oldestWait:    gauge("agentcloud_pool_oldest_wait_seconds", "How long the oldest queued composition of the pool has waited."),
		maxWait:       gauge("agentcloud_pool_max_wait_seconds", "The policy's max_wait (0: off)."),
		unschedulable: gauge("agentcloud_pool_unschedulable", "Queued compositions no agent of the pool could take as its facts stand."),
		agents:        gauge("agentcloud_pool_agents", "Agents of the pool by state (booting: our instances not yet registered).", "state"),
		instances:     gauge("agentcloud_pool_instances", "Our instances of the pool by provider state.", "state"),
		desired:       gauge("agentcloud_pool_desired_agents", "The capacity the policy wants (clamped)."),
		actual:        gauge("agentcloud_pool_actual_agents", "The pool's capacity: booting plus registered agents not draining."),
		minAgents:     gauge("agentcloud_pool_min_agents", "The effective (schedule-aware) minimum."),
		maxAgents:     gauge("agentcloud_pool_max_agents", "The policy's max_agents."),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_actions_total", Help: "Actions executed, by kind and reason code.",
		}, append(append([]string{}, pool...), "kind", "reason")),
		actionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_action_errors_total", Help: "Actions that failed, by kind and error kind.",
		}, append(append([]string{}, pool...), "kind", "error_kind")),
		bootFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_boot_failures_total", Help: "Machines destroyed because their agent never registered within boot_timeout.",
		}, pool),
		providerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agentcloud_provider_call_duration_seconds", Help: "Duration of provider calls.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"provider", "op"}),
		providerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_provider_errors_total", Help: "Provider calls that failed, by error kind.",
		}, []string{"provider", "op", "kind"}),
		tickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agentcloud_tick_duration_seconds", Help: "Duration of one scaling tick (all pools).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		installationUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentcloud_installation_up", Help: "1 if the last poll of the installation's master succeeded.",
		}, []string{lInstallation}),
		lastPollSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentcloud_installation_last_poll_success_timestamp_seconds", Help: "Unix time of the last successful poll of the installation's master.",
		}, []string{lInstallation}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_installation_poll_errors_total", Help: "Failed polls of the installation's master.",
		}, []string{lInstallation}),
		events: newEventMetrics(),
	}
	m.Registry.MustRegister(m.events.collectors()...)
	m.Registry.MustRegister(
		m.queued, m.oldestWait, m.maxWait, m.unschedulable, m.agents, m.instances,
		m.desired, m.actual, m.minAgents, m.maxAgents, m.actions, m.actionErrors, m.bootFailures,
		m.providerDuration, m.providerErrors, m.tickDuration,
		m.installationUp, m.lastPollSuccess, m.pollErrors,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveTick records one tick's duration.
func (m *Metrics) ObserveTick(d time.Duration) {
	m.tickDuration.Observe(d.Seconds())
}

// ObservePoll records one poll of an installation's master (a watch.Observer).
func (m *Metrics) ObservePoll(installation string, at time.Time, err error) {
	if err != nil {
		m.installationUp.WithLabelValues(installation).Set(0)
		m.pollErrors.WithLabelValues(installation).Inc()
		return
	}
	m.installationUp.WithLabelValues(installation).Set(1)
	m.lastPollSuccess.WithLabelValues(installation).Set(float64(at.UnixNano()) / 1e9)
	m.pollErrors.WithLabelValues(installation) // the series exists from the first poll
}

// Action counts one executed action.
func (m *Metrics) Action(installation, pool, kind, reason string) {
	m.actions.WithLabelValues(installation, pool, kind, reason).Inc()
}

// ActionError counts one failed action.
func (m *Metrics) ActionError(installation, pool, kind, errorKind string) {
	m.actionErrors.WithLabelValues(installation, pool, kind, errorKind).Inc()
}

// BootFailure counts one machine destroyed for boot_timeout.
func (m *Metrics) BootFailure(installation, pool string) {
	m.bootFailures.WithLabelValues(installation, pool).Inc()
}

// DeletePool removes every series of a pool that left the policies.
func (m *Metrics) DeletePool(installation, pool string) {
	l := prometheus.Labels{lInstallation: installation, lPool: pool}
	for _, v := range []*prometheus.GaugeVec{m.queued, m.oldestWait, m.maxWait, m.unschedulable, m.agents, m.instances, m.desired, m.actual, m.minAgents, m.maxAgents} {
		v.DeletePartialMatch(l)
	}
	for _, v := range []*prometheus.CounterVec{m.actions, m.actionErrors, m.bootFailures} {
		v.DeletePartialMatch(l)
	}
}

// DeleteInstallation removes the poll series of an installation no longer watched.
func (m *Metrics) DeleteInstallation(installation string) {
	l := prometheus.Labels{lInstallation: installation}
	m.installationUp.DeletePartialMatch(l)
	m.lastPollSuccess.DeletePartialMatch(l)
	m.pollErrors.DeletePartialMatch(l)
	m.events.received.DeletePartialMatch(l)
	m.events.connected.DeletePartialMatch(l)
}

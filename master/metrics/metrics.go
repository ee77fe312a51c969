// Package metrics holds the master's Prometheus metrics. Every master has its
// own registry (never the global one), served on GET /metrics.
//
//	agentcloud_master_compositions{state}              gauge: compositions per state (read from the store at scrape)
//	agentcloud_master_agents{pool,state}               gauge: registered agents, state idle|busy|draining
//	agentcloud_master_dispatches_total                 counter: assignments sent to agents
//	agentcloud_master_redispatches_total{reason}       counter: compositions put back in the queue,
//	                                                   reason accept_timeout|agent_lost|interrupted
//	agentcloud_master_submit_to_start_seconds          histogram: submission to first acceptance
//	agentcloud_master_messages_dropped_total{reason}   counter: agent messages dropped
//	                                                   (malformed|unknown_agent|bad_token)
//	agentcloud_master_purged_compositions_total        counter: finished compositions deleted by the retention
package metrics

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/agentcloud/agentcloud/master/api"
)

// Source answers the gauges that are read at scrape time.
type Source interface {
	// CompositionCounts counts compositions per state.
	CompositionCounts(ctx context.Context) (map[api.CompositionState]int, error)
	// AgentCounts counts registered agents per pool and state (idle, busy, draining).
	AgentCounts() map[AgentKey]int
}

// AgentKey labels an agent count.
type AgentKey struct {
	Pool  string
	State string
}

// Metrics are the master's counters and histograms.
type Metrics struct {
	Dispatches      prometheus.Counter
	Redispatches    *prometheus.CounterVec
	SubmitToStart   prometheus.Histogram
	MessagesDropped *prometheus.CounterVec
	Purged          prometheus.Counter
}

// Redispatch reasons.
const (
	ReasonAcceptTimeout = "accept_timeout"
	ReasonAgentLost     = "agent_lost"
	ReasonInterrupted   = "interrupted"
)

// New makes the metrics; nothing is registered yet.
func New() *Metrics {
	return &Metrics{
		Dispatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentcloud_master_dispatches_total",
			Help: "Assignments sent to agents (every attempt of every composition).",
		}),
		Redispatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_master_redispatches_total",
			Help: "Compositions put back in the queue after an attempt did not finish, by reason.",
		}, []string{"reason"}),
		SubmitToStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agentcloud_master_submit_to_start_seconds",
			Help:    "Time from submission to the first acceptance by an agent.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 14), // 5ms .. ~7h
		}),
		MessagesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_master_messages_dropped_total",
			Help: "Messages from agents that were dropped, by reason.",
		}, []string{"reason"}),
		Purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentcloud_master_purged_compositions_total",
			Help: "Finished compositions deleted, with their output, past the retention period (-retain).",
		}),
	}
}

// Registry makes a registry holding m, the gauges read from src, and the Go
// and process collectors.
func (m *Metrics) Registry(src Source) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		m.Dispatches, m.Redispatches, m.SubmitToStart, m.MessagesDropped, m.Purged,
		&sourceCollector{src: src},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return reg, nil
}

var (
	compositionsDesc = prometheus.NewDesc("agentcloud_master_compositions",
		"Compositions per state.", []string{"state"}, nil)
	agentsDesc = prometheus.NewDesc("agentcloud_master_agents",
		"Registered agents per pool and state (idle, busy, draining).", []string{"pool", "state"}, nil)
	scrapeErrorDesc = prometheus.NewDesc("agentcloud_master_store_scrape_error",
		"1 if reading composition counts from the store failed during this scrape.", nil, nil)
)

// sourceCollector reads the gauges from a Source at scrape time.
type sourceCollector struct{ src Source }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- compositionsDesc
	ch <- agentsDesc
	ch <- scrapeErrorDesc
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.src.CompositionCounts(context.Background())
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, failed)
	for _, st := range api.CompositionStates {
		if err == nil {
			ch <- prometheus.MustNewConstMetric(compositionsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	for k, n := range c.src.AgentCounts() {
		ch <- prometheus.MustNewConstMetric(agentsDesc, prometheus.GaugeValue, float64(n), k.Pool, k.State)
	}
}

package metrics

import "github.com/prometheus/client_golang/prometheus"

// eventMetrics count the masters' pool-change events cloudmgr receives.
type eventMetrics struct {
	received  *prometheus.CounterVec
	connected *prometheus.GaugeVec
}

func newEventMetrics() eventMetrics {
	return eventMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentcloud_events_received_total", Help: "Pool-change events received from the installation's broker.",
		}, []string{lInstallation}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentcloud_events_connected", Help: "1 while cloudmgr is subscribed to the installation's pool-change events.",
		}, []string{lInstallation}),
	}
}

// collectors lists the event metrics for registration.
func (e eventMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{e.received, e.connected}
}

// EventReceived counts one pool-change event of the installation.
func (m *Metrics) EventReceived(installation string) {
	m.events.received.WithLabelValues(installation).Inc()
}

// EventsConnected records whether the installation's event subscription is
// connected now; it also makes the received counter's series exist.
func (m *Metrics) EventsConnected(installation string, connected bool) {
	v := 0.0
	if connected {
		v = 1
	}
	m.events.connected.WithLabelValues(installation).Set(v)
	m.events.received.WithLabelValues(installation)
}

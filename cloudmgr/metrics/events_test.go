package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestEventMetrics(t *testing.T) {
	m := New()
	m.EventsConnected("demo", true)
	m.EventsConnected("down", true)
	m.EventsConnected("down", false)
	m.EventReceived("demo")
	m.EventReceived("demo")
	for name, c := range map[string]struct{ got, want float64 }{
		"received demo":  {testutil.ToFloat64(m.events.received.WithLabelValues("demo")), 2},
		"received down":  {testutil.ToFloat64(m.events.received.WithLabelValues("down")), 0},
		"connected demo": {testutil.ToFloat64(m.events.connected.WithLabelValues("demo")), 1},
		"connected down": {testutil.ToFloat64(m.events.connected.WithLabelValues("down")), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	m.DeleteInstallation("demo")
	for _, name := range []string{"agentcloud_events_received_total", "agentcloud_events_connected"} {
		if n, err := testutil.GatherAndCount(m.Registry, name); err != nil || n != 1 {
			t.Errorf("%s series after deleting demo = %d (%v), want 1 (down stays)", name, n, err)
		}
	}
}

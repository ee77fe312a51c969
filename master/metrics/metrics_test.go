package metrics

import (
	"context"
	"errors"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/agentcloud/agentcloud/master/api"
)

type fakeSource struct {
	counts map[api.CompositionState]int
	err    error
	agents map[AgentKey]int
}

func (f *fakeSource) CompositionCounts(context.Context) (map[api.CompositionState]int, error) {
	return f.counts, f.err
}
func (f *fakeSource) AgentCounts() map[AgentKey]int { return f.agents }

func gather(t *testing.T, m *Metrics, src Source) map[string][]*dto.Metric {
	t.Helper()
	reg, err := m.Registry(src)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*dto.Metric{}
	for _, f := range fams {
		out[f.GetName()] = f.GetMetric()
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestGaugesReadFromSource(t *testing.T) {
	m := New()
	m.Dispatches.Add(3)
	m.Redispatches.WithLabelValues(ReasonAgentLost).Inc()
	m.SubmitToStart.Observe(0.2)
	src := &fakeSource{
		counts: map[api.CompositionState]int{api.CompQueued: 4, api.CompSucceeded: 9, api.CompCancelled: 2},
		agents: map[AgentKey]int{{"linux", "idle"}: 2, {"linux", "draining"}: 1},
	}
	got := gather(t, m, src)
	comp := map[string]float64{}
	for _, x := range got["agentcloud_master_compositions"] {
		comp[label(x, "state")] = x.GetGauge().GetValue()
	}
	if comp["queued"] != 4 || comp["succeeded"] != 9 || comp["cancelled"] != 2 || comp["running"] != 0 || len(comp) != 6 {
		t.Errorf("compositions gauge = %v", comp)
	}
	agents := map[string]float64{}
	for _, x := range got["agentcloud_master_agents"] {
		agents[label(x, "pool")+"/"+label(x, "state")] = x.GetGauge().GetValue()
	}
	if agents["linux/idle"] != 2 || agents["linux/draining"] != 1 {
		t.Errorf("agents gauge = %v", agents)
	}
	if v := got["agentcloud_master_dispatches_total"][0].GetCounter().GetValue(); v != 3 {
		t.Errorf("dispatches = %v, want 3", v)
	}
	if n := got["agentcloud_master_submit_to_start_seconds"][0].GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("latency samples = %d, want 1", n)
	}
	if v := got["agentcloud_master_store_scrape_error"][0].GetGauge().GetValue(); v != 0 {
		t.Errorf("scrape error = %v, want 0", v)
	}
}

func TestStoreErrorIsVisible(t *testing.T) {
	got := gather(t, New(), &fakeSource{err: errors.New("disk gone")})
	if v := got["agentcloud_master_store_scrape_error"][0].GetGauge().GetValue(); v != 1 {
		t.Errorf("scrape error = %v, want 1", v)
	}
	if len(got["agentcloud_master_compositions"]) != 0 {
		t.Error("composition counts reported although the store failed")
	}
}

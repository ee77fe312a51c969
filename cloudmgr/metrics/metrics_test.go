package metrics

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agentcloud/agentcloud/providers"
)

// The exact names of the brief's contract.
var contract = []string{
	"agentcloud_pool_queued", "agentcloud_pool_oldest_wait_seconds", "agentcloud_pool_max_wait_seconds",
	"agentcloud_pool_unschedulable", "agentcloud_pool_agents", "agentcloud_pool_instances",
	"agentcloud_pool_desired_agents", "agentcloud_pool_actual_agents", "agentcloud_pool_min_agents",
	"agentcloud_pool_max_agents", "agentcloud_actions_total", "agentcloud_action_errors_total",
	"agentcloud_boot_failures_total", "agentcloud_provider_call_duration_seconds",
	"agentcloud_provider_errors_total", "agentcloud_tick_duration_seconds", "agentcloud_installation_up",
	"agentcloud_installation_last_poll_success_timestamp_seconds", "agentcloud_installation_poll_errors_total",
}

// stub is a provider whose calls fail with err.
type stub struct{ err error }

func (s stub) Name() string                         { return "p1" }
func (s stub) Capabilities() providers.Capabilities { return providers.Capabilities{} }
func (s stub) List(context.Context, string) ([]providers.Instance, error) {
	return nil, s.err
}
func (s stub) Create(context.Context, []providers.CreateRequest) ([]providers.Instance, error) {
	return nil, s.err
}
func (s stub) Suspend(context.Context, providers.SuspendMode, []string) ([]string, error) {
	return nil, s.err
}
func (s stub) Resume(context.Context, []string) ([]string, error)  { return nil, s.err }
func (s stub) Destroy(context.Context, []string) ([]string, error) { return nil, s.err }

func fill(m *Metrics) {
	m.Pool("demo", "linux").Set(PoolSample{
		Queued: 4, OldestWaitSeconds: 12.5, MaxWaitSeconds: 60, Unschedulable: 1,
		Idle: 1, Busy: 2, Draining: 3, Booting: 4,
		Instances: map[providers.State]int{providers.StateRunning: 6, providers.StateSuspended: 2},
		Desired:   8, Actual: 7, Min: 1, Max: 10,
	})
	m.Action("demo", "linux", "create", "backlog")
	m.ActionError("demo", "linux", "create", "capacity")
	m.BootFailure("demo", "linux")
	m.ObserveTick(20 * time.Millisecond)
	m.ObservePoll("demo", time.Unix(1700000000, 0), nil)
	m.ObservePoll("down", time.Unix(1700000000, 0), errors.New("refused"))
	p := m.Instrument(stub{})
	p.List(context.Background(), "o")
	stub2 := m.Instrument(stub{err: errors.Join(providers.NewError(providers.KindCapacity, "create", "x", nil), errors.New("plain"))})
	stub2.Create(context.Background(), nil)
	m.Instrument(stub{err: errors.New("plain")}).Destroy(context.Background(), nil)
}

func TestNamesAreTheContract(t *testing.T) {
	m := New()
	fill(m)
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "agentcloud_") {
			got = append(got, mf.GetName())
		}
	}
	want := slices.Clone(contract)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("metric names\n got %v\nwant %v", got, want)
	}
	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestValues(t *testing.T) {
	m := New()
	fill(m)
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"queued", testutil.ToFloat64(m.queued.WithLabelValues("demo", "linux")), 4},
		{"oldest wait", testutil.ToFloat64(m.oldestWait.WithLabelValues("demo", "linux")), 12.5},
		{"draining agents", testutil.ToFloat64(m.agents.WithLabelValues("demo", "linux", "draining")), 3},
		{"running instances", testutil.ToFloat64(m.instances.WithLabelValues("demo", "linux", "running")), 6},
		{"pending instances", testutil.ToFloat64(m.instances.WithLabelValues("demo", "linux", "pending")), 0},
		{"desired", testutil.ToFloat64(m.desired.WithLabelValues("demo", "linux")), 8},
		{"actual", testutil.ToFloat64(m.actual.WithLabelValues("demo", "linux")), 7},
		{"actions", testutil.ToFloat64(m.actions.WithLabelValues("demo", "linux", "create", "backlog")), 1},
		{"boot failures", testutil.ToFloat64(m.bootFailures.WithLabelValues("demo", "linux")), 1},
		{"up", testutil.ToFloat64(m.installationUp.WithLabelValues("demo")), 1},
		{"down", testutil.ToFloat64(m.installationUp.WithLabelValues("down")), 0},
		{"last success", testutil.ToFloat64(m.lastPollSuccess.WithLabelValues("demo")), 1700000000},
		{"poll errors", testutil.ToFloat64(m.pollErrors.WithLabelValues("down")), 1},
		{"provider errors capacity", testutil.ToFloat64(m.providerErrors.WithLabelValues("p1", "create", "capacity")), 1},
		{"provider errors unknown", testutil.ToFloat64(m.providerErrors.WithLabelValues("p1", "destroy", "unknown")), 1},
		{"provider list errors", float64(testutil.CollectAndCount(m.providerErrors)), 2},
		{"provider durations", float64(testutil.CollectAndCount(m.providerDuration)), 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDeletePool(t *testing.T) {
	m := New()
	fill(m)
	m.Pool("demo", "win").Set(PoolSample{Queued: 1})
	m.DeletePool("demo", "linux")
	for name, n := range map[string]int{
		"agentcloud_pool_queued":         1, // win stays
		"agentcloud_pool_agents":         4,
		"agentcloud_pool_instances":      6,
		"agentcloud_actions_total":       0,
		"agentcloud_boot_failures_total": 1, // win stays, at 0
	} {
		if got, err := testutil.GatherAndCount(m.Registry, name); err != nil || got != n {
			t.Errorf("%s series = %d (%v), want %d", name, got, err, n)
		}
	}
	m.DeleteInstallation("demo")
	if got, _ := testutil.GatherAndCount(m.Registry, "agentcloud_installation_up"); got != 1 {
		t.Errorf("installation_up series = %d, want 1 (down stays)", got)
	}
}

// A pool's boot-failure counter is exported at 0 before any failure, or the
// alert's increase() would never count the first one.
func TestBootFailuresExistAtZero(t *testing.T) {
	m := New()
	m.Pool("demo", "linux")
	if n := testutil.CollectAndCount(m.bootFailures, "agentcloud_boot_failures_total"); n != 1 {
		t.Fatalf("%d boot-failure series after the pool's first sample, want 1 (at 0)", n)
	}
	if v := testutil.ToFloat64(m.bootFailures.WithLabelValues("demo", "linux")); v != 0 {
		t.Errorf("boot failures = %v, want 0", v)
	}
}

package scaler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/metrics"
	"github.com/agentcloud/agentcloud/cloudmgr/watch"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

// t0 is the tests' start time.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// master is an httptest master serving the §4.5 pool-status API and the
// drain endpoint.
type master struct {
	srv *httptest.Server

	mu     sync.Mutex
	pools  []api.PoolStatus
	down   bool
	drains []string
	// busyOnDrain lists agents the drain answers as not idle yet.
	busyOnDrain map[string]bool
}

func newMaster(t *testing.T) *master {
	t.Helper()
	m := &master{busyOnDrain: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathPools, func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer master-token" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: "bad token"})
			return
		}
		if m.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: "down"})
			return
		}
		json.NewEncoder(w).Encode(api.PoolsResponse{GeneratedAt: t0, Pools: m.pools})
	})
	mux.HandleFunc("POST /api/v1/agents/{id}/drain", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		id := r.PathValue("id")
		m.drains = append(m.drains, id)
		json.NewEncoder(w).Encode(api.DrainResponse{Agent: id, Draining: true, Idle: !m.busyOnDrain[id]})
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

func (m *master) set(pools ...api.PoolStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pools = pools
}

func (m *master) setDown(down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = down
}

func (m *master) drained() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.drains...)
}

// drainers routes drains to the installation's master client.
type drainers map[string]*watch.Client

func (d drainers) Drain(ctx context.Context, installation, agentID string) (api.DrainResponse, error) {
	return d[installation].Drain(ctx, agentID)
}

// env is one test's loop with its master, fake provider, clock and metrics.
type env struct {
	t       *testing.T
	clock   *fake.ManualClock
	master  *master
	prov    *fake.Provider
	watcher *watch.Watcher
	metrics *metrics.Metrics
	loop    *Loop
	insts   map[string]Installation
	provs   map[string]providers.Provider
	drainer drainers
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv builds a loop for installation "demo" with a fake provider "fake".
func newEnv(t *testing.T, pols ...*policies.Policy) *env {
	t.Helper()
	e := &env{t: t, clock: fake.NewManualClock(t0), master: newMaster(t)}
	e.prov = fake.New("fake", fake.WithClock(e.clock))
	client := watch.NewClient(e.master.srv.URL, "master-token", nil)
	e.watcher = watch.New([]watch.Target{{Name: "demo", Master: client}}, watch.Options{Timeout: 5 * time.Second, Now: e.clock.Now}, quiet())
	e.drainer = drainers{"demo": client}
	e.insts = map[string]Installation{"demo": {
		Name: "demo", BrokerURL: "stomp://127.0.0.1:61613", Prefix: "demo-prefix", AgentToken: "agent-token",
		AgentEnv: map[string]string{"EXTRA": "value"},
	}}
	e.provs = map[string]providers.Provider{"fake": e.prov}
	e.restart(pols...)
	return e
}

// restart builds a new loop and metrics over the same provider and master,
// as a restarted cloudmgr would.
func (e *env) restart(pols ...*policies.Policy) {
	e.t.Helper()
	e.metrics = metrics.New()
	provs := map[string]providers.Provider{}
	for name, p := range e.provs {
		provs[name] = e.metrics.Instrument(p)
	}
	e.loop = New(Config{Owner: "cm-test", StaleAfter: 45 * time.Second}, Deps{
		Providers:     provs,
		Installations: e.insts,
		Status:        e.watcher,
		Drainer:       e.drainer,
		Metrics:       e.metrics,
		Log:           quiet(),
		Now:           e.clock.Now,
		Rand:          func() float64 { return 0.5 },
	})
	e.loop.SetPolicies(policySet(e.t, nil, pols...))
}

// tick polls the master, then runs one tick.
func (e *env) tick() *Report {
	e.t.Helper()
	e.watcher.PollAll(e.t.Context())
	return e.loop.Tick(e.t.Context())
}

// calls returns the recorded calls of op.
func (e *env) calls(op string) []fake.Call {
	var out []fake.Call
	for _, c := range e.prov.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// pool returns the report of one pool.
func pool(t *testing.T, r *Report, installation, name string) PoolReport {
	t.Helper()
	for _, ir := range r.Installations {
		if ir.Name != installation {
			continue
		}
		for _, pr := range ir.Pools {
			if pr.Pool == name {
				return pr
			}
		}
	}
	t.Fatalf("no pool %s/%s in the report", installation, name)
	return PoolReport{}
}

// policy returns a valid pool policy with every field set.
func policy(installation, pool, provider string) *policies.Policy {
	return &policies.Policy{
		Installation: installation, Pool: pool, Provider: provider,
		Image:       "agent:1",
		MinAgents:   0,
		MaxAgents:   10,
		ScaleUpStep: 10,
		IdleTimeout: 10 * time.Minute,
		Suspend:     providers.SuspendStop,
		// MaxSuspended > 0 so drained agents are suspended.
		MaxSuspended: 10,
		SuspendedTTL: 24 * time.Hour,
		BootTimeout:  10 * time.Minute,
		Offerings:    []providers.Offering{{Zone: "z1", MachineType: "small"}},
		Settings:     map[string]string{"cpus": "2"},
		Source:       "test.yaml:1",
	}
}

// policySet validates pols into a set, with installation caps.
func policySet(t *testing.T, caps map[string]int, pols ...*policies.Policy) *policies.Set {
	t.Helper()
	set := &policies.Set{Installations: map[string]*policies.Installation{}, Pools: pols}
	for name, c := range caps {
		set.Installations[name] = &policies.Installation{Name: name, MaxAgents: c}
	}
	known := map[string]providers.Capabilities{
		"fake":  {SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend}},
		"fake2": {SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend}},
	}
	if err := policies.Validate(set, known); err != nil {
		t.Fatalf("invalid test policies: %v", err)
	}
	return set
}

// running seeds a running instance of ours.
func running(name, pool string) providers.Instance {
	return providers.Instance{Name: name, Owner: "cm-test", Installation: "demo", Pool: pool, State: providers.StateRunning}
}

// idleAgent is a registered agent idle since t.
func idleAgent(id string, since time.Time) api.AgentStatus {
	return api.AgentStatus{ID: id, State: api.AgentIdle, IdleSince: since, LastSeen: t0}
}

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/providerset"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

// fixture writes a config and a policy file for one installation served by
// masterURL, with a fake provider "fake".
func fixture(t *testing.T, masterURL, policy string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`id: cm-test
listen: 127.0.0.1:0
poll_interval: 1s
poll_timeout: 500ms
stale_after: 5s
tick_interval: 1s
policies: policies
providers:
  - name: fake
    type: fake
installations:
  - name: demo
    master_url: %s
    agent:
      broker_url: stomp://127.0.0.1:61613
`, masterURL)
	if err := os.WriteFile(filepath.Join(dir, "cloudmgr.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policies", "demo.yaml"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "cloudmgr.yaml")
}

const goodPolicy = `installations:
  - name: demo
    max_agents: 10
pools:
  - installation: demo
    pool: linux
    provider: fake
    image: agent:1
    max_agents: 5
    idle_timeout: 1m
`

// master serves one pool-status answer and fails the test on any drain.
func master(t *testing.T, pools ...api.PoolStatus) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathPools, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.PoolsResponse{Pools: pools})
	})
	mux.HandleFunc("POST /api/v1/agents/{id}/drain", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("dry run drained %s", r.PathValue("id"))
		w.WriteHeader(http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// withFake returns factories whose "fake" type is the given provider.
func withFake(f *fake.Provider) map[string]providerset.Factory {
	fs := providerset.Factories()
	base := fs["fake"]
	fs["fake"] = providerset.Factory{
		Capabilities: base.Capabilities,
		New:          func(context.Context, config.Provider, *slog.Logger) (providers.Provider, error) { return f, nil },
	}
	return fs
}

func TestPlanChangesNothing(t *testing.T) {
	m := master(t, api.PoolStatus{Pool: "linux", Queued: 3, Agents: []api.AgentStatus{
		{ID: "demo-linux-1", State: api.AgentIdle, IdleSince: time.Now().Add(-time.Hour)},
		{ID: "demo-linux-2", State: api.AgentIdle, Draining: true, IdleSince: time.Now().Add(-time.Hour)},
	}})
	path := fixture(t, m.URL, goodPolicy)
	f := fake.New("fake")
	f.Seed(
		providers.Instance{Name: "demo-linux-1", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StateRunning},
		providers.Instance{Name: "demo-linux-2", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StateRunning},
		providers.Instance{Name: "demo-linux-3", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StatePending,
			StartedAt: time.Now().Add(-time.Hour)},
	)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, Options{Factories: withFake(f), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r, err := a.Plan(t.Context(), &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Calls() {
		if c.Op != fake.OpList {
			t.Errorf("plan made a %s call", c.Op)
		}
	}
	if n := f.CallCount(fake.OpList); n != 1 {
		t.Errorf("plan listed %d times, want 1", n)
	}
	if len(r.Installations[0].Pools[0].Actions) == 0 {
		t.Fatalf("nothing planned; output:\n%s", out.String())
	}
	for _, want := range []string{
		"installation demo (master up; cap 10 agents)",
		"pool linux [fake]", "demo.yaml:",
		"queued 3",
		"would suspend demo-linux-2: drain_confirmed",
		"would destroy demo-linux-3: boot_timeout",
		"would create ×2: backlog",
		"nothing was changed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output lacks %q:\n%s", want, out.String())
		}
	}
	// Even if the loop executed, the read-only providers refuse.
	if _, err := a.Providers["fake"].Destroy(t.Context(), []string{"x"}); !providers.IsNotSupported(err) {
		t.Errorf("dry-run provider Destroy err = %v", err)
	}
	if n := len(f.Calls()); n != 1 {
		t.Errorf("calls reached the fake: %d", n)
	}
}

func TestPlanNeedsDryRun(t *testing.T) {
	path := fixture(t, master(t).URL, goodPolicy)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, Options{Factories: withFake(fake.New("fake"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Plan(t.Context(), &bytes.Buffer{}); err == nil {
		t.Error("Plan ran on a live app")
	}
}

func TestValidate(t *testing.T) {
	good := fixture(t, "http://127.0.0.1:1", goodPolicy)
	summary, err := Validate(good, nil)
	if err != nil || summary != "ok: 1 installations, 1 pools, 1 providers" {
		t.Errorf("Validate(good) = %q, %v", summary, err)
	}

	bad := fixture(t, "http://127.0.0.1:1", `installations:
  - name: nowhere
pools:
  - installation: demo
    pool: linux
    provider: fake
    max_agents: 0
  - installation: elsewhere
    pool: linux
    provider: gce
    max_agents: 2
`)
	_, err = Validate(bad, nil)
	if err == nil {
		t.Fatal("Validate(bad) succeeded")
	}
	for _, want := range []string{
		`demo.yaml:2: name: installation "nowhere" is not in`,
		"demo.yaml:7: max_agents: must be at least 1",
		`installation: installation "elsewhere" is not in`,
		`provider: `,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

// A poke polls the master at once and the loop ticks right after.
func TestPokeTriggersATick(t *testing.T) {
	var polls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathPools, func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		json.NewEncoder(w).Encode(api.PoolsResponse{})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	path := fixture(t, srv.URL, goodPolicy)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.NewReplacer("poll_interval: 1s", "poll_interval: 1h", "stale_after: 5s", "stale_after: 2h", "tick_interval: 1s", "tick_interval: 1h").Replace(string(data))
	if err := os.WriteFile(path, []byte(slow), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, Options{Factories: withFake(fake.New("fake"))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitUntil(t, func() bool { return a.Loop.Status().Ticks == 1 })
	if !a.Watcher.Poke("demo") {
		t.Fatal("Poke(demo) = false")
	}
	waitUntil(t, func() bool { return a.Loop.Status().Ticks == 2 })
	if n := polls.Load(); n != 2 {
		t.Errorf("polls = %d, want 2 (the first and the poke; the interval is an hour)", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A pool's provider-specific settings are checked when the policies load, so
// validate reports a bad one with the pool's file:line.
func TestValidateChecksPoolSettings(t *testing.T) {
	path := fixture(t, "http://127.0.0.1:1", `pools:
  - installation: demo
    pool: linux
    provider: fake
    max_agents: 2
    settings: {memory: lots}
`)
	factories := providerset.Factories()
	f := factories["fake"]
	f.CheckPool = func(s map[string]string) error {
		if s["memory"] != "" && s["memory"] != "512m" {
			return fmt.Errorf("settings.memory: bad size %q", s["memory"])
		}
		return nil
	}
	factories["fake"] = f
	_, err := Validate(path, factories)
	if err == nil || !strings.Contains(err.Error(), `demo.yaml:2: settings: settings.memory: bad size "lots"`) {
		t.Fatalf("Validate = %v, want the pool's bad memory setting with file:line", err)
	}
}

package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/app"
	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/providerset"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/client"
	mconfig "github.com/agentcloud/agentcloud/master/config"
	"github.com/agentcloud/agentcloud/master/server"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

// Reaction benchmark settings: cloudmgr polls every benchPoll and ticks every
// benchTick; each trial's submit time is drawn uniformly over benchWindow, so
// trials see every phase of the poll and tick cycles.
const (
	benchTrials = 60
	benchPoll   = 5 * time.Second
	benchTick   = time.Second
	benchWindow = 3 * benchPoll
)

// BenchmarkReaction measures the time from submitting a composition to an
// empty pool until cloudmgr's first provider call for it (the create), with
// polling only and with pool events, against a real master (HTTP API,
// embedded broker) and a real cloudmgr app with a fake provider. Each of
// benchTrials trials uses its own pool; their submits are spread at random
// over benchWindow. It reports the median and the 99th percentile in ms.
//
//	go test -run '^$' -bench Reaction ./cloudmgr/events/
func BenchmarkReaction(b *testing.B) {
	for _, mode := range []struct {
		name   string
		events bool
	}{{"poll-5s", false}, {"events", true}} {
		b.Run(mode.name, func(b *testing.B) {
			var all []time.Duration
			for b.Loop() {
				all = append(all, reactionTrials(b, mode.events)...)
			}
			slices.Sort(all)
			b.ReportMetric(ms(percentile(all, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(all, 0.99)), "p99-ms")
			b.ReportMetric(ms(all[len(all)-1]), "max-ms")
			b.ReportMetric(float64(len(all)), "trials")
		})
	}
}

// reactionTrials runs benchTrials trials against a fresh master and cloudmgr.
func reactionTrials(b *testing.B, events bool) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	m, err := server.Start(ctx, mconfig.Serve{
		Listen: "127.0.0.1:0", BrokerListen: "127.0.0.1:0", DataDir: filepath.Join(dir, "master"),
		Prefix: "bench", Tokens: []string{"bench-token"}, LogLevel: slog.LevelError,
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()

	var pools strings.Builder
	for i := range benchTrials {
		fmt.Fprintf(&pools, "  - {installation: bench, pool: p%d, provider: fake, max_agents: 5, boot_timeout: 1h}\n", i)
	}
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policies", "bench.yaml"), []byte("pools:\n"+pools.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "cloudmgr.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`id: cm-bench
listen: 127.0.0.1:0
poll_interval: %s
poll_timeout: 2s
stale_after: 1m
tick_interval: %s
policies: ./policies
providers: [{name: fake, type: fake}]
installations:
  - name: bench
    master_url: http://%s
    token_env: BENCH_MASTER_TOKEN
    events: %t
    agent: {broker_url: "%s", prefix: bench}
`, benchPoll, benchTick, m.Addr(), events, m.BrokerURL())), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("BENCH_MASTER_TOKEN", "bench-token")
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec := &createClock{first: map[string]time.Time{}, seen: make(chan struct{}, benchTrials)}
	factories := providerset.Factories()
	factories["fake"] = providerset.Factory{
		Capabilities: factories["fake"].Capabilities,
		New: func(context.Context, config.Provider, *slog.Logger) (providers.Provider, error) {
			return &recordingProvider{Provider: fake.New("fake"), rec: rec}, nil
		},
	}
	a, err := app.New(b.Context(), cfg, app.Options{Factories: factories})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitReady(b, a, events)

	mc, err := client.New("http://"+m.Addr(), "bench-token")
	if err != nil {
		b.Fatal(err)
	}
	submitted := make([]time.Time, benchTrials)
	var wg sync.WaitGroup
	for i := range benchTrials {
		wg.Go(func() {
			time.Sleep(rand.N(benchWindow))
			submitted[i] = time.Now()
			if _, err := mc.Submit(ctx, api.CompositionRequest{Pool: fmt.Sprintf("p%d", i),
				Tasks: []api.Task{{Plugin: "shell", Fields: map[string]any{"command": "true"}}}}); err != nil {
				b.Errorf("submitting to p%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	deadline := time.After(benchPoll + benchTick + time.Minute)
	for range benchTrials {
		select {
		case <-rec.seen:
		case <-deadline:
			b.Fatalf("only %d of %d pools got a create", len(rec.times()), benchTrials)
		}
	}
	first := rec.times()
	out := make([]time.Duration, 0, benchTrials)
	for i := range benchTrials {
		out = append(out, first[fmt.Sprintf("p%d", i)].Sub(submitted[i]))
	}
	return out
}

// waitReady waits for the first tick and, with events, for the subscription.
func waitReady(b *testing.B, a *app.App, events bool) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ready := a.Loop.Status().Ticks > 0
		if events {
			ready = ready && gauge(b, a, "agentcloud_events_connected") == 1
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("cloudmgr not ready within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gauge reads a one-series gauge from the app's registry (0 when absent).
func gauge(b *testing.B, a *app.App, name string) float64 {
	mfs, err := a.Metrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// createClock records when each pool's first create request arrived.
type createClock struct {
	mu    sync.Mutex
	first map[string]time.Time
	seen  chan struct{}
}

func (c *createClock) record(reqs []providers.CreateRequest) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range reqs {
		if _, ok := c.first[r.Pool]; !ok {
			c.first[r.Pool] = now
			c.seen <- struct{}{}
		}
	}
}

func (c *createClock) times() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Time, len(c.first))
	for k, v := range c.first {
		out[k] = v
	}
	return out
}

// recordingProvider is the fake provider, timing the create calls.
type recordingProvider struct {
	*fake.Provider
	rec *createClock
}

func (p *recordingProvider) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	p.rec.record(reqs)
	return p.Provider.Create(ctx, reqs)
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

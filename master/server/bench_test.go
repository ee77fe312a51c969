package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/client"
	"github.com/agentcloud/agentcloud/master/store"
)

const benchAgents = 200

// benchMaster starts a master on the embedded broker with n quiet scripted
// agents (each on its own broker connection) and waits until all registered.
func benchMaster(b *testing.B, n int) *Master {
	b.Helper()
	cfg := config0(b.TempDir())
	m, err := Start(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	for i := range n {
		startAgent(b, m.BrokerURL(), cfg.Prefix, fmt.Sprintf("bench-%03d", i), "bench", "", true)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pools := m.dispatcher.Pools(context.Background())
		if len(pools.Pools) == 1 && len(pools.Pools[0].Agents) == n {
			return m
		}
		if time.Now().After(deadline) {
			b.Fatalf("agents did not all register: %+v", pools)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func benchRequest() api.CompositionRequest {
	return api.CompositionRequest{Pool: "bench", Tasks: []api.Task{{Plugin: "shell", Fields: map[string]any{"command": "true"}}}}
}

// waitSucceeded polls the store until n compositions succeeded.
func waitSucceeded(b *testing.B, m *Master, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		counts, err := m.store.CountByState(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if counts[api.CompSucceeded] >= n {
			return
		}
		if counts[api.CompFailed] > 0 || time.Now().After(deadline) {
			b.Fatalf("compositions did not all succeed: %v", counts)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reportLatency reports the median and p99 of submit-to-start over the stored compositions.
func reportLatency(b *testing.B, m *Master, n int) {
	b.Helper()
	cs, err := m.store.List(context.Background(), store.Filter{Limit: n})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]float64, 0, len(cs))
	for _, c := range cs {
		lat = append(lat, c.StartedAt.Sub(c.SubmittedAt).Seconds()*1000)
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[min(len(lat)-1, len(lat)*99/100)], "p99-ms")
}

// BenchmarkDispatchThroughput submits b.N compositions at once to a master
// with 200 agents on the real embedded broker and measures how fast they are
// dispatched, accepted and finished (assign, accepted and done each cross the broker).
func BenchmarkDispatchThroughput(b *testing.B) {
	m := benchMaster(b, benchAgents)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := m.dispatcher.Submit(ctx, benchRequest()); err != nil {
			b.Fatal(err)
		}
	}
	waitSucceeded(b, m, b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "compositions/s")
	reportLatency(b, m, b.N)
}

// BenchmarkSubmitToStart submits compositions one at a time over HTTP to a
// master with 200 idle agents and waits for each to start: the latency from
// submission to the agent's accepted, unloaded.
func BenchmarkSubmitToStart(b *testing.B) {
	m := benchMaster(b, benchAgents)
	ctx := context.Background()
	c, err := client.New("http://"+m.Addr(), "")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		comp, err := c.Submit(ctx, benchRequest())
		if err != nil {
			b.Fatal(err)
		}
		for {
			got, err := m.store.Get(ctx, comp.ID)
			if err != nil {
				b.Fatal(err)
			}
			if !got.StartedAt.IsZero() {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	b.StopTimer()
	reportLatency(b, m, b.N)
}

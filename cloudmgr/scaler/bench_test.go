package scaler

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/metrics"
	"github.com/agentcloud/agentcloud/cloudmgr/watch"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

// staticSource is an in-process StatusSource: fixed snapshots, no HTTP.
type staticSource map[string]watch.Snapshot

func (s staticSource) Snapshot(installation string) (watch.Snapshot, bool) {
	snap, ok := s[installation]
	return snap, ok
}

// BenchmarkTick runs full ticks over 1,000 installations × 10 pools with
// 50,000 instances on 2 fake providers and the real Decide. Every pool is in
// a steady state (want == capacity: 1 queued + 4 busy, 5 running), so each
// tick lists, groups, decides, publishes metrics and builds the report for
// all 10,000 pools, and executes nothing.
func BenchmarkTick(b *testing.B) {
	const (
		installations = 1000
		poolsPer      = 10
		perPool       = 5
	)
	clock := fake.NewManualClock(t0)
	provs := []*fake.Provider{fake.New("p0", fake.WithClock(clock)), fake.New("p1", fake.WithClock(clock))}
	set := &policies.Set{Installations: map[string]*policies.Installation{}}
	src := staticSource{}
	insts := map[string]Installation{}
	var seeds [2][]providers.Instance
	for i := range installations {
		inst := fmt.Sprintf("inst%04d", i)
		insts[inst] = Installation{Name: inst, BrokerURL: "stomp://127.0.0.1:61613", Prefix: inst}
		if i%4 == 0 {
			set.Installations[inst] = &policies.Installation{Name: inst, MaxAgents: poolsPer * perPool * 2}
		}
		snap := watch.Snapshot{Installation: inst, FetchedAt: t0, AttemptedAt: t0, Pools: map[string]*api.PoolStatus{}}
		for j := range poolsPer {
			pool := fmt.Sprintf("pool%d", j)
			prov := j % 2
			p := policy(inst, pool, fmt.Sprintf("p%d", prov))
			set.Pools = append(set.Pools, p)
			st := &api.PoolStatus{Pool: pool, Queued: 1, OldestWaitSeconds: 3}
			for k := range perPool {
				name := fmt.Sprintf("%s-%s-%d", inst, pool, k+1)
				seeds[prov] = append(seeds[prov], providers.Instance{
					Name: name, Owner: "cm-bench", Installation: inst, Pool: pool, State: providers.StateRunning,
				})
				a := api.AgentStatus{ID: name, State: api.AgentBusy, LastSeen: t0}
				if k == perPool-1 {
					a = api.AgentStatus{ID: name, State: api.AgentIdle, IdleSince: t0.Add(-time.Minute), LastSeen: t0}
				}
				st.Agents = append(st.Agents, a)
			}
			snap.Pools[pool] = st
		}
		src[inst] = snap
	}
	known := map[string]providers.Capabilities{}
	provMap := map[string]providers.Provider{}
	m := metrics.New()
	for i, p := range provs {
		p.Seed(seeds[i]...)
		known[p.Name()] = p.Capabilities()
		provMap[p.Name()] = m.Instrument(p)
	}
	if err := policies.Validate(set, known); err != nil {
		b.Fatal(err)
	}
	loop := New(Config{Owner: "cm-bench", StaleAfter: time.Minute}, Deps{
		Providers: provMap, Installations: insts, Status: src, Metrics: m, Log: quiet(), Now: clock.Now,
	})
	loop.SetPolicies(set)

	r := loop.Tick(b.Context()) // warm up: metric series, pool state
	actions := 0
	for _, in := range r.Installations {
		for _, p := range in.Pools {
			actions += len(p.Actions)
		}
	}
	if actions != 0 || len(r.Installations) != installations {
		b.Fatalf("warm-up tick: %d installations, %d actions; want a steady state", len(r.Installations), actions)
	}
	for _, p := range provs {
		p.ResetCalls()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		loop.Tick(b.Context())
	}
	b.StopTimer()
	lists := 0
	for _, p := range provs {
		lists += p.CallCount(fake.OpList)
	}
	b.ReportMetric(float64(lists)/float64(b.N), "lists/tick")
}

package amqstats

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

func newTestSource(t *testing.T, now *time.Time) *Source {
	t.Helper()
	s, err := New(Config{URL: "stomp://127.0.0.1:61613", QueueTemplate: "/queue/jobs.{pool}", Now: func() time.Time { return *now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func queueStats(name string, size, inflight int64, first time.Time) map[string]any {
	m := map[string]any{"destinationName": "queue://" + name, "size": size, "inflightCount": inflight, "consumerCount": int64(0)}
	if !first.IsZero() {
		m["firstMessageTimestamp"] = first.UnixMilli()
	}
	return m
}

func subStats(dest, client string, dispatched int64) map[string]any {
	return map[string]any{"destinationName": dest, "clientId": client, "connectionId": "ID:conn-" + client, "dispatchedQueueSize": dispatched}
}

func TestBuildPools(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	s := newTestSource(t, &now)
	st := stats{
		queues: []map[string]any{
			queueStats("jobs.linux", 5, 2, t0.Add(-90*time.Second)), // 2 in flight, 3 waiting
			queueStats("jobs.win", 0, 0, time.Time{}),
			queueStats("other.linux", 7, 0, t0.Add(-time.Hour)), // not a pool queue
		},
		subs: []map[string]any{
			subStats("jobs.linux", "a1", 1),
			subStats("jobs.linux", "a2", 1),
			subStats("jobs.linux", "a3", 0),
			subStats("jobs.win", "", 0),      // no client id: its connection id
			subStats("jobs.mac", "m1", 0),    // a topic of a pool's name: no such queue
			subStats("other.linux", "x1", 1), // not a pool queue
		},
	}
	pools := s.build(st, now)
	if len(pools) != 2 {
		t.Fatalf("pools = %v, want linux and win", pools)
	}
	linux := pools["linux"]
	if linux.Queued != 3 || linux.OldestWaitSeconds != 90 || !linux.OldestQueuedAt.Equal(t0.Add(-90*time.Second)) {
		t.Errorf("linux = queued %d, oldest wait %v at %v; want 3, 90s", linux.Queued, linux.OldestWaitSeconds, linux.OldestQueuedAt)
	}
	states := map[string]api.AgentState{}
	for _, a := range linux.Agents {
		states[a.ID] = a.State
		if !a.LastSeen.Equal(now) {
			t.Errorf("agent %s last seen %v, want the poll time", a.ID, a.LastSeen)
		}
	}
	if states["a1"] != api.AgentBusy || states["a2"] != api.AgentBusy || states["a3"] != api.AgentIdle || len(states) != 3 {
		t.Errorf("linux agents = %v", states)
	}
	win := pools["win"]
	if win.Queued != 0 || win.OldestWaitSeconds != 0 || len(win.Agents) != 1 || win.Agents[0].ID != "ID:conn-" {
		t.Errorf("win = %+v", win)
	}

	// Idle since: the first poll that saw the agent idle, kept while idle,
	// forgotten once busy.
	firstIdle := linux.Agents[2].IdleSince
	if !firstIdle.Equal(t0) {
		t.Fatalf("a3 idle since %v, want %v", firstIdle, t0)
	}
	now = t0.Add(time.Minute)
	st.subs[0]["dispatchedQueueSize"] = int64(0) // a1 finished
	pools = s.build(st, now)
	for _, a := range pools["linux"].Agents {
		switch a.ID {
		case "a1":
			if a.State != api.AgentIdle || !a.IdleSince.Equal(now) {
				t.Errorf("a1 = %+v, want idle since %v", a, now)
			}
		case "a3":
			if !a.IdleSince.Equal(t0) {
				t.Errorf("a3 idle since %v, want still %v", a.IdleSince, t0)
			}
		}
	}
	now = t0.Add(2 * time.Minute)
	st.subs[2]["dispatchedQueueSize"] = int64(1) // a3 busy
	s.build(st, now)
	now = t0.Add(3 * time.Minute)
	st.subs[2]["dispatchedQueueSize"] = int64(0) // a3 idle again
	for _, a := range s.build(st, now)["linux"].Agents {
		if a.ID == "a3" && !a.IdleSince.Equal(now) {
			t.Errorf("a3 idle since %v, want %v (busy in between)", a.IdleSince, now)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "http://broker:61613", QueueTemplate: "/queue/jobs.{pool}"},
		{URL: "stomp://broker", QueueTemplate: "/queue/jobs.{pool}"},
		{URL: "stomp://broker:61613", QueueTemplate: "jobs"},
	} {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

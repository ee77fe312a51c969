package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
	"github.com/agentcloud/agentcloud/providers/fake"
)

// A pool_changed event on the installation's topic polls the master and
// ticks at once: the poll interval and the tick interval are an hour.
func TestEventTriggersPollAndTick(t *testing.T) {
	b, err := broker.StartEmbedded(t.Context(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
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
	slow := strings.NewReplacer("poll_interval: 1s", "poll_interval: 1h", "stale_after: 5s", "stale_after: 2h",
		"tick_interval: 1s", "tick_interval: 1h", "stomp://127.0.0.1:61613", b.URL()).Replace(string(data))
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
	if a.Events == nil || len(a.Events.Targets()) != 1 || a.Events.Targets()[0].Prefix != "demo" || a.Events.Targets()[0].Broker.URL != b.URL() {
		t.Fatalf("events targets = %+v, want demo on %s", a.Events, b.URL())
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitUntil(t, func() bool { return a.Loop.Status().Ticks == 1 })

	pub, err := broker.Dial(t.Context(), broker.Config{URL: b.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	body, _ := wire.Encode(&wire.PoolChanged{Type: wire.TypePoolChanged, Pool: "linux", Queued: 1, At: time.Now()})
	// Until the subscription is in place at the broker, a topic message is not
	// delivered: send until one arrives.
	deadline := time.Now().Add(10 * time.Second)
	for a.Loop.Status().Ticks < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no tick after the events")
		}
		if err := pub.Send(t.Context(), wire.EventsTopic("demo"), body); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if n := polls.Load(); n < 2 {
		t.Errorf("polls = %d, want the first and at least one for the event", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// events: false, or a dry run, subscribes to nothing.
func TestEventsOff(t *testing.T) {
	path := fixture(t, "http://127.0.0.1:1", goodPolicy)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := strings.Replace(string(data), "    agent:\n", "    events: false\n    agent:\n", 1)
	if err := os.WriteFile(path, []byte(off), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := New(t.Context(), cfg, Options{Factories: withFake(fake.New("fake"))}); err != nil || a.Events != nil {
		t.Errorf("events: false gave %+v, %v; want no subscriber", a.Events, err)
	}
	cfg.Installations[0].Events.Enabled = true
	if a, err := New(t.Context(), cfg, Options{Factories: withFake(fake.New("fake")), DryRun: true}); err != nil || a.Events != nil {
		t.Errorf("dry run gave %+v, %v; want no subscriber", a.Events, err)
	}
}

package events_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/events"
	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
)

// waitLong bounds waits for things that must happen: a liveness bound, not a
// speed expectation.
const waitLong = 20 * time.Second

// recorder is a Poker and an Observer that records what it is told.
type recorder struct {
	mu        sync.Mutex
	pokes     map[string]int
	received  map[string]int
	connected map[string]bool
	changes   []string // "inst:up" / "inst:down", in order
}

func newRecorder() *recorder {
	return &recorder{pokes: map[string]int{}, received: map[string]int{}, connected: map[string]bool{}}
}

func (r *recorder) Poke(installation string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pokes[installation]++
	return true
}

func (r *recorder) EventReceived(installation string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received[installation]++
}

func (r *recorder) EventsConnected(installation string, up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.connected[installation] != up || len(r.changes) == 0 {
		state := "down"
		if up {
			state = "up"
		}
		r.changes = append(r.changes, installation+":"+state)
	}
	r.connected[installation] = up
}

func (r *recorder) get() (pokes, received map[string]int, connected map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, rc, c := map[string]int{}, map[string]int{}, map[string]bool{}
	for k, v := range r.pokes {
		p[k] = v
	}
	for k, v := range r.received {
		rc[k] = v
	}
	for k, v := range r.connected {
		c[k] = v
	}
	return p, rc, c
}

func waitFor(t *testing.T, what string, cond func() bool, extra ...func() string) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			for _, e := range extra {
				t.Log(e())
			}
			t.Fatalf("%s: not within %s", what, waitLong)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logWriter collects log lines for assertions.
type logWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func startBroker(t *testing.T, addr string) *broker.Server {
	t.Helper()
	var s *broker.Server
	var err error
	for range 50 { // a restarted broker may find its port briefly busy
		if s, err = broker.StartEmbedded(context.Background(), addr, nil); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("starting a broker on %s: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// publisher sends raw bodies to a topic through its own client.
func publisher(t *testing.T, url string) *broker.Client {
	t.Helper()
	c, err := broker.Dial(context.Background(), broker.Config{URL: url, Name: "test-publisher", MaxBackoff: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func event(t *testing.T, pool string) []byte {
	t.Helper()
	b, err := wire.Encode(&wire.PoolChanged{Type: wire.TypePoolChanged, Pool: pool, Queued: 1, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run starts a subscriber and stops it at the end of the test.
func run(t *testing.T, targets []events.Target, rec *recorder, log *slog.Logger) {
	t.Helper()
	s := events.New(targets, rec, events.Options{Debounce: 50 * time.Millisecond, CheckInterval: 20 * time.Millisecond, Observer: rec}, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitLong):
			t.Error("Run did not return after its context ended")
		}
		if _, _, c := rec.get(); c["demo"] {
			t.Error("still connected after Run returned")
		}
	})
}

// sendUntil sends body to dest until cond holds: a topic message sent before
// the broker has processed the subscription is not delivered.
func sendUntil(t *testing.T, c *broker.Client, dest string, body []byte, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, waitLong)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := c.Send(ctx, dest, body); err != nil {
			t.Logf("send: %v", err)
		}
		cancel()
		for i := 0; i < 20 && !cond(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestEventPokesItsInstallation(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	rec := newRecorder()
	var logs logWriter
	run(t, []events.Target{
		{Installation: "demo", Prefix: "demo-prefix", Broker: broker.Config{URL: b.URL()}},
		{Installation: "other", Prefix: "other", Broker: broker.Config{URL: b.URL()}},
	}, rec, slog.New(slog.NewTextHandler(&logs, nil)))

	waitFor(t, "connected", func() bool {
		_, _, c := rec.get()
		return c["demo"] && c["other"]
	})
	pub := publisher(t, b.URL())
	sendUntil(t, pub, wire.EventsTopic("demo-prefix"), event(t, "linux"), "an event received", func() bool {
		_, r, _ := rec.get()
		return r["demo"] >= 1
	})
	waitFor(t, "the event pokes demo", func() bool {
		p, _, _ := rec.get()
		return p["demo"] >= 1
	})
	p, r, _ := rec.get()
	if r["other"] != 0 || p["other"] != 0 {
		t.Errorf("other: received %d, pokes %d; want none (its topic had no event)", r["other"], p["other"])
	}

	// Bad messages are logged and dropped; the subscription carries on.
	before := r["demo"]
	for _, body := range []string{"not json", `{"type":"register","agent":"a"}`, `{"pool":"x"}`} {
		if err := pub.Send(t.Context(), wire.EventsTopic("demo-prefix"), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Send(t.Context(), wire.EventsTopic("demo-prefix"), event(t, "linux")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good event after the bad ones", func() bool {
		_, r, _ := rec.get()
		return r["demo"] == before+1
	})
	for _, want := range []string{"dropping a malformed pool event", "dropping a message that is not a pool event", `missing \"type\"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// A burst of events gives fewer pokes than events (one per debounce delay;
// the exact count is the debouncer's unit test's business).
func TestBurstIsDebounced(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	rec := newRecorder()
	s := events.New([]events.Target{{Installation: "demo", Prefix: "demo", Broker: broker.Config{URL: b.URL()}}},
		rec, events.Options{Debounce: time.Second, CheckInterval: 20 * time.Millisecond, Observer: rec}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, "connected", func() bool {
		_, _, c := rec.get()
		return c["demo"]
	})
	pub := publisher(t, b.URL())
	sendUntil(t, pub, wire.EventsTopic("demo"), event(t, "linux"), "a first event", func() bool {
		_, r, _ := rec.get()
		return r["demo"] >= 1
	})
	_, r, _ := rec.get()
	first := r["demo"]
	const burst = 30
	for range burst {
		if err := pub.Send(t.Context(), wire.EventsTopic("demo"), event(t, "linux")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the burst received", func() bool {
		_, r, _ := rec.get()
		return r["demo"] == first+burst
	})
	waitFor(t, "a poke for the events", func() bool {
		p, _, _ := rec.get()
		return p["demo"] >= 1
	})
	if p, _, _ := rec.get(); p["demo"] >= first+burst {
		t.Errorf("%d events gave %d pokes; want them debounced", first+burst, p["demo"])
	}
}

// The client subscribes again after the broker restarts; the subscriber
// reports the loss and the return, and pokes after it.
func TestResubscribesAfterBrokerRestart(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	addr, url := b.Addr(), b.URL()
	rec := newRecorder()
	run(t, []events.Target{{Installation: "demo", Prefix: "demo", Broker: broker.Config{
		URL: url, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, HeartBeat: broker.NoHeartBeat,
	}}}, rec, nil)
	waitFor(t, "connected", func() bool { _, _, c := rec.get(); return c["demo"] })
	pub := publisher(t, url)
	sendUntil(t, pub, wire.EventsTopic("demo"), event(t, "linux"), "an event before the restart", func() bool {
		_, r, _ := rec.get()
		return r["demo"] >= 1
	})
	pub.Close()

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the loss noticed", func() bool { _, _, c := rec.get(); return !c["demo"] })
	p0, r0, _ := rec.get()
	startBroker(t, addr)
	waitFor(t, "connected again and poked for the events missed", func() bool {
		p, _, c := rec.get()
		return c["demo"] && p["demo"] > p0["demo"]
	})
	pub = publisher(t, url)
	sendUntil(t, pub, wire.EventsTopic("demo"), event(t, "linux"), "an event after the restart", func() bool {
		_, r, _ := rec.get()
		return r["demo"] > r0["demo"]
	})
	rec.mu.Lock()
	changes := strings.Join(rec.changes, " ")
	rec.mu.Unlock()
	if !strings.HasPrefix(changes, "demo:down demo:up demo:down demo:up") {
		t.Errorf("connection changes = %q, want down (start), up, down (restart), up", changes)
	}
}

// A broker that cannot be reached leaves the installation polling only; Run
// still returns when its context ends.
func TestUnreachableBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := newRecorder()
	var logs logWriter
	run(t, []events.Target{
		{Installation: "demo", Prefix: "demo", Broker: broker.Config{URL: "stomp://" + addr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}},
		{Installation: "bad", Prefix: "bad", Broker: broker.Config{URL: "http://" + addr}},
	}, rec, slog.New(slog.NewTextHandler(&logs, nil)))
	waitFor(t, "the unreachable broker reported", func() bool {
		return strings.Contains(logs.String(), "pool events broker not reachable yet")
	}, func() string { return logs.String() })
	if !strings.Contains(logs.String(), "cannot subscribe to pool events; polling only") || !strings.Contains(logs.String(), "installation=bad") {
		t.Errorf("the bad broker URL is not reported:\n%s", logs.String())
	}
	if p, _, c := rec.get(); c["demo"] || c["bad"] || p["demo"] != 0 {
		t.Errorf("connected %v, pokes %v; want neither", c, p)
	}
}

package watch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// master is an httptest master serving the pools and drain endpoints.
type master struct {
	srv    *httptest.Server
	polls  atomic.Int64
	mu     sync.Mutex
	auth   []string
	drains []string
	pools  api.PoolsResponse
	fail   atomic.Bool
}

func newMaster(t *testing.T) *master {
	m := &master{pools: api.PoolsResponse{Pools: []api.PoolStatus{{Pool: "linux", Queued: 3}, {Pool: "win", Queued: 1}}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathPools, func(w http.ResponseWriter, r *http.Request) {
		m.polls.Add(1)
		m.mu.Lock()
		m.auth = append(m.auth, r.Header.Get("Authorization"))
		body := m.pools
		m.mu.Unlock()
		if m.fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: "store unavailable"})
			return
		}
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("POST /api/v1/agents/{id}/drain", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		m.mu.Lock()
		m.drains = append(m.drains, id)
		m.mu.Unlock()
		if id == "unknown" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: "no agent unknown"})
			return
		}
		json.NewEncoder(w).Encode(api.DrainResponse{Agent: id, Draining: true, Idle: true})
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

// hanging returns a master that never answers until the test ends.
func hanging(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func TestClient(t *testing.T) {
	m := newMaster(t)
	c := NewClient(m.srv.URL+"/", "tok", nil)
	ctx := t.Context()

	resp, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Pools) != 2 || resp.Pools[0].Queued != 3 {
		t.Errorf("pools = %+v", resp)
	}
	if m.auth[0] != "Bearer tok" {
		t.Errorf("Authorization = %q", m.auth[0])
	}

	d, err := c.Drain(ctx, "demo-linux-1")
	if err != nil || !d.Idle || !d.Draining || d.Agent != "demo-linux-1" {
		t.Errorf("Drain = %+v, %v", d, err)
	}
	_, err = c.Drain(ctx, "unknown")
	if !IsStatus(err, http.StatusNotFound) || !strings.Contains(err.Error(), "404 Not Found: no agent unknown") {
		t.Errorf("Drain unknown err = %v", err)
	}

	m.fail.Store(true)
	_, err = c.Pools(ctx)
	if !IsStatus(err, 503) || !strings.Contains(err.Error(), "store unavailable") {
		t.Errorf("Pools err = %v", err)
	}

	noTok := NewClient(m.srv.URL, "", nil)
	m.fail.Store(false)
	if _, err := noTok.Pools(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.auth[len(m.auth)-1]; got != "" {
		t.Errorf("Authorization without token = %q", got)
	}
}

func TestClientBadJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }))
	defer srv.Close()
	_, err := NewClient(srv.URL, "", nil).Pools(t.Context())
	if err == nil || !strings.Contains(err.Error(), "decoding answer") {
		t.Fatalf("err = %v", err)
	}
}

func TestPollTimeout(t *testing.T) {
	srv := hanging(t)
	w := New([]Target{{Name: "slow", Master: NewClient(srv.URL, "", nil)}}, Options{Timeout: 50 * time.Millisecond}, quiet())
	w.PollAll(t.Context())
	s, ok := w.Snapshot("slow")
	if !ok {
		t.Fatal("no snapshot")
	}
	select {
	case <-w.Polled():
	default:
		t.Error("Polled not closed after a failed first poll")
	}
	if !errors.Is(s.Err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want a deadline error", s.Err)
	}
	if s.Failures != 1 || !s.FetchedAt.IsZero() || s.AttemptedAt.IsZero() {
		t.Errorf("snapshot = %+v", s)
	}
	if !s.Stale(time.Now(), time.Hour) {
		t.Error("a never-fetched snapshot is not stale")
	}
}

// recorder is an Observer that records polls.
type recorder struct {
	mu    sync.Mutex
	polls map[string][]error
}

func (r *recorder) ObservePoll(inst string, at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.polls == nil {
		r.polls = map[string][]error{}
	}
	r.polls[inst] = append(r.polls[inst], err)
}

func (r *recorder) count(inst string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.polls[inst])
}

// A hanging master next to a healthy one: the healthy one keeps being polled.
func TestIsolation(t *testing.T) {
	slow := hanging(t)
	healthy := newMaster(t)
	obs := &recorder{}
	w := New([]Target{
		{Name: "slow", Master: NewClient(slow.URL, "", nil)},
		{Name: "healthy", Master: NewClient(healthy.srv.URL, "", nil)},
	}, Options{Interval: 10 * time.Millisecond, Timeout: time.Minute, Observer: obs}, quiet())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	// Wait on the observer, not the server's counter: the server counts a
	// poll before the watcher has read the answer and recorded it.
	deadline := time.After(20 * time.Second)
	for obs.count("healthy") < 5 {
		select {
		case <-deadline:
			t.Fatalf("healthy master polled %d times (%d recorded) while the other hangs", healthy.polls.Load(), obs.count("healthy"))
		case <-time.After(5 * time.Millisecond):
		}
	}
	s, _ := w.Snapshot("healthy")
	if s.Err != nil || s.FetchedAt.IsZero() || s.Pools["linux"] == nil || s.Pools["linux"].Queued != 3 {
		t.Errorf("healthy snapshot = %+v", s)
	}
	if sl, _ := w.Snapshot("slow"); !sl.AttemptedAt.IsZero() {
		t.Errorf("slow master answered: %+v", sl)
	}
	if obs.count("slow") != 0 {
		t.Errorf("observer saw %d polls of the hanging master, want 0", obs.count("slow"))
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel while a poll hangs")
	}
	if obs.count("slow") != 0 {
		t.Error("a poll cut by shutdown was recorded as a master failure")
	}
}

func TestPokeAndFailureKeepsPools(t *testing.T) {
	m := newMaster(t)
	poked := make(chan string, 4)
	w := New([]Target{{Name: "demo", Master: NewClient(m.srv.URL, "", nil)}},
		Options{Interval: time.Hour, OnPoked: func(i string) { poked <- i }}, quiet())
	if w.Poke("nope") {
		t.Error("Poke of an unknown installation returned true")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)

	select {
	case <-w.Polled():
	case <-time.After(10 * time.Second):
		t.Fatal("Polled not closed after the first poll")
	}
	if m.polls.Load() != 1 {
		t.Fatalf("polls = %d at Polled", m.polls.Load())
	}
	m.fail.Store(true)
	if !w.Poke("demo") {
		t.Fatal("Poke returned false")
	}
	select {
	case got := <-poked:
		if got != "demo" {
			t.Errorf("OnPoked(%q)", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("poke did not poll")
	}
	if n := m.polls.Load(); n != 2 {
		t.Errorf("polls = %d, want 2 (interval is an hour)", n)
	}
	s, _ := w.Snapshot("demo")
	if s.Err == nil || !strings.Contains(s.Err.Error(), "polling installation demo") || s.Failures != 1 {
		t.Errorf("snapshot after failure = %+v", s)
	}
	if s.Pools["win"] == nil || s.FetchedAt.IsZero() {
		t.Error("a failed poll dropped the last good pools")
	}
	if !s.Stale(s.FetchedAt, time.Hour) {
		t.Error("a snapshot whose last poll failed is not stale")
	}
}

func TestJittered(t *testing.T) {
	cases := []struct {
		d    time.Duration
		frac float64
		r    float64
		want time.Duration
	}{
		{10 * time.Second, 0.1, 0, 9 * time.Second},
		{10 * time.Second, 0.1, 0.5, 10 * time.Second},
		{10 * time.Second, 0.1, 0.999999, 10*time.Second + 999998*time.Microsecond},
		{10 * time.Second, 0, 0.9, 10 * time.Second},
		{10 * time.Second, -1, 0.9, 10 * time.Second},
	}
	for _, c := range cases {
		if got := jittered(c.d, c.frac, c.r); got.Round(time.Millisecond) != c.want.Round(time.Millisecond) {
			t.Errorf("jittered(%v, %v, %v) = %v, want %v", c.d, c.frac, c.r, got, c.want)
		}
	}
}

// The watcher's real jitter stays within ±10% and does vary.
func TestJitterSpread(t *testing.T) {
	w := New(nil, Options{Interval: 10 * time.Second}, quiet())
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := jittered(w.opts.Interval, w.opts.Jitter, w.opts.Rand())
		if d < 9*time.Second || d > 11*time.Second {
			t.Fatalf("interval %v outside ±10%% of 10s", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct intervals in 1000", len(seen))
	}
}

func TestStale(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		name string
		s    Snapshot
		want bool
	}{
		{"never fetched", Snapshot{}, true},
		{"fresh", Snapshot{FetchedAt: now.Add(-10 * time.Second)}, false},
		{"at the limit", Snapshot{FetchedAt: now.Add(-45 * time.Second)}, false},
		{"too old", Snapshot{FetchedAt: now.Add(-46 * time.Second)}, true},
		{"last poll failed", Snapshot{FetchedAt: now, Err: errors.New("x")}, true},
	}
	for _, c := range cases {
		if got := c.s.Stale(now, 45*time.Second); got != c.want {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.want)
		}
	}
}

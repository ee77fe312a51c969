package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// fakeBus records what is sent and holds the one subscription.
type fakeBus struct {
	mu       sync.Mutex
	sent     []sentMsg
	handlers map[string]func(context.Context, []byte) error
	sendErr  error
}

type sentMsg struct {
	dest string
	msg  any
}

func (b *fakeBus) Send(_ context.Context, dest string, body []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sendErr != nil {
		return b.sendErr
	}
	msg, err := wire.Decode(body)
	if err != nil {
		return err
	}
	b.sent = append(b.sent, sentMsg{dest, msg})
	return nil
}

func (b *fakeBus) Subscribe(dest string, h func(context.Context, []byte) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.handlers == nil {
		b.handlers = map[string]func(context.Context, []byte) error{}
	}
	b.handlers[dest] = h
	return nil
}

// take returns and forgets what was sent to dest.
func (b *fakeBus) take(dest string) []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []any
	kept := b.sent[:0]
	for _, s := range b.sent {
		if s.dest == dest {
			out = append(out, s.msg)
		} else {
			kept = append(kept, s)
		}
	}
	b.sent = kept
	return out
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness drives a Dispatcher with a fake bus, a real store and a fake clock.
type harness struct {
	t       *testing.T
	d       *Dispatcher
	bus     *fakeBus
	st      *store.Store
	dir     string
	now     time.Time
	logs    *syncBuffer
	metrics *metrics.Metrics
	cfg     Config
}

var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, bus: &fakeBus{}, dir: t.TempDir(), now: t0, logs: &syncBuffer{}, cfg: cfg}
	h.start()
	return h
}

// start opens the store and starts a dispatcher on it (again after restart).
func (h *harness) start() {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	h.t.Cleanup(func() { st.Close() })
	cfg := h.cfg
	cfg.Prefix = "test"
	cfg.Now = func() time.Time { return h.now }
	cfg.Log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.metrics = metrics.New()
	cfg.Metrics = h.metrics
	h.d = New(cfg, st, h.bus)
	if err := h.d.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(h.d.Close)
}

// restart closes the store and starts a fresh dispatcher over the same data.
func (h *harness) restart() {
	h.t.Helper()
	h.d.Close()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.bus = &fakeBus{}
	h.start()
}

// send delivers a message as if an agent had sent it.
func (h *harness) send(msg any) {
	h.t.Helper()
	body, err := json.Marshal(msg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sendRaw(string(body))
}

func (h *harness) sendRaw(body string) {
	h.t.Helper()
	handler := h.bus.handlers[wire.MasterQueue("test")]
	if handler == nil {
		h.t.Fatal("dispatcher did not subscribe to the master queue")
	}
	if err := handler(context.Background(), []byte(body)); err != nil {
		h.t.Fatalf("handler returned %v", err)
	}
}

func debianFacts() map[string]any {
	return map[string]any{"os": map[string]any{"family": "Debian"}, "processors": map[string]any{"count": 4}}
}

func (h *harness) register(agentID string, opts ...func(*wire.Register)) {
	h.t.Helper()
	r := &wire.Register{Type: wire.TypeRegister, Agent: agentID, Pool: "linux", Facts: debianFacts(), Plugins: []string{"shell"}}
	for _, o := range opts {
		o(r)
	}
	h.send(r)
}

func (h *harness) heartbeat(agentID string, running *wire.Ref) {
	h.send(&wire.Heartbeat{Type: wire.TypeHeartbeat, Agent: agentID, Running: running, At: h.now})
}

func (h *harness) submit(req api.CompositionRequest) api.Composition {
	h.t.Helper()
	if req.Pool == "" {
		req.Pool = "linux"
	}
	if req.Tasks == nil {
		req.Tasks = []api.Task{{Plugin: "shell", Fields: map[string]any{"command": "make"}}}
	}
	c, err := h.d.Submit(context.Background(), req)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// advance moves the clock and runs the periodic checks.
func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.d.Tick(context.Background())
}

// sentTo returns what was sent to dest since the last call, once every
// message decided so far has gone out.
func (h *harness) sentTo(dest string) []any {
	h.d.out.wait()
	return h.bus.take(dest)
}

// assigns returns the assigns sent to agentID since the last call.
func (h *harness) assigns(agentID string) []*wire.Assign {
	var out []*wire.Assign
	for _, m := range h.sentTo(wire.AgentQueue("test", agentID)) {
		if a, ok := m.(*wire.Assign); ok {
			out = append(out, a)
		}
	}
	return out
}

// agentMsgs returns every message sent to agentID since the last call.
func (h *harness) agentMsgs(agentID string) []any {
	return h.sentTo(wire.AgentQueue("test", agentID))
}

// oneAssign expects exactly one assign to agentID and returns it.
func (h *harness) oneAssign(agentID string) *wire.Assign {
	h.t.Helper()
	as := h.assigns(agentID)
	if len(as) != 1 {
		h.t.Fatalf("assigns to %s = %d, want 1", agentID, len(as))
	}
	return as[0]
}

func (h *harness) noAssign(agentID string) {
	h.t.Helper()
	if as := h.assigns(agentID); len(as) != 0 {
		h.t.Fatalf("assigns to %s = %+v, want none", agentID, as)
	}
}

func (h *harness) accepted(agentID string, ref wire.Ref) {
	h.send(&wire.Accepted{Type: wire.TypeAccepted, Agent: agentID, Ref: ref})
}

func (h *harness) done(agentID string, ref wire.Ref, result wire.Result, errText string) {
	h.send(&wire.Done{Type: wire.TypeDone, Agent: agentID, Ref: ref, Result: result, FailedTask: -1, Error: errText})
}

func (h *harness) output(agentID string, ref wire.Ref, task, seq int, line string) {
	h.send(&wire.Output{Type: wire.TypeOutput, Agent: agentID, Ref: ref, Task: task, Seq: seq, Stream: "stdout", Line: line, At: h.now})
}

func (h *harness) comp(id string) api.Composition {
	h.t.Helper()
	c, err := h.d.Get(context.Background(), id, true)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) wantState(id string, state api.CompositionState) api.Composition {
	h.t.Helper()
	c := h.comp(id)
	if c.State != state {
		h.t.Fatalf("composition %s state = %s (error %q), want %s", id, c.State, c.Error, state)
	}
	return c
}

func (h *harness) agentStatus(id string) (api.AgentStatus, bool) {
	for _, p := range h.d.Pools(context.Background()).Pools {
		for _, a := range p.Agents {
			if a.ID == id {
				return a, true
			}
		}
	}
	return api.AgentStatus{}, false
}

func (h *harness) counter(name, label string) float64 {
	h.t.Helper()
	reg, err := h.metrics.Registry(h.d)
	if err != nil {
		h.t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	total := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && !hasLabelValue(m, label) {
				continue
			}
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func hasLabelValue(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

func (h *harness) wantLog(substr string) {
	h.t.Helper()
	h.d.out.wait()
	if !strings.Contains(h.logs.String(), substr) {
		h.t.Fatalf("log does not contain %q:\n%s", substr, h.logs.String())
	}
}

var errSend = errors.New("broker down")

package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/agent/plugins"
	"github.com/agentcloud/agentcloud/agent/runner"
	"github.com/agentcloud/agentcloud/master/wire"
)

// fakeConn records what the session sends, decoded, and lets the test
// deliver messages, drop and restore the connection, and fail sends.
type fakeConn struct {
	mu         sync.Mutex
	sent       []any
	dests      map[string]bool
	subscribed string
	handler    func(ctx context.Context, body []byte) error
	reconnects int
	up         bool
	upCh       chan struct{} // closed while up
	failSends  func(msg any) error
	sendCalls  int
	closed     bool
}

func newFakeConn() *fakeConn {
	c := &fakeConn{up: true, upCh: make(chan struct{}), dests: map[string]bool{}}
	close(c.upCh)
	return c
}

func (c *fakeConn) Send(ctx context.Context, dest string, body []byte) error {
	msg, err := wire.Decode(body)
	if err != nil {
		return fmt.Errorf("fake conn: session sent an undecodable message: %w", err)
	}
	for {
		c.mu.Lock()
		up, ch := c.up, c.upCh
		c.mu.Unlock()
		if up {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendCalls++
	if c.failSends != nil {
		if err := c.failSends(msg); err != nil {
			return err
		}
	}
	c.dests[dest] = true
	c.sent = append(c.sent, msg)
	return nil
}

func (c *fakeConn) Subscribe(dest string, h func(ctx context.Context, body []byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subscribed, c.handler = dest, h
	return nil
}

func (c *fakeConn) WaitConnected(ctx context.Context) error {
	c.mu.Lock()
	ch := c.upCh
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeConn) Reconnects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reconnects
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// down drops the connection: sends wait.
func (c *fakeConn) down() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.up {
		c.up = false
		c.upCh = make(chan struct{})
	}
}

// reconnect restores the connection as a new one.
func (c *fakeConn) reconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reconnects++
	if !c.up {
		c.up = true
		close(c.upCh)
	}
}

// deliver hands a message to the session as the broker would.
func (c *fakeConn) deliver(t *testing.T, msg any) error {
	t.Helper()
	body, err := wire.Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	return c.deliverRaw(t, body)
}

func (c *fakeConn) deliverRaw(t *testing.T, body []byte) error {
	t.Helper()
	c.mu.Lock()
	h := c.handler
	c.mu.Unlock()
	if h == nil {
		t.Fatal("session did not subscribe")
	}
	return h(context.Background(), body)
}

func (c *fakeConn) messages() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]any(nil), c.sent...)
}

// waitFor polls the sent messages until cond holds.
func (c *fakeConn) waitFor(t *testing.T, what string, cond func(msgs []any) bool) []any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := c.messages()
		if cond(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; sent:\n%s", what, describeAll(msgs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func describeAll(msgs []any) string {
	s := ""
	for _, m := range msgs {
		s += fmt.Sprintf("  %T %+v\n", m, m)
	}
	return s
}

// ofType lists the sent messages of type T.
func ofType[T any](msgs []any) []*T {
	var out []*T
	for _, m := range msgs {
		if x, ok := m.(*T); ok {
			out = append(out, x)
		}
	}
	return out
}

func count[T any](n int) func([]any) bool {
	return func(msgs []any) bool { return len(ofType[T](msgs)) >= n }
}

// doneFor finds the Done of an attempt.
func doneFor(ref wire.Ref) func([]any) bool {
	return func(msgs []any) bool {
		for _, d := range ofType[wire.Done](msgs) {
			if d.Ref == ref {
				return true
			}
		}
		return false
	}
}

// harness runs a session with a real runner and the shell plugin.
type harness struct {
	conn   *fakeConn
	sess   *Session
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{
		AgentID: "agent-1", Instance: "i-1", Pool: "linux", Prefix: "test", Token: "tok", Version: "v1",
		Facts:         map[string]any{"os": map[string]any{"family": "Debian"}},
		Plugins:       []string{"shell"},
		Heartbeat:     time.Hour,
		ShutdownGrace: 10 * time.Second,
		ReconnectPoll: 10 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	conn := newFakeConn()
	log := slog.New(slog.DiscardHandler)
	r := runner.New(plugins.NewRegistry(), t.TempDir(), log)
	h := &harness{conn: conn, sess: New(cfg, conn, r, log), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.sess.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(20 * time.Second):
			t.Error("session did not stop")
		}
	})
	conn.waitFor(t, "the first register", count[wire.Register](1))
	return h
}

// settled waits until everything the session queued so far was sent (a
// handled message queues its answers before the handler returns).
func (h *harness) settled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for h.sess.out.len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d messages", h.sess.out.len())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop ends the session as SIGTERM does and waits for Run to return.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session did not stop")
	}
	h.done <- nil // for the cleanup
}

func shellAssign(comp string, attempt int, commands ...string) *wire.Assign {
	a := &wire.Assign{Type: wire.TypeAssign, Ref: wire.Ref{Composition: comp, Attempt: attempt}}
	for _, c := range commands {
		a.Tasks = append(a.Tasks, shellTask(c))
	}
	return a
}

var errInjected = errors.New("injected send failure")

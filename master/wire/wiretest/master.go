// Package wiretest is test support for agents: the master's side of the wire
// over a real broker, recording every message agents send to the master queue
// and sending messages to agents.
package wiretest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
)

// Master records what reaches wire.MasterQueue(prefix).
type Master struct {
	// Client is its broker connection.
	Client *broker.Client
	prefix string

	mu  sync.Mutex
	got []any
}

// DialMaster connects with cfg (cfg.URL set; Name defaults to "test master"),
// subscribes to the master queue of prefix and waits until connected. The
// test's cleanup closes it.
func DialMaster(tb testing.TB, cfg broker.Config, prefix string) *Master {
	tb.Helper()
	if cfg.Name == "" {
		cfg.Name = "test master"
	}
	c, err := broker.Dial(context.Background(), cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	m := &Master{Client: c, prefix: prefix}
	err = c.Subscribe(wire.MasterQueue(prefix), func(_ context.Context, body []byte) error {
		msg, err := wire.Decode(body)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.got = append(m.got, msg)
		m.mu.Unlock()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		tb.Fatal(err)
	}
	return m
}

// Messages returns a copy of every message received so far, in order.
func (m *Master) Messages() []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]any(nil), m.got...)
}

// WaitFor polls until cond holds for the messages received (returning them),
// failing the test after 30s with every message it got.
func (m *Master) WaitFor(tb testing.TB, what string, cond func([]any) bool) []any {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := m.Messages()
		if cond(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, x := range msgs {
				fmt.Fprintf(&b, "  %T %+v\n", x, x)
			}
			tb.Fatalf("timed out waiting for %s; the master got:\n%s", what, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Send sends msg to the agent's queue.
func (m *Master) Send(tb testing.TB, agent string, msg any) {
	tb.Helper()
	body, err := wire.Encode(msg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Client.Send(ctx, wire.AgentQueue(m.prefix, agent), body); err != nil {
		tb.Fatal(err)
	}
}

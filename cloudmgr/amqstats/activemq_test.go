package amqstats

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/broker/activemqtest"
)

// Against a real ActiveMQ: N messages in a pool's queue are N queued; a
// consumer (client-id = agent id, prefetch 1, client acks) holding one makes
// it a busy agent and leaves N-1 queued; an idle consumer of another pool is
// an idle agent; Drain answers from a fresh look.
func TestSourceAgainstActiveMQ(t *testing.T) {
	ep := activemqtest.Shared(t)
	addr := strings.TrimPrefix(ep.URL, "stomp://")
	// A template of its own, so earlier runs on a shared broker do not count.
	tmpl := fmt.Sprintf("/queue/amqstats%d.{pool}", time.Now().UnixNano())
	src, err := New(Config{URL: ep.URL, Login: ep.Login, Passcode: ep.Passcode, QueueTemplate: tmpl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := src.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Pools) != 0 {
		t.Fatalf("pools before any queue exists = %+v, want none", resp.Pools)
	}

	producer := dial(t, addr, ep, "")
	const n = 7
	linux := src.tmpl.Queue("linux")
	for i := range n {
		if err := producer.Send(linux, "text/plain", []byte(fmt.Sprintf("job %d", i)),
			stomp.SendOpt.Receipt, stomp.SendOpt.Header("persistent", "true")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // the first message's age shows as the oldest wait
	p := pool(t, src, "linux")
	if p == nil {
		t.Fatal("no pool linux although its queue holds messages")
	}
	if p.Queued != n || len(p.Agents) != 0 {
		t.Fatalf("linux after %d messages = queued %d, agents %+v; want %d queued, no agent", n, p.Queued, p.Agents, n)
	}
	if p.OldestWaitSeconds <= 0 || p.OldestQueuedAt.IsZero() {
		t.Errorf("oldest wait = %v at %v, want the first message's age", p.OldestWaitSeconds, p.OldestQueuedAt)
	}

	busy := dial(t, addr, ep, "agent-busy")
	sub, err := busy.Subscribe(linux, stomp.AckClientIndividual, stomp.SubscribeOpt.Header("activemq.prefetchSize", "1"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C:
		if m.Err != nil {
			t.Fatal(m.Err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no message delivered")
	}
	idle := dial(t, addr, ep, "agent-idle")
	if _, err := idle.Subscribe(src.tmpl.Queue("win"), stomp.AckClientIndividual, stomp.SubscribeOpt.Header("activemq.prefetchSize", "1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the busy agent and n-1 queued", func() bool {
		p := pool(t, src, "linux")
		return p != nil && p.Queued == n-1 && len(p.Agents) == 1 && p.Agents[0].ID == "agent-busy" && p.Agents[0].State == api.AgentBusy
	})
	var win *api.PoolStatus
	eventually(t, "the idle agent of pool win", func() bool {
		win = pool(t, src, "win")
		return win != nil && len(win.Agents) == 1 && win.Agents[0].ID == "agent-idle" && win.Agents[0].State == api.AgentIdle
	})
	if win.Queued != 0 || win.OldestWaitSeconds != 0 || win.Agents[0].IdleSince.IsZero() {
		t.Errorf("win = %+v", win)
	}

	for agent, wantIdle := range map[string]bool{"agent-busy": false, "agent-idle": true, "gone": true} {
		d, err := src.Drain(ctx, agent)
		if err != nil {
			t.Fatal(err)
		}
		if d.Agent != agent || d.Idle != wantIdle || d.Draining {
			t.Errorf("Drain(%s) = %+v, want idle %v and not draining (ActiveMQ cannot close a consumer)", agent, d, wantIdle)
		}
	}
}

func TestSourceWrongPasscode(t *testing.T) {
	ep := activemqtest.Shared(t)
	src, err := New(Config{URL: ep.URL, Login: ep.Login, Passcode: "wrong-" + ep.Passcode, QueueTemplate: "/queue/jobs.{pool}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Pools(context.Background())
	if err == nil || !strings.Contains(err.Error(), "reading queue statistics from ActiveMQ") {
		t.Fatalf("Pools with a wrong passcode = %v, want an error naming what was read", err)
	}
}

func TestSourceNothingListening(t *testing.T) {
	src, err := New(Config{URL: "stomp://127.0.0.1:1", QueueTemplate: "/queue/jobs.{pool}", Timeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Pools(context.Background()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Pools = %v, want an error naming the broker", err)
	}
}

func dial(t *testing.T, addr string, ep activemqtest.Endpoint, clientID string) *stomp.Conn {
	t.Helper()
	opts := []func(*stomp.Conn) error{stomp.ConnOpt.Login(ep.Login, ep.Passcode)}
	if clientID != "" {
		opts = append(opts, stomp.ConnOpt.Header("client-id", clientID))
	}
	c, err := stomp.Dial("tcp", addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.MustDisconnect() })
	return c
}

func pool(t *testing.T, src *Source, name string) *api.PoolStatus {
	t.Helper()
	resp, err := src.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range resp.Pools {
		if resp.Pools[i].Pool == name {
			return &resp.Pools[i]
		}
	}
	return nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package session

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/agent/plugins"
	"github.com/agentcloud/agentcloud/agent/runner"
	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
	"github.com/agentcloud/agentcloud/master/wire/wiretest"
)

// TestWithEmbeddedBroker runs the session over the real embedded broker:
// register, an assignment end to end, a broker restart (the session
// registers again with its last result), and bye.
func TestWithEmbeddedBroker(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	srv, err := broker.StartEmbedded(context.Background(), "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	defer func() { srv.Close() }()

	const prefix = "it"
	master := wiretest.DialMaster(t, broker.Config{URL: srv.URL(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, HeartBeat: 500 * time.Millisecond}, prefix)

	client, err := broker.Dial(context.Background(), broker.Config{URL: srv.URL(), Name: "agent",
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, HeartBeat: 500 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess := New(Config{AgentID: "a1", Pool: "linux", Prefix: prefix, Plugins: []string{"shell"},
		Facts: map[string]any{"kernel": "Linux"}, Heartbeat: time.Hour, ReconnectPoll: 20 * time.Millisecond},
		FromBroker(client), runner.New(plugins.NewRegistry(), t.TempDir(), log), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx) }()

	master.WaitFor(t, "register", count[wire.Register](1))
	// The agent subscribed before it registered, on the same connection, so
	// the broker routes this assignment to it.
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	master.Send(t, "a1", shellAssign("c1", 1, "echo hello; echo ::context k=v"))
	msgs := master.WaitFor(t, "done", doneFor(ref))
	outs := ofType[wire.Output](msgs)
	if len(outs) < 1 || outs[0].Line != "hello" || outs[0].Seq != 1 {
		t.Errorf("outputs = %+v", outs)
	}
	if c := ofType[wire.Context](msgs); len(c) < 1 || c[0].Values["k"] != "v" {
		t.Errorf("context = %+v", c)
	}

	// Restart the broker on the same address: both sides reconnect and the
	// agent registers again, repeating its last result.
	srv.Close()
	srv, err = broker.StartEmbedded(context.Background(), addr, log)
	if err != nil {
		t.Fatalf("restarting the broker on %s: %v", addr, err)
	}
	// Only a register sent after the first one can carry the last result.
	// (Queues keep messages until a subscriber comes, so the order in which
	// the two sides reconnect does not matter.)
	master.WaitFor(t, "register after the broker restart", func(msgs []any) bool {
		for _, r := range ofType[wire.Register](msgs) {
			if r.LastDone != nil && *r.LastDone == *ofType[wire.Done](msgs)[0] {
				return true
			}
		}
		return false
	})

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	master.WaitFor(t, "bye", count[wire.Bye](1))
}

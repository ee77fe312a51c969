package dispatch

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

// While the master's broker connection is down it hears no agent; that
// silence must not make it give up on agents, assignments or orphans. Once
// the connection is back, each gets a whole timeout from that moment.
func TestBrokerOutagePausesTimeouts(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second, AcceptTimeout: 10 * time.Second, Connected: up.Load})
	h.register("a1")
	h.register("a2")
	running := h.submit(api.CompositionRequest{MaxAttempts: 1})
	waiting := h.submit(api.CompositionRequest{MaxAttempts: 1})
	var runRef, waitRef wire.Ref
	for _, id := range []string{"a1", "a2"} {
		as := h.oneAssign(id)
		if as.Composition == running.ID {
			runRef = as.Ref
			h.accepted(id, as.Ref)
		} else {
			waitRef = as.Ref
		}
	}
	if runRef.Composition == "" || waitRef.Composition == "" {
		t.Fatal("both compositions should have been assigned")
	}

	h.advance(5 * time.Second)
	up.Store(false)
	for range 12 { // two minutes without the broker
		h.advance(10 * time.Second)
	}
	h.wantState(running.ID, api.CompRunning)
	h.wantState(waiting.ID, api.CompAssigned)
	for _, id := range []string{"a1", "a2"} {
		if _, ok := h.agentStatus(id); !ok {
			t.Fatalf("agent %s removed during the outage", id)
		}
	}
	h.wantLog("timeouts paused")

	up.Store(true)
	h.advance(time.Second) // the tick that sees the connection back
	h.advance(8 * time.Second)
	h.wantState(waiting.ID, api.CompAssigned) // within a fresh accept timeout
	h.heartbeat("a1", &runRef)
	h.advance(2 * time.Second)
	if got := h.wantState(waiting.ID, api.CompQueued); got.Attempt != waitRef.Attempt {
		t.Fatalf("withdrawn assignment: %+v", got)
	}
	h.advance(20 * time.Second) // a2 silent for 31s since the connection came back
	if _, ok := h.agentStatus("a2"); ok {
		t.Error("a2 still listed a whole heartbeat timeout after the broker came back")
	}
	if _, ok := h.agentStatus("a1"); !ok {
		t.Error("a1, which heartbeated after the outage, was removed")
	}
	h.wantState(running.ID, api.CompRunning)
}

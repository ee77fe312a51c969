package dispatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

func TestRestartKeepsEverything(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	h.register("a2")
	running := h.submit(api.CompositionRequest{MaxAttempts: 1})
	assigned := h.submit(api.CompositionRequest{})
	queued := h.submit(api.CompositionRequest{Selector: "processors.count>=64"})
	finished := h.submit(api.CompositionRequest{})
	ra := h.oneAssign("a1")
	aa := h.oneAssign("a2")
	if ra.Composition != running.ID || aa.Composition != assigned.ID {
		t.Fatalf("assigns %s %s", ra.Composition, aa.Composition)
	}
	h.accepted("a1", ra.Ref)
	h.output("a1", ra.Ref, 0, 1, "before restart")
	h.send(&wire.Context{Type: wire.TypeContext, Agent: "a1", Ref: ra.Ref, Values: map[string]any{"k": "v"}})
	h.register("a3")
	fa := h.oneAssign("a3")
	h.accepted("a3", fa.Ref)
	h.done("a3", fa.Ref, wire.ResultSucceeded, "")

	h.restart()
	h.wantState(queued.ID, api.CompQueued)
	h.wantState(finished.ID, api.CompSucceeded)
	got := h.wantState(running.ID, api.CompRunning)
	if got.Agent != "a1" || len(got.Output) != 1 || got.Context["k"] != "v" {
		t.Fatalf("running composition after restart = %+v", got)
	}
	h.wantState(assigned.ID, api.CompAssigned)
	pools := h.d.Pools(context.Background()).Pools
	if len(pools) != 1 || pools[0].Queued != 1 || len(pools[0].Agents) != 0 {
		t.Fatalf("pools after restart = %+v, want 1 queued and no agents yet", pools)
	}

	// a1 comes back and claims its attempt; a2 comes back having received its assign meanwhile.
	h.register("a1", func(r *wire.Register) { r.Running = &ra.Ref })
	h.register("a2", func(r *wire.Register) { r.Running = &aa.Ref })
	h.wantState(assigned.ID, api.CompRunning)
	h.output("a1", ra.Ref, 0, 2, "after restart")
	h.done("a1", ra.Ref, wire.ResultSucceeded, "")
	got = h.wantState(running.ID, api.CompSucceeded)
	if len(got.Output) != 2 {
		t.Fatalf("output = %+v, want both lines", got.Output)
	}
	// Nobody claims the queued one (needs 64 CPUs): it stays queued whatever the time.
	h.advance(time.Hour)
	h.wantState(queued.ID, api.CompQueued)
}

func TestRestartAgentNeverReturns(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	h.register("a2")
	one := h.submit(api.CompositionRequest{MaxAttempts: 1})
	two := h.submit(api.CompositionRequest{MaxAttempts: 2})
	r1 := h.oneAssign("a1")
	r2 := h.oneAssign("a2")
	h.accepted("a1", r1.Ref)
	h.accepted("a2", r2.Ref)

	h.restart()
	h.advance(29 * time.Second)
	h.wantState(one.ID, api.CompRunning)
	h.advance(time.Second)
	got := h.wantState(one.ID, api.CompFailed)
	if !strings.Contains(got.Error, "agent a1 did not come back") {
		t.Errorf("error = %q", got.Error)
	}
	got = h.wantState(two.ID, api.CompQueued)
	if !strings.Contains(got.Error, "agent a2") {
		t.Errorf("error = %q", got.Error)
	}
	h.register("b1")
	if as := h.oneAssign("b1"); as.Composition != two.ID || as.Attempt != 2 {
		t.Fatalf("assign = %+v, want attempt 2 of %s", as, two.ID)
	}
}

func TestRestartUnregisteredAgentKeepsItsWorkAlive(t *testing.T) {
	// External broker: the agent's connection survives the master restart, so
	// it does not re-register, but keeps reporting on its attempt.
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.restart()
	for range 4 {
		h.advance(20 * time.Second)
		h.heartbeat("a1", &as.Ref)
	}
	h.wantState(c.ID, api.CompRunning)
	h.output("a1", as.Ref, 0, 1, "still going")
	h.done("a1", as.Ref, wire.ResultSucceeded, "")
	if got := h.wantState(c.ID, api.CompSucceeded); len(got.Output) != 1 {
		t.Fatalf("output = %+v", got.Output)
	}
	h.wantLog("not registered")
}

func TestRestartKeepsDrainFlags(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	h.register("late")
	for _, id := range []string{"a1", "late"} {
		if _, err := h.d.Drain(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	h.restart()
	h.submit(api.CompositionRequest{})
	h.register("a1")
	if st, _ := h.agentStatus("a1"); !st.Draining {
		t.Fatalf("a1 after restart = %+v, want still draining", st)
	}
	h.noAssign("a1")
	h.advance(31 * time.Second) // "late" did not come back in time; a1 went silent too
	h.register("late")
	if st, _ := h.agentStatus("late"); st.Draining {
		t.Fatal("an agent returning after the heartbeat timeout is still draining")
	}
	h.oneAssign("late")
	h.register("a1") // removed for silence meanwhile: a fresh agent now
	if st, _ := h.agentStatus("a1"); st.Draining {
		t.Fatal("an agent removed for silence kept its drain flag")
	}
	drained, err := h.st.DrainingAgents(context.Background())
	if err != nil || len(drained) != 0 {
		t.Fatalf("stored drain flags = %v, %v; want none", drained, err)
	}
}

func TestRestartAsksUnknownAgentsToRegisterAgain(t *testing.T) {
	// External broker: the agent's connection survives the master restart; its
	// heartbeats reach a master that does not know it, which asks it to
	// register again (at once, then at most once per heartbeat timeout).
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	h.restart()
	c := h.submit(api.CompositionRequest{})
	reregisters := func() int {
		n := 0
		for _, m := range h.agentMsgs("a1") {
			if _, ok := m.(*wire.Reregister); ok {
				n++
			} else {
				t.Fatalf("unexpected %T to a1 before it registered again", m)
			}
		}
		return n
	}
	h.heartbeat("a1", nil)
	if n := reregisters(); n != 1 {
		t.Fatalf("reregister requests after the first unknown heartbeat = %d, want 1", n)
	}
	h.advance(5 * time.Second)
	h.heartbeat("a1", nil)
	if n := reregisters(); n != 0 {
		t.Fatalf("reregister requests 5s later = %d, want 0 (rate-limited)", n)
	}
	h.advance(30 * time.Second)
	h.heartbeat("a1", nil)
	if n := reregisters(); n != 1 {
		t.Fatalf("reregister requests after a heartbeat timeout = %d, want 1 (the first may have been lost)", n)
	}
	h.register("a1") // what the agent does on the request
	if as := h.oneAssign("a1"); as.Composition != c.ID {
		t.Fatalf("assign = %+v, want %s", as, c.ID)
	}
	h.wantLog("asking it to register again")
}

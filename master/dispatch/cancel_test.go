package dispatch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

// cancels returns the cancels sent to agentID since the last call.
func (h *harness) cancels(agentID string) []*wire.Cancel {
	var out []*wire.Cancel
	for _, m := range h.agentMsgs(agentID) {
		if c, ok := m.(*wire.Cancel); ok {
			out = append(out, c)
		}
	}
	return out
}

func (h *harness) cancel(id, reason string) (api.Composition, error) {
	return h.d.Cancel(context.Background(), id, reason)
}

// A queued composition is cancelled at once and leaves the queue; the next
// agent gets the one behind it.
func TestCancelQueued(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.submit(api.CompositionRequest{})
	second := h.submit(api.CompositionRequest{})
	got, err := h.cancel(first.ID, "")
	if err != nil || got.State != api.CompCancelled || got.Error != "cancelled: requested through the API" {
		t.Fatalf("Cancel of a queued composition = %+v, %v", got, err)
	}
	h.wantState(first.ID, api.CompCancelled)
	if q := h.d.Pools(context.Background()).Pools[0].Queued; q != 1 {
		t.Errorf("queued after cancelling one of two = %d, want 1", q)
	}
	h.register("a1")
	if as := h.oneAssign("a1"); as.Composition != second.ID {
		t.Errorf("assigned %s, want the composition behind the cancelled one (%s)", as.Composition, second.ID)
	}
	if _, err := h.cancel(first.ID, ""); !errors.Is(err, ErrFinished) {
		t.Errorf("second Cancel = %v, want ErrFinished", err)
	}
	if _, err := h.cancel("c-nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Cancel of an unknown id = %v, want ErrNotFound", err)
	}
}

// A running composition: the agent is told, keeps its composition until it
// says it stopped, and the composition ends cancelled, not failed; the agent
// then takes the next work.
func TestCancelRunning(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 3})
	next := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)

	got, err := h.cancel(c.ID, "  wrong branch ")
	if err != nil || got.State != api.CompRunning || got.CancelRequested != "wrong branch" {
		t.Fatalf("Cancel of a running composition = %+v, %v; want running with the cancel requested", got, err)
	}
	cs := h.cancels("a1")
	if len(cs) != 1 || cs[0].Ref != as.Ref || cs[0].Reason != "wrong branch" {
		t.Fatalf("cancels sent to a1 = %+v, want one for %+v with the reason", cs, as.Ref)
	}
	if st, _ := h.agentStatus("a1"); st.State != api.AgentBusy {
		t.Errorf("agent a1 is %s before it stopped, want busy (no new work yet)", st.State)
	}
	h.noAssign("a1")

	// Cancelling again sends the message again.
	if _, err := h.cancel(c.ID, "other reason"); err != nil {
		t.Fatal(err)
	}
	if cs := h.cancels("a1"); len(cs) != 1 || cs[0].Reason != "wrong branch" {
		t.Errorf("cancels after a second request = %+v, want one more with the first reason", cs)
	}

	h.done("a1", as.Ref, wire.ResultFailed, "cancelled: wrong branch")
	got = h.wantState(c.ID, api.CompCancelled)
	if got.Error != "cancelled: wrong branch (stopped on agent a1)" {
		t.Errorf("error = %q", got.Error)
	}
	if as2 := h.oneAssign("a1"); as2.Composition != next.ID {
		t.Errorf("a1 then got %s, want %s", as2.Composition, next.ID)
	}
	if n := h.counter("agentcloud_master_compositions", "cancelled"); n != 1 {
		t.Errorf("compositions{state=cancelled} = %v, want 1", n)
	}
}

// An attempt that succeeded before the agent heard of the cancel stays succeeded.
func TestCancelTooLate(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	if _, err := h.cancel(c.ID, ""); err != nil {
		t.Fatal(err)
	}
	h.done("a1", as.Ref, wire.ResultSucceeded, "")
	if got := h.wantState(c.ID, api.CompSucceeded); got.CancelRequested == "" {
		t.Error("the succeeded composition does not show that a cancel was requested")
	}
}

// A cancelled composition is never dispatched again: not when its agent is
// lost, not when it does not accept in time, not when the agent reports it
// interrupted, whatever attempts are left.
func TestCancelNeverRedispatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(h *harness, as *wire.Assign)
		how  string
	}{
		{"agent lost", func(h *harness, as *wire.Assign) {
			h.accepted("a1", as.Ref)
			h.advance(31 * time.Second)
		}, "agent a1 stopped heartbeating"},
		{"not accepted", func(h *harness, as *wire.Assign) { h.advance(16 * time.Second) }, "did not accept attempt 1"},
		{"interrupted", func(h *harness, as *wire.Assign) {
			h.accepted("a1", as.Ref)
			h.done("a1", as.Ref, wire.ResultInterrupted, "SIGTERM")
		}, "stopped on agent a1"},
		{"bye", func(h *harness, as *wire.Assign) {
			h.accepted("a1", as.Ref)
			h.send(&wire.Bye{Type: wire.TypeBye, Agent: "a1"})
		}, "agent a1 left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{AcceptTimeout: 15 * time.Second, HeartbeatTimeout: 30 * time.Second})
			h.register("a1")
			c := h.submit(api.CompositionRequest{MaxAttempts: 5})
			as := h.oneAssign("a1")
			if _, err := h.cancel(c.ID, "stop"); err != nil {
				t.Fatal(err)
			}
			tc.end(h, as)
			got := h.wantState(c.ID, api.CompCancelled)
			if !strings.HasPrefix(got.Error, "cancelled: stop (") || !strings.Contains(got.Error, tc.how) {
				t.Errorf("error = %q, want the reason and %q", got.Error, tc.how)
			}
			h.register("a2")
			h.noAssign("a2")
		})
	}
}

// The request survives a master restart: the agent, reporting the attempt
// still running, is told again, and its done ends the composition cancelled.
func TestCancelSurvivesRestart(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: time.Minute})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 2})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	if _, err := h.cancel(c.ID, "stop"); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if got := h.comp(c.ID); got.CancelRequested != "stop" {
		t.Fatalf("after restart: %+v, want the cancel request kept", got)
	}
	h.register("a1", func(r *wire.Register) { r.Running = &as.Ref })
	if cs := h.cancels("a1"); len(cs) != 1 || cs[0].Ref != as.Ref {
		t.Fatalf("cancels after the agent re-registered = %+v, want one for %+v", cs, as.Ref)
	}
	h.heartbeat("a1", &as.Ref)
	if cs := h.cancels("a1"); len(cs) != 1 {
		t.Fatalf("cancels after a heartbeat that still reports the attempt = %+v, want one more", cs)
	}
	h.done("a1", as.Ref, wire.ResultFailed, "cancelled: stop")
	h.wantState(c.ID, api.CompCancelled)
}

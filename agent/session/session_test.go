package session

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/wire"
)

func TestRegistersOnConnectAndEveryReconnect(t *testing.T) {
	h := start(t, nil)
	msgs := h.conn.messages()
	reg, ok := msgs[0].(*wire.Register)
	if !ok {
		t.Fatalf("first message = %T, want register", msgs[0])
	}
	if reg.Session == "" {
		t.Errorf("register has no session id")
	}
	want := &wire.Register{
		Type: wire.TypeRegister, Agent: "agent-1", Instance: "i-1", Pool: "linux", Version: "v1",
		Facts: map[string]any{"os": map[string]any{"family": "Debian"}}, Plugins: []string{"shell"}, Token: "tok",
		Session: reg.Session,
	}
	if !reflect.DeepEqual(reg, want) {
		t.Errorf("register = %+v\nwant %+v", reg, want)
	}
	if h.conn.subscribed != wire.AgentQueue("test", "agent-1") {
		t.Errorf("subscribed to %q", h.conn.subscribed)
	}
	if !h.conn.dests[wire.MasterQueue("test")] || len(h.conn.dests) != 1 {
		t.Errorf("sent to %v, want only %s", h.conn.dests, wire.MasterQueue("test"))
	}

	h.conn.reconnect()
	h.conn.waitFor(t, "a second register", count[wire.Register](2))
	h.conn.down()
	h.conn.reconnect()
	h.conn.waitFor(t, "a third register", count[wire.Register](3))
}

func TestHeartbeats(t *testing.T) {
	h := start(t, func(c *Config) { c.Heartbeat = 20 * time.Millisecond })
	msgs := h.conn.waitFor(t, "heartbeats", count[wire.Heartbeat](3))
	hb := ofType[wire.Heartbeat](msgs)[0]
	if hb.Agent != "agent-1" || hb.Running != nil || hb.At.IsZero() {
		t.Errorf("idle heartbeat = %+v", hb)
	}
	h.conn.deliver(t, shellAssign("c1", 1, "sleep 30"))
	h.conn.waitFor(t, "a heartbeat naming the running attempt", func(msgs []any) bool {
		for _, hb := range ofType[wire.Heartbeat](msgs) {
			if hb.Running != nil && *hb.Running == (wire.Ref{Composition: "c1", Attempt: 1}) {
				return true
			}
		}
		return false
	})
	h.conn.deliver(t, &wire.Cancel{Type: wire.TypeCancel, Ref: wire.Ref{Composition: "c1", Attempt: 1}})
}

func TestAssignRunsAndStreams(t *testing.T) {
	h := start(t, nil)
	ref := wire.Ref{Composition: "c1", Attempt: 2}
	a := shellAssign("c1", 2, "echo one; echo two >&2; echo ::context version=1.2", `echo "v=$AGENTCLOUD_CONTEXT"`)
	a.Context = map[string]any{"seed": "s"}
	if err := h.conn.deliver(t, a); err != nil {
		t.Fatal(err)
	}
	msgs := h.conn.waitFor(t, "done", doneFor(ref))

	// Order on the wire: register, accepted, output and context as they
	// came, done.
	var kinds []string
	for _, m := range msgs {
		switch x := m.(type) {
		case *wire.Register:
			kinds = append(kinds, "register")
		case *wire.Accepted:
			kinds = append(kinds, "accepted")
		case *wire.Output:
			kinds = append(kinds, "output")
		case *wire.Context:
			kinds = append(kinds, "context")
		case *wire.Done:
			kinds = append(kinds, "done:"+string(x.Result))
		}
	}
	if kinds[0] != "register" || kinds[1] != "accepted" || kinds[len(kinds)-1] != "done:succeeded" {
		t.Errorf("message order = %v", kinds)
	}
	outs := ofType[wire.Output](msgs)
	if len(outs) != 3 {
		t.Fatalf("outputs = %d, want 3:\n%s", len(outs), describeAll(msgs))
	}
	lines := map[string]bool{}
	for i, o := range outs {
		if o.Seq != i+1 || o.Ref != ref || o.Agent != "agent-1" || o.At.IsZero() {
			t.Errorf("output %d = %+v, want seq %d", i, o, i+1)
		}
		lines[o.Stream+":"+o.Line] = true
	}
	for _, want := range []string{"stdout:one", "stderr:two", `stdout:v={"agentcloud":{"agent":"agent-1","attempt":2,"composition":"c1"},"seed":"s","version":"1.2"}`} {
		if !lines[want] {
			t.Errorf("missing output line %q in %v", want, lines)
		}
	}
	if outs[2].Task != 1 {
		t.Errorf("last output task = %d, want 1", outs[2].Task)
	}
	ctxs := ofType[wire.Context](msgs)
	if len(ctxs) != 1 || ctxs[0].Task != 0 || !reflect.DeepEqual(ctxs[0].Values, map[string]any{"version": "1.2"}) {
		t.Errorf("context messages = %+v", ctxs)
	}
	done := ofType[wire.Done](msgs)[0]
	if *done != (wire.Done{Type: wire.TypeDone, Agent: "agent-1", Ref: ref, Result: wire.ResultSucceeded, FailedTask: -1}) {
		t.Errorf("done = %+v", done)
	}
}

func TestFailedTaskReported(t *testing.T) {
	h := start(t, nil)
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	h.conn.deliver(t, shellAssign("c1", 1, "true", "exit 5", "echo never"))
	msgs := h.conn.waitFor(t, "done", doneFor(ref))
	d := ofType[wire.Done](msgs)[0]
	if d.Result != wire.ResultFailed || d.FailedTask != 1 || d.ExitCode != 5 || !strings.Contains(d.Error, "exit status 5") {
		t.Errorf("done = %+v", d)
	}
	if len(ofType[wire.Output](msgs)) != 0 {
		t.Errorf("a task after the failing one ran")
	}
}

func TestDuplicateAssignsAreDeduped(t *testing.T) {
	h := start(t, nil)
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	release := t.TempDir() + "/release"
	h.conn.deliver(t, shellAssign("c1", 1, "while [ ! -e "+release+" ]; do sleep 0.02; done; echo finished"))
	h.conn.waitFor(t, "accepted", count[wire.Accepted](1))

	// The same attempt again while it runs: accepted again, not run twice.
	h.conn.deliver(t, shellAssign("c1", 1, "echo second run"))
	h.conn.waitFor(t, "a second accepted", count[wire.Accepted](2))
	// Another composition while busy: ignored.
	h.conn.deliver(t, shellAssign("c2", 1, "echo other"))
	// A newer attempt of the same composition while busy: ignored too.
	h.conn.deliver(t, shellAssign("c1", 2, "echo other"))

	if err := writeFile(release); err != nil {
		t.Fatal(err)
	}
	msgs := h.conn.waitFor(t, "done", doneFor(ref))
	for _, a := range ofType[wire.Accepted](msgs) {
		if a.Ref != ref {
			t.Errorf("accepted %+v while busy", a.Ref)
		}
	}

	// The finished attempt again: its Done is sent again, nothing runs.
	h.conn.deliver(t, shellAssign("c1", 1, "echo third run"))
	msgs = h.conn.waitFor(t, "the done again", count[wire.Done](2))
	dones := ofType[wire.Done](msgs)
	if *dones[0] != *dones[1] {
		t.Errorf("repeated done %+v differs from %+v", dones[1], dones[0])
	}
	outs := ofType[wire.Output](msgs)
	if len(outs) != 1 || outs[0].Line != "finished" {
		t.Errorf("outputs = %+v; the duplicates must not run", outs)
	}
	if n := len(ofType[wire.Accepted](msgs)); n != 2 {
		t.Errorf("accepted = %d, want 2", n)
	}

	// Idle again: a new composition runs.
	ref3 := wire.Ref{Composition: "c3", Attempt: 1}
	h.conn.deliver(t, shellAssign("c3", 1, "true"))
	h.conn.waitFor(t, "c3 done", doneFor(ref3))
}

func TestCancelStopsTheRunningAttempt(t *testing.T) {
	h := start(t, nil)
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	h.conn.deliver(t, shellAssign("c1", 1, "true", "echo started; sleep 60"))
	h.conn.waitFor(t, "output", count[wire.Output](1))

	// A cancel for another attempt changes nothing.
	h.conn.deliver(t, &wire.Cancel{Type: wire.TypeCancel, Ref: wire.Ref{Composition: "c1", Attempt: 9}})
	h.conn.deliver(t, &wire.Cancel{Type: wire.TypeCancel, Ref: ref, Reason: "user asked"})
	msgs := h.conn.waitFor(t, "done", doneFor(ref))
	d := ofType[wire.Done](msgs)[0]
	want := wire.Done{Type: wire.TypeDone, Agent: "agent-1", Ref: ref, Result: wire.ResultFailed,
		FailedTask: 1, ExitCode: -1, Error: "cancelled: user asked"}
	if *d != want {
		t.Errorf("done = %+v\nwant %+v", *d, want)
	}
	// A cancel of the finished attempt repeats its result.
	h.conn.deliver(t, &wire.Cancel{Type: wire.TypeCancel, Ref: ref})
	h.conn.waitFor(t, "the done again", count[wire.Done](2))
}

func TestDrainStopsTakingWork(t *testing.T) {
	h := start(t, nil)
	h.conn.deliver(t, &wire.Drain{Type: wire.TypeDrain})
	if !h.sess.Draining() {
		t.Fatal("not draining after drain")
	}
	h.conn.deliver(t, shellAssign("c1", 1, "echo hi"))
	h.settled(t)
	if n := len(ofType[wire.Accepted](h.conn.messages())); n != 0 {
		t.Errorf("draining agent accepted %d assignments", n)
	}
}

func TestReRegisterCarriesRunningAndLastDone(t *testing.T) {
	h := start(t, nil)
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	release := t.TempDir() + "/release"
	h.conn.deliver(t, shellAssign("c1", 1, "while [ ! -e "+release+" ]; do sleep 0.02; done; exit 3"))
	h.conn.waitFor(t, "accepted", count[wire.Accepted](1))

	h.conn.reconnect()
	msgs := h.conn.waitFor(t, "register while running", count[wire.Register](2))
	reg := ofType[wire.Register](msgs)[1]
	if reg.Running == nil || *reg.Running != ref || reg.LastDone != nil {
		t.Errorf("register while running: running %v, last done %v", reg.Running, reg.LastDone)
	}

	if err := writeFile(release); err != nil {
		t.Fatal(err)
	}
	msgs = h.conn.waitFor(t, "done", doneFor(ref))
	done := ofType[wire.Done](msgs)[0]

	h.conn.down()
	h.conn.reconnect()
	msgs = h.conn.waitFor(t, "register after done", count[wire.Register](3))
	reg = ofType[wire.Register](msgs)[2]
	if reg.Running != nil || reg.LastDone == nil || *reg.LastDone != *done {
		t.Errorf("register after done: running %v, last done %+v, want %+v", reg.Running, reg.LastDone, done)
	}
}

// TestMessagesQueuedWhileDisconnected: while the broker is away the attempt
// goes on; everything reaches the master, in order, after the reconnect,
// with a register first.
func TestMessagesQueuedWhileDisconnected(t *testing.T) {
	h := start(t, nil)
	h.conn.down()
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	h.conn.deliver(t, shellAssign("c1", 1, "for i in 1 2 3 4 5; do echo $i; done"))
	time.Sleep(200 * time.Millisecond) // let it finish while disconnected
	before := len(h.conn.messages())
	h.conn.reconnect()
	msgs := h.conn.waitFor(t, "done", doneFor(ref))
	after := msgs[before:]
	if r, ok := after[0].(*wire.Register); !ok {
		t.Errorf("first message after reconnect = %T, want register", after[0])
	} else if first := msgs[0].(*wire.Register); r.Session != first.Session {
		t.Errorf("session after reconnect = %q, want the process's %q: a reconnect is not a restart", r.Session, first.Session)
	}
	var lines []string
	for _, o := range ofType[wire.Output](msgs) {
		lines = append(lines, o.Line)
	}
	if !reflect.DeepEqual(lines, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("output lines = %v", lines)
	}
}

func TestFailedSendIsRetried(t *testing.T) {
	h := start(t, nil)
	failures := 0
	h.conn.mu.Lock()
	h.conn.failSends = func(msg any) error {
		if _, ok := msg.(*wire.Done); ok && failures < 2 {
			failures++
			return errInjected
		}
		return nil
	}
	h.conn.mu.Unlock()
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	h.conn.deliver(t, shellAssign("c1", 1, "true"))
	h.conn.waitFor(t, "done after two failed sends", doneFor(ref))
	h.conn.mu.Lock()
	defer h.conn.mu.Unlock()
	if failures != 2 {
		t.Errorf("failures = %d, want 2", failures)
	}
}

func TestBadMessagesAreErrors(t *testing.T) {
	h := start(t, nil)
	tests := []struct{ body, want string }{
		{`not json`, "not a JSON object"},
		{`{"type": "teleport"}`, `unknown type "teleport"`},
		{`{"type": "register", "agent": "x"}`, `unexpected type "register"`},
		{`{"type": "assign", "attempt": 1}`, `missing "composition"`},
		{`{"type": "assign", "composition": "c", "tasks": "many"}`, "decoding assign message"},
	}
	for _, tt := range tests {
		err := h.conn.deliverRaw(t, []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.body, err, tt.want)
		}
	}
	// Still working.
	ref := wire.Ref{Composition: "ok", Attempt: 1}
	h.conn.deliver(t, shellAssign("ok", 1, "true"))
	h.conn.waitFor(t, "done", doneFor(ref))
}

func TestShutdownIdleSaysBye(t *testing.T) {
	h := start(t, nil)
	h.stop(t)
	msgs := h.conn.messages()
	if _, ok := msgs[len(msgs)-1].(*wire.Bye); !ok {
		t.Errorf("last message = %T, want bye", msgs[len(msgs)-1])
	}
	// No work is taken after the shutdown began.
	h.conn.deliver(t, shellAssign("late", 1, "true"))
	if n := len(ofType[wire.Accepted](h.conn.messages())); n != 0 {
		t.Errorf("accepted work while stopped")
	}
}

func TestShutdownFinishesWithinGrace(t *testing.T) {
	h := start(t, func(c *Config) { c.ShutdownGrace = 20 * time.Second })
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	h.conn.deliver(t, shellAssign("c1", 1, "echo started; sleep 0.3; echo finished"))
	h.conn.waitFor(t, "output", count[wire.Output](1))
	h.stop(t)
	msgs := h.conn.messages()
	d := ofType[wire.Done](msgs)
	if len(d) != 1 || d[0].Ref != ref || d[0].Result != wire.ResultSucceeded {
		t.Fatalf("dones = %+v, want one succeeded", d)
	}
	if _, ok := msgs[len(msgs)-1].(*wire.Bye); !ok {
		t.Errorf("last message = %T, want bye", msgs[len(msgs)-1])
	}
}

func TestShutdownPastGraceInterrupts(t *testing.T) {
	h := start(t, func(c *Config) { c.ShutdownGrace = 200 * time.Millisecond })
	ref := wire.Ref{Composition: "c1", Attempt: 1}
	h.conn.deliver(t, shellAssign("c1", 1, "echo started; sleep 60"))
	h.conn.waitFor(t, "output", count[wire.Output](1))
	h.stop(t)
	msgs := h.conn.messages()
	d := ofType[wire.Done](msgs)
	if len(d) != 1 || d[0].Ref != ref || d[0].Result != wire.ResultInterrupted || d[0].FailedTask != 0 ||
		!strings.Contains(d[0].Error, "agent shutting down") {
		t.Fatalf("dones = %+v, want one interrupted", d)
	}
	if _, ok := msgs[len(msgs)-1].(*wire.Bye); !ok {
		t.Errorf("last message = %T, want bye", msgs[len(msgs)-1])
	}
}

// A master that restarted and does not know the agent (its connection
// survived) asks it to register again; it does at once, without a reconnect.
func TestReregisterRequestSendsRegister(t *testing.T) {
	h := start(t, func(c *Config) { c.ReconnectPoll = time.Hour })
	h.conn.deliver(t, shellAssign("c1", 1, "sleep 30"))
	h.conn.waitFor(t, "accepted", count[wire.Accepted](1))
	if err := h.conn.deliver(t, &wire.Reregister{Type: wire.TypeReregister, Reason: "restarted"}); err != nil {
		t.Fatal(err)
	}
	msgs := h.conn.waitFor(t, "a second register", count[wire.Register](2))
	regs := ofType[wire.Register](msgs)
	if r := regs[1]; r.Running == nil || *r.Running != (wire.Ref{Composition: "c1", Attempt: 1}) {
		t.Errorf("register after the request = %+v, want it to name the running attempt c1#1", r)
	}
	if got := h.conn.Reconnects(); got != 0 {
		t.Errorf("reconnects = %d, want 0", got)
	}
	h.conn.deliver(t, &wire.Cancel{Type: wire.TypeCancel, Ref: wire.Ref{Composition: "c1", Attempt: 1}})
}

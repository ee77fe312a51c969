package dispatch

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

func TestHappyPath(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{
		Tasks:   []api.Task{{Plugin: "shell", Fields: map[string]any{"command": "make"}}, {Plugin: "shell"}},
		Context: map[string]any{"branch": "main"},
	})
	if c.State != api.CompAssigned || c.Attempt != 1 || c.Agent != "a1" {
		t.Fatalf("after submit with a free agent: %+v, want assigned to a1, attempt 1", c)
	}
	as := h.oneAssign("a1")
	ref := wire.Ref{Composition: c.ID, Attempt: 1}
	if as.Ref != ref || len(as.Tasks) != 2 || as.Tasks[0].Fields["command"] != "make" || as.Context["branch"] != "main" {
		t.Fatalf("assign = %+v", as)
	}
	if st, _ := h.agentStatus("a1"); st.State != api.AgentBusy || st.Composition != c.ID {
		t.Fatalf("agent status after assign = %+v, want busy with %s", st, c.ID)
	}

	h.now = h.now.Add(2 * time.Second)
	h.accepted("a1", ref)
	got := h.wantState(c.ID, api.CompRunning)
	if !got.StartedAt.Equal(h.now) {
		t.Errorf("started_at = %v, want %v", got.StartedAt, h.now)
	}
	h.output("a1", ref, 0, 1, "compiling")
	h.output("a1", ref, 0, 2, "linking")
	h.output("a1", ref, 0, 2, "linking (duplicate)")
	h.send(&wire.Context{Type: wire.TypeContext, Agent: "a1", Ref: ref, Task: 0, Values: map[string]any{"version": "1.2.3"}})
	h.output("a1", ref, 1, 1, "testing")
	h.done("a1", ref, wire.ResultSucceeded, "")

	got = h.wantState(c.ID, api.CompSucceeded)
	var lines []string
	for _, l := range got.Output {
		lines = append(lines, l.Line)
	}
	if !reflect.DeepEqual(lines, []string{"compiling", "linking", "testing"}) {
		t.Errorf("output = %q, want the duplicate dropped", lines)
	}
	if !reflect.DeepEqual(got.Context, map[string]any{"branch": "main", "version": "1.2.3"}) {
		t.Errorf("context = %v", got.Context)
	}
	if got.FinishedAt.IsZero() || got.Error != "" {
		t.Errorf("finished_at %v error %q", got.FinishedAt, got.Error)
	}
	if st, _ := h.agentStatus("a1"); st.State != api.AgentIdle || st.Composition != "" {
		t.Errorf("agent after done = %+v, want idle", st)
	}
	if n := h.counter("agentcloud_master_dispatches_total", ""); n != 1 {
		t.Errorf("dispatches = %v, want 1", n)
	}
	if n := h.counter("agentcloud_master_submit_to_start_seconds", ""); n != 1 {
		t.Errorf("latency samples = %v, want 1", n)
	}
	if n := h.counter("agentcloud_master_compositions", "succeeded"); n != 1 {
		t.Errorf("succeeded gauge = %v, want 1", n)
	}
}

func TestQueuedUntilAnAgentRegisters(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.submit(api.CompositionRequest{})
	if c.State != api.CompQueued {
		t.Fatalf("state = %s, want queued", c.State)
	}
	pools := h.d.Pools(context.Background())
	if len(pools.Pools) != 1 || pools.Pools[0].Queued != 1 || pools.Pools[0].Unschedulable != 0 {
		t.Fatalf("pools = %+v", pools)
	}
	h.register("a1")
	if as := h.oneAssign("a1"); as.Composition != c.ID {
		t.Fatalf("assign %+v, want %s", as, c.ID)
	}
}

func TestFIFOAndSelectorRouting(t *testing.T) {
	h := newHarness(t, Config{})
	rh := h.submit(api.CompositionRequest{Selector: "os.family=RedHat"})
	first := h.submit(api.CompositionRequest{})
	second := h.submit(api.CompositionRequest{})
	docker := h.submit(api.CompositionRequest{Tasks: []api.Task{{Plugin: "docker"}}})
	h.register("deb")
	if as := h.oneAssign("deb"); as.Composition != first.ID {
		t.Fatalf("Debian agent got %s, want the oldest it matches %s", as.Composition, first.ID)
	}
	h.register("red", func(r *wire.Register) { r.Facts = map[string]any{"os": map[string]any{"family": "RedHat"}} })
	if as := h.oneAssign("red"); as.Composition != rh.ID {
		t.Fatalf("RedHat agent got %s, want %s", as.Composition, rh.ID)
	}
	pools := h.d.Pools(context.Background()).Pools
	if pools[0].Queued != 2 || pools[0].Unschedulable != 1 {
		t.Fatalf("pool = %+v, want 2 queued, 1 unschedulable (docker plugin)", pools[0])
	}
	h.register("dock", func(r *wire.Register) { r.Plugins = []string{"shell", "docker"} })
	if as := h.oneAssign("dock"); as.Composition != second.ID {
		t.Fatalf("docker agent got %s, want FIFO %s first", as.Composition, second.ID)
	}
	_ = docker
}

func TestStaleDoneIgnored(t *testing.T) {
	h := newHarness(t, Config{AcceptTimeout: 15 * time.Second})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	h.oneAssign("a1")
	h.advance(16 * time.Second) // not accepted: withdrawn and dispatched again
	as := h.oneAssign("a1")
	if as.Attempt != 2 {
		t.Fatalf("re-dispatch attempt = %d, want 2", as.Attempt)
	}
	h.accepted("a1", as.Ref)
	h.done("a1", wire.Ref{Composition: c.ID, Attempt: 1}, wire.ResultFailed, "old attempt")
	got := h.wantState(c.ID, api.CompRunning)
	if got.Attempt != 2 {
		t.Fatalf("attempt = %d, want 2", got.Attempt)
	}
	h.output("a1", wire.Ref{Composition: c.ID, Attempt: 1}, 0, 1, "stale line")
	h.done("a1", as.Ref, wire.ResultSucceeded, "")
	got = h.wantState(c.ID, api.CompSucceeded)
	if len(got.Output) != 0 {
		t.Errorf("stale attempt's output was stored: %+v", got.Output)
	}
	h.wantLog("not current")
}

func TestAcceptTimeoutRedispatches(t *testing.T) {
	h := newHarness(t, Config{AcceptTimeout: 15 * time.Second, HeartbeatTimeout: time.Minute})
	h.register("slow")
	c := h.submit(api.CompositionRequest{MaxAttempts: 1})
	h.oneAssign("slow")
	h.advance(14 * time.Second)
	h.wantState(c.ID, api.CompAssigned)
	h.register("fast")
	h.noAssign("fast")

	h.advance(time.Second)
	// Withdrawn from "slow" (which gets a cancel), and dispatched again; the
	// agents idle the longest choose first, so "fast" gets it.
	var cancelled bool
	for _, m := range h.agentMsgs("slow") {
		if cn, ok := m.(*wire.Cancel); ok && cn.Composition == c.ID && cn.Attempt == 1 {
			cancelled = true
		}
	}
	if !cancelled {
		t.Error("the slow agent got no cancel for the withdrawn attempt")
	}
	as := h.oneAssign("fast")
	if as.Attempt != 2 {
		t.Fatalf("attempt = %d, want 2", as.Attempt)
	}
	h.accepted("fast", as.Ref)
	got := h.wantState(c.ID, api.CompRunning)
	if got.Agent != "fast" {
		t.Fatalf("agent = %s, want fast", got.Agent)
	}
	// max_attempts 1 was not used up by the withdrawn assignment: it can still run to the end.
	h.done("fast", as.Ref, wire.ResultSucceeded, "")
	h.wantState(c.ID, api.CompSucceeded)
	if n := h.counter("agentcloud_master_redispatches_total", "accept_timeout"); n != 1 {
		t.Errorf("accept_timeout redispatches = %v, want 1", n)
	}
}

func TestLateAcceptOfWithdrawnAttemptIsCancelled(t *testing.T) {
	h := newHarness(t, Config{AcceptTimeout: 15 * time.Second, HeartbeatTimeout: time.Minute})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	h.oneAssign("a1")
	h.register("a2", func(r *wire.Register) { r.Pool = "other" })
	h.advance(16 * time.Second)
	as := h.oneAssign("a1") // attempt 2 to the same agent
	h.agentMsgs("a1")
	h.accepted("a1", wire.Ref{Composition: c.ID, Attempt: 1}) // the late one
	var cancelled bool
	for _, m := range h.agentMsgs("a1") {
		if cn, ok := m.(*wire.Cancel); ok && cn.Attempt == 1 {
			cancelled = true
		}
	}
	if !cancelled {
		t.Fatal("late accepted of a withdrawn attempt was not cancelled")
	}
	h.accepted("a1", as.Ref)
	if got := h.wantState(c.ID, api.CompRunning); got.Attempt != 2 {
		t.Fatalf("attempt = %d, want 2", got.Attempt)
	}
}

func TestHeartbeatLossRequeuesWithAttemptsLeft(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 2})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.register("a2", func(r *wire.Register) { r.Pool = "linux" })
	for range 3 {
		h.advance(10 * time.Second)
		h.heartbeat("a2", nil)
	}
	got := h.comp(c.ID)
	if got.State != api.CompAssigned || got.Agent != "a2" || got.Attempt != 2 {
		t.Fatalf("after a1 went silent: %+v, want assigned to a2, attempt 2", got)
	}
	if !strings.Contains(got.Error, "a1") || !strings.Contains(got.Error, "heartbeat") {
		t.Errorf("error %q does not name the lost agent and why", got.Error)
	}
	if _, ok := h.agentStatus("a1"); ok {
		t.Error("silent agent a1 still listed")
	}
	as2 := h.oneAssign("a2")
	if as2.Attempt != 2 {
		t.Fatalf("assign attempt = %d, want 2", as2.Attempt)
	}
	h.accepted("a2", as2.Ref)
	h.done("a2", as2.Ref, wire.ResultSucceeded, "")
	if got := h.wantState(c.ID, api.CompSucceeded); got.Error != "" {
		t.Errorf("succeeded composition keeps error %q", got.Error)
	}
	if n := h.counter("agentcloud_master_redispatches_total", "agent_lost"); n != 1 {
		t.Errorf("agent_lost redispatches = %v, want 1", n)
	}
}

func TestHeartbeatLossFailsWithoutAttemptsLeft(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 1})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.advance(29 * time.Second)
	h.wantState(c.ID, api.CompRunning)
	h.advance(time.Second)
	got := h.wantState(c.ID, api.CompFailed)
	if !strings.Contains(got.Error, "agent a1 stopped heartbeating") {
		t.Errorf("error = %q, want it to name agent a1", got.Error)
	}
	// A done arriving after the loss is stale.
	h.done("a1", as.Ref, wire.ResultSucceeded, "")
	h.wantState(c.ID, api.CompFailed)
}

func TestHeartbeatsKeepAgentAlive(t *testing.T) {
	h := newHarness(t, Config{HeartbeatTimeout: 30 * time.Second})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	for range 10 {
		h.advance(20 * time.Second)
		h.heartbeat("a1", &as.Ref)
	}
	h.wantState(c.ID, api.CompRunning)
	if st, ok := h.agentStatus("a1"); !ok || !st.LastSeen.Equal(h.now) {
		t.Fatalf("agent status = %+v, %v; want last seen %v", st, ok, h.now)
	}
}

func TestInterrupted(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 2})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.send(&wire.Context{Type: wire.TypeContext, Agent: "a1", Ref: as.Ref, Values: map[string]any{"step": "built"}})
	h.done("a1", as.Ref, wire.ResultInterrupted, "SIGTERM")

	// Back in the queue and at once to the free agent, with the context so far.
	as2 := h.oneAssign("a1")
	if as2.Attempt != 2 || as2.Context["step"] != "built" {
		t.Fatalf("second assign = %+v, want attempt 2 carrying the context", as2)
	}
	h.accepted("a1", as2.Ref)
	h.done("a1", as2.Ref, wire.ResultInterrupted, "SIGTERM")
	got := h.wantState(c.ID, api.CompFailed)
	if !strings.Contains(got.Error, "interrupted") || !strings.Contains(got.Error, "a1") {
		t.Errorf("error = %q, want interrupted on a1", got.Error)
	}
	h.noAssign("a1")
	if n := h.counter("agentcloud_master_redispatches_total", "interrupted"); n != 1 {
		t.Errorf("interrupted redispatches = %v, want 1", n)
	}
}

func TestFailedKeepsError(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 3})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.send(&wire.Done{Type: wire.TypeDone, Agent: "a1", Ref: as.Ref, Result: wire.ResultFailed, FailedTask: 0, ExitCode: 2})
	got := h.wantState(c.ID, api.CompFailed)
	if got.Error != "task 0 failed with exit code 2" {
		t.Errorf("error = %q", got.Error)
	}
	h.noAssign("a1") // a failure is final, whatever max_attempts says
}

func TestMalformedMessagesAreDropped(t *testing.T) {
	h := newHarness(t, Config{})
	cases := []struct {
		body   string
		reason string
	}{
		{`not json`, "not a JSON object"},
		{`{}`, `missing \"type\"`},
		{`{"type":"explode"}`, "unknown type"},
		{`{"type":"register","pool":"linux"}`, `register message: missing \"agent\"`},
		{`{"type":"register","agent":"x"}`, `missing \"pool\"`},
		{`{"type":"heartbeat"}`, `heartbeat message: missing \"agent\"`},
		{`{"type":"accepted","agent":"a1","attempt":1}`, `missing \"composition\"`},
		{`{"type":"accepted","agent":"a1","composition":"c-1","attempt":0}`, "must be 1 or more"},
		{`{"type":"output","agent":"a1","composition":"c-1","attempt":1,"line":"x"}`, `missing \"stream\"`},
		{`{"type":"context","agent":"a1","composition":"c-1","attempt":1}`, `missing \"values\"`},
		{`{"type":"done","agent":"a1","composition":"c-1","attempt":1}`, `missing \"result\"`},
		{`{"type":"done","agent":"a1","composition":"c-1","attempt":1,"result":"meh"}`, `unknown result`},
		{`{"type":"done","agent":"a1","composition":"c-1","attempt":"one","result":"failed"}`, "cannot unmarshal"},
		{`{"type":"assign","composition":"c-1","attempt":1}`, "goes from master to agents"},
		{`{"type":"bye"}`, `bye message: missing \"agent\"`},
	}
	for _, c := range cases {
		h.sendRaw(c.body) // must not fail or panic
		h.wantLog(c.reason)
	}
	if n := h.counter("agentcloud_master_messages_dropped_total", "malformed"); n != float64(len(cases)) {
		t.Errorf("dropped = %v, want %d", n, len(cases))
	}
	// Still working.
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.done("a1", as.Ref, wire.ResultSucceeded, "")
	h.wantState(c.ID, api.CompSucceeded)
}

func TestMessagesAboutUnknownThingsAreHarmless(t *testing.T) {
	h := newHarness(t, Config{})
	ref := wire.Ref{Composition: "c-nope", Attempt: 1}
	h.accepted("ghost", ref)
	h.output("ghost", ref, 0, 1, "x")
	h.send(&wire.Context{Type: wire.TypeContext, Agent: "ghost", Ref: ref, Values: map[string]any{}})
	h.done("ghost", ref, wire.ResultSucceeded, "")
	h.heartbeat("ghost", nil)
	h.send(&wire.Bye{Type: wire.TypeBye, Agent: "ghost"})
	if pools := h.d.Pools(context.Background()).Pools; len(pools) != 0 {
		t.Fatalf("pools = %+v, want none", pools)
	}
	h.wantLog("not registered")
}

func TestRegisterToken(t *testing.T) {
	h := newHarness(t, Config{AgentToken: "s3cret"})
	h.register("nope")
	h.register("wrong", func(r *wire.Register) { r.Token = "guess" })
	h.register("ok", func(r *wire.Register) { r.Token = "s3cret" })
	if _, ok := h.agentStatus("nope"); ok {
		t.Error("agent without token registered")
	}
	if _, ok := h.agentStatus("wrong"); ok {
		t.Error("agent with a wrong token registered")
	}
	if _, ok := h.agentStatus("ok"); !ok {
		t.Error("agent with the token did not register")
	}
	h.wantLog("rejecting register: no token")
	h.wantLog("rejecting register: wrong token")
	if n := h.counter("agentcloud_master_messages_dropped_total", "bad_token"); n != 2 {
		t.Errorf("bad_token drops = %v, want 2", n)
	}
}

func TestReregisterKeepsDrainAndRunning(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	h.submit(api.CompositionRequest{}) // waits behind
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	resp, err := h.d.Drain(context.Background(), "a1")
	if err != nil || !resp.Draining || resp.Idle || resp.Agent != "a1" {
		t.Fatalf("Drain = %+v, %v; want draining, not idle", resp, err)
	}
	if msgs := h.agentMsgs("a1"); len(msgs) != 1 || !isDrain(msgs[0]) {
		t.Fatalf("messages to a1 after drain = %+v, want one drain", msgs)
	}
	// Reconnect.
	h.register("a1", func(r *wire.Register) { r.Running = &as.Ref })
	st, _ := h.agentStatus("a1")
	if !st.Draining || st.State != api.AgentBusy || st.Composition != c.ID {
		t.Fatalf("after re-register: %+v, want draining and still busy with %s", st, c.ID)
	}
	if msgs := h.agentMsgs("a1"); len(msgs) != 1 || !isDrain(msgs[0]) {
		t.Fatalf("messages after re-register = %+v, want the drain repeated", msgs)
	}
	h.wantState(c.ID, api.CompRunning)
	h.done("a1", as.Ref, wire.ResultSucceeded, "")
	h.wantState(c.ID, api.CompSucceeded)
	h.noAssign("a1") // draining: the queued one waits
	resp, _ = h.d.Drain(context.Background(), "a1")
	if !resp.Idle {
		t.Fatalf("Drain after done = %+v, want idle", resp)
	}
}

// A resumed machine's agent is a new process under the same id: if its bye
// was lost, its register (with a new session) must clear the drain, or the
// pool would suspend it again and never use it.
func TestRegisterWithNewSessionClearsDrain(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1", func(r *wire.Register) { r.Session = "boot-1" })
	if _, err := h.d.Drain(context.Background(), "a1"); err != nil {
		t.Fatal(err)
	}
	// The same process reconnecting stays drained.
	h.register("a1", func(r *wire.Register) { r.Session = "boot-1" })
	if st, _ := h.agentStatus("a1"); !st.Draining {
		t.Fatalf("after reconnect with the same session: %+v, want draining", st)
	}
	// A restarted process takes work again.
	h.register("a1", func(r *wire.Register) { r.Session = "boot-2" })
	if st, _ := h.agentStatus("a1"); st.Draining {
		t.Fatalf("after register with a new session: %+v, want not draining", st)
	}
	c := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	if as.Composition != c.ID {
		t.Fatalf("assigned %s, want %s", as.Composition, c.ID)
	}
}

func isDrain(m any) bool { _, ok := m.(*wire.Drain); return ok }

func TestReregisterWithLastDone(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	last := &wire.Done{Type: wire.TypeDone, Agent: "a1", Ref: as.Ref, Result: wire.ResultSucceeded, FailedTask: -1}
	h.register("a1", func(r *wire.Register) { r.LastDone = last })
	h.wantState(c.ID, api.CompSucceeded)
	if st, _ := h.agentStatus("a1"); st.State != api.AgentIdle {
		t.Fatalf("agent = %+v, want idle", st)
	}
	// Applied again: nothing changes.
	h.register("a1", func(r *wire.Register) { r.LastDone = last })
	h.done("a1", as.Ref, wire.ResultFailed, "late duplicate")
	if got := h.wantState(c.ID, api.CompSucceeded); got.Error != "" {
		t.Fatalf("error = %q after duplicate results", got.Error)
	}
}

func TestReregisterWithoutRunningLosesIt(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 2})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.register("a1") // restarted: runs nothing, no last done
	got := h.comp(c.ID)
	if got.State != api.CompAssigned || got.Attempt != 2 {
		t.Fatalf("after re-register without it: %+v, want re-dispatched (attempt 2)", got)
	}
	if !strings.Contains(got.Error, "re-registered") {
		t.Errorf("error = %q", got.Error)
	}
}

func TestForeignAttemptIsCancelled(t *testing.T) {
	h := newHarness(t, Config{})
	h.submit(api.CompositionRequest{})
	stale := wire.Ref{Composition: "c-old", Attempt: 3}
	h.register("a1", func(r *wire.Register) { r.Running = &stale })
	msgs := h.agentMsgs("a1")
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v, want one cancel", msgs)
	}
	if cn, ok := msgs[0].(*wire.Cancel); !ok || cn.Ref != stale {
		t.Fatalf("message = %+v, want cancel of %v", msgs[0], stale)
	}
	h.heartbeat("a1", &stale) // still stopping: no work yet
	h.noAssign("a1")
	h.heartbeat("a1", nil) // stopped
	h.oneAssign("a1")
}

func TestByeLosesRunningComposition(t *testing.T) {
	h := newHarness(t, Config{})
	h.register("a1")
	c := h.submit(api.CompositionRequest{MaxAttempts: 1})
	as := h.oneAssign("a1")
	h.accepted("a1", as.Ref)
	h.send(&wire.Bye{Type: wire.TypeBye, Agent: "a1"})
	got := h.wantState(c.ID, api.CompFailed)
	if !strings.Contains(got.Error, "agent a1 left") {
		t.Errorf("error = %q", got.Error)
	}
	if _, ok := h.agentStatus("a1"); ok {
		t.Error("agent still listed after bye")
	}
}

func TestDrain(t *testing.T) {
	h := newHarness(t, Config{})
	if _, err := h.d.Drain(context.Background(), "nobody"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("Drain unknown = %v, want ErrUnknownAgent", err)
	}
	h.register("a1")
	resp, err := h.d.Drain(context.Background(), "a1")
	if err != nil || !resp.Idle || !resp.Draining {
		t.Fatalf("Drain idle agent = %+v, %v", resp, err)
	}
	h.submit(api.CompositionRequest{})
	h.noAssign("a1")
	pools := h.d.Pools(context.Background()).Pools
	if pools[0].Queued != 1 || pools[0].Unschedulable != 0 || !pools[0].Agents[0].Draining {
		t.Fatalf("pool = %+v", pools[0])
	}
	if n := h.counter("agentcloud_master_agents", "draining"); n != 1 {
		t.Errorf("draining agents gauge = %v, want 1", n)
	}
}

func TestPoolChangedEventsAreCoalesced(t *testing.T) {
	h := newHarness(t, Config{EventInterval: 100 * time.Millisecond})
	topic := wire.EventsTopic("test")
	h.sentTo(topic)
	h.submit(api.CompositionRequest{})
	ev := h.sentTo(topic)
	if len(ev) != 1 {
		t.Fatalf("events after first submit = %d, want 1 at once", len(ev))
	}
	if pc := ev[0].(*wire.PoolChanged); pc.Pool != "linux" || pc.Queued != 1 {
		t.Fatalf("event = %+v", pc)
	}
	for range 5 {
		h.now = h.now.Add(10 * time.Millisecond)
		h.submit(api.CompositionRequest{})
	}
	if ev := h.sentTo(topic); len(ev) != 0 {
		t.Fatalf("burst within 100ms sent %d more events, want 0", len(ev))
	}
	h.advance(50 * time.Millisecond) // 100ms since the first
	ev = h.sentTo(topic)
	if len(ev) != 1 || ev[0].(*wire.PoolChanged).Queued != 6 {
		t.Fatalf("events after the interval = %+v, want one with queued 6", ev)
	}
	h.advance(time.Second)
	if ev := h.sentTo(topic); len(ev) != 0 {
		t.Fatalf("quiet pool sent %d events", len(ev))
	}
}

func TestSendFailureRecoversThroughAcceptTimeout(t *testing.T) {
	h := newHarness(t, Config{AcceptTimeout: 15 * time.Second, HeartbeatTimeout: time.Minute})
	h.register("a1")
	h.bus.mu.Lock()
	h.bus.sendErr = errSend
	h.bus.mu.Unlock()
	c := h.submit(api.CompositionRequest{})
	h.wantLog("cannot send message")
	h.bus.mu.Lock()
	h.bus.sendErr = nil
	h.bus.mu.Unlock()
	h.advance(15 * time.Second)
	as := h.oneAssign("a1")
	if as.Composition != c.ID || as.Attempt != 2 {
		t.Fatalf("assign = %+v, want attempt 2 of %s", as, c.ID)
	}
}

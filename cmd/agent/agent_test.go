package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/wire"
)

func registered(id string) func([]any) bool {
	return has(func(r *wire.Register) bool { return r.Agent == id })
}

func outputLine(ref wire.Ref, line string) func([]any) bool {
	return has(func(o *wire.Output) bool { return o.Ref == ref && o.Line == line })
}

func doneOf(ref wire.Ref) func([]any) bool {
	return has(func(d *wire.Done) bool { return d.Ref == ref })
}

func byeFrom(id string) func([]any) bool {
	return has(func(b *wire.Bye) bool { return b.Agent == id })
}

// TestSIGTERMPastGraceInterrupts: a long task, SIGTERM, a short grace: the
// agent kills the task, reports it interrupted, says bye and exits 0.
func TestSIGTERMPastGraceInterrupts(t *testing.T) {
	m := startMaster(t)
	p := startAgent(t, m, "sigterm-long", "-shutdown-grace", "300ms")
	m.WaitFor(t, "register", registered("sigterm-long"))
	ref := m.assign(t, "sigterm-long", "long", "echo started; sleep 60; echo never")
	m.WaitFor(t, "the task to start", outputLine(ref, "started"))

	if code := p.terminate(t); code != 0 {
		t.Errorf("exit code = %d, want 0; log:\n%s", code, p.stderr)
	}
	msgs := m.WaitFor(t, "bye", byeFrom("sigterm-long"))
	var done *wire.Done
	for _, d := range ofType[wire.Done](msgs) {
		if d.Ref == ref {
			done = d
		}
	}
	if done == nil || done.Result != wire.ResultInterrupted || done.FailedTask != 0 {
		t.Fatalf("done = %+v, want interrupted at task 0; log:\n%s", done, p.stderr)
	}
	if outputLine(ref, "never")(msgs) {
		t.Error("the task went on after the kill")
	}
}

// TestSIGTERMWithinGraceCompletes: a short task, SIGTERM: the agent lets it
// finish, reports success, says bye and exits 0.
func TestSIGTERMWithinGraceCompletes(t *testing.T) {
	m := startMaster(t)
	p := startAgent(t, m, "sigterm-short", "-shutdown-grace", "30s")
	m.WaitFor(t, "register", registered("sigterm-short"))
	ref := m.assign(t, "sigterm-short", "short", "echo started; sleep 0.5; echo finished", "echo second task")
	m.WaitFor(t, "the task to start", outputLine(ref, "started"))

	if code := p.terminate(t); code != 0 {
		t.Errorf("exit code = %d, want 0; log:\n%s", code, p.stderr)
	}
	msgs := m.WaitFor(t, "bye", byeFrom("sigterm-short"))
	if !outputLine(ref, "finished")(msgs) || !outputLine(ref, "second task")(msgs) {
		t.Errorf("the composition did not complete; log:\n%s", p.stderr)
	}
	if !has(func(d *wire.Done) bool { return d.Ref == ref && d.Result == wire.ResultSucceeded })(msgs) {
		t.Errorf("no succeeded done; dones: %+v", ofType[wire.Done](msgs))
	}
	// Bye is the agent's last word.
	if _, ok := msgs[len(msgs)-1].(*wire.Bye); !ok {
		t.Errorf("last message = %T, want bye", msgs[len(msgs)-1])
	}
}

// TestAgentRegistersFactsAndPlugins runs the binary with the example plugin
// and a facts.d fact and checks what it registers.
func TestAgentRegistersFactsAndPlugins(t *testing.T) {
	m := startMaster(t)
	p := startAgent(t, m, "reg-1", "-plugins-dir", "../../examples/plugins", "-instance", "i-42", "-token", "secret")
	msgs := m.WaitFor(t, "register", registered("reg-1"))
	r := ofType[wire.Register](msgs)[0]
	if r.Pool != "test" || r.Instance != "i-42" || r.Token != "secret" {
		t.Errorf("register = %+v", r)
	}
	if got := strings.Join(r.Plugins, ","); got != "hello,hello.greet,hello.wave,shell" {
		t.Errorf("plugins = %s", got)
	}
	ac, _ := r.Facts["agentcloud"].(map[string]any)
	if ac["agent_id"] != "reg-1" || ac["pool"] != "test" || ac["instance"] != "i-42" {
		t.Errorf("agentcloud facts = %v", ac)
	}
	if _, ok := r.Facts["os"].(map[string]any); !ok {
		t.Errorf("no os fact: %v", r.Facts)
	}
	// And it runs the example plugin.
	ref := m.assignTasks(t, "reg-1", "hello-run", `[{"plugin": "hello", "fields": {"who": "agent"}}]`)
	msgs = m.WaitFor(t, "done", doneOf(ref))
	if !outputLine(ref, "hello, agent")(msgs) {
		t.Errorf("no greeting; log:\n%s", p.stderr)
	}
	p.terminate(t)
}

func TestFactsCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(agentBin, "facts", "-cloud-facts=false", "-agent-id", "x1", "-pool", "p1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("agent facts: %v\n%s", err, stderr.String())
	}
	var f map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	ac, _ := f["agentcloud"].(map[string]any)
	if ac["agent_id"] != "x1" || ac["pool"] != "p1" {
		t.Errorf("agentcloud = %v", ac)
	}
	for _, k := range []string{"os", "kernel", "processors", "memory", "networking"} {
		if _, ok := f[k]; !ok {
			t.Errorf("fact %s missing", k)
		}
	}
}

func TestBadConfigExits2WithReason(t *testing.T) {
	var stderr bytes.Buffer
	cmd := exec.Command(agentBin, "-heartbeat", "often")
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("err = %v, want exit 2", err)
	}
	if !strings.Contains(stderr.String(), `flag -heartbeat: invalid duration "often"`) {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// BenchmarkIdleAgentRSS starts the real agent against an embedded broker,
// waits until it registered and sent a heartbeat (idle), and reports its
// resident memory.
func BenchmarkIdleAgentRSS(b *testing.B) {
	m := startMaster(b)
	total := 0.0
	n := 0
	for b.Loop() {
		id := "rss-" + time.Now().Format("150405.000000")
		id = strings.ReplaceAll(id, ".", "-")
		p := startAgent(b, m, id)
		m.WaitFor(b, "register", registered(id))
		m.WaitFor(b, "a heartbeat", has(func(h *wire.Heartbeat) bool { return h.Agent == id }))
		total += p.rssKiB(b)
		n++
		p.terminate(b)
	}
	b.ReportMetric(total/float64(n), "KiB-rss")
}

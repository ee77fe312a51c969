package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
	"github.com/agentcloud/agentcloud/master/wire/wiretest"
)

const testPrefix = "agenttest"

// fakeMaster is an embedded broker and the master's side of the wire on it,
// recording every message agents send.
type fakeMaster struct {
	*wiretest.Master
	srv *broker.Server
}

func startMaster(tb testing.TB) *fakeMaster {
	tb.Helper()
	srv, err := broker.StartEmbedded(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		tb.Fatalf("starting the embedded broker: %v", err)
	}
	tb.Cleanup(func() { srv.Close() })
	return &fakeMaster{Master: wiretest.DialMaster(tb, broker.Config{URL: srv.URL()}, testPrefix), srv: srv}
}

func (m *fakeMaster) assign(tb testing.TB, agent, comp string, commands ...string) wire.Ref {
	tb.Helper()
	a := wire.Assign{Type: wire.TypeAssign, Ref: wire.Ref{Composition: comp, Attempt: 1}}
	for _, c := range commands {
		a.Tasks = append(a.Tasks, api.Task{Plugin: "shell", Fields: map[string]any{"command": c}})
	}
	m.Send(tb, agent, a)
	return a.Ref
}

func ofType[T any](msgs []any) []*T {
	var out []*T
	for _, m := range msgs {
		if x, ok := m.(*T); ok {
			out = append(out, x)
		}
	}
	return out
}

func has[T any](match func(*T) bool) func([]any) bool {
	return func(msgs []any) bool {
		for _, x := range ofType[T](msgs) {
			if match(x) {
				return true
			}
		}
		return false
	}
}

// agentProc is a running agent binary.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
	err    error
}

// startAgent runs the agent binary against the master's broker.
func startAgent(tb testing.TB, m *fakeMaster, id string, extra ...string) *agentProc {
	tb.Helper()
	dir := tb.TempDir()
	args := append([]string{"-cloud-facts=false", "-heartbeat", "1s"}, extra...)
	cmd := exec.Command(agentBin, args...)
	cmd.Env = append(os.Environ(),
		"AGENTCLOUD_BROKER_URL="+m.srv.URL(),
		"AGENTCLOUD_PREFIX="+testPrefix,
		"AGENTCLOUD_POOL=test",
		"AGENTCLOUD_AGENT_ID="+id,
		"AGENTCLOUD_WORK_DIR="+filepath.Join(dir, "work"),
		"AGENTCLOUD_FACTS_DIR="+filepath.Join(dir, "facts.d"),
		"AGENTCLOUD_PLUGINS_DIR="+filepath.Join(dir, "plugins"),
	)
	p := &agentProc{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the agent: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits for the agent to exit; it returns the exit code.
func (p *agentProc) terminate(tb testing.TB) int {
	tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		tb.Fatalf("agent did not exit after SIGTERM; its log:\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// rssKiB reads the agent's resident set size.
func (p *agentProc) rssKiB(tb testing.TB) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			v, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				tb.Fatal(err)
			}
			return v
		}
	}
	tb.Fatal("no VmRSS in /proc status")
	return 0
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// assignTasks sends an assignment with tasks given as JSON.
func (m *fakeMaster) assignTasks(tb testing.TB, agent, comp, tasksJSON string) wire.Ref {
	tb.Helper()
	a := wire.Assign{Type: wire.TypeAssign, Ref: wire.Ref{Composition: comp, Attempt: 1}}
	if err := json.Unmarshal([]byte(tasksJSON), &a.Tasks); err != nil {
		tb.Fatal(err)
	}
	m.Send(tb, agent, a)
	return a.Ref
}

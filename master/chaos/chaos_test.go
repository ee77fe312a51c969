package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/broker/brokertest"
)

// Environment knobs for quick local runs.
const (
	envCompositions = "AGENTCLOUD_CHAOS_COMPOSITIONS" // default 200
	envAgents       = "AGENTCLOUD_CHAOS_AGENTS"       // default 10
)

func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// TestChaos runs compositions on agents while ActiveMQ is SIGKILLed and
// restarted, agents are SIGKILLed mid-composition (and started again), and
// every broker connection is cut. Every composition must end exactly once
// (succeeded, or failed with a reason), none may be lost, and no attempt may
// run twice: each task appends "<composition> <attempt>" to a shared log.
func TestChaos(t *testing.T) {
	need(t)
	nComps := envInt(t, envCompositions, 200)
	nAgents := envInt(t, envAgents, 10)
	dir := t.TempDir()
	proxy := brokertest.StartProxy(t, pkg.amq.Addr)
	m := startMaster(t, filepath.Join(dir, "master"), "chaos", proxy.URL(), credsFlagOrFile)
	agents := make([]*agent, nAgents)
	ids := make([]string, nAgents)
	for i := range agents {
		ids[i] = fmt.Sprintf("a%02d", i+1)
		agents[i] = startAgent(t, filepath.Join(dir, "agents"), ids[i], "chaos", "linux", proxy.URL(), credsFlagOrFile)
	}
	waitAgents(t, m, ids...)

	log := runLog{path: filepath.Join(dir, "runs.log")}
	comps := make([]string, 0, nComps)
	want := map[string]compSpec{}
	ctx := context.Background()
	for i := range nComps {
		spec := compSpec{maxAttempts: 3, exit: 0, sleep: time.Duration(200+rand.IntN(600)) * time.Millisecond}
		if i%4 == 0 {
			spec.maxAttempts = 1
		}
		if i%25 == 7 {
			spec.exit = 3
		}
		c, err := m.client.Submit(ctx, api.CompositionRequest{
			Pool:        "linux",
			MaxAttempts: spec.maxAttempts,
			Context:     map[string]any{"index": i},
			Tasks:       []api.Task{{Plugin: "shell", Fields: map[string]any{"command": log.command(spec.sleep, spec.exit)}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		comps = append(comps, c.ID)
		want[c.ID] = spec
	}
	start := time.Now()

	// The chaos, each step once a share of the compositions is final.
	var reconnect time.Duration
	steps := []struct {
		at   float64
		name string
		do   func()
	}{
		{0.15, "SIGKILL and restart ActiveMQ", func() { reconnect = restartBroker(t, m, agents) }},
		{0.40, "SIGKILL 3 busy agents, start them again", func() { killBusyAgents(t, m, agents, 3) }},
		{0.55, "cut every broker connection", func() { t.Logf("cut %d connections", proxy.Cut(1)) }},
		{0.70, "SIGKILL 2 busy agents, start them again", func() { killBusyAgents(t, m, agents, 2) }},
		{0.80, "cut half the broker connections", func() { t.Logf("cut %d connections", proxy.Cut(0.5)) }},
	}
	for _, s := range steps {
		deadline := time.Now().Add(3 * time.Minute)
		for countFinal(t, m, comps) < int(s.at*float64(nComps)) {
			if time.Now().After(deadline) {
				t.Fatalf("stuck before %q\nmaster log:\n%s", s.name, m.logTail(40))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("%s (%.0f%% final, %s in)", s.name, s.at*100, time.Since(start).Round(time.Millisecond))
		s.do()
	}
	final := waitFinal(t, m, comps, 3*time.Minute)
	elapsed := time.Since(start)

	all, dups := log.runs(t)
	runs := byComposition(all)
	if len(dups) > 0 {
		t.Errorf("attempts that ran twice (composition attempt): %v", dups)
	}
	var succeeded, failedExit, failedLost, ranAgain int
	reasons := map[string]int{}
	for _, id := range comps {
		c, spec := final[id], want[id]
		attempts := runs[id]
		if len(attempts) > 1 {
			ranAgain++
		}
		switch c.State {
		case api.CompSucceeded:
			succeeded++
			if spec.exit != 0 {
				t.Errorf("composition %s succeeded but its task exits %d", id, spec.exit)
			}
			if !slices.Contains(attempts, c.Attempt) {
				t.Errorf("composition %s succeeded at attempt %d, which never ran (runs %v)", id, c.Attempt, attempts)
			}
		case api.CompFailed:
			if c.Error == "" {
				t.Errorf("composition %s failed without a reason", id)
			}
			reasons[reasonKind(c.Error)]++
			if spec.exit != 0 && strings.Contains(c.Error, "exit") {
				failedExit++
				continue
			}
			failedLost++
			if !strings.Contains(c.Error, "no attempts left") {
				t.Errorf("composition %s (max_attempts %d) failed with %q, want its task's exit or attempts used up", id, spec.maxAttempts, c.Error)
			}
		default:
			t.Errorf("composition %s ended %s", id, c.State)
		}
		if len(attempts) == 0 && c.State == api.CompSucceeded {
			t.Errorf("composition %s succeeded without running", id)
		}
	}
	redispatch := map[string]float64{}
	for _, r := range []string{"accept_timeout", "agent_lost", "interrupted"} {
		redispatch[r] = m.metric(t, "agentcloud_master_redispatches_total", `reason="`+r+`"`)
	}
	t.Logf("CHAOS RESULT: %d compositions on %d agents in %s: %d succeeded, %d failed (%d by their task's exit code, %d with attempts used up), %d ran more than once (never the same attempt: %d duplicate lines); redispatches: %v; failure reasons: %v; reconnect after the broker restart: %s",
		nComps, nAgents, elapsed.Round(time.Millisecond), succeeded, failedExit+failedLost, failedExit, failedLost, ranAgain, len(dups),
		redispatch, reasons, reconnect.Round(time.Millisecond))
	if succeeded+failedExit+failedLost != nComps {
		t.Errorf("%d of %d compositions final", succeeded+failedExit+failedLost, nComps)
	}
	expectFailures := 0
	for _, s := range want {
		if s.exit != 0 {
			expectFailures++
		}
	}
	if failedExit != expectFailures {
		t.Errorf("%d compositions failed by their exit code, want %d", failedExit, expectFailures)
	}
}

// compSpec is how a chaos composition behaves.
type compSpec struct {
	maxAttempts int
	exit        int
	sleep       time.Duration
}

// reasonKind shortens a failure reason for the report.
func reasonKind(msg string) string {
	switch {
	case strings.Contains(msg, "exit"):
		return "task exit code"
	case strings.Contains(msg, "re-registered without running"):
		return "agent restarted (no attempts left)"
	case strings.Contains(msg, "stopped heartbeating"):
		return "agent silent (no attempts left)"
	case strings.Contains(msg, "no attempts left"):
		return "lost (no attempts left)"
	}
	return msg
}

// restartBroker SIGKILLs ActiveMQ, starts it again and returns how long it
// took from the broker answering again until every agent had registered
// again with the master.
//
// Every register the master logs after the old broker is dead came over a
// new connection, so that is what counts, not only those after Start
// returned: start.sh polls STOMP every half second with a fresh bash probe,
// and under load the agents, retrying every few hundred milliseconds, get
// through (and register) before the probe does. The broker answered at the
// first of: the master reconnecting, an agent registering, Start returning.
func restartBroker(t testing.TB, m *master, agents []*agent) time.Duration {
	t.Helper()
	if err := pkg.amq.Kill(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pkg.amq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	deadline := back.Add(2 * time.Minute)
	for {
		regs := m.registrations(t, down)
		if len(regs) >= len(agents) {
			answered, last := back, down
			if at, ok := m.firstLogged(t, down, brokerConnectedLine); ok && at.Before(answered) {
				answered = at
			}
			for _, at := range regs {
				if at.Before(answered) {
					answered = at
				}
				if at.After(last) {
					last = at
				}
			}
			d := max(last.Sub(answered), 0)
			t.Logf("ActiveMQ down for %s (start.sh returned %s after the broker answered); back → all %d agents registered again in %s",
				answered.Sub(down).Round(time.Millisecond), back.Sub(answered).Round(time.Millisecond), len(agents), d.Round(time.Millisecond))
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d agents registered again after the broker restart\nmaster log:\n%s%s",
				len(regs), len(agents), m.logTail(40), unregistered(agents, regs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unregistered describes the agents missing from regs: the tail of each
// one's log, then the goroutine dump it prints on SIGQUIT (which ends it).
func unregistered(agents []*agent, regs map[string]time.Time) string {
	var b strings.Builder
	for _, a := range agents {
		if _, ok := regs[a.id]; ok {
			continue
		}
		fmt.Fprintf(&b, "\nagent %s did not register again; its log:\n%s\n", a.id, a.logTail(60))
		if dump := a.goroutines(10 * time.Second); dump != "" {
			fmt.Fprintf(&b, "agent %s goroutines (SIGQUIT):\n%s\n", a.id, dump)
		}
	}
	return b.String()
}

// killBusyAgents SIGKILLs up to n agents that run a composition now, then
// starts them again (same id and work dir) a moment later.
func killBusyAgents(t *testing.T, m *master, agents []*agent, n int) {
	t.Helper()
	byID := map[string]*agent{}
	for _, a := range agents {
		byID[a.id] = a
	}
	var victims []*agent
	deadline := time.Now().Add(20 * time.Second)
	for len(victims) == 0 && time.Now().Before(deadline) {
		for id, st := range m.agents(t) {
			if st.State == api.AgentBusy && len(victims) < n && byID[id] != nil {
				victims = append(victims, byID[id])
			}
		}
		if len(victims) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for _, a := range victims {
		wg.Go(func() {
			a.kill(t)
			time.Sleep(time.Second)
			a.start(t)
		})
	}
	wg.Wait()
	names := make([]string, len(victims))
	for i, a := range victims {
		names[i] = a.id
	}
	t.Logf("killed and restarted %v", names)
}

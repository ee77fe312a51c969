package local

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

func TestWorkDirAndEnvSurviveSuspendResume(t *testing.T) {
	t.Setenv("AGENTCLOUD_LEAK_CHECK", "must-not-reach-the-agent")
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()
	req := createReq("a1", map[string]string{"AGENTCLOUD_POOL": "pool", "FROM_CONFIG": "req"})
	req.Offering = providers.Offering{Zone: "z", MachineType: "m"}
	if _, err := p.Create(ctx, []providers.CreateRequest{req}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.cfg.Dir, "a1")
	work := filepath.Join(dir, "work")
	boot := filepath.Join(work, "boot.log")
	eventually(t, "the first boot", func() bool { return len(readLines(t, boot)) == 1 })
	first := mustRecord(t, p, "a1")

	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	if processAlive(first.PID) {
		t.Errorf("agent %d still alive after Suspend returned", first.PID)
	}
	if r := mustRecord(t, p, "a1"); r.Desired != desiredSuspended || r.SuspendedAt.IsZero() || r.PID != 0 {
		t.Errorf("record after suspend = %+v", r)
	}
	if _, err := p.Resume(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second boot", func() bool { return len(readLines(t, boot)) == 2 })
	if got := readLines(t, boot); !slices.Equal(got, []string{"started", "started"}) {
		t.Errorf("boot.log = %q, want two starts", got)
	}
	second := mustRecord(t, p, "a1")
	if second.PID == first.PID || !second.Started.After(first.Started) || !second.Created.Equal(first.Created) {
		t.Errorf("record after resume = %+v, first %+v", second, first)
	}

	envText, err := os.ReadFile(filepath.Join(work, "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(strings.TrimSpace(string(envText)), "\n")
	for _, want := range []string{
		"CWD=" + work,
		"AGENTCLOUD_AGENT_ID=a1",
		"AGENTCLOUD_INSTANCE=a1",
		"AGENTCLOUD_WORK_DIR=" + work,
		"AGENTCLOUD_POOL=pool", // from the request, kept for the resume
		"FROM_CONFIG=cfg",      // the config's Env wins over the request's
		"PATH=" + os.Getenv("PATH"),
	} {
		if !slices.Contains(env, want) {
			t.Errorf("agent env lacks %q:\n%s", want, envText)
		}
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "AGENTCLOUD_LEAK_CHECK=") {
			t.Errorf("agent env has %q from cloudmgr's own environment", kv)
		}
	}

	log, err := os.ReadFile(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fakeagent started on stdout", "fakeagent started on stderr", "fakeagent stopping on SIGTERM"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("agent.log lacks %q:\n%s", want, log)
		}
	}

	var fields map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "instance.json"))
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "owner", "installation", "pool", "image", "offering", "created", "started", "desired", "pid", "pid_start"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("instance.json lacks %q: %s", k, b)
		}
	}
	if in, _ := listed(t, p, "me", "a1"); in.Offering != req.Offering {
		t.Errorf("listed offering %+v, want %+v", in.Offering, req.Offering)
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".tmp") {
			t.Errorf("temp file %s left in the instance dir", en.Name())
		}
	}

	if _, err := p.Destroy(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("instance dir after Destroy: %v, want it gone", err)
	}
	if processAlive(second.PID) {
		t.Errorf("agent %d alive after Destroy returned", second.PID)
	}
}

func TestNewProviderOnTheSameDirTakesOver(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	old := e.provider()
	if _, err := old.Create(ctx, []providers.CreateRequest{createReq("run", nil), createReq("sus", nil)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both agents to report their pids", func() bool { return len(e.startedPIDs()) == 2 })
	if _, err := old.Suspend(ctx, providers.SuspendStop, []string{"sus"}); err != nil {
		t.Fatal(err)
	}
	pid := mustRecord(t, old, "run").PID

	p := e.provider() // cloudmgr restarted
	insts, err := p.List(ctx, "me")
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 2 {
		t.Fatalf("List after restart = %+v, want run and sus", insts)
	}
	byName := map[string]providers.Instance{insts[0].Name: insts[0], insts[1].Name: insts[1]}
	if r := byName["run"]; r.State != providers.StateRunning || r.Labels[LabelAlive] != "true" || r.Pool != "pool" {
		t.Errorf("run after restart = %+v", r)
	}
	if s := byName["sus"]; s.State != providers.StateSuspended || s.SuspendedAt.IsZero() || s.Labels[providers.LabelSuspendedAt] == "" {
		t.Errorf("sus after restart = %+v", s)
	}

	// Creating the running name again adopts it: no second process.
	if got, err := p.Create(ctx, []providers.CreateRequest{createReq("run", nil)}); err != nil || got[0].ID != "run" {
		t.Fatalf("Create(run) after restart = %+v, %v", got, err)
	}
	if r := mustRecord(t, p, "run"); r.PID != pid {
		t.Errorf("adopting run changed its pid from %d to %d", pid, r.PID)
	}
	if n := len(e.startedPIDs()); n != 2 {
		t.Errorf("%d agents started, want 2", n)
	}

	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{"run"}); err != nil {
		t.Fatal(err)
	}
	if !waitDead(pid, 5*time.Second) {
		t.Errorf("agent %d started by the old provider survived Suspend by the new one", pid)
	}
	if _, err := p.Resume(ctx, []string{"run"}); err != nil {
		t.Fatal(err)
	}
	pid2 := mustRecord(t, p, "run").PID
	if ids, err := p.Destroy(ctx, []string{"run", "sus"}); err != nil || len(ids) != 2 {
		t.Fatalf("Destroy = %v, %v", ids, err)
	}
	if processAlive(pid2) {
		t.Errorf("agent %d alive after Destroy", pid2)
	}
	if insts, _ := p.List(ctx, "me"); len(insts) != 0 {
		t.Errorf("List after Destroy = %+v", insts)
	}
}

func TestPIDReuseGuard(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()

	// A live process that is not the agent: the record's pid was reused.
	other := exec.Command(agentBin)
	other.Env = []string{"FAKEAGENT_ROLE=child"}
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = other.Process.Kill()
		_ = other.Wait()
	})
	s, err := procStat(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dir := p.instanceDir("ghost")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := writeRecord(dir, &record{
		Name: "ghost", Owner: "me", Pool: "pool", Created: now, Started: now, Desired: desiredRunning,
		PID: other.Process.Pid, PIDStart: s.start + 1,
	}); err != nil {
		t.Fatal(err)
	}

	in, ok := listed(t, p, "me", "ghost")
	if !ok || in.State != providers.StateRunning || in.Labels[LabelAlive] != "false" {
		t.Errorf("ghost = %+v, want running with %s=false", in, LabelAlive)
	}
	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{"ghost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Destroy(ctx, []string{"ghost"}); err != nil {
		t.Fatal(err)
	}
	if !processAlive(other.Process.Pid) {
		t.Error("Suspend or Destroy of a record with a reused pid killed the unrelated process")
	}
}

func TestAgentThatDiedShowsNotAlive(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()
	if _, err := p.Create(ctx, []providers.CreateRequest{createReq("crash", map[string]string{"FAKEAGENT_EXIT": "1"})}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the crashed agent to show alive=false", func() bool {
		in, ok := listed(t, p, "me", "crash")
		return ok && in.Labels[LabelAlive] == "false"
	})
	if in, _ := listed(t, p, "me", "crash"); in.State != providers.StateRunning {
		t.Errorf("crashed agent's instance is %s, want running (the machine exists)", in.State)
	}
	if _, err := p.Destroy(ctx, []string{"crash"}); err != nil {
		t.Fatal(err)
	}
}

func TestSuspendKillsAnAgentIgnoringSIGTERM(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.StopGrace = 200 * time.Millisecond
	p := e.provider()
	ctx := context.Background()
	if _, err := p.Create(ctx, []providers.CreateRequest{createReq("stubborn", map[string]string{"FAKEAGENT_IGNORE_TERM": "1"})}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent to boot", func() bool {
		return len(readLines(t, filepath.Join(p.instanceDir("stubborn"), "work", "boot.log"))) == 1
	})
	pid := mustRecord(t, p, "stubborn").PID
	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{"stubborn"}); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Errorf("agent %d ignoring SIGTERM is alive after Suspend", pid)
	}
	if _, err := p.Destroy(ctx, []string{"stubborn"}); err != nil {
		t.Fatal(err)
	}
}

func TestSuspendStopsTheWholeProcessGroup(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()
	if _, err := p.Create(ctx, []providers.CreateRequest{createReq("parent", map[string]string{"FAKEAGENT_CHILD": "1"})}); err != nil {
		t.Fatal(err)
	}
	childFile := filepath.Join(p.instanceDir("parent"), "work", "child.pid")
	eventually(t, "the agent's child", func() bool { return len(readLines(t, childFile)) == 1 })
	child, err := strconv.Atoi(readLines(t, childFile)[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{"parent"}); err != nil {
		t.Fatal(err)
	}
	if processAlive(child) {
		t.Errorf("the agent's child %d survived Suspend", child)
	}
	log, _ := os.ReadFile(filepath.Join(p.instanceDir("parent"), "agent.log"))
	if !strings.Contains(string(log), "fakeagent child stopping on SIGTERM") {
		t.Errorf("the agent's child did not get SIGTERM; agent.log:\n%s", log)
	}
	if _, err := p.Destroy(ctx, []string{"parent"}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCreatesOfOneNameStartOneAgent(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Create(ctx, []providers.CreateRequest{createReq("same", nil)}); err != nil {
				t.Error(err)
			}
			_, _ = p.List(ctx, "me")
		}()
	}
	wg.Wait()
	eventually(t, "the agent to report its pid", func() bool { return len(e.startedPIDs()) >= 1 })
	if n := len(e.startedPIDs()); n != 1 {
		t.Errorf("%d agents started for one name, want 1", n)
	}
	if _, err := p.Destroy(ctx, []string{"same"}); err != nil {
		t.Fatal(err)
	}
}

func TestBadNamesAndOwners(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(e.cfg.Dir), "outside")
	if err := os.MkdirAll(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../outside", "a/b", ".hidden", "..", strings.Repeat("x", 201)} {
		if _, err := p.Create(ctx, []providers.CreateRequest{createReq(name, nil)}); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
		if ids, err := p.Destroy(ctx, []string{name}); err == nil || len(ids) != 0 {
			t.Errorf("Destroy(%q) = %v, %v; want an error", name, ids, err)
		}
		if _, err := p.Suspend(ctx, providers.SuspendStop, []string{name}); !providers.IsNotFound(err) {
			t.Errorf("Suspend(%q) err = %v, want not found", name, err)
		}
		if _, err := p.Resume(ctx, []string{name}); !providers.IsNotFound(err) {
			t.Errorf("Resume(%q) err = %v, want not found", name, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a dir outside the base dir was touched: %v", err)
	}

	if _, err := p.Create(ctx, []providers.CreateRequest{createReq("mine", nil)}); err != nil {
		t.Fatal(err)
	}
	theirs := createReq("mine", nil)
	theirs.Owner = "other"
	if _, err := p.Create(ctx, []providers.CreateRequest{theirs}); err == nil || !strings.Contains(err.Error(), `owner "me"`) {
		t.Errorf("Create of a name owned by another = %v, want an error naming the owner", err)
	}
	eventually(t, "the agent to report its pid", func() bool { return len(e.startedPIDs()) >= 1 })
	if n := len(e.startedPIDs()); n != 1 {
		t.Errorf("%d agents started, want 1", n)
	}
	if _, err := p.Destroy(ctx, []string{"mine"}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.Command = []string{filepath.Join(t.TempDir(), "no-such-agent")}
	p := e.provider()
	_, err := p.Create(context.Background(), []providers.CreateRequest{createReq("x", nil)})
	if err == nil || !strings.Contains(err.Error(), "creating instance x: starting the agent") {
		t.Fatalf("Create with a missing agent = %v, want a start error", err)
	}
	if _, err := os.Stat(p.instanceDir("x")); !os.IsNotExist(err) {
		t.Errorf("instance dir after a failed Create: %v, want none", err)
	}
	if insts, _ := p.List(context.Background(), "me"); len(insts) != 0 {
		t.Errorf("List after a failed Create = %+v", insts)
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{}, nil); err == nil || !strings.Contains(err.Error(), "dir is required") {
		t.Errorf("New without a dir = %v", err)
	}
	if _, err := New(Config{Dir: t.TempDir(), Command: []string{""}}, nil); err == nil {
		t.Error("New with an empty program succeeded")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	p, err := New(Config{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("base dir not created: %v", err)
	}
	exe, _ := os.Executable()
	if want := []string{filepath.Join(filepath.Dir(exe), "agent")}; !slices.Equal(p.cfg.Command, want) {
		t.Errorf("default command = %v, want %v", p.cfg.Command, want)
	}
	if p.Name() != "local" || p.cfg.StopGrace != 10*time.Second {
		t.Errorf("defaults: name %q, grace %s", p.Name(), p.cfg.StopGrace)
	}
	if caps := p.Capabilities(); !caps.Supports(providers.SuspendStop) || caps.Supports(providers.SuspendSuspend) {
		t.Errorf("capabilities = %+v, want stop only", caps)
	}
}

func TestListSkipsForeignAndBrokenDirs(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	for _, d := range []string{"empty", "broken"} {
		if err := os.MkdirAll(p.instanceDir(d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(p.instanceDir("broken"), "instance.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.cfg.Dir, "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if insts, err := p.List(context.Background(), "me"); err != nil || len(insts) != 0 {
		t.Errorf("List = %+v, %v; want nothing, no error", insts, err)
	}
	if _, err := p.Destroy(context.Background(), []string{"broken", "empty"}); err != nil {
		t.Errorf("Destroy of broken dirs: %v", err)
	}
	if _, err := os.Stat(p.instanceDir("broken")); !os.IsNotExist(err) {
		t.Errorf("broken dir still there: %v", err)
	}
}

func TestParseStat(t *testing.T) {
	tail := " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"
	tests := []struct {
		name  string
		in    string
		want  stat
		fails bool
	}{
		{"plain", "42 (agent) S 1 42" + fields(3, 18) + " 987654" + tail, stat{'S', 42, 987654}, false},
		{"spaces and parens in the name", "42 (a (b) c) Z 1 7" + fields(3, 18) + " 5" + tail, stat{'Z', 7, 5}, false},
		{"no name", "42 agent S", stat{}, true},
		{"too short", "42 (agent) S 1 2 3", stat{}, true},
		{"bad start", "42 (agent) S 1 42" + fields(3, 18) + " x" + tail, stat{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.fails || (!tc.fails && got != tc.want) {
				t.Errorf("parseStat(%q) = %+v, %v; want %+v, fails %v", tc.in, got, err, tc.want, tc.fails)
			}
		})
	}
	if s, err := procStat(os.Getpid()); err != nil || s.start == 0 || s.dead() || s.pgrp == 0 {
		t.Errorf("procStat(self) = %+v, %v", s, err)
	}
}

// fields returns " 0 0 ..." for fields from..to inclusive.
func fields(from, to int) string {
	return strings.Repeat(" 0", to-from+1)
}

// BenchmarkList lists 200 instances (100 running with a dead agent, 100
// suspended): one directory scan plus a record read and a /proc look-up each.
func BenchmarkList(b *testing.B) {
	p, err := New(Config{Dir: b.TempDir(), Command: []string{agentBin}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range 200 {
		r := &record{Name: "b" + strconv.Itoa(i), Owner: "me", Pool: "pool", Created: now, Started: now,
			Desired: desiredRunning, PID: 1 << 22, PIDStart: 1}
		if i%2 == 1 {
			r.Desired, r.SuspendedAt, r.PID = desiredSuspended, now, 0
		}
		dir := p.instanceDir(r.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := writeRecord(dir, r); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	for b.Loop() {
		insts, err := p.List(ctx, "me")
		if err != nil || len(insts) != 200 {
			b.Fatalf("List = %d, %v", len(insts), err)
		}
	}
}

// A cloudmgr killed between starting an agent and recording its pid leaves an
// agent the record does not name. Resume must adopt it, not start a second
// agent under the same id, and Destroy must stop it, not leak it.
func TestUnrecordedAgentIsAdoptedAndStopped(t *testing.T) {
	e := newTestEnv(t)
	p := e.provider()
	ctx := context.Background()
	if _, err := p.Create(ctx, []providers.CreateRequest{createReq("crashy", nil)}); err != nil {
		t.Fatal(err)
	}
	r := mustRecord(t, p, "crashy")
	agent := r.PID
	// The crash window: the process runs, the record has no pid.
	r.PID, r.PIDStart = 0, 0
	if err := writeRecord(p.instanceDir("crashy"), r); err != nil {
		t.Fatal(err)
	}

	if _, err := p.Resume(ctx, []string{"crashy"}); err != nil {
		t.Fatal(err)
	}
	if got := mustRecord(t, p, "crashy").PID; got != agent {
		t.Errorf("after resume the record names pid %d, want the running agent %d adopted", got, agent)
	}
	// The fake agent appends its pid once it runs, which may lag under load.
	eventually(t, "the agent to report its pid", func() bool { return len(e.startedPIDs()) >= 1 })
	if pids := e.startedPIDs(); len(pids) != 1 {
		t.Errorf("agents started: %v, want only the first (no second agent under one id)", pids)
	}

	// Lose the pid again, then destroy: the agent must not outlive its dir.
	r = mustRecord(t, p, "crashy")
	r.PID, r.PIDStart = 0, 0
	if err := writeRecord(p.instanceDir("crashy"), r); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Destroy(ctx, []string{"crashy"}); err != nil {
		t.Fatal(err)
	}
	if !waitDead(agent, 5*time.Second) {
		t.Errorf("agent %d still alive after Destroy of an instance whose record lost its pid", agent)
	}
}

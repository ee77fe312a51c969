package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/client"
)

// bins holds the binaries TestMain builds: cloudmgr, master, agent.
var bins struct{ dir, cloudmgr, master, agent string }

// waitLong bounds every wait for something that must happen: a liveness
// bound, never a speed expectation.
const waitLong = 60 * time.Second

// Tokens of the test installation.
const (
	masterToken = "e2e-master-token"
	agentToken  = "e2e-agent-token"
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the three binaries into a temp dir, then runs the tests.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "agentcloud-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: creating a temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/cloudmgr", "./cmd/master", "./cmd/agent")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the binaries: %v\n%s", err, out)
		return 1
	}
	bins.dir = dir
	bins.cloudmgr = filepath.Join(dir, "cloudmgr")
	bins.master = filepath.Join(dir, "master")
	bins.agent = filepath.Join(dir, "agent")
	return m.Run()
}

// proc is a running binary whose output goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// cleanEnv is a minimal environment: no AGENTCLOUD_* of the developer's leaks in.
func cleanEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	return append(env, extra...)
}

// start starts a binary, appending its output to logPath; the test's cleanup
// kills it if it still runs.
func start(t testing.TB, name, logPath string, env []string, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// signal sends sig and waits for the process to exit.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(waitLong):
		t.Fatalf("%s did not exit within %s of %s", p.name, waitLong, sig)
	}
}

// lines returns the process's log lines parsed as slog text.
func (p *proc) lines(t testing.TB) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, parseLogfmt(sc.Text()))
	}
	return out
}

// waitLine waits for a log line with that msg and returns it.
func (p *proc) waitLine(t testing.TB, msg string) map[string]string {
	t.Helper()
	var found map[string]string
	eventually(t, p.name+" logs "+msg, func() bool {
		for _, l := range p.lines(t) {
			if l["msg"] == msg {
				found = l
				return true
			}
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			t.Fatalf("%s exited (%v):\n%s", p.name, p.err, b)
		default:
		}
		return false
	})
	return found
}

// parseLogfmt parses one slog text line: key=value and key="quoted value".
func parseLogfmt(line string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		eq := strings.IndexByte(line[i:], '=')
		if eq < 0 {
			break
		}
		key := line[i : i+eq]
		i += eq + 1
		if i < len(line) && line[i] == '"' {
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if v, err := strconv.Unquote(line[i:min(j+1, len(line))]); err == nil {
				out[key] = v
			} else {
				out[key] = line[i+1 : min(j, len(line))]
			}
			i = j + 1
			continue
		}
		j := strings.IndexByte(line[i:], ' ')
		if j < 0 {
			j = len(line) - i
		}
		out[key] = line[i : i+j]
		i += j
	}
	return out
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, waitLong)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until cond holds or waitLong passes, without failing: the
// caller then checks and reports exactly what is wrong.
func settle(cond func() bool) {
	for deadline := time.Now().Add(waitLong); !cond() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}

// env is one test's installation: a master, a cloudmgr config and its dirs.
type env struct {
	t         testing.TB
	dir       string
	instances string
	config    string
	master    *proc
	masterURL string
	brokerURL string
	client    *client.Client
	// cmEnv is extra environment for cloudmgr run and teardown.
	cmEnv []string
}

// policyYAML is the pool policy of a test.
type policyYAML struct {
	max, scaleUpStep                          int
	idle, ttl, boot, cooldownUp, cooldownDown string
}

// startMaster starts a master (ports picked by the system, read from its
// log) with its embedded broker and prefix demo, in a fresh env; extraEnv
// goes to the master's environment.
func startMaster(t testing.TB, extraEnv ...string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.instances = filepath.Join(e.dir, "instances")
	e.master = start(t, "master", filepath.Join(e.dir, "master.log"),
		cleanEnv(append([]string{"AGENTCLOUD_MASTER_TOKENS=" + masterToken, "AGENTCLOUD_TOKEN=" + agentToken}, extraEnv...)...),
		bins.master, "serve", "-listen", "127.0.0.1:0", "-broker-listen", "127.0.0.1:0",
		"-data-dir", filepath.Join(e.dir, "master"), "-prefix", "demo")
	l := e.master.waitLine(t, "master started")
	e.masterURL, e.brokerURL = "http://"+l["listen"], l["broker"]
	var err error
	if e.client, err = client.New(e.masterURL, masterToken); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(e.dir, "cloudmgr.yaml")
	return e
}

// writeConfig writes the cloudmgr config and the policy file pool.yaml.
func (e *env) writeConfig(cfg, policy string) {
	e.t.Helper()
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "policies"), 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "policies", "pool.yaml"), []byte(policy), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// newEnv starts a master and writes a cloudmgr config (local provider) and
// policy for it.
func newEnv(t *testing.T, pol policyYAML) *env {
	t.Helper()
	e := startMaster(t)
	cfg := fmt.Sprintf(`id: cm-e2e
listen: 127.0.0.1:0
poll_interval: 500ms
poll_timeout: 400ms
stale_after: 5s
tick_interval: 500ms
policies: ./policies
providers:
  - name: local
    type: local
    settings:
      dir: ./instances
      command: %s
      stop_grace: 5s
      env.AGENTCLOUD_CLOUD_FACTS: "false"
      env.AGENTCLOUD_HEARTBEAT: 1s
      env.AGENTCLOUD_SHUTDOWN_GRACE: 3s
installations:
  - name: demo
    master_url: %s
    token_env: E2E_MASTER_TOKEN
    agent:
      broker_url: %s
      prefix: demo
      token_env: E2E_AGENT_TOKEN
`, bins.agent, e.masterURL, e.brokerURL)
	policy := fmt.Sprintf(`pools:
  - installation: demo
    pool: linux
    provider: local
    max_agents: %d
    scale_up_step: %d
    idle_timeout: %s
    suspend: stop
    suspended_ttl: %s
    boot_timeout: %s
    cooldown: {up: %s, down: %s}
`, pol.max, pol.scaleUpStep, pol.idle, pol.ttl, pol.boot, pol.cooldownUp, pol.cooldownDown)
	e.writeConfig(cfg, policy)
	return e
}

// cloudmgr is a running cloudmgr and its HTTP address.
type cloudmgr struct {
	*proc
	addr string
}

// startCloudmgr starts cloudmgr on the env's config and waits until it serves.
func (e *env) startCloudmgr(logName string) *cloudmgr {
	e.t.Helper()
	p := start(e.t, "cloudmgr", filepath.Join(e.dir, logName), e.cloudmgrEnv(), bins.cloudmgr, "run", "-config", e.config)
	l := p.waitLine(e.t, "cloudmgr started")
	return &cloudmgr{proc: p, addr: l["listen"]}
}

// cloudmgrEnv is the environment of cloudmgr run and teardown: the tokens,
// and the env's cmEnv.
func (e *env) cloudmgrEnv() []string {
	return cleanEnv(append([]string{"E2E_MASTER_TOKEN=" + masterToken, "E2E_AGENT_TOKEN=" + agentToken}, e.cmEnv...)...)
}

// teardown runs `cloudmgr teardown` on the env's config.
func (e *env) teardown() string {
	e.t.Helper()
	cmd := exec.Command(bins.cloudmgr, "teardown", "-config", e.config, "-timeout", "1m")
	cmd.Env = e.cloudmgrEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("cloudmgr teardown: %v\n%s", err, out)
	}
	return string(out)
}

// metric sums the samples of a metric whose labels include all of want.
func (c *cloudmgr) metric(t testing.TB, name string, want map[string]string) float64 {
	t.Helper()
	body := get(t, "http://"+c.addr+"/metrics", "")
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		labels := map[string]string{}
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			for _, m := range labelRE.FindAllStringSubmatch(line[i+1:j], -1) {
				labels[m[1]] = m[2]
			}
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

var labelRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// actions counts cloudmgr's executed actions of a kind (and reason, if given).
func (c *cloudmgr) actions(t testing.TB, kind, reason string) int {
	want := map[string]string{"kind": kind}
	if reason != "" {
		want["reason"] = reason
	}
	return int(c.metric(t, "agentcloud_actions_total", want))
}

// get fetches url (with a bearer token if given) and returns the body of a 200.
func get(t testing.TB, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// agents returns the ids of the pool's registered agents.
func (e *env) agents() ([]string, error) {
	req, err := http.NewRequest(http.MethodGet, e.masterURL+api.PathPools, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+masterToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var pr api.PoolsResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range pr.Pools {
		if p.Pool == "linux" {
			for _, a := range p.Agents {
				ids = append(ids, a.ID)
			}
		}
	}
	return ids, nil
}

// record is what the test reads of a local instance's instance.json.
type record struct {
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Desired string `json:"desired"`
	PID     int    `json:"pid"`
}

// records reads every instance dir's record (a dir without one yet is
// reported with an empty record).
func (e *env) records() map[string]record {
	out := map[string]record{}
	entries, _ := os.ReadDir(e.instances)
	for _, d := range entries {
		if !d.IsDir() {
			continue
		}
		var r record
		if b, err := os.ReadFile(filepath.Join(e.instances, d.Name(), "instance.json")); err == nil {
			json.Unmarshal(b, &r)
		}
		out[d.Name()] = r
	}
	return out
}

// submit submits a shell composition to pool linux.
func (e *env) submit(command string) string {
	e.t.Helper()
	c, err := e.client.Submit(context.Background(), api.CompositionRequest{
		Pool: "linux", Tasks: []api.Task{{Plugin: "shell", Fields: map[string]any{"command": command, "timeout": "1m"}}},
	})
	if err != nil {
		e.t.Fatalf("submitting: %v", err)
	}
	return c.ID
}

// waitDone waits until every composition is final and returns them; a
// failed one fails the test.
func (e *env) waitDone(ids ...string) map[string]api.Composition {
	e.t.Helper()
	out := map[string]api.Composition{}
	eventually(e.t, fmt.Sprintf("%d compositions done", len(ids)), func() bool {
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			c, err := e.client.Get(context.Background(), id)
			if err != nil {
				e.t.Fatalf("reading %s: %v", id, err)
			}
			if c.State.Final() {
				out[id] = c
			}
		}
		return len(out) == len(ids)
	})
	for id, c := range out {
		if c.State != api.CompSucceeded {
			e.t.Errorf("composition %s %s on %s: %s", id, c.State, c.Agent, c.Error)
		}
	}
	return out
}

// output joins a composition's output lines.
func output(c api.Composition) string {
	var lines []string
	for _, l := range c.Output {
		lines = append(lines, l.Line)
	}
	return strings.Join(lines, "\n")
}

// agentProc is a live process running the agent binary.
type agentProc struct {
	pid     int
	agentID string
}

// liveAgents scans /proc for live (not zombie) processes of the agent binary
// whose work dir is under instances (so tests running side by side do not see
// each other's agents), with their AGENTCLOUD_AGENT_ID.
func liveAgents(instances string) ([]agentProc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []agentProc
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if !isAgent(pid) || !alive(pid) {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue // gone meanwhile
		}
		a, ours := agentProc{pid: pid}, false
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := strings.CutPrefix(string(kv), "AGENTCLOUD_AGENT_ID="); ok {
				a.agentID = v
			}
			if v, ok := strings.CutPrefix(string(kv), "AGENTCLOUD_WORK_DIR="); ok {
				ours = strings.HasPrefix(v, instances+string(filepath.Separator))
			}
		}
		if ours {
			out = append(out, a)
		}
	}
	// An agent's child between fork and exec (a task starting) still runs
	// the agent binary with the agent's environment: it is no machine.
	var machines []agentProc
	for _, a := range out {
		if !isAgent(parent(a.pid)) {
			machines = append(machines, a)
		}
	}
	return machines, nil
}

// parent returns the parent pid of pid (0 when unknown).
func parent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// isAgent reports whether pid runs the agent binary.
func isAgent(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.TrimSuffix(exe, " (deleted)") == bins.agent
}

// alive reports whether pid is a live process; a zombie is dead.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// sampler watches the registered agents and the instance dirs throughout a
// test: the most seen at once, and every agent pid and name seen.
type sampler struct {
	ticker
	e *env

	mu          sync.Mutex
	maxAgents   int
	maxRunning  int
	maxDirs     int
	maxProcs    int
	pids        map[int]string // every agent process seen, with its agent id
	names       map[string]bool
	pollErrs    int
	dupAgentIDs []string
}

func (e *env) sample() *sampler {
	s := &sampler{e: e, pids: map[int]string{}, names: map[string]bool{}}
	s.start(s.once)
	e.t.Cleanup(s.halt)
	return s
}

func (s *sampler) once() {
	agents, err := s.e.agents()
	recs := s.e.records()
	procs, perr := liveAgents(s.e.instances)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.pollErrs++
	} else {
		s.maxAgents = max(s.maxAgents, len(agents))
	}
	if perr == nil {
		byID := map[string]int{}
		for _, a := range procs {
			s.pids[a.pid] = a.agentID
			byID[a.agentID]++
		}
		for id, n := range byID {
			if dup := fmt.Sprintf("%s×%d", id, n); n > 1 && !slices.Contains(s.dupAgentIDs, dup) {
				s.dupAgentIDs = append(s.dupAgentIDs, dup)
			}
		}
		s.maxProcs = max(s.maxProcs, len(procs))
	}
	running := 0
	for name, r := range recs {
		s.names[name] = true
		if r.Desired != "suspended" {
			running++
		}
		if r.PID > 0 {
			s.pids[r.PID] = name
		}
	}
	s.maxRunning = max(s.maxRunning, running)
	s.maxDirs = max(s.maxDirs, len(recs))
}

// check fails the test when more than max agents, running instances or
// agent processes were seen at once, or two processes ran one agent id.
func (s *sampler) check(t *testing.T, maxAgents int) {
	t.Helper()
	s.halt()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxAgents > maxAgents || s.maxRunning > maxAgents || s.maxProcs > maxAgents {
		t.Errorf("at most %d agents allowed; seen at once: %d registered, %d running instances, %d agent processes",
			maxAgents, s.maxAgents, s.maxRunning, s.maxProcs)
	}
	if len(s.dupAgentIDs) > 0 {
		t.Errorf("one agent id ran in several processes: %v", s.dupAgentIDs)
	}
	if s.maxAgents == 0 || len(s.pids) == 0 {
		t.Errorf("the sampler saw no agent (%d polls failed)", s.pollErrs)
	}
}

// noneLeft fails the test if an agent process seen during the test still
// lives, or an instance dir is left.
func (s *sampler) noneLeft(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, id := range s.pids {
		if alive(pid) {
			t.Errorf("agent %s (pid %d) is still running", id, pid)
		}
	}
	procs, err := liveAgents(s.e.instances)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range procs {
		t.Errorf("agent process %d (agent %s) is still running", a.pid, a.agentID)
	}
	if recs := s.e.records(); len(recs) > 0 {
		t.Errorf("instance dirs left: %v", recs)
	}
}

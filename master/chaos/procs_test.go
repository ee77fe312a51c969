package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/client"
)

// Timeouts of the processes under test: short, so that losses are noticed
// within a test's time.
const (
	masterAcceptTimeout    = "4s"
	masterHeartbeatTimeout = "6s"
	agentHeartbeat         = "1s"
)

// proc is a process under test: its output goes to a log file.
type proc struct {
	name    string
	bin     string
	args    []string
	env     []string // added to the test's environment
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// start starts the process (again); its log is appended to.
func (p *proc) start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kill takes its children too
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
}

// signal sends sig to the process group and waits (up to wait) for the
// process to end; SIGKILL after that.
func (p *proc) signal(t testing.TB, sig syscall.Signal, wait time.Duration) {
	t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// kill SIGKILLs the process and its children, as a machine crash would.
func (p *proc) kill(t testing.TB) { p.signal(t, syscall.SIGKILL, time.Minute) }

// running reports whether the process runs.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// logTail is the end of the process's log.
func (p *proc) logTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// goroutines sends SIGQUIT to the process alone (not its children), waits
// up to wait for it to end and returns what it wrote meanwhile: the Go
// runtime's dump of every goroutine. "" when it does not run.
func (p *proc) goroutines(wait time.Duration) string {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || !p.running() {
		return ""
	}
	before, _ := os.Stat(p.logPath)
	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return ""
	}
	select {
	case <-done:
	case <-time.After(wait):
	}
	data, _ := os.ReadFile(p.logPath)
	if before != nil && int64(len(data)) >= before.Size() {
		data = data[before.Size():]
	}
	return string(data)
}

// master is a master process.
type master struct {
	proc
	prefix string
	base   string // http://127.0.0.1:port
	client *client.Client
}

// credentials says how a process under test gets the broker credentials.
type credentials int

const (
	// credsFlagOrFile: the master's -broker-credentials-file, the agent's
	// -broker-login and -broker-passcode.
	credsFlagOrFile credentials = iota
	// credsEnv: AGENTCLOUD_BROKER_LOGIN and AGENTCLOUD_BROKER_PASSCODE.
	credsEnv
)

// envCredentials is the environment of credsEnv.
func envCredentials() []string {
	return []string{"AGENTCLOUD_BROKER_LOGIN=" + pkg.amq.Login, "AGENTCLOUD_BROKER_PASSCODE=" + pkg.amq.Passcode}
}

// startMaster runs `master serve` on brokerURL with prefix; the data dir
// (and log) live in dir, so a restart keeps the store.
func startMaster(t testing.TB, dir, prefix, brokerURL string, how credentials) *master {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	m := &master{
		proc: proc{
			name: "master " + prefix, bin: pkg.masterBin, logPath: filepath.Join(dir, "master.log"),
			args: []string{"serve", "-listen", addr, "-data-dir", filepath.Join(dir, "data"), "-prefix", prefix,
				"-broker-url", brokerURL, "-insecure",
				"-accept-timeout", masterAcceptTimeout, "-heartbeat-timeout", masterHeartbeatTimeout},
		},
		prefix: prefix,
		base:   "http://" + addr,
	}
	switch how {
	case credsEnv:
		m.env = envCredentials()
	default:
		creds := filepath.Join(dir, "broker-credentials")
		body := fmt.Sprintf("login=%s\npasscode=%s\n", pkg.amq.Login, pkg.amq.Passcode)
		if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		m.args = append(m.args, "-broker-credentials-file", creds)
	}
	c, err := client.New(m.base, "")
	if err != nil {
		t.Fatal(err)
	}
	m.client = c
	m.start(t)
	t.Cleanup(func() { m.signal(t, syscall.SIGTERM, 10*time.Second) })
	m.waitHealthy(t)
	return m
}

// waitHealthy waits until the master answers /healthz.
func (m *master) waitHealthy(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.base + api.PathHealth)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) || !m.running() {
			t.Fatalf("master %s did not become healthy: %v\n%s", m.prefix, err, m.logTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pools reads GET /api/v1/pools.
func (m *master) pools(t testing.TB) api.PoolsResponse {
	t.Helper()
	var out api.PoolsResponse
	resp, err := http.Get(m.base + api.PathPools)
	if err != nil {
		t.Fatalf("GET pools: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding pools: %v", err)
	}
	return out
}

// agents lists the registered agents by state ("idle", "busy").
func (m *master) agents(t testing.TB) map[string]api.AgentStatus {
	out := map[string]api.AgentStatus{}
	for _, p := range m.pools(t).Pools {
		for _, a := range p.Agents {
			out[a.ID] = a
		}
	}
	return out
}

// metric sums the samples of a metric whose line contains every one of
// labels (e.g. `reason="agent_lost"`).
func (m *master) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(m.base + api.PathMetrics)
	if err != nil {
		t.Fatalf("GET metrics: %v", err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

var (
	registeredLine      = regexp.MustCompile(`^time=(\S+) .*msg="agent registered" .*\bagent=(\S+)`)
	brokerConnectedLine = regexp.MustCompile(`^time=(\S+) .*msg="broker connected" `)
)

// firstLogged is the time of the first line of the master's log at or after
// since that matches re (whose first group is the line's time).
func (m *master) firstLogged(t testing.TB, since time.Time, re *regexp.Regexp) (time.Time, bool) {
	t.Helper()
	data, err := os.ReadFile(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		mm := re.FindStringSubmatch(line)
		if mm == nil {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, mm[1]); err == nil && !at.Before(since) {
			return at, true
		}
	}
	return time.Time{}, false
}

// registrations returns, per agent, the first time the master logged its
// register at or after since.
func (m *master) registrations(t testing.TB, since time.Time) map[string]time.Time {
	t.Helper()
	f, err := os.Open(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]time.Time{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		mm := registeredLine.FindStringSubmatch(sc.Text())
		if mm == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, mm[1])
		if err != nil || at.Before(since) {
			continue
		}
		if _, seen := out[mm[2]]; !seen {
			out[mm[2]] = at
		}
	}
	return out
}

// agent is an agent process.
type agent struct {
	proc
	id string
}

// startAgent runs an agent of pool for the master with prefix, through
// brokerURL; its work dir and log live in dir.
func startAgent(t testing.TB, dir, id, prefix, pool, brokerURL string, how credentials) *agent {
	t.Helper()
	work := filepath.Join(dir, id)
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	a := &agent{
		id: id,
		proc: proc{
			name: "agent " + id, bin: pkg.agentBin, logPath: filepath.Join(dir, id+".log"),
			args: []string{"-broker-url", brokerURL,
				"-broker-client-ack", "-broker-receipts", "-prefix", prefix, "-pool", pool, "-agent-id", id,
				"-work-dir", work, "-facts-dir", filepath.Join(dir, "no-facts"), "-plugins-dir", filepath.Join(dir, "no-plugins"),
				"-heartbeat", agentHeartbeat, "-shutdown-grace", "2s", "-cloud-facts=false"},
		},
	}
	switch how {
	case credsEnv:
		a.env = envCredentials()
	default:
		a.args = append(a.args, "-broker-login", pkg.amq.Login, "-broker-passcode", pkg.amq.Passcode)
	}
	a.start(t)
	t.Cleanup(func() { a.kill(t) })
	return a
}

// waitAgents waits until the master lists every one of ids.
func waitAgents(t testing.TB, m *master, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		have := m.agents(t)
		missing := 0
		for _, id := range ids {
			if _, ok := have[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d agents did not register with master %s\n%s", missing, len(ids), m.prefix, m.logTail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFinal waits until every composition is final and returns them.
func waitFinal(t testing.TB, m *master, ids []string, timeout time.Duration) map[string]api.Composition {
	t.Helper()
	out := map[string]api.Composition{}
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, id := range ids {
			if c, ok := out[id]; ok && c.State.Final() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := m.client.Get(ctx, id)
			cancel()
			if err != nil {
				t.Fatalf("reading composition %s: %v", id, err)
			}
			out[id] = c
			if !c.State.Final() {
				pending++
			}
		}
		if pending == 0 {
			return out
		}
		if time.Now().After(deadline) {
			var stuck []string
			for _, id := range ids {
				if c := out[id]; !c.State.Final() {
					stuck = append(stuck, fmt.Sprintf("%s (%s, attempt %d, agent %s)", id, c.State, c.Attempt, c.Agent))
				}
			}
			t.Fatalf("%d compositions not final after %s: %s\nmaster log:\n%s", pending, timeout, strings.Join(stuck, ", "), m.logTail(40))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// countFinal counts the final compositions among ids (cheaply: one GET each).
func countFinal(t testing.TB, m *master, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := m.client.Get(ctx, id)
		cancel()
		if err == nil && c.State.Final() {
			n++
		}
	}
	return n
}

// freeAddr is a 127.0.0.1 address nothing listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runLog is the file every composition's task appends a line to:
// "<composition> <attempt> <agent> <work dir>".
type runLog struct{ path string }

// run is one line of the run log: one attempt that started.
type run struct {
	comp    string
	attempt int
	agent   string
	dir     string
}

// command is the shell command of a composition's task: it appends the
// composition id, attempt and agent (from the context the agent gives its
// tasks) and its work dir to the log, then sleeps, then exits with code.
func (l runLog) command(sleep time.Duration, code int) string {
	return fmt.Sprintf(`set -e
ctx=$(printf '%%s' "$AGENTCLOUD_CONTEXT" | sed -n 's/.*"agentcloud":{\([^}]*\)}.*/\1/p')
c=$(printf '%%s' "$ctx" | sed -n 's/.*"composition":"\([^"]*\)".*/\1/p')
a=$(printf '%%s' "$ctx" | sed -n 's/.*"attempt":\([0-9][0-9]*\).*/\1/p')
g=$(printf '%%s' "$ctx" | sed -n 's/.*"agent":"\([^"]*\)".*/\1/p')
[ -n "$c" ] && [ -n "$a" ] && [ -n "$g" ] || { echo "no composition, attempt or agent in AGENTCLOUD_CONTEXT: $AGENTCLOUD_CONTEXT" >&2; exit 99; }
echo "$c $a $g $PWD" >> %s
echo "running $c attempt $a on $g"
sleep %.3f
exit %d`, l.path, sleep.Seconds(), code)
}

// runs reads the log: every run, and the "<composition> <attempt>" pairs
// that appear more than once.
func (l runLog) runs(t testing.TB) ([]run, []string) {
	t.Helper()
	data, err := os.ReadFile(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var runs []run
	seen := map[string]bool{}
	var dups []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("run log line %q: want \"<composition> <attempt> <agent> <dir>\"", line)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("run log line %q: %v", line, err)
		}
		key := f[0] + " " + f[1]
		if seen[key] {
			dups = append(dups, key)
		}
		seen[key] = true
		runs = append(runs, run{comp: f[0], attempt: n, agent: f[2], dir: f[3]})
	}
	return runs, dups
}

// byComposition groups runs' attempts by composition.
func byComposition(runs []run) map[string][]int {
	out := map[string][]int{}
	for _, r := range runs {
		out[r.comp] = append(out[r.comp], r.attempt)
	}
	return out
}

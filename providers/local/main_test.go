package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// agentBin is the fakeagent test program, built once by TestMain.
var agentBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fakeagent-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating a temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	agentBin = filepath.Join(dir, "fakeagent")
	build := exec.Command("go", "build", "-o", agentBin, "./testdata/fakeagent")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building testdata/fakeagent: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// testEnv is one test's provider setup and the pids its agents reported.
type testEnv struct {
	t    *testing.T
	cfg  Config
	pids string // file every fakeagent appends its pid to
}

// newTestEnv prepares a base dir and a config running fakeagent, and registers
// a cleanup that fails the test if any agent process is left, killing it.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{t: t, pids: filepath.Join(t.TempDir(), "pids")}
	e.cfg = Config{
		Name:      "local-test",
		Dir:       filepath.Join(t.TempDir(), "instances"),
		Command:   []string{agentBin},
		Env:       map[string]string{"FAKEAGENT_PIDS_FILE": e.pids, "FROM_CONFIG": "cfg"},
		StopGrace: 5 * time.Second,
	}
	t.Cleanup(e.checkNoProcessLeft)
	return e
}

// provider builds a Provider on the env's config.
func (e *testEnv) provider() *Provider {
	e.t.Helper()
	p, err := New(e.cfg, nil)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return p
}

// startedPIDs returns the pids of every fakeagent started so far.
func (e *testEnv) startedPIDs() []int {
	f, err := os.Open(e.pids)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("reading pids: %v", err)
	}
	defer f.Close()
	var pids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil {
			e.t.Fatalf("pids file: %v", err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// checkNoProcessLeft fails the test if an agent is still alive once the test
// is over (waiting briefly for reaping), and kills it.
func (e *testEnv) checkNoProcessLeft() {
	for _, pid := range e.startedPIDs() {
		if waitDead(pid, 5*time.Second) {
			continue
		}
		e.t.Errorf("agent process %d is still alive after the test; killing it", pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processAlive reports whether pid exists (kill(pid, 0)) and is not a zombie:
// where init does not reap orphans, an orphaned agent child stays a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	s, err := procStat(pid)
	return err == nil && !s.dead()
}

// waitDead waits up to d for pid to die and reports whether it did.
func waitDead(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// eventually polls cond every 10ms for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readLines returns the lines of a file ("" lines dropped); nil if it is missing.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// mustRecord reads an instance's record.
func mustRecord(t *testing.T, p *Provider, name string) *record {
	t.Helper()
	r, err := readRecord(p.instanceDir(name))
	if err != nil {
		t.Fatalf("reading the record of %s: %v", name, err)
	}
	return r
}

// listed returns the instance named name from List(owner).
func listed(t *testing.T, p *Provider, owner, name string) (providers.Instance, bool) {
	t.Helper()
	insts, err := p.List(context.Background(), owner)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, in := range insts {
		if in.Name == name {
			return in, true
		}
	}
	return providers.Instance{}, false
}

// createReq is a request of owner "me".
func createReq(name string, env map[string]string) providers.CreateRequest {
	return providers.CreateRequest{Name: name, Owner: "me", Installation: "inst", Pool: "pool", Image: "local", Env: env}
}

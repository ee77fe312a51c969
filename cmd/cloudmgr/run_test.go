package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

const linuxPolicy = `pools:
  - installation: demo
    pool: linux
    provider: fake
    image: agent:1
    max_agents: 5
`

// setup writes a config (fake provider, one installation on masterURL) and a
// policy folder; it returns the config path and the policy file path.
func setup(t *testing.T, masterURL, listen string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`id: cm-test
listen: %s
poll_interval: 100ms
poll_timeout: 1s
stale_after: 5s
tick_interval: 100ms
policies: ./policies
providers:
  - {name: fake, type: fake}
installations:
  - name: demo
    master_url: %s
    token_env: CLOUDMGR_TEST_TOKEN
    agent: {broker_url: "stomp://127.0.0.1:61613"}
`, listen, masterURL)
	must(t, os.WriteFile(filepath.Join(dir, "cloudmgr.yaml"), []byte(cfg), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "policies"), 0o700))
	pol := filepath.Join(dir, "policies", "pools.yaml")
	must(t, os.WriteFile(pol, []byte(linuxPolicy), 0o600))
	return filepath.Join(dir, "cloudmgr.yaml"), pol
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func masterServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathPools, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(api.PoolsResponse{Pools: []api.PoolStatus{{Pool: "linux", Queued: 2}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestValidateExitCodes(t *testing.T) {
	t.Setenv("CLOUDMGR_TEST_TOKEN", "s3cret")
	cfg, pol := setup(t, "http://127.0.0.1:1", "127.0.0.1:0")

	code, out, errOut := runCmd(t, "validate", "-config", cfg)
	if code != 0 || strings.TrimSpace(out) != "ok: 1 installations, 1 pools, 1 providers" {
		t.Errorf("validate good = %d %q %q", code, out, errOut)
	}

	must(t, os.WriteFile(pol, []byte(linuxPolicy+"    warm: -1\n    colour: blue\n"), 0o600))
	code, _, errOut = runCmd(t, "validate", "-config", cfg)
	if code != 1 {
		t.Errorf("validate bad policy = %d, want 1", code)
	}
	for _, want := range []string{"pools.yaml:7: ", "pools.yaml:8: "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("problems lack %q:\n%s", want, errOut)
		}
	}

	t.Setenv("CLOUDMGR_TEST_TOKEN", "")
	code, _, errOut = runCmd(t, "validate", "-config", cfg)
	if code != 1 || !strings.Contains(errOut, "cloudmgr.yaml:13: installations[0].token_env: environment variable CLOUDMGR_TEST_TOKEN is not set") {
		t.Errorf("validate without token = %d:\n%s", code, errOut)
	}

	if code, _, _ := runCmd(t, "validate", "-config", filepath.Join(t.TempDir(), "none.yaml")); code != 1 {
		t.Errorf("validate missing file = %d", code)
	}
	if code, _, errOut := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command = %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "validate", "-nope"); code != 2 {
		t.Errorf("bad flag = %d", code)
	}
	if code, _, _ := runCmd(t, "validate", "-config", cfg, "extra"); code != 2 {
		t.Errorf("extra argument = %d", code)
	}
	if code, _, _ := runCmd(t, "plan", "-config", cfg, "-log-level", "loud"); code != 2 {
		t.Errorf("bad log level = %d", code)
	}
}

func TestPlanCommand(t *testing.T) {
	t.Setenv("CLOUDMGR_TEST_TOKEN", "s3cret")
	cfg, _ := setup(t, masterServer(t).URL, "127.0.0.1:0")
	code, out, errOut := runCmd(t, "plan", "-config", cfg)
	if code != 0 {
		t.Fatalf("plan = %d:\n%s", code, errOut)
	}
	for _, want := range []string{"installation demo (master up)", "pool linux [fake]", "queued 2", "would create ×2: backlog", "nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the logger and the test at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// status fetches /api/v1/status and returns the pools of installation demo.
func status(addr string) ([]string, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Installations []struct {
			Pools []struct{ Pool string } `json:"pools"`
		} `json:"installations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	var pools []string
	for _, in := range r.Installations {
		for _, p := range in.Pools {
			pools = append(pools, p.Pool)
		}
	}
	return pools, nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunServesAndReloadsOnSIGHUP(t *testing.T) {
	t.Setenv("CLOUDMGR_TEST_TOKEN", "s3cret")
	addr := freePort(t)
	cfg, pol := setup(t, masterServer(t).URL, addr)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-config", cfg}, &bytes.Buffer{}, stderr) }()

	eventually(t, "/readyz", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if pools, err := status(addr); err != nil || strings.Join(pools, ",") != "linux" {
		t.Fatalf("pools = %v, %v", pools, err)
	}

	// A good new set is picked up on SIGHUP.
	must(t, os.WriteFile(pol, []byte(linuxPolicy+strings.ReplaceAll(strings.TrimPrefix(linuxPolicy, "pools:\n"), "linux", "win")), 0o600))
	must(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	eventually(t, "pool win after SIGHUP", func() bool {
		pools, _ := status(addr)
		return strings.Join(pools, ",") == "linux,win"
	})

	// A bad set is refused; the last good one stays.
	must(t, os.WriteFile(pol, []byte("pools:\n  - pool: broken\n"), 0o600))
	must(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	eventually(t, "the refused reload to be logged", func() bool { return strings.Contains(stderr.String(), "policy load failed") })
	time.Sleep(300 * time.Millisecond) // a few ticks
	if pools, _ := status(addr); strings.Join(pools, ",") != "linux,win" {
		t.Errorf("pools after a bad reload = %v, want the last good set", pools)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
}

// `cloudmgr simulate` reaches the trace replay with its own flags.
func TestSimulateSubcommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"simulate",
		"-trace", "../../cloudmgr/simulate/testdata/bitcoin-core-gha-jobs-1d.csv", "-preset", "bitcoin",
		"-pool", "selfhosted-linux", "-policy", "../../examples/simulate/bitcoin-selfhosted.yaml",
	}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	for _, want := range []string{"pool selfhosted-linux:", "create-destroy", "bitcoin-selfhosted", "cost/floor"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

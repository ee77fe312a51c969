package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/client"
	"github.com/agentcloud/agentcloud/master/config"
	"github.com/agentcloud/agentcloud/master/httpapi"
	"github.com/agentcloud/agentcloud/master/store"
)

func testConfig(t *testing.T, dir string) config.Serve {
	return config.Serve{
		Listen:           "127.0.0.1:0",
		BrokerListen:     "127.0.0.1:0",
		DataDir:          dir,
		Prefix:           "it",
		Tokens:           []string{"api-token"},
		AgentToken:       "agent-token",
		AcceptTimeout:    15 * time.Second,
		HeartbeatTimeout: 30 * time.Second,
	}
}

func startMaster(t *testing.T, cfg config.Serve) *Master {
	t.Helper()
	m, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEndToEnd runs compositions through a real master (embedded broker,
// SQLite, HTTP) and a scripted agent on its own broker connection.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m := startMaster(t, testConfig(t, dir))
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()
	ag := startAgent(t, m.BrokerURL(), "it", "agent-1", "linux", "agent-token", false)
	startAgent(t, m.BrokerURL(), "it", "intruder", "linux", "wrong-token", false)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New("http://"+m.Addr(), "api-token")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := c.Submit(ctx, api.CompositionRequest{
		Pool:     "linux",
		Selector: "os.family=Debian,processors.count>=2",
		Tasks: []api.Task{
			{Plugin: "shell", Fields: map[string]any{"say": "hello"}},
			{Plugin: "shell", Fields: map[string]any{"say": "world"}},
		},
		Context: map[string]any{"seed": "s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	page, err := c.Follow(ctx, comp.ID, 20*time.Millisecond, func(l httpapi.OutputLine) { lines = append(lines, l.Line) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.State != api.CompSucceeded || strings.Join(lines, " ") != "hello world" {
		t.Fatalf("followed: state %s error %q lines %q", page.State, page.Error, lines)
	}
	got, err := c.Get(ctx, comp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Agent != "agent-1" || got.Context["seed"] != "s" || got.Context["ran_1"] != true || len(got.Output) != 2 {
		t.Fatalf("composition = %+v", got)
	}
	if n := ag.assigns.Load(); n != 1 {
		t.Fatalf("agent got %d assigns, want 1", n)
	}

	// The intruder's register (wrong token) was refused: only agent-1 is listed.
	waitFor(t, func() bool {
		var pools api.PoolsResponse
		getJSON(t, m, api.PathPools, &pools)
		return len(pools.Pools) == 1 && len(pools.Pools[0].Agents) == 1 &&
			pools.Pools[0].Agents[0].ID == "agent-1" && pools.Pools[0].Agents[0].State == api.AgentIdle
	})

	// The submit command, following a failing composition.
	file := filepath.Join(t.TempDir(), "fail.yaml")
	os.WriteFile(file, []byte("pool: linux\ntasks:\n  - plugin: shell\n    fields: {say: doomed, fail: true}\n"), 0o600)
	var out, errs bytes.Buffer
	code := client.RunSubmit(ctx, []string{"-master", "http://" + m.Addr(), "-token", "api-token", "-f", file, "-follow", "-poll", "20ms"},
		nil, &out, &errs, func(string) string { return "" })
	if code != client.ExitFailed || out.String() != "doomed\n" || !strings.Contains(errs.String(), "task 0 said to fail") {
		t.Fatalf("submit -follow: exit %d stdout %q stderr %q", code, out.String(), errs.String())
	}

	// Drain through the API.
	req, _ := http.NewRequest("POST", "http://"+m.Addr()+"/api/v1/agents/agent-1/drain", nil)
	req.Header.Set("Authorization", "Bearer api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("drain: %v %v", resp, err)
	}
	resp.Body.Close()

	// A restart keeps everything.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	m2 := startMaster(t, testConfig(t, dir))
	defer m2.Close()
	c2, _ := client.New("http://"+m2.Addr(), "api-token")
	again, err := c2.Get(ctx, comp.ID)
	if err != nil || again.State != api.CompSucceeded || len(again.Output) != 2 {
		t.Fatalf("after restart: %+v, %v", again, err)
	}
}

func TestStartRefusesWithoutTokens(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Tokens = nil
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "no API token") {
		t.Fatalf("Start without tokens: %v", err)
	}
	cfg.Insecure = true
	m, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

func TestStartFailsOnBusyPort(t *testing.T) {
	m := startMaster(t, testConfig(t, t.TempDir()))
	defer m.Close()
	cfg := testConfig(t, t.TempDir())
	cfg.Listen = m.Addr()
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Fatalf("Start on a busy port: %v", err)
	}
}

func TestRunServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{"AGENTCLOUD_MASTER_TOKENS": "x"}
	done := make(chan int)
	var logs syncWriter
	go func() {
		done <- RunServe(ctx, []string{"-listen", "127.0.0.1:0", "-broker-listen", "127.0.0.1:0", "-data-dir", t.TempDir()},
			func(k string) string { return env[k] }, &logs)
	}()
	waitFor(t, func() bool { return strings.Contains(logs.String(), "master started") })
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("RunServe did not return after cancel")
	}
	if !strings.Contains(logs.String(), "master stopped") {
		t.Fatalf("no clean stop in logs:\n%s", logs.String())
	}
	if code := RunServe(context.Background(), []string{"-listen", "nonsense"}, func(string) string { return "" }, &logs); code != 2 {
		t.Fatalf("bad flags: exit %d, want 2", code)
	}
}

func getJSON(t *testing.T, m *Master, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+m.Addr()+path, nil)
	req.Header.Set("Authorization", "Bearer api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := jsonDecode(resp, out); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("condition not reached in 15s"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// `master cancel` on a queued composition (no agent in its pool) against a
// real master: cancelled at once, and a second cancel says it finished.
func TestCancelCommandOnQueued(t *testing.T) {
	m := startMaster(t, testConfig(t, t.TempDir()))
	defer m.Close()
	ctx := context.Background()
	c, err := client.New("http://"+m.Addr(), "api-token")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := c.Submit(ctx, api.CompositionRequest{Pool: "nobody-here", Tasks: []api.Task{{Plugin: "shell"}}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AGENTCLOUD_MASTER_URL": "http://" + m.Addr(), "AGENTCLOUD_MASTER_TOKEN": "api-token"}
	cancel := func() (int, string) {
		var out, errs bytes.Buffer
		code := client.RunCancel(ctx, []string{"-reason", "not needed", comp.ID}, &out, &errs, func(k string) string { return env[k] })
		return code, out.String() + errs.String()
	}
	if code, out := cancel(); code != client.ExitOK || out != comp.ID+" cancelled\n" {
		t.Fatalf("master cancel: exit %d, output %q", code, out)
	}
	got, err := c.Get(ctx, comp.ID)
	if err != nil || got.State != api.CompCancelled || got.Error != "cancelled: not needed" {
		t.Fatalf("after cancel: %+v, %v", got, err)
	}
	if code, out := cancel(); code != client.ExitFailed || !strings.Contains(out, "already finished (state cancelled)") {
		t.Fatalf("second master cancel: exit %d, output %q", code, out)
	}
}

// A master started on a database holding a composition that finished 31
// days ago purges it (the default retention is 30 days) and counts it; a
// recent one stays.
func TestRetentionPurgesOldCompositions(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for id, age := range map[string]time.Duration{"c-old": 31 * 24 * time.Hour, "c-recent": time.Hour} {
		err := st.Insert(ctx, &store.Composition{ID: id, Pool: "linux", Tasks: []api.Task{{Plugin: "shell"}},
			State: api.CompSucceeded, MaxAttempts: 1, SubmittedAt: now.Add(-age - time.Minute), FinishedAt: now.Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	cfg := testConfig(t, dir)
	cfg.Retain = 30 * 24 * time.Hour
	m := startMaster(t, cfg)
	defer m.Close()
	c, _ := client.New("http://"+m.Addr(), "api-token")
	waitFor(t, func() bool {
		_, err := c.Get(ctx, "c-old")
		var apiErr *client.APIError
		return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
	})
	if _, err := c.Get(ctx, "c-recent"); err != nil {
		t.Errorf("the recent composition: %v, want it kept", err)
	}
	req, _ := http.NewRequest("GET", "http://"+m.Addr()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "agentcloud_master_purged_compositions_total 1\n") {
		t.Errorf("metrics lack agentcloud_master_purged_compositions_total 1:\n%s", grepLines(string(body), "purged"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// `master submit -follow -cancel-on-interrupt`, interrupted while its
// composition waits (no agent in its pool): the composition is cancelled.
func TestSubmitCancelOnInterrupt(t *testing.T) {
	m := startMaster(t, testConfig(t, t.TempDir()))
	defer m.Close()
	file := filepath.Join(t.TempDir(), "wait.yaml")
	os.WriteFile(file, []byte("pool: nobody-here\ntasks:\n  - plugin: shell\n"), 0o600)
	ctx, interrupt := context.WithCancel(context.Background())
	var out, errs syncWriter
	done := make(chan int)
	go func() {
		done <- client.RunSubmit(ctx, []string{"-master", "http://" + m.Addr(), "-token", "api-token", "-f", file,
			"-follow", "-cancel-on-interrupt", "-poll", "20ms"}, nil, &out, &errs, func(string) string { return "" })
	}()
	waitFor(t, func() bool { return strings.Contains(errs.String(), "submitted ") })
	interrupt()
	if code := <-done; code != client.ExitUsage || !strings.Contains(errs.String(), "cancelled") {
		t.Fatalf("interrupted submit: exit %d, stderr %q", code, errs.String())
	}
	id := strings.Fields(strings.TrimPrefix(errs.String(), "submitted "))[0]
	c, _ := client.New("http://"+m.Addr(), "api-token")
	got, err := c.Get(context.Background(), id)
	if err != nil || got.State != api.CompCancelled || got.Error != "cancelled: master submit -follow was interrupted" {
		t.Fatalf("composition %s after the interrupt: %+v, %v", id, got, err)
	}
	var usage bytes.Buffer
	if code := client.RunSubmit(context.Background(), []string{"-f", file, "-cancel-on-interrupt"}, nil, &usage, &usage,
		func(string) string { return "" }); code != client.ExitUsage || !strings.Contains(usage.String(), "needs -follow") {
		t.Errorf("-cancel-on-interrupt without -follow: exit %d, %q", code, usage.String())
	}
}

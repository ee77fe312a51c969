package httpserver

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/metrics"
	"github.com/agentcloud/agentcloud/cloudmgr/scaler"
	"github.com/agentcloud/agentcloud/providers"
)

// source is a Source with a settable report and readiness.
type source struct {
	mu     sync.Mutex
	report *scaler.Report
	ready  bool
	why    string
}

func (s *source) Status() *scaler.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.report
}

func (s *source) Ready() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready, s.why
}

func sampleReport() *scaler.Report {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	return &scaler.Report{
		Ticks: 3, TickStarted: at, TickEnded: at.Add(20 * time.Millisecond), TickSeconds: 0.02, ListCalls: 1,
		Installations: []scaler.InstallationReport{{
			Name: "demo", MaxAgents: 40,
			Poll: scaler.PollReport{Up: true, FetchedAt: at},
			Pools: []scaler.PoolReport{{
				Pool: "linux", Provider: "local", Source: "policies/demo.yaml:7",
				Queued: 7, OldestWaitSeconds: 95, Want: 9, Min: 1, Max: 20,
				Agents:    scaler.AgentCounts{Idle: 1, Busy: 4, Booting: 2, Capacity: 7},
				Instances: map[providers.State]int{providers.StateRunning: 5, providers.StatePending: 2},
				Actions: []scaler.ActionReport{{Time: at, Kind: "create", Instance: "demo-linux-8", Code: "backlog",
					Reason: "backlog: 7 queued + 4 busy <script>alert(1)</script>"}},
				Holds:    []string{"cooldown up 1m: not adding 2 before 12:01:00"},
				Recent:   []scaler.ActionReport{},
				LastTick: at,
			}},
		}},
	}
}

func server(t *testing.T, src *source) *httptest.Server {
	m := metrics.New()
	m.ObserveTick(time.Millisecond)
	srv := httptest.NewServer(New(src, m.Registry, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestHealthAndReady(t *testing.T) {
	src := &source{report: &scaler.Report{}, why: "no tick completed yet"}
	srv := server(t, src)
	if code, body, _ := get(t, srv.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, body, _ := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "no tick completed yet") {
		t.Errorf("readyz before = %d %q", code, body)
	}
	src.mu.Lock()
	src.ready = true
	src.mu.Unlock()
	if code, _, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("readyz after = %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/nope"); code != 404 {
		t.Errorf("unknown path = %d", code)
	}
}

func TestStatusJSON(t *testing.T) {
	srv := server(t, &source{report: sampleReport(), ready: true})
	code, body, h := get(t, srv.URL+PathStatus)
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("status = %d %s", code, h.Get("Content-Type"))
	}
	var got struct {
		Ticks         int `json:"ticks"`
		Installations []struct {
			Name string `json:"name"`
			Poll struct {
				Up bool `json:"up"`
			} `json:"poll"`
			Pools []struct {
				Pool    string `json:"pool"`
				Source  string `json:"source"`
				Want    int    `json:"want"`
				Queued  int    `json:"queued"`
				Agents  map[string]int
				Actions []struct {
					Kind, Reason, Code string
				} `json:"actions"`
				Holds     []string       `json:"holds"`
				Instances map[string]int `json:"instances"`
			} `json:"pools"`
		} `json:"installations"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	p := got.Installations[0].Pools[0]
	if got.Ticks != 3 || !got.Installations[0].Poll.Up || p.Pool != "linux" || p.Source != "policies/demo.yaml:7" ||
		p.Want != 9 || p.Queued != 7 || p.Agents["busy"] != 4 || p.Agents["capacity"] != 7 ||
		p.Actions[0].Code != "backlog" || len(p.Holds) != 1 || p.Instances["pending"] != 2 {
		t.Errorf("status = %+v", got)
	}
}

func TestStatusPage(t *testing.T) {
	srv := server(t, &source{report: sampleReport(), ready: true})
	code, body, h := get(t, srv.URL+"/")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("page = %d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`<meta http-equiv="refresh"`, "<h2>demo</h2>", "<strong>linux</strong>", "policies/demo.yaml:7",
		`<td class="n">7</td>`, "1m35s", "9 / 7", "1–20", "demo-linux-8", "cooldown up 1m", "cap 40 agents",
		"&lt;script&gt;", "ready",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a reason was not escaped")
	}
	// Before the first tick the page still renders.
	srv2 := server(t, &source{report: &scaler.Report{}, why: "no policies loaded"})
	if code, body, _ := get(t, srv2.URL+"/"); code != 200 || !strings.Contains(body, "not ready: no policies loaded") {
		t.Errorf("empty page = %d", code)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	srv := server(t, &source{report: &scaler.Report{}})
	code, body, _ := get(t, srv.URL+"/metrics")
	if code != 200 || !strings.Contains(body, "agentcloud_tick_duration_seconds_count 1") {
		t.Fatalf("metrics = %d:\n%s", code, body)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
			t.Fatal("promtool not found and AGENTCLOUD_REQUIRE_COMPONENTS=1")
		}
		t.Skip("promtool not installed: skipping `promtool check metrics`")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader([]byte(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/dispatch"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// nopBus drops what is sent and keeps the subscription handler.
type nopBus struct{}

func (nopBus) Send(context.Context, string, []byte) error { return nil }
func (nopBus) Subscribe(string, func(context.Context, []byte) error) error {
	return nil
}

const token = "t0ken"

type env struct {
	t   *testing.T
	srv *httptest.Server
	d   *dispatch.Dispatcher
	st  *store.Store
}

func newEnv(t *testing.T, tokens ...string) *env {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := metrics.New()
	d := dispatch.New(dispatch.Config{Prefix: "test", Metrics: m}, st, nopBus{})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	reg, err := m.Registry(d)
	if err != nil {
		t.Fatal(err)
	}
	if tokens == nil {
		tokens = []string{token}
	}
	h := New(d, Config{Tokens: tokens, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, d: d, st: st}
}

// do sends a request with the token and returns status and body.
func (e *env) do(method, path, body string) (int, string) {
	return e.doAuth(method, path, body, "Bearer "+token)
}

func (e *env) doAuth(method, path, body, auth string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var er api.ErrorResponse
	if err := json.Unmarshal([]byte(body), &er); err != nil || er.Error == "" {
		t.Fatalf("body %q is not an ErrorResponse", body)
	}
	return er.Error
}

func TestSubmitRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, body, want string
	}{
		{"malformed JSON", `{"pool": "linux", "tasks": [}`, "malformed JSON at byte 29"},
		{"truncated JSON", `{"pool": "linux"`, "body ends early"},
		{"empty body", ``, "empty request body"},
		{"not an object", `[1,2]`, "body: want an object, got a JSON array"},
		{"trailing data", `{"pool":"p","tasks":[{"plugin":"shell"}]} x`, "unexpected data after the object"},
		{"unknown field", `{"pool":"p","taks":[]}`, `unknown field "taks"`},
		{"missing pool", `{"tasks":[{"plugin":"shell"}]}`, "pool: required"},
		{"blank pool", `{"pool":"  ","tasks":[{"plugin":"shell"}]}`, "pool: required"},
		{"no tasks", `{"pool":"p","tasks":[]}`, "tasks: at least one task is required"},
		{"task without plugin", `{"pool":"p","tasks":[{"plugin":"shell"},{"name":"x"}]}`, "tasks[1].plugin: required"},
		{"fields not an object", `{"pool":"p","tasks":[{"plugin":"shell","fields":"ls"}]}`, "tasks.fields: want an object, got a JSON string"},
		{"bad selector", `{"pool":"p","selector":"os.family=Debian,cpu>>4","tasks":[{"plugin":"shell"}]}`, `selector: at position 22 (clause "cpu>>4")`},
		{"max_attempts too big", `{"pool":"p","max_attempts":11,"tasks":[{"plugin":"shell"}]}`, "max_attempts: must be between 0 and 10, got 11"},
		{"max_attempts negative", `{"pool":"p","max_attempts":-1,"tasks":[{"plugin":"shell"}]}`, "max_attempts: must be between 0 and 10"},
		{"max_attempts not a number", `{"pool":"p","max_attempts":"2","tasks":[{"plugin":"shell"}]}`, "max_attempts: want a whole number, got a JSON string"},
	}
	for _, c := range cases {
		status, body := e.do("POST", api.PathCompositions, c.body)
		if status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", c.name, status, body)
			continue
		}
		if msg := errorOf(t, body); !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.name, msg, c.want)
		}
	}
	if cs, _ := e.st.List(context.Background(), store.Filter{}); len(cs) != 0 {
		t.Fatalf("bad requests stored %d compositions", len(cs))
	}
}

func TestSubmitGetListOutput(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", api.PathCompositions, `{"pool":"linux","tasks":[{"plugin":"shell","fields":{"command":"make"}}],"context":{"a":1}}`)
	if status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, body)
	}
	var c api.Composition
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.State != api.CompQueued || c.MaxAttempts != 1 || c.Pool != "linux" {
		t.Fatalf("submitted = %+v", c)
	}
	e.do("POST", api.PathCompositions, `{"pool":"win","tasks":[{"plugin":"shell"}]}`)

	// An agent runs it and prints two lines.
	ctx := context.Background()
	send := func(m any) {
		b, _ := json.Marshal(m)
		if err := e.d.HandleMessage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	send(&wire.Register{Type: wire.TypeRegister, Agent: "a1", Pool: "linux", Plugins: []string{"shell"}})
	ref := wire.Ref{Composition: c.ID, Attempt: 1}
	send(&wire.Accepted{Type: wire.TypeAccepted, Agent: "a1", Ref: ref})
	send(&wire.Output{Type: wire.TypeOutput, Agent: "a1", Ref: ref, Seq: 1, Stream: "stdout", Line: "one"})

	status, body = e.do("GET", fmt.Sprintf(PathCompositionOutput, c.ID), "")
	var page OutputPage
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("output: %d %s", status, body)
	}
	if page.State != api.CompRunning || len(page.Lines) != 1 || page.Lines[0].Line != "one" || page.Next != page.Lines[0].Cursor {
		t.Fatalf("first page = %+v", page)
	}
	send(&wire.Output{Type: wire.TypeOutput, Agent: "a1", Ref: ref, Seq: 2, Stream: "stderr", Line: "two"})
	send(&wire.Done{Type: wire.TypeDone, Agent: "a1", Ref: ref, Result: wire.ResultSucceeded})
	_, body = e.do("GET", fmt.Sprintf(PathCompositionOutput+"?after=%d", c.ID, page.Next), "")
	page = OutputPage{}
	json.Unmarshal([]byte(body), &page)
	if page.State != api.CompSucceeded || len(page.Lines) != 1 || page.Lines[0].Line != "two" || page.Lines[0].Stream != "stderr" {
		t.Fatalf("second page = %s", body)
	}

	status, body = e.do("GET", api.PathCompositions+"/"+c.ID, "")
	var got api.Composition
	json.Unmarshal([]byte(body), &got)
	if status != 200 || got.State != api.CompSucceeded || len(got.Output) != 2 || got.Context["a"] != float64(1) {
		t.Fatalf("get: %d %s", status, body)
	}

	status, body = e.do("GET", api.PathCompositions+"?pool=linux&state=succeeded", "")
	var list CompositionList
	json.Unmarshal([]byte(body), &list)
	if status != 200 || len(list.Compositions) != 1 || list.Compositions[0].ID != c.ID {
		t.Fatalf("list: %d %s", status, body)
	}
	_, body = e.do("GET", api.PathCompositions+"?limit=1", "")
	json.Unmarshal([]byte(body), &list)
	if len(list.Compositions) != 1 || list.Compositions[0].Pool != "win" {
		t.Fatalf("list newest first, limit 1: %s", body)
	}
	_, body = e.do("GET", api.PathCompositions+"?state=queued&pool=none", "")
	if !strings.Contains(body, `"compositions": []`) {
		t.Fatalf("empty list body = %s, want an empty list", body)
	}

	status, body = e.do("GET", api.PathPools, "")
	var pools api.PoolsResponse
	json.Unmarshal([]byte(body), &pools)
	if status != 200 || len(pools.Pools) != 2 || pools.Pools[0].Pool != "linux" || pools.Pools[1].Queued != 1 {
		t.Fatalf("pools: %d %s", status, body)
	}
}

func TestBadQueryParameters(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		api.PathCompositions + "?state=done":           `unknown state "done"`,
		api.PathCompositions + "?limit=0":              "query parameter limit",
		api.PathCompositions + "?limit=many":           "query parameter limit",
		api.PathCompositions + "/c-1/output?after=-1":  "query parameter after",
		api.PathCompositions + "/c-1/output?limit=1e9": "query parameter limit",
	} {
		status, body := e.do("GET", path, "")
		if status != http.StatusBadRequest || !strings.Contains(errorOf(t, body), want) {
			t.Errorf("GET %s: %d %s, want 400 containing %q", path, status, body, want)
		}
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path, want string }{
		{"GET", api.PathCompositions + "/c-nope", `composition "c-nope" not found`},
		{"GET", api.PathCompositions + "/c-nope/output", `composition "c-nope" not found`},
		{"POST", fmt.Sprintf(api.PathAgentDrain, "ghost"), `agent "ghost" is not registered`},
	} {
		status, body := e.do(c.method, c.path, "")
		if status != http.StatusNotFound || !strings.Contains(errorOf(t, body), c.want) {
			t.Errorf("%s %s: %d %s, want 404 containing %q", c.method, c.path, status, body, c.want)
		}
	}
}

func TestDrain(t *testing.T) {
	e := newEnv(t)
	b, _ := json.Marshal(&wire.Register{Type: wire.TypeRegister, Agent: "a1", Pool: "linux"})
	e.d.HandleMessage(context.Background(), b)
	status, body := e.do("POST", fmt.Sprintf(api.PathAgentDrain, "a1"), "")
	var resp api.DrainResponse
	json.Unmarshal([]byte(body), &resp)
	if status != 200 || resp != (api.DrainResponse{Agent: "a1", Draining: true, Idle: true}) {
		t.Fatalf("drain: %d %s", status, body)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, "first", token)
	cases := []struct {
		name, method, path, auth string
		status                   int
		want                     string
	}{
		{"no token", "GET", api.PathPools, "", 401, "missing bearer token"},
		{"wrong scheme", "GET", api.PathPools, "Basic " + token, 401, "missing bearer token"},
		{"empty bearer", "GET", api.PathPools, "Bearer ", 401, "missing bearer token"},
		{"bad token", "GET", api.PathPools, "Bearer nope", 401, "invalid bearer token"},
		{"bad token on submit", "POST", api.PathCompositions, "Bearer nope", 401, "invalid bearer token"},
		{"bad token on metrics", "GET", api.PathMetrics, "Bearer nope", 401, "invalid bearer token"},
		{"bad token on unknown path", "GET", "/nothing", "Bearer nope", 401, "invalid bearer token"},
		{"good token", "GET", api.PathPools, "Bearer " + token, 200, ""},
		{"other good token, lower-case scheme", "GET", api.PathPools, "bearer first", 200, ""},
		{"healthz needs none", "GET", api.PathHealth, "", 200, ""},
	}
	for _, c := range cases {
		status, body := e.doAuth(c.method, c.path, "", c.auth)
		if status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, status, c.status, body)
			continue
		}
		if c.want != "" && !strings.Contains(errorOf(t, body), c.want) {
			t.Errorf("%s: body %s, want %q", c.name, body, c.want)
		}
	}
}

func TestInsecureModeNeedsNoToken(t *testing.T) {
	e := newEnv(t, []string{}...)
	if status, body := e.doAuth("GET", api.PathPools, "", ""); status != 200 {
		t.Fatalf("no tokens configured: %d %s", status, body)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	e.do("POST", api.PathCompositions, `{"pool":"linux","tasks":[{"plugin":"shell"}]}`)
	status, body := e.do("GET", api.PathMetrics, "")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`agentcloud_master_compositions{state="queued"} 1`,
		"agentcloud_master_dispatches_total 0",
		"agentcloud_master_submit_to_start_seconds_bucket",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", api.PathCompositions, `{"pool":"linux","tasks":[{"plugin":"shell"}]}`)
	if status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, body)
	}
	var c api.Composition
	json.Unmarshal([]byte(body), &c)
	path := fmt.Sprintf(api.PathCompositionCancel, c.ID)

	for _, bad := range []struct{ body, want string }{
		{`{"reason": 7}`, "reason: want a string"},
		{`{"why": "x"}`, `unknown field "why"`},
		{`{"reason": "` + strings.Repeat("x", 1001) + `"}`, "reason: at most 1000 bytes"},
	} {
		status, body := e.do("POST", path, bad.body)
		if status != http.StatusBadRequest || !strings.Contains(errorOf(t, body), bad.want) {
			t.Errorf("cancel with %.40s: %d %s, want 400 containing %q", bad.body, status, body, bad.want)
		}
	}

	status, body = e.do("POST", path, `{"reason": "wrong branch"}`)
	var got api.Composition
	json.Unmarshal([]byte(body), &got)
	if status != http.StatusOK || got.State != api.CompCancelled || got.Error != "cancelled: wrong branch" {
		t.Fatalf("cancel of a queued composition: %d %s", status, body)
	}
	if pools := e.d.Pools(context.Background()); len(pools.Pools) != 0 {
		t.Errorf("pools after the only queued composition was cancelled: %+v", pools.Pools)
	}
	status, body = e.do("GET", api.PathCompositions+"?state=cancelled", "")
	if status != http.StatusOK || !strings.Contains(body, c.ID) {
		t.Errorf("list of cancelled compositions: %d %s", status, body)
	}
	status, body = e.do("POST", path, "")
	if status != http.StatusConflict || !strings.Contains(errorOf(t, body), "already finished (state cancelled)") {
		t.Errorf("second cancel: %d %s, want 409 saying it already finished", status, body)
	}
	status, body = e.do("POST", fmt.Sprintf(api.PathCompositionCancel, "c-nope"), "")
	if status != http.StatusNotFound || !strings.Contains(errorOf(t, body), `composition "c-nope" not found`) {
		t.Errorf("cancel of an unknown id: %d %s, want 404", status, body)
	}
}

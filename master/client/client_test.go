package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/httpapi"
)

// fakeMaster answers a submit, then serves scripted output pages in turn.
type fakeMaster struct {
	mu     sync.Mutex
	got    []api.CompositionRequest
	pages  []httpapi.OutputPage
	afters []string
	fails  int // output calls to answer 503 first
	auth   string
	token  string
}

func (f *fakeMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = r.Header.Get("Authorization")
	if f.token != "" && f.auth != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(api.ErrorResponse{Error: "invalid bearer token"})
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == api.PathCompositions:
		var req api.CompositionRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.got = append(f.got, req)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(api.Composition{ID: "c-1", Pool: req.Pool, State: api.CompQueued})
	case r.Method == "GET" && r.URL.Path == "/api/v1/compositions/c-1/output":
		if f.fails > 0 {
			f.fails--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		f.afters = append(f.afters, r.URL.Query().Get("after"))
		page := f.pages[0]
		if len(f.pages) > 1 {
			f.pages = f.pages[1:]
		}
		json.NewEncoder(w).Encode(page)
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(api.ErrorResponse{Error: "composition \"x\" not found"})
	}
}

func line(cursor int64, attempt int, stream, text string) httpapi.OutputLine {
	return httpapi.OutputLine{Cursor: cursor, OutputLine: api.OutputLine{Attempt: attempt, Stream: stream, Line: text}}
}

const compositionYAML = `
pool: linux
selector: os.family=Debian
max_attempts: 2
tasks:
  - plugin: shell
    name: build
    fields:
      command: make all
      env: {CC: gcc}
context:
  branch: main
`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "composition.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, f *fakeMaster, args ...string) (int, string, string) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var out, errb bytes.Buffer
	env := map[string]string{"AGENTCLOUD_MASTER_URL": srv.URL}
	code := RunSubmit(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestSubmitPrintsID(t *testing.T) {
	f := &fakeMaster{token: "tok"}
	code, out, errs := run(t, f, "-token", "tok", "-f", writeFile(t, compositionYAML))
	if code != ExitOK || out != "c-1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	req := f.got[0]
	if req.Pool != "linux" || req.MaxAttempts != 2 || req.Tasks[0].Fields["command"] != "make all" ||
		req.Tasks[0].Fields["env"].(map[string]any)["CC"] != "gcc" || req.Context["branch"] != "main" {
		t.Fatalf("master got %+v", req)
	}
}

func TestFollowSucceeded(t *testing.T) {
	f := &fakeMaster{fails: 1, pages: []httpapi.OutputPage{
		{State: api.CompRunning, Lines: []httpapi.OutputLine{line(1, 1, "stdout", "one"), line(2, 1, "stderr", "warn")}, Next: 2},
		{State: api.CompQueued, Lines: []httpapi.OutputLine{}, Next: 2},
		{State: api.CompSucceeded, Lines: []httpapi.OutputLine{line(5, 2, "stdout", "two")}, Next: 5},
	}}
	code, out, errs := run(t, f, "-f", writeFile(t, compositionYAML), "-follow", "-poll", "1ms")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if out != "one\ntwo\n" {
		t.Errorf("stdout = %q", out)
	}
	for _, want := range []string{"warn\n", "--- attempt 2 ---", "succeeded", "retrying"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if strings.Join(f.afters, ",") != "0,2,2" {
		t.Errorf("cursors sent = %v, want 0,2,2", f.afters)
	}
}

func TestFollowFailed(t *testing.T) {
	f := &fakeMaster{pages: []httpapi.OutputPage{
		{State: api.CompFailed, Error: "task 0 failed with exit code 2", Lines: []httpapi.OutputLine{line(1, 1, "stdout", "x")}, Next: 1},
	}}
	code, _, errs := run(t, f, "-f", writeFile(t, compositionYAML), "-follow")
	if code != ExitFailed || !strings.Contains(errs, "failed: task 0 failed with exit code 2") {
		t.Fatalf("exit %d, stderr %q; want 1 and the error", code, errs)
	}
}

func TestFollowReadsEveryPageBeforeEnding(t *testing.T) {
	f := &fakeMaster{pages: []httpapi.OutputPage{
		{State: api.CompSucceeded, Lines: []httpapi.OutputLine{line(1, 1, "stdout", "a")}, Next: 1, More: true},
		{State: api.CompSucceeded, Lines: []httpapi.OutputLine{line(2, 1, "stdout", "b")}, Next: 2},
	}}
	code, out, errs := run(t, f, "-f", writeFile(t, compositionYAML), "-follow", "-poll", "1h")
	if code != ExitOK || out != "a\nb\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
	}
}

func TestSubmitErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{}, "-f composition file is required"},
		{"missing file", []string{"-f", "/nonexistent.yaml"}, "no such file"},
		{"unknown key", []string{"-f", writeFile(t, "pool: p\ntaks: []\n")}, "line 2: field taks not found"},
		{"bad token", []string{"-token", "nope", "-f", writeFile(t, compositionYAML)}, "401 Unauthorized: invalid bearer token"},
		{"bad master URL", []string{"-master", "localhost:8080", "-f", writeFile(t, compositionYAML)}, "want http://host:port"},
	}
	for _, c := range cases {
		code, _, errs := run(t, &fakeMaster{token: "tok"}, c.args...)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, code, errs, c.want)
		}
	}
}

func TestParseRequestJSON(t *testing.T) {
	req, err := ParseRequest([]byte(`{"pool":"p","tasks":[{"plugin":"shell","fields":{"n":3}}]}`))
	if err != nil || req.Pool != "p" || req.Tasks[0].Fields["n"] != 3 {
		t.Fatalf("ParseRequest(JSON) = %+v, %v", req, err)
	}
	if _, err := ParseRequest([]byte("pool: a\n---\npool: b\n")); err == nil {
		t.Fatal("two documents accepted")
	}
	if _, err := ParseRequest(nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestFollowStopsOn404(t *testing.T) {
	srv := httptest.NewServer(&fakeMaster{})
	defer srv.Close()
	c, err := New(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Follow(ctx, "c-nope", time.Millisecond, func(httpapi.OutputLine) {}, nil)
	var apiErr *APIError
	if err == nil || !strings.Contains(err.Error(), "404") || !asAPIError(err, &apiErr) {
		t.Fatalf("Follow unknown = %v, want a 404 APIError", err)
	}
}

func asAPIError(err error, target **APIError) bool {
	return errors.As(err, target)
}

package ec2

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// faultProxy is an HTTP front for moto that answers chosen EC2 actions with
// EC2's XML error documents instead of forwarding them, so the SDK's real
// deserializer and retryer see the errors moto cannot produce.
type faultProxy struct {
	url string

	mu       sync.Mutex
	faults   map[string][]fault // by action, served in order
	requests map[string]int     // by action, faulted or not
}

// fault is one injected answer.
type fault struct {
	status  int
	code    string
	message string
}

// newFaultProxy starts a proxy in front of target, closed with the test.
func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{faults: map[string][]fault{}, requests: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, _ := url.ParseQuery(string(body))
		action := form.Get("Action")
		fp.mu.Lock()
		fp.requests[action]++
		var f *fault
		if q := fp.faults[action]; len(q) > 0 {
			f, fp.faults[action] = &q[0], q[1:]
		}
		fp.mu.Unlock()
		if f != nil {
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>injected-%s</RequestID></Response>`,
				html.EscapeString(f.code), html.EscapeString(f.message), action)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	fp.url = srv.URL
	return fp
}

// fail queues n answers of code (HTTP status) for action.
func (fp *faultProxy) fail(action string, n, status int, code string) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for range n {
		fp.faults[action] = append(fp.faults[action], fault{status: status, code: code, message: "injected by the test proxy"})
	}
}

// count returns the requests of action so far.
func (fp *faultProxy) count(action string) int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.requests[action]
}

// Package gcefake is a fake of the Compute Engine REST API (compute/v1) on an
// httptest server, faithful enough to run the GCE provider through the real
// Go SDK: instances (insert, get, list, aggregatedList, stop, start, suspend,
// resume, delete, setLabels, setDiskAutoDelete), zonal disks (get, list,
// aggregatedList, delete, setLabels) and zone operations (get, wait).
//
// Resources change status over time as on GCE (PROVISIONING → STAGING →
// RUNNING, STOPPING → TERMINATED, SUSPENDING → SUSPENDED), operations go
// PENDING → RUNNING → DONE and carry error bodies like the real API's, a
// requestId is deduplicated, list filters on labels are parsed, and faults
// (errors, stockouts, quota, 429s, delays) can be injected per method, zone,
// machine type or name. A test checks its routes, methods, statuses and
// fields against Google's discovery document.
package gcefake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// apiBase prefixes every selfLink, as on the real API whatever the endpoint.
const apiBase = "https://www.googleapis.com/compute/v1/"

// timeFormat is the API's timestamp format (RFC 3339 with milliseconds).
const timeFormat = "2006-01-02T15:04:05.000-07:00"

// Delays are how long each status lasts. Zero fields keep their default.
type Delays struct {
	// OpPending is how long every operation stays PENDING before RUNNING.
	OpPending time.Duration
	// Provisioning and Staging are the first two statuses of insert, start
	// and resume (resume skips PROVISIONING).
	Provisioning time.Duration
	Staging      time.Duration
	// Stopping and Suspending lead to TERMINATED and SUSPENDED.
	Stopping   time.Duration
	Suspending time.Duration
	// Deleting is how long a deleted instance or disk stays before it is gone.
	Deleting time.Duration
	// Update is how long setLabels and setDiskAutoDelete take.
	Update time.Duration
}

// withDefaults fills zero delays with short ones, fit for tests.
func (d Delays) withDefaults() Delays {
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&d.OpPending, 2*time.Millisecond)
	def(&d.Provisioning, 10*time.Millisecond)
	def(&d.Staging, 10*time.Millisecond)
	def(&d.Stopping, 10*time.Millisecond)
	def(&d.Suspending, 10*time.Millisecond)
	def(&d.Deleting, 10*time.Millisecond)
	def(&d.Update, 2*time.Millisecond)
	return d
}

// Config configures a fake.
type Config struct {
	// Project is the only project the fake serves (default "test-project").
	Project string
	// Zones are the zones it has (default us-central1-a, us-central1-b, europe-west1-b).
	Zones []string
	// MachineTypes are the machine types every zone offers (default e2-small,
	// e2-medium, e2-standard-2, e2-standard-4, n2-standard-4).
	MachineTypes []string
	// Delays tune the status transitions.
	Delays Delays
	// WaitTimeout is the longest zoneOperations.wait blocks before answering
	// with the operation as it is (default 2 minutes, as the real API).
	WaitTimeout time.Duration
	// RequestIDTTL is how long a requestId is remembered (default 1 hour; the
	// real API promises at least 60 minutes).
	RequestIDTTL time.Duration
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Project == "" {
		c.Project = "test-project"
	}
	if len(c.Zones) == 0 {
		c.Zones = []string{"us-central1-a", "us-central1-b", "europe-west1-b"}
	}
	if len(c.MachineTypes) == 0 {
		c.MachineTypes = []string{"e2-small", "e2-medium", "e2-standard-2", "e2-standard-4", "n2-standard-4"}
	}
	c.Delays = c.Delays.withDefaults()
	if c.WaitTimeout <= 0 {
		c.WaitTimeout = 2 * time.Minute
	}
	if c.RequestIDTTL <= 0 {
		c.RequestIDTTL = time.Hour
	}
	return c
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	cfg  Config
	http *httptest.Server

	mu          sync.Mutex
	nextID      uint64
	seq         int
	events      []event
	instances   map[string]*instance   // by zone/name
	disks       map[string]*disk       // by zone/name
	ops         map[string]*operation  // by zone/name
	requestIDs  map[string]requestSeen // by requestId
	templates   map[string]Template    // by name
	faults      []*faultState
	calls       map[string]int // by method id
	dedups      int            // calls answered from a remembered requestId
	unreachable map[string]bool
}

// requestSeen is the operation a requestId started, and when.
type requestSeen struct {
	op string // zone/name of the operation
	at time.Time
}

// event is a status transition due at a time.
type event struct {
	at  time.Time
	seq int
	fn  func(at time.Time)
}

// New starts a fake on 127.0.0.1. Close it when done.
func New(cfg Config) *Server {
	s := &Server{
		cfg:         cfg.withDefaults(),
		nextID:      1000000000000000000,
		instances:   map[string]*instance{},
		disks:       map[string]*disk{},
		ops:         map[string]*operation{},
		requestIDs:  map[string]requestSeen{},
		templates:   map[string]Template{},
		calls:       map[string]int{},
		unreachable: map[string]bool{},
	}
	s.http = httptest.NewServer(s.mux())
	return s
}

// URL is the fake's base URL, for option.WithEndpoint.
func (s *Server) URL() string { return s.http.URL }

// Project is the project the fake serves.
func (s *Server) Project() string { return s.cfg.Project }

// Zones are the fake's zones.
func (s *Server) Zones() []string { return slices.Clone(s.cfg.Zones) }

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// Calls returns how many calls a method (discovery id, e.g.
// "compute.instances.aggregatedList") has had, failed ones included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// AllCalls returns the call counts of every method called so far.
func (s *Server) AllCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Deduplicated returns how many calls were answered with the operation of
// an earlier call with the same requestId, without doing anything.
func (s *Server) Deduplicated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dedups
}

// ResetCalls sets every call count back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// SetUnreachable makes aggregated lists leave the zone out and name it in
// their unreachables, as when a zone's control plane is down.
func (s *Server) SetUnreachable(zone string, unreachable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unreachable[zone] = unreachable
}

// schedule runs fn when at has come (on the next request that sees it).
func (s *Server) schedule(at time.Time, fn func(at time.Time)) {
	s.seq++
	s.events = append(s.events, event{at: at, seq: s.seq, fn: fn})
}

// advance applies every transition that is due, oldest first. Caller holds mu.
func (s *Server) advance(now time.Time) {
	for {
		i := -1
		for j, e := range s.events {
			if e.at.After(now) {
				continue
			}
			if i < 0 || e.at.Before(s.events[i].at) || (e.at.Equal(s.events[i].at) && e.seq < s.events[i].seq) {
				i = j
			}
		}
		if i < 0 {
			return
		}
		e := s.events[i]
		s.events = slices.Delete(s.events, i, i+1)
		e.fn(e.at)
	}
}

// id returns a fresh numeric resource id.
func (s *Server) id() string {
	s.nextID += 7919
	return fmt.Sprint(s.nextID)
}

// zoneLink is the URL of a zone.
func (s *Server) zoneLink(zone string) string {
	return apiBase + "projects/" + s.cfg.Project + "/zones/" + zone
}

// link is the URL of a zonal resource.
func (s *Server) link(zone, collection, name string) string {
	return s.zoneLink(zone) + "/" + collection + "/" + name
}

// knownZone reports whether the fake has the zone.
func (s *Server) knownZone(zone string) bool { return slices.Contains(s.cfg.Zones, zone) }

// stamp formats a time as the API does.
func stamp(t time.Time) string { return t.Format(timeFormat) }

// fingerprint hashes a value into the base64 fingerprint the API uses for
// optimistic locking.
func fingerprint(v any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:8])
}

// key is the map key of a zonal resource.
func key(zone, name string) string { return zone + "/" + name }

// lastSegment returns what follows the last slash of a URL or partial path.
func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

// segmentAfter returns the path segment that follows the segment name in a
// URL or partial path ("zones" in ".../zones/us-central1-a/..."), or "".
func segmentAfter(s, name string) string {
	parts := strings.Split(s, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == name {
			return parts[i+1]
		}
	}
	return ""
}

// writeJSON writes v as the answer.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ") // the fake's own types always marshal
	writeRaw(w, code, b)
}

// writeRaw writes an encoded JSON answer.
func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes an error answer.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Code, map[string]*apiError{"error": e})
}

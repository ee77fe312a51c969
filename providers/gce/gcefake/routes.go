package gcefake

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"time"
)

// route is one method of the API the fake serves, named and shaped as in the
// discovery document (id, httpMethod, flatPath, query parameters, response schema).
type route struct {
	id       string
	method   string
	path     string   // flatPath, relative to /compute/v1/
	query    []string // query parameters the handler reads
	response string   // schema name of the answer
	handle   func(s *Server, rq *request) (any, *apiError)
	// unlocked handlers take s.mu themselves (zoneOperations.wait blocks).
	unlocked bool
}

// routes is every method the fake serves.
func routes() []route {
	return []route{
		{"compute.instances.insert", "POST", "projects/{project}/zones/{zone}/instances", []string{"requestId", "sourceInstanceTemplate"}, "Operation", (*Server).insertInstance, false},
		{"compute.instances.get", "GET", "projects/{project}/zones/{zone}/instances/{instance}", nil, "Instance", (*Server).getInstance, false},
		{"compute.instances.list", "GET", "projects/{project}/zones/{zone}/instances", []string{"filter", "maxResults", "pageToken"}, "InstanceList", (*Server).listInstances, false},
		{"compute.instances.aggregatedList", "GET", "projects/{project}/aggregated/instances", []string{"filter", "maxResults", "pageToken"}, "InstanceAggregatedList", (*Server).aggregatedInstances, false},
		{"compute.instances.stop", "POST", "projects/{project}/zones/{zone}/instances/{instance}/stop", []string{"requestId"}, "Operation", (*Server).stopInstance, false},
		{"compute.instances.start", "POST", "projects/{project}/zones/{zone}/instances/{instance}/start", []string{"requestId"}, "Operation", (*Server).startInstance, false},
		{"compute.instances.suspend", "POST", "projects/{project}/zones/{zone}/instances/{instance}/suspend", []string{"requestId"}, "Operation", (*Server).suspendInstance, false},
		{"compute.instances.resume", "POST", "projects/{project}/zones/{zone}/instances/{instance}/resume", []string{"requestId"}, "Operation", (*Server).resumeInstance, false},
		{"compute.instances.delete", "DELETE", "projects/{project}/zones/{zone}/instances/{instance}", []string{"requestId"}, "Operation", (*Server).deleteInstance, false},
		{"compute.instances.setLabels", "POST", "projects/{project}/zones/{zone}/instances/{instance}/setLabels", []string{"requestId"}, "Operation", (*Server).setInstanceLabels, false},
		{"compute.instances.setDiskAutoDelete", "POST", "projects/{project}/zones/{zone}/instances/{instance}/setDiskAutoDelete", []string{"requestId", "autoDelete", "deviceName"}, "Operation", (*Server).setDiskAutoDelete, false},
		{"compute.disks.get", "GET", "projects/{project}/zones/{zone}/disks/{disk}", nil, "Disk", (*Server).getDisk, false},
		{"compute.disks.list", "GET", "projects/{project}/zones/{zone}/disks", []string{"filter", "maxResults", "pageToken"}, "DiskList", (*Server).listDisks, false},
		{"compute.disks.aggregatedList", "GET", "projects/{project}/aggregated/disks", []string{"filter", "maxResults", "pageToken"}, "DiskAggregatedList", (*Server).aggregatedDisks, false},
		{"compute.disks.delete", "DELETE", "projects/{project}/zones/{zone}/disks/{disk}", []string{"requestId"}, "Operation", (*Server).deleteDisk, false},
		{"compute.disks.setLabels", "POST", "projects/{project}/zones/{zone}/disks/{resource}/setLabels", []string{"requestId"}, "Operation", (*Server).setDiskLabels, false},
		{"compute.zoneOperations.get", "GET", "projects/{project}/zones/{zone}/operations/{operation}", nil, "Operation", (*Server).getOperation, false},
		{"compute.zoneOperations.wait", "POST", "projects/{project}/zones/{zone}/operations/{operation}/wait", nil, "Operation", (*Server).waitOperation, true},
	}
}

// request is one call being served.
type request struct {
	r       *http.Request
	route   *route
	zone    string // path zone, "" for aggregated methods
	name    string // path resource name (instance, disk, resource or operation)
	now     time.Time
	opFault *Fault          // an injected operation error for this call
	body    json.RawMessage // the request body, read once
}

// uuidRE matches a requestId the API accepts.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// mux routes every method to its handler through serve.
func (s *Server) mux() *http.ServeMux {
	m := http.NewServeMux()
	for _, rt := range routes() {
		m.HandleFunc(rt.method+" /compute/v1/"+rt.path, func(w http.ResponseWriter, r *http.Request) {
			s.serve(w, r, &rt)
		})
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newAPIError(http.StatusNotFound, "global", "notFound", "The fake Compute API does not serve %s %s", r.Method, r.URL.Path))
	})
	return m
}

// serve counts the call, applies faults, dedupes requestIds, and runs the handler.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt *route) {
	rq := &request{r: r, route: rt, zone: r.PathValue("zone")}
	for _, p := range []string{"instance", "disk", "resource", "operation"} {
		if v := r.PathValue(p); v != "" {
			rq.name = v
		}
	}
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			writeError(w, errInvalid("reading the request body: %v", err))
			return
		}
		rq.body = b
	}

	s.mu.Lock()
	s.calls[rt.id]++
	delay, syncErr, opFault := s.takeFault(call{method: rt.id, zone: rq.zone, machineType: s.insertMachineType(rq), name: rq.name})
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if syncErr != nil {
		writeError(w, syncErr)
		return
	}
	if p := r.PathValue("project"); p != s.cfg.Project {
		writeError(w, newAPIError(http.StatusNotFound, "global", "notFound", "The resource 'projects/%s' was not found", p))
		return
	}
	if rq.zone != "" && !s.knownZone(rq.zone) {
		writeError(w, errNotFound("projects/"+s.cfg.Project+"/zones/"+rq.zone))
		return
	}
	rq.opFault = opFault

	if rt.unlocked {
		v, e := rt.handle(s, rq)
		answer(w, v, e)
		return
	}
	s.mu.Lock()
	rq.now = time.Now()
	s.advance(rq.now)
	reqID := r.URL.Query().Get("requestId")
	if reqID != "" {
		if !uuidRE.MatchString(reqID) {
			s.mu.Unlock()
			writeError(w, errInvalid("Invalid value for field 'requestId': '%s'. The requestId must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000).", reqID))
			return
		}
		if seen, ok := s.requestIDs[reqID]; ok && rq.now.Sub(seen.at) < s.cfg.RequestIDTTL {
			s.dedups++
			op := s.ops[seen.op].view(rq.now)
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, op)
			return
		}
	}
	v, e := rt.handle(s, rq)
	if op, ok := v.(Operation); ok && reqID != "" && e == nil {
		s.requestIDs[reqID] = requestSeen{op: key(rq.zone, op.Name), at: rq.now}
	}
	var b []byte
	if e == nil {
		b, _ = json.MarshalIndent(v, "", "  ") // under mu: v shares maps with the store
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeRaw(w, http.StatusOK, b)
}

// answer writes a handler's result.
func answer(w http.ResponseWriter, v any, e *apiError) {
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decode decodes the request body into v; an empty body is an error.
func (rq *request) decode(v any) *apiError {
	if len(rq.body) == 0 {
		return errInvalid("Required request body is missing.")
	}
	if err := json.Unmarshal(rq.body, v); err != nil {
		return newAPIError(http.StatusBadRequest, "global", "parseError", "Invalid JSON payload received. %v", err)
	}
	return nil
}

// insertMachineType returns the short machine type an insert asks for (from
// its body or its template), for fault matching; "" for other calls.
func (s *Server) insertMachineType(rq *request) string {
	if rq.route.id != "compute.instances.insert" {
		return ""
	}
	var in Instance
	if json.Unmarshal(rq.body, &in) == nil && in.MachineType != "" {
		return lastSegment(in.MachineType)
	}
	if t, ok := s.templates[lastSegment(rq.r.URL.Query().Get("sourceInstanceTemplate"))]; ok {
		return t.MachineType
	}
	return ""
}

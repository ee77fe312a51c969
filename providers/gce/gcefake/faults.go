package gcefake

import (
	"net/http"
	"strings"
	"time"
)

// Fault makes matching calls slow, fail, or succeed with an operation that
// ends in an error, the way the real API reports each kind of failure.
type Fault struct {
	// Method is the discovery method id ("compute.instances.insert"); "" matches any.
	Method string
	// Zone, MachineType and Name narrow the match; "" matches any. MachineType
	// (a short name such as "e2-small") is only known for inserts.
	Zone, MachineType, Name string
	// Times is how many matching calls the fault hits; 0 means every one.
	Times int
	// Delay is added before the call is answered.
	Delay time.Duration
	// HTTPStatus, Reason and Message make the call itself fail with a
	// synchronous error answer (Reason goes in errors[0].reason).
	HTTPStatus int
	Reason     string
	Message    string
	// OpErrorCode makes the call succeed but its operation end DONE with this
	// error code and OpErrorMessage, and no effect. OpHTTPStatus, when set,
	// also fills the operation's httpErrorStatusCode and httpErrorMessage, as
	// the real API does for most failures; leave it 0 for an operation whose
	// only sign of failure is its error field.
	OpErrorCode    string
	OpErrorMessage string
	OpHTTPStatus   int
}

// ZoneExhausted is the stockout of a zone: inserts there succeed but their
// operation ends with ZONE_RESOURCE_POOL_EXHAUSTED.
func ZoneExhausted(zone string) Fault {
	return Fault{
		Method:      "compute.instances.insert",
		Zone:        zone,
		OpErrorCode: "ZONE_RESOURCE_POOL_EXHAUSTED",
		OpErrorMessage: "The zone 'projects/{project}/zones/" + zone + "' does not have enough resources " +
			"available to fulfill the request.  Try a different zone, or try again later.",
		OpHTTPStatus: http.StatusServiceUnavailable,
	}
}

// MachineTypeExhausted is the stockout of one machine type in a zone, reported
// with ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS.
func MachineTypeExhausted(zone, machineType string) Fault {
	return Fault{
		Method:      "compute.instances.insert",
		Zone:        zone,
		MachineType: machineType,
		OpErrorCode: "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
		OpErrorMessage: "The zone 'projects/{project}/zones/" + zone + "' does not have enough resources " +
			"available to fulfill the request. '(resource type:compute)'.",
		OpHTTPStatus: http.StatusServiceUnavailable,
	}
}

// QuotaExceeded is a regional CPU quota hit by inserts in zone ("" for any).
func QuotaExceeded(zone string) Fault {
	return Fault{
		Method:         "compute.instances.insert",
		Zone:           zone,
		OpErrorCode:    "QUOTA_EXCEEDED",
		OpErrorMessage: "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.",
		OpHTTPStatus:   http.StatusForbidden,
	}
}

// RateLimited answers matching calls with HTTP 429 rateLimitExceeded.
func RateLimited(method string) Fault {
	return Fault{
		Method:     method,
		HTTPStatus: http.StatusTooManyRequests,
		Reason:     "rateLimitExceeded",
		Message:    "Rate Limit Exceeded",
	}
}

// faultState is an injected fault and how many hits it has left.
type faultState struct {
	Fault
	left int // -1: unlimited
}

// call describes one call for fault matching.
type call struct {
	method, zone, machineType, name string
}

// matches reports whether the fault applies to c.
func (f *faultState) matches(c call) bool {
	if f.left == 0 {
		return false
	}
	return (f.Method == "" || f.Method == c.method) &&
		(f.Zone == "" || f.Zone == c.zone) &&
		(f.MachineType == "" || f.MachineType == c.machineType) &&
		(f.Name == "" || f.Name == c.name)
}

// Inject adds a fault; faults are tried in the order they were injected.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: left})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the first fault matching c with its error answer or
// operation error, and uses up one of its hits. Pure delays are summed and
// returned without being used up against error faults.
func (s *Server) takeFault(c call) (delay time.Duration, sync *apiError, op *Fault) {
	for _, f := range s.faults {
		if !f.matches(c) {
			continue
		}
		if f.left > 0 {
			f.left--
		}
		delay += f.Delay
		switch {
		case f.HTTPStatus != 0 && sync == nil && op == nil:
			reason := f.Reason
			if reason == "" {
				reason = "backendError"
			}
			msg := f.Message
			if msg == "" {
				msg = http.StatusText(f.HTTPStatus)
			}
			domain := "global"
			if strings.Contains(strings.ToLower(reason), "limit") {
				domain = "usageLimits"
			}
			sync = newAPIError(f.HTTPStatus, domain, reason, "%s", msg)
		case f.OpErrorCode != "" && sync == nil && op == nil:
			g := f.Fault
			g.OpErrorMessage = strings.ReplaceAll(g.OpErrorMessage, "{project}", s.cfg.Project)
			op = &g
		}
	}
	return delay, sync, op
}

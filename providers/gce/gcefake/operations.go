package gcefake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// operation is a zonal operation: its fixed fields, when it starts running,
// when it is done, and the error it ends with, if any.
type operation struct {
	op        Operation
	runningAt time.Time
	doneAt    time.Time
	err       *Fault
}

// view renders the operation as it is at now.
func (o *operation) view(now time.Time) Operation {
	v := o.op
	switch {
	case !now.Before(o.doneAt):
		v.Status = OpDone
		v.Progress = 100
		v.StartTime = stamp(o.runningAt)
		v.EndTime = stamp(o.doneAt)
		if o.err != nil {
			v.Error = &OperationError{Errors: []OperationErrorItem{{Code: o.err.OpErrorCode, Message: o.err.OpErrorMessage}}}
			if o.err.OpHTTPStatus != 0 {
				v.HTTPErrorStatusCode = o.err.OpHTTPStatus
				v.HTTPErrorMessage = httpErrorMessage(o.err.OpHTTPStatus)
			}
		}
	case !now.Before(o.runningAt):
		v.Status = OpRunning
		v.StartTime = stamp(o.runningAt)
	default:
		v.Status = OpPending
	}
	return v
}

// httpErrorMessage is the upper-case reason phrase operations carry ("SERVICE UNAVAILABLE").
func httpErrorMessage(code int) string {
	b := []byte(http.StatusText(code))
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// newOp records an operation on the target that is done at doneAt (never
// before it has been PENDING for OpPending), and returns its view at now.
// With an injected operation error the operation does nothing and ends in
// that error; callers check rq.opFault before changing anything.
func (s *Server) newOp(rq *request, opType, targetLink, targetID string, doneAt time.Time) Operation {
	runningAt := rq.now.Add(s.cfg.Delays.OpPending)
	if doneAt.Before(runningAt) {
		doneAt = runningAt
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("operation-%d-%s", rq.now.UnixMilli(), hex.EncodeToString(b))
	o := &operation{
		op: Operation{
			Kind:          "compute#operation",
			ID:            s.id(),
			Name:          name,
			Zone:          s.zoneLink(rq.zone),
			OperationType: opType,
			TargetLink:    targetLink,
			TargetID:      targetID,
			User:          "agentcloud-test@" + s.cfg.Project + ".iam.gserviceaccount.com",
			InsertTime:    stamp(rq.now),
			SelfLink:      s.link(rq.zone, "operations", name),
		},
		runningAt: runningAt,
		doneAt:    doneAt,
		err:       rq.opFault,
	}
	s.ops[key(rq.zone, name)] = o
	return o.view(rq.now)
}

// failedOp records an operation that does nothing and ends in the injected
// error after the time the real work would have taken.
func (s *Server) failedOp(rq *request, opType, targetLink string, took time.Duration) Operation {
	return s.newOp(rq, opType, targetLink, "", rq.now.Add(s.cfg.Delays.OpPending+took))
}

// getOperation serves zoneOperations.get.
func (s *Server) getOperation(rq *request) (any, *apiError) {
	o, ok := s.ops[key(rq.zone, rq.name)]
	if !ok {
		return nil, errNotFound(fmt.Sprintf("projects/%s/zones/%s/operations/%s", s.cfg.Project, rq.zone, rq.name))
	}
	return o.view(rq.now), nil
}

// waitOperation serves zoneOperations.wait: it answers when the operation is
// DONE, or with the operation as it is after WaitTimeout.
func (s *Server) waitOperation(rq *request) (any, *apiError) {
	deadline := time.Now().Add(s.cfg.WaitTimeout)
	for {
		s.mu.Lock()
		now := time.Now()
		s.advance(now)
		o, ok := s.ops[key(rq.zone, rq.name)]
		if !ok {
			s.mu.Unlock()
			return nil, errNotFound(fmt.Sprintf("projects/%s/zones/%s/operations/%s", s.cfg.Project, rq.zone, rq.name))
		}
		v := o.view(now)
		doneAt := o.doneAt
		s.mu.Unlock()
		if v.Status == OpDone || !now.Before(deadline) {
			return v, nil
		}
		sleep := min(doneAt.Sub(now), deadline.Sub(now))
		// Wake at least every few ms so a status that another call changed is seen.
		sleep = max(min(sleep, 20*time.Millisecond), time.Millisecond)
		select {
		case <-time.After(sleep):
		case <-rq.r.Context().Done():
			return nil, newAPIError(499, "global", "cancelled", "the caller went away")
		}
	}
}

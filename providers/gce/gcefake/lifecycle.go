package gcefake

import (
	"maps"
	"slices"
	"time"
)

// step is one status of a transition: after d, the instance gets status
// (unless "") and apply runs.
type step struct {
	d      time.Duration
	status string
	apply  func(in *instance, at time.Time)
}

// run schedules steps from start, cancelling the instance's earlier
// transitions, and returns when the last step happens.
func (s *Server) run(in *instance, start time.Time, steps []step) time.Time {
	in.gen++
	gen := in.gen
	at := start
	for _, st := range steps {
		at = at.Add(st.d)
		s.schedule(at, func(t time.Time) {
			if s.instances[key(in.zone, in.Name)] != in || in.gen != gen {
				return
			}
			if st.status != "" {
				in.Status = st.status
			}
			if st.apply != nil {
				st.apply(in, t)
			}
		})
	}
	return at
}

// lookup returns the instance the request names, or its 404.
func (s *Server) lookup(rq *request) (*instance, *apiError) {
	in, ok := s.instances[key(rq.zone, rq.name)]
	if !ok {
		return nil, errNotFound("projects/" + s.cfg.Project + "/zones/" + rq.zone + "/instances/" + rq.name)
	}
	return in, nil
}

// getInstance serves instances.get.
func (s *Server) getInstance(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	return in.Instance, nil
}

// stopInstance serves instances.stop: RUNNING (or booting, or SUSPENDED) →
// STOPPING → TERMINATED; stopping a TERMINATED instance does nothing.
func (s *Server) stopInstance(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	d := s.cfg.Delays
	if rq.opFault != nil {
		return s.failedOp(rq, "stop", in.SelfLink, d.Stopping), nil
	}
	if in.Status == StatusTerminated {
		return s.newOp(rq, "stop", in.SelfLink, in.ID, rq.now), nil
	}
	end := s.run(in, rq.now, []step{
		{d.OpPending, StatusStopping, nil},
		{d.Stopping, StatusTerminated, func(in *instance, at time.Time) { in.LastStopTimestamp = stamp(at) }},
	})
	return s.newOp(rq, "stop", in.SelfLink, in.ID, end), nil
}

// startInstance serves instances.start: TERMINATED → PROVISIONING → STAGING
// → RUNNING; starting a running instance does nothing; a suspended one must
// be resumed.
func (s *Server) startInstance(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	d := s.cfg.Delays
	switch in.Status {
	case StatusSuspended, StatusSuspending:
		return nil, errNotReady("The instance '%s' is suspended; resume it instead of starting it.", in.Name)
	case StatusStopping:
		return nil, errNotReady("The resource '%s' is not ready", in.SelfLink)
	case StatusRunning, StatusProvisioning, StatusStaging, StatusRepairing:
		return s.newOp(rq, "start", in.SelfLink, in.ID, rq.now), nil
	}
	if rq.opFault != nil {
		return s.failedOp(rq, "start", in.SelfLink, d.Provisioning), nil
	}
	end := s.run(in, rq.now, []step{
		{d.OpPending, StatusProvisioning, nil},
		{d.Provisioning, StatusStaging, nil},
		{d.Staging, StatusRunning, func(in *instance, at time.Time) { in.LastStartTimestamp = stamp(at) }},
	})
	return s.newOp(rq, "start", in.SelfLink, in.ID, end), nil
}

// suspendInstance serves instances.suspend: RUNNING → SUSPENDING → SUSPENDED.
func (s *Server) suspendInstance(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	d := s.cfg.Delays
	if in.Status != StatusRunning {
		return nil, errNotReady("The instance '%s' must be RUNNING to be suspended; it is %s.", in.Name, in.Status)
	}
	if rq.opFault != nil {
		return s.failedOp(rq, "suspend", in.SelfLink, d.Suspending), nil
	}
	end := s.run(in, rq.now, []step{
		{d.OpPending, StatusSuspending, nil},
		{d.Suspending, StatusSuspended, func(in *instance, at time.Time) { in.LastSuspendedTimestamp = stamp(at) }},
	})
	return s.newOp(rq, "suspend", in.SelfLink, in.ID, end), nil
}

// resumeInstance serves instances.resume: SUSPENDED → PROVISIONING → STAGING → RUNNING.
func (s *Server) resumeInstance(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	d := s.cfg.Delays
	if in.Status != StatusSuspended {
		return nil, errNotReady("The instance '%s' must be SUSPENDED to be resumed; it is %s.", in.Name, in.Status)
	}
	if rq.opFault != nil {
		return s.failedOp(rq, "resume", in.SelfLink, d.Provisioning), nil
	}
	end := s.run(in, rq.now, []step{
		{d.OpPending, StatusProvisioning, nil},
		{d.Provisioning, StatusStaging, nil},
		{d.Staging, StatusRunning, nil},
	})
	return s.newOp(rq, "resume", in.SelfLink, in.ID, end), nil
}

// deleteInstance serves instances.delete: a running instance stops first;
// when it is gone its auto-delete disks go with it and the others are detached.
func (s *Server) deleteInstance(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	d := s.cfg.Delays
	if rq.opFault != nil {
		return s.failedOp(rq, "delete", in.SelfLink, d.Deleting), nil
	}
	first := in.Status
	switch first {
	case StatusTerminated, StatusSuspended:
	default:
		first = StatusStopping
	}
	end := s.run(in, rq.now, []step{
		{d.OpPending, first, nil},
		{d.Deleting, "", func(in *instance, at time.Time) { s.remove(in, at) }},
	})
	return s.newOp(rq, "delete", in.SelfLink, in.ID, end), nil
}

// remove deletes an instance, its auto-delete disks, and detaches the rest.
func (s *Server) remove(in *instance, at time.Time) {
	delete(s.instances, key(in.zone, in.Name))
	for _, ad := range in.Disks {
		k := key(in.zone, lastSegment(ad.Source))
		dk, ok := s.disks[k]
		if !ok {
			continue
		}
		dk.Users = slices.DeleteFunc(dk.Users, func(u string) bool { return u == in.SelfLink })
		dk.LastDetachTimestamp = stamp(at)
		if ad.AutoDelete {
			delete(s.disks, k)
		}
	}
}

// setInstanceLabels serves instances.setLabels; the fingerprint must be current.
func (s *Server) setInstanceLabels(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	var body labelsRequest
	if e := rq.decode(&body); e != nil {
		return nil, e
	}
	if body.LabelFingerprint != in.LabelFingerprint {
		return nil, errFingerprint()
	}
	if e := checkLabels("labels", body.Labels); e != nil {
		return nil, e
	}
	if rq.opFault != nil {
		return s.failedOp(rq, "setLabels", in.SelfLink, s.cfg.Delays.Update), nil
	}
	done := rq.now.Add(s.cfg.Delays.OpPending + s.cfg.Delays.Update)
	labels := maps.Clone(body.Labels)
	s.schedule(done, func(time.Time) {
		if s.instances[key(in.zone, in.Name)] == in {
			in.Labels = labels
			in.LabelFingerprint = fingerprint(labels)
		}
	})
	return s.newOp(rq, "setLabels", in.SelfLink, in.ID, done), nil
}

// setDiskAutoDelete serves instances.setDiskAutoDelete.
func (s *Server) setDiskAutoDelete(rq *request) (any, *apiError) {
	in, e := s.lookup(rq)
	if e != nil {
		return nil, e
	}
	q := rq.r.URL.Query()
	var auto bool
	switch q.Get("autoDelete") {
	case "true":
		auto = true
	case "false":
	default:
		return nil, errInvalid("Invalid value for field 'autoDelete': '%s'. Required: true or false.", q.Get("autoDelete"))
	}
	dev := q.Get("deviceName")
	i := slices.IndexFunc(in.Disks, func(d AttachedDisk) bool { return d.DeviceName == dev })
	if i < 0 {
		return nil, errInvalid("Invalid value for field 'deviceName': '%s'. No attached disk found with device name '%s'.", dev, dev)
	}
	if rq.opFault != nil {
		return s.failedOp(rq, "setDiskAutoDelete", in.SelfLink, s.cfg.Delays.Update), nil
	}
	done := rq.now.Add(s.cfg.Delays.OpPending + s.cfg.Delays.Update)
	s.schedule(done, func(time.Time) {
		if s.instances[key(in.zone, in.Name)] == in && i < len(in.Disks) {
			in.Disks[i].AutoDelete = auto
		}
	})
	return s.newOp(rq, "setDiskAutoDelete", in.SelfLink, in.ID, done), nil
}

// SetStatus sets an instance's status directly, as GCE does on its own (for
// example REPAIRING after a host error). It reports whether the instance exists.
func (s *Server) SetStatus(zone, name, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	in, ok := s.instances[key(zone, name)]
	if ok {
		in.gen++
		in.Status = status
	}
	return ok
}

// Instance returns a copy of a stored instance as the API would show it now.
func (s *Server) Instance(zone, name string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	in, ok := s.instances[key(zone, name)]
	if !ok {
		return Instance{}, false
	}
	return deepCopy(in.Instance), true
}

// InstanceCount is how many instances exist, in every zone.
func (s *Server) InstanceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	return len(s.instances)
}

package gcefake

import (
	"encoding/json"
	"maps"
	"time"
)

// disk is a stored zonal disk.
type disk struct {
	Disk
	zone string
}

// lookupDisk returns the disk the request names, or its 404.
func (s *Server) lookupDisk(rq *request) (*disk, *apiError) {
	dk, ok := s.disks[key(rq.zone, rq.name)]
	if !ok {
		return nil, errNotFound("projects/" + s.cfg.Project + "/zones/" + rq.zone + "/disks/" + rq.name)
	}
	return dk, nil
}

// getDisk serves disks.get.
func (s *Server) getDisk(rq *request) (any, *apiError) {
	dk, e := s.lookupDisk(rq)
	if e != nil {
		return nil, e
	}
	return dk.Disk, nil
}

// deleteDisk serves disks.delete; an attached disk cannot be deleted.
func (s *Server) deleteDisk(rq *request) (any, *apiError) {
	dk, e := s.lookupDisk(rq)
	if e != nil {
		return nil, e
	}
	if len(dk.Users) > 0 {
		return nil, errInUse(dk.SelfLink, dk.Users[0])
	}
	d := s.cfg.Delays
	if rq.opFault != nil {
		return s.failedOp(rq, "delete", dk.SelfLink, d.Deleting), nil
	}
	start := rq.now.Add(d.OpPending)
	end := start.Add(d.Deleting)
	s.schedule(start, func(time.Time) {
		if s.disks[key(dk.zone, dk.Name)] == dk {
			dk.Status = DiskDeleting
		}
	})
	s.schedule(end, func(time.Time) {
		if s.disks[key(dk.zone, dk.Name)] == dk {
			delete(s.disks, key(dk.zone, dk.Name))
		}
	})
	return s.newOp(rq, "delete", dk.SelfLink, dk.ID, end), nil
}

// setDiskLabels serves disks.setLabels; the fingerprint must be current.
func (s *Server) setDiskLabels(rq *request) (any, *apiError) {
	dk, e := s.lookupDisk(rq)
	if e != nil {
		return nil, e
	}
	var body labelsRequest
	if e := rq.decode(&body); e != nil {
		return nil, e
	}
	if body.LabelFingerprint != dk.LabelFingerprint {
		return nil, errFingerprint()
	}
	if e := checkLabels("labels", body.Labels); e != nil {
		return nil, e
	}
	if rq.opFault != nil {
		return s.failedOp(rq, "setLabels", dk.SelfLink, s.cfg.Delays.Update), nil
	}
	done := rq.now.Add(s.cfg.Delays.OpPending + s.cfg.Delays.Update)
	labels := maps.Clone(body.Labels)
	s.schedule(done, func(time.Time) {
		if s.disks[key(dk.zone, dk.Name)] == dk {
			dk.Labels = labels
			dk.LabelFingerprint = fingerprint(labels)
		}
	})
	return s.newOp(rq, "setLabels", dk.SelfLink, dk.ID, done), nil
}

// Disk returns a copy of a stored disk as the API would show it now.
func (s *Server) Disk(zone, name string) (Disk, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	dk, ok := s.disks[key(zone, name)]
	if !ok {
		return Disk{}, false
	}
	return deepCopy(dk.Disk), true
}

// DiskCount is how many disks exist, in every zone.
func (s *Server) DiskCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	return len(s.disks)
}

// deepCopy copies a resource through JSON, so callers cannot reach the store.
func deepCopy[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the fake's own types always marshal
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

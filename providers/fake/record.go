package fake

import (
	"maps"
	"strconv"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// phase is where an instance is in its life; transitional phases end at
// record.until, and settle moves them on.
type phase int

const (
	phaseCreating   phase = iota // pending until until, then running
	phaseRunning                 // stable
	phaseSuspending              // suspending until until, then suspended
	phaseSuspended               // stable
	phaseResuming                // resuming until until, then running
	phaseDestroying              // destroying until until, then gone
)

// record is one instance as the fake stores it.
type record struct {
	inst  providers.Instance // identity and timestamps; State is derived by settle
	req   providers.CreateRequest
	phase phase
	until time.Time
}

// settle moves a transitional phase on if its latency has passed at now, and
// reports whether the instance still exists. Call with p.mu held.
func (r *record) settle(now time.Time) bool {
	if now.Before(r.until) {
		return true
	}
	switch r.phase {
	case phaseCreating, phaseResuming:
		r.phase = phaseRunning
	case phaseSuspending:
		r.phase = phaseSuspended
		r.inst.SuspendedAt = r.until
	case phaseDestroying:
		return false
	}
	return true
}

// state maps the phase to the provider state.
func (r *record) state() providers.State {
	switch r.phase {
	case phaseCreating:
		return providers.StatePending
	case phaseSuspending:
		return providers.StateSuspending
	case phaseSuspended:
		return providers.StateSuspended
	case phaseResuming:
		return providers.StateResuming
	case phaseDestroying:
		return providers.StateDestroying
	}
	return providers.StateRunning
}

// snapshot returns the instance as List reports it (call after settle).
func (r *record) snapshot() providers.Instance {
	in := r.inst
	in.State = r.state()
	in.Labels = maps.Clone(r.inst.Labels)
	if in.Labels == nil {
		in.Labels = map[string]string{}
	}
	if in.State == providers.StateSuspended && !in.SuspendedAt.IsZero() {
		in.Labels[providers.LabelSuspendedAt] = strconv.FormatInt(in.SuspendedAt.Unix(), 10)
	} else {
		in.SuspendedAt = time.Time{}
	}
	return in
}

// live settles every record at now, forgets the ones whose destroy finished, and
// returns the rest. Call with p.mu held.
func (p *Provider) live(now time.Time) []*record {
	out := make([]*record, 0, len(p.records))
	for id, r := range p.records {
		if !r.settle(now) {
			p.forget(id)
			continue
		}
		out = append(out, r)
	}
	return out
}

// lookup returns the live record with id, settled at now. Call with p.mu held.
func (p *Provider) lookup(id string, now time.Time) (*record, bool) {
	r, ok := p.records[id]
	if !ok {
		return nil, false
	}
	if !r.settle(now) {
		p.forget(id)
		return nil, false
	}
	return r, true
}

// forget drops the record with id. Call with p.mu held.
func (p *Provider) forget(id string) {
	if r, ok := p.records[id]; ok {
		if p.names[r.inst.Name] == id {
			delete(p.names, r.inst.Name)
		}
		delete(p.records, id)
	}
}

// store adds r, replacing any record with its id or name. Call with p.mu held.
func (p *Provider) store(r *record) {
	p.forget(r.inst.ID)
	if old, ok := p.names[r.inst.Name]; ok {
		p.forget(old)
	}
	p.records[r.inst.ID] = r
	p.names[r.inst.Name] = r.inst.ID
}

// byName returns the live record named name. Call with p.mu held.
func (p *Provider) byName(name string, now time.Time) (*record, bool) {
	id, ok := p.names[name]
	if !ok {
		return nil, false
	}
	return p.lookup(id, now)
}

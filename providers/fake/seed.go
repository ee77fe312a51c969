package fake

import (
	"maps"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Seed preloads instances, e.g. one started by hand (no owner) or another
// owner's. An empty ID gets a fresh one, an empty Name the ID, zero CreatedAt
// the clock's time, zero StartedAt CreatedAt. Owner, Installation and Pool are
// copied into Labels. State says where the instance starts: "" or running and
// suspended are stable (suspended with SuspendedAt defaulting to now); pending
// becomes running after the create and boot latencies from StartedAt; suspending,
// resuming and destroying finish after their latency from now. Seeding an ID or
// name that exists replaces it.
func (p *Provider) Seed(instances ...providers.Instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	for _, in := range instances {
		if in.ID == "" {
			in.ID = p.newID()
		}
		if in.Name == "" {
			in.Name = in.ID
		}
		if in.CreatedAt.IsZero() {
			in.CreatedAt = now
		}
		if in.StartedAt.IsZero() {
			in.StartedAt = in.CreatedAt
		}
		in.Labels = maps.Clone(in.Labels)
		if in.Labels == nil {
			in.Labels = map[string]string{}
		}
		delete(in.Labels, providers.LabelSuspendedAt)
		for k, v := range map[string]string{
			providers.LabelOwner:        in.Owner,
			providers.LabelInstallation: in.Installation,
			providers.LabelPool:         in.Pool,
		} {
			if v != "" {
				in.Labels[k] = v
			}
		}
		r := &record{inst: in, phase: phaseRunning}
		switch in.State {
		case providers.StatePending:
			r.phase, r.until = phaseCreating, in.StartedAt.Add(p.lat.Create+p.lat.Boot)
		case providers.StateSuspended:
			r.phase = phaseSuspended
			if r.inst.SuspendedAt.IsZero() {
				r.inst.SuspendedAt = now
			}
		case providers.StateSuspending:
			r.phase, r.until = phaseSuspending, now.Add(p.lat.Suspend)
		case providers.StateResuming:
			r.phase, r.until = phaseResuming, now.Add(p.lat.Resume)
		case providers.StateDestroying:
			r.phase, r.until = phaseDestroying, now.Add(p.lat.Destroy)
		}
		if r.phase != phaseSuspended {
			r.inst.SuspendedAt = time.Time{}
		}
		r.inst.State = ""
		p.store(r)
	}
}

// Instances returns every instance of every owner, states derived now, oldest
// first. It is not a provider call and is not recorded.
func (p *Provider) Instances() []providers.Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []providers.Instance
	for _, r := range p.live(p.clock.Now()) {
		out = append(out, r.snapshot())
	}
	sortInstances(out)
	return out
}

// Request returns the create request that made the instance named name (zero
// and false for unknown or seeded instances), e.g. to check the agent's Env.
func (p *Provider) Request(name string) (providers.CreateRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.byName(name, p.clock.Now())
	if !ok || r.req.Name == "" {
		return providers.CreateRequest{}, false
	}
	req := r.req
	req.Env = maps.Clone(req.Env)
	req.Settings = maps.Clone(req.Settings)
	return req, true
}

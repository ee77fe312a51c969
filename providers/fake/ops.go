package fake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// List returns the instances labelled with owner, their states derived at the
// clock's current time, oldest first.
func (p *Provider) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	call := Call{Op: OpList, Time: p.clock.Now(), Owner: owner}
	insts, err := p.list(ctx, owner)
	call.Err = err
	p.record(call)
	return insts, err
}

func (p *Provider) list(ctx context.Context, owner string) ([]providers.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing instances of %s: %w", owner, err)
	}
	if err := p.injected(Attempt{Op: OpList, Owner: owner}); err != nil {
		return nil, fmt.Errorf("listing instances of %s: %w", owner, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []providers.Instance
	for _, r := range p.live(p.clock.Now()) {
		if r.inst.Owner == owner {
			out = append(out, r.snapshot())
		}
	}
	sortInstances(out)
	return out, nil
}

// Create creates the requested instances, adopting any whose name exists.
// Results are in request order; failures are joined in the error.
func (p *Provider) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	call := Call{Op: OpCreate, Time: p.clock.Now(), Requests: slices.Clone(reqs)}
	var out []providers.Instance
	var errs []error
	for _, req := range reqs {
		call.Names = append(call.Names, req.Name)
		in, err := p.createOne(ctx, req)
		if err != nil {
			errs = append(errs, fmt.Errorf("creating instance %s: %w", req.Name, err))
			continue
		}
		out = append(out, in)
		call.Succeeded = append(call.Succeeded, in.ID)
	}
	call.Err = errors.Join(errs...)
	p.record(call)
	return out, call.Err
}

func (p *Provider) createOne(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if err := ctx.Err(); err != nil {
		return providers.Instance{}, err
	}
	if req.Name == "" {
		return providers.Instance{}, errors.New("the request has no name")
	}
	if err := p.injected(Attempt{Op: OpCreate, ID: req.Name, Owner: req.Owner, Request: req}); err != nil {
		return providers.Instance{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	if r, ok := p.byName(req.Name, now); ok {
		if r.inst.Owner != req.Owner {
			return providers.Instance{}, fmt.Errorf("the name is taken by %s of owner %q", r.inst.ID, r.inst.Owner)
		}
		return r.snapshot(), nil
	}
	req.Env = maps.Clone(req.Env)
	req.Settings = maps.Clone(req.Settings)
	r := &record{
		inst: providers.Instance{
			ID:           p.newID(),
			Name:         req.Name,
			Owner:        req.Owner,
			Installation: req.Installation,
			Pool:         req.Pool,
			CreatedAt:    now,
			StartedAt:    now,
			Offering:     req.Offering,
			Labels:       req.Labels(),
		},
		req:   req,
		phase: phaseCreating,
		until: now.Add(p.lat.Create + p.lat.Boot),
	}
	p.store(r)
	r.settle(now)
	return r.snapshot(), nil
}

// Suspend moves the instances to suspending, then suspended after the suspend
// latency. Suspending a suspended instance succeeds and changes nothing.
func (p *Provider) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	call := Call{Op: OpSuspend, Time: p.clock.Now(), IDs: slices.Clone(ids), Mode: mode}
	call.Succeeded, call.Err = providers.Batch(ctx, "suspending", ids, 1, func(id string) error {
		if mode == providers.SuspendNone || !p.caps.Supports(mode) {
			return providers.Errorf(providers.KindNotSupported, OpSuspend, id, "suspend mode %q is not supported by %s", mode, p.name)
		}
		if err := p.injected(Attempt{Op: OpSuspend, ID: id, Mode: mode}); err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		now := p.clock.Now()
		r, ok := p.lookup(id, now)
		if !ok || r.phase == phaseDestroying {
			return providers.Errorf(providers.KindNotFound, OpSuspend, id, "no such instance")
		}
		switch r.phase {
		case phaseCreating, phaseRunning, phaseResuming:
			r.phase, r.until = phaseSuspending, now.Add(p.lat.Suspend)
			r.settle(now)
		}
		return nil
	})
	p.record(call)
	return call.Succeeded, call.Err
}

// Resume moves suspended instances to resuming, then running after the resume
// latency, with a new StartedAt. Resuming a running instance succeeds and changes nothing.
func (p *Provider) Resume(ctx context.Context, ids []string) ([]string, error) {
	call := Call{Op: OpResume, Time: p.clock.Now(), IDs: slices.Clone(ids)}
	call.Succeeded, call.Err = providers.Batch(ctx, "resuming", ids, 1, func(id string) error {
		if err := p.injected(Attempt{Op: OpResume, ID: id}); err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		now := p.clock.Now()
		r, ok := p.lookup(id, now)
		if !ok || r.phase == phaseDestroying {
			return providers.Errorf(providers.KindNotFound, OpResume, id, "no such instance")
		}
		switch r.phase {
		case phaseSuspending, phaseSuspended:
			r.phase, r.until = phaseResuming, now.Add(p.lat.Resume)
			r.inst.StartedAt = now
			r.inst.SuspendedAt = time.Time{}
			r.settle(now)
		}
		return nil
	})
	p.record(call)
	return call.Succeeded, call.Err
}

// Destroy moves the instances to destroying; List stops showing them after the
// destroy latency. An id already gone is a success.
func (p *Provider) Destroy(ctx context.Context, ids []string) ([]string, error) {
	call := Call{Op: OpDestroy, Time: p.clock.Now(), IDs: slices.Clone(ids)}
	call.Succeeded, call.Err = providers.Batch(ctx, "destroying", ids, 1, func(id string) error {
		if err := p.injected(Attempt{Op: OpDestroy, ID: id}); err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		now := p.clock.Now()
		r, ok := p.lookup(id, now)
		if !ok || r.phase == phaseDestroying {
			return nil
		}
		r.phase, r.until = phaseDestroying, now.Add(p.lat.Destroy)
		if !r.settle(now) {
			p.forget(id)
		}
		return nil
	})
	p.record(call)
	return call.Succeeded, call.Err
}

// sortInstances orders instances by creation time, then id.
func sortInstances(insts []providers.Instance) {
	slices.SortFunc(insts, func(a, b providers.Instance) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}

package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// List scans the base dir once and returns the instances labelled with owner.
// A running instance whose process is gone is still running (the machine
// exists), with LabelAlive "false".
func (p *Provider) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing instances of %s: %w", owner, err)
	}
	entries, err := os.ReadDir(p.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("listing instances of %s: %w", owner, err)
	}
	var out []providers.Instance
	for _, e := range entries {
		if !e.IsDir() || !validName.MatchString(e.Name()) {
			continue
		}
		r, err := readRecord(p.instanceDir(e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // being created or destroyed
		}
		if err != nil {
			p.log.Warn("skipping an unreadable instance", "dir", p.instanceDir(e.Name()), "err", err)
			continue
		}
		if r.Owner == owner {
			out = append(out, p.instance(r))
		}
	}
	slices.SortFunc(out, func(a, b providers.Instance) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// instance maps a record to the Instance List reports.
func (p *Provider) instance(r *record) providers.Instance {
	in := providers.Instance{
		ID:           r.Name,
		Name:         r.Name,
		Owner:        r.Owner,
		Installation: r.Installation,
		Pool:         r.Pool,
		State:        providers.StateRunning,
		CreatedAt:    r.Created,
		StartedAt:    r.Started,
		Offering:     r.Offering,
		Labels: map[string]string{
			providers.LabelOwner:        r.Owner,
			providers.LabelInstallation: r.Installation,
			providers.LabelPool:         r.Pool,
		},
	}
	if r.Desired == desiredSuspended {
		in.State = providers.StateSuspended
		in.SuspendedAt = r.SuspendedAt
		in.Labels[providers.LabelSuspendedAt] = strconv.FormatInt(r.SuspendedAt.Unix(), 10)
		return in
	}
	in.Labels[LabelAlive] = strconv.FormatBool(alive(r.PID, r.PIDStart))
	return in
}

// Create starts an agent per request, each in a new instance dir, adopting any
// instance whose name exists. Results are in request order.
func (p *Provider) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	var out []providers.Instance
	var errs []error
	for _, req := range reqs {
		in, err := p.createOne(ctx, req)
		if err != nil {
			errs = append(errs, fmt.Errorf("creating instance %s: %w", req.Name, err))
			continue
		}
		out = append(out, in)
	}
	return out, errors.Join(errs...)
}

func (p *Provider) createOne(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if err := ctx.Err(); err != nil {
		return providers.Instance{}, err
	}
	if !validName.MatchString(req.Name) {
		return providers.Instance{}, fmt.Errorf("invalid name %q: want letters, digits, '.', '_' or '-', at most 200", req.Name)
	}
	defer p.lockName(req.Name)()
	dir := p.instanceDir(req.Name)
	r, err := readRecord(dir)
	switch {
	case err == nil:
		if r.Owner != req.Owner {
			return providers.Instance{}, fmt.Errorf("the name is taken by an instance of owner %q", r.Owner)
		}
		return p.instance(r), nil
	case !errors.Is(err, fs.ErrNotExist):
		return providers.Instance{}, err
	}
	_, statErr := os.Stat(dir)
	existed := statErr == nil
	if err := os.MkdirAll(filepath.Join(dir, workDir), 0o700); err != nil {
		return providers.Instance{}, fmt.Errorf("creating the instance dir: %w", err)
	}
	now := time.Now()
	r = &record{
		Name:         req.Name,
		Owner:        req.Owner,
		Installation: req.Installation,
		Pool:         req.Pool,
		Image:        req.Image,
		Offering:     req.Offering,
		Env:          req.Env,
		Created:      now,
		Started:      now,
		Desired:      desiredRunning,
	}
	undo := func() {
		if existed {
			_ = os.Remove(filepath.Join(dir, recordFile))
		} else {
			_ = os.RemoveAll(dir)
		}
	}
	// The record goes first, so a crash before the start leaves a visible
	// instance (dead; boot_timeout destroys it) rather than an invisible process.
	if err := writeRecord(dir, r); err != nil {
		undo()
		return providers.Instance{}, err
	}
	if err := p.start(r); err != nil {
		undo()
		return providers.Instance{}, err
	}
	if err := writeRecord(dir, r); err != nil {
		_ = p.stop(context.Background(), r)
		undo()
		return providers.Instance{}, err
	}
	return p.instance(r), nil
}

// Suspend stops the agents (mode stop only) and keeps their dirs. Suspending a
// suspended instance succeeds.
func (p *Provider) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	return providers.Batch(ctx, "suspending", ids, providers.DefaultParallel, func(id string) error {
		if mode != providers.SuspendStop {
			return providers.Errorf(providers.KindNotSupported, "suspend", id, "suspend mode %q is not supported by the local provider", mode)
		}
		if !validName.MatchString(id) {
			return providers.Errorf(providers.KindNotFound, "suspend", id, "not a local instance id")
		}
		defer p.lockName(id)()
		dir := p.instanceDir(id)
		r, err := readRecord(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return providers.Errorf(providers.KindNotFound, "suspend", id, "no such instance")
		}
		if err != nil {
			return err
		}
		if err := p.stop(ctx, r); err != nil {
			return err
		}
		if r.Desired == desiredSuspended {
			return nil
		}
		r.Desired, r.SuspendedAt, r.PID, r.PIDStart = desiredSuspended, time.Now(), 0, 0
		return writeRecord(dir, r)
	})
}

// Resume starts the agents of suspended instances again on the same dirs. A
// running instance whose agent is alive is left alone; one whose agent died is
// started again.
func (p *Provider) Resume(ctx context.Context, ids []string) ([]string, error) {
	return providers.Batch(ctx, "resuming", ids, providers.DefaultParallel, func(id string) error {
		if !validName.MatchString(id) {
			return providers.Errorf(providers.KindNotFound, "resume", id, "not a local instance id")
		}
		defer p.lockName(id)()
		dir := p.instanceDir(id)
		r, err := readRecord(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return providers.Errorf(providers.KindNotFound, "resume", id, "no such instance")
		}
		if err != nil {
			return err
		}
		if r.Desired == desiredRunning && alive(r.PID, r.PIDStart) {
			return nil
		}
		r.Desired, r.Started, r.SuspendedAt = desiredRunning, time.Now(), time.Time{}
		if err := p.start(r); err != nil {
			return err
		}
		if err := writeRecord(dir, r); err != nil {
			_ = p.stop(context.Background(), r)
			return err
		}
		return nil
	})
}

// Destroy stops the agents and removes their dirs. An id already gone is a success.
func (p *Provider) Destroy(ctx context.Context, ids []string) ([]string, error) {
	return providers.Batch(ctx, "destroying", ids, providers.DefaultParallel, func(id string) error {
		if !validName.MatchString(id) {
			return fmt.Errorf("%q is not a local instance id", id)
		}
		defer p.lockName(id)()
		dir := p.instanceDir(id)
		r, err := readRecord(dir)
		switch {
		case err == nil:
			if err := p.stop(ctx, r); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			p.log.Warn("destroying an instance with an unreadable record; its agent, if any, is not stopped", "instance", id, "err", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the instance dir: %w", err)
		}
		if r != nil {
			p.log.Info("destroyed instance", "instance", id)
		}
		return nil
	})
}

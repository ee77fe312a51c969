package dispatch

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/scheduler"
	"github.com/agentcloud/agentcloud/master/selector"
	"github.com/agentcloud/agentcloud/master/store"
)

// MaxAttemptsLimit is the largest max_attempts a composition may ask for.
const MaxAttemptsLimit = 10

// InvalidError says which field of a composition request is wrong and why.
type InvalidError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks a composition request and returns it normalised
// (max_attempts 0 becomes 1, names trimmed). The error is an *InvalidError.
func Validate(req api.CompositionRequest) (api.CompositionRequest, error) {
	req.Pool = strings.TrimSpace(req.Pool)
	if req.Pool == "" {
		return req, &InvalidError{"pool", "required"}
	}
	if len(req.Tasks) == 0 {
		return req, &InvalidError{"tasks", "at least one task is required"}
	}
	for i, t := range req.Tasks {
		if strings.TrimSpace(t.Plugin) == "" {
			return req, &InvalidError{fmt.Sprintf("tasks[%d].plugin", i), "required"}
		}
	}
	if _, err := selector.Parse(req.Selector); err != nil {
		return req, &InvalidError{"selector", err.Error()}
	}
	switch {
	case req.MaxAttempts < 0 || req.MaxAttempts > MaxAttemptsLimit:
		return req, &InvalidError{"max_attempts", fmt.Sprintf("must be between 0 and %d, got %d", MaxAttemptsLimit, req.MaxAttempts)}
	case req.MaxAttempts == 0:
		req.MaxAttempts = 1
	}
	tasks := make([]api.Task, len(req.Tasks))
	for i, t := range req.Tasks {
		t.Plugin = strings.TrimSpace(t.Plugin)
		tasks[i] = t
	}
	req.Tasks = tasks
	return req, nil
}

// jobOf is a composition as the scheduler sees it.
func jobOf(c *store.Composition) (*scheduler.Job, error) {
	sel, err := selector.Parse(c.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	var plugins []string
	for _, t := range c.Tasks {
		if !slices.Contains(plugins, t.Plugin) {
			plugins = append(plugins, t.Plugin)
		}
	}
	return &scheduler.Job{ID: c.ID, Pool: c.Pool, Selector: sel, Plugins: plugins, SubmittedAt: c.SubmittedAt}, nil
}

// Submit validates, stores and queues a composition, and returns it as it
// stands (already assigned if an agent was free).
func (d *Dispatcher) Submit(ctx context.Context, req api.CompositionRequest) (api.Composition, error) {
	req, err := Validate(req)
	if err != nil {
		return api.Composition{}, err
	}
	id, err := d.cfg.IDs.New()
	if err != nil {
		return api.Composition{}, fmt.Errorf("submitting composition: %w", err)
	}
	c := &store.Composition{
		ID:          id,
		Pool:        req.Pool,
		Selector:    req.Selector,
		Tasks:       req.Tasks,
		State:       api.CompQueued,
		MaxAttempts: req.MaxAttempts,
		SubmittedAt: d.cfg.Now().UTC(),
		Context:     req.Context,
	}
	job, err := jobOf(c)
	if err != nil {
		return api.Composition{}, fmt.Errorf("submitting composition: %w", err)
	}
	var out api.Composition
	d.do(ctx, func(ctx context.Context) {
		if err = d.store.Insert(ctx, c); err != nil {
			return
		}
		en := &entry{c: c, job: job}
		d.active[id] = en
		d.enqueue(en)
		d.log.Info("composition submitted", "composition", id, "pool", c.Pool, "tasks", len(c.Tasks))
		d.scheduleMarked(ctx)
		out = c.API()
	})
	if err != nil {
		return api.Composition{}, fmt.Errorf("submitting composition: %w", err)
	}
	return out, nil
}

// Get returns a composition with its context and, if withOutput, its output.
func (d *Dispatcher) Get(ctx context.Context, id string, withOutput bool) (api.Composition, error) {
	c, err := d.store.Get(ctx, id)
	if err != nil {
		return api.Composition{}, err
	}
	out := c.API()
	if withOutput {
		if out.Output, err = d.store.AllOutput(ctx, id); err != nil {
			return api.Composition{}, err
		}
	}
	return out, nil
}

// List returns compositions newest first, without output.
func (d *Dispatcher) List(ctx context.Context, f store.Filter) ([]api.Composition, error) {
	cs, err := d.store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]api.Composition, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.API())
	}
	return out, nil
}

// OutputAfter returns a composition (without output) and up to limit of its
// output lines that arrived after cursor. The composition is read first, so
// when it is final the lines include everything it printed.
func (d *Dispatcher) OutputAfter(ctx context.Context, id string, after int64, limit int) (api.Composition, []store.Line, error) {
	c, err := d.store.Get(ctx, id)
	if err != nil {
		return api.Composition{}, nil, err
	}
	lines, err := d.store.Output(ctx, id, after, limit)
	if err != nil {
		return api.Composition{}, nil, err
	}
	return c.API(), lines, nil
}

// CompositionCounts counts compositions per state; it implements metrics.Source.
func (d *Dispatcher) CompositionCounts(ctx context.Context) (map[api.CompositionState]int, error) {
	return d.store.CountByState(ctx)
}

// Pools reports every pool's queue and agents.
func (d *Dispatcher) Pools(ctx context.Context) api.PoolsResponse {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	var queue []*scheduler.Job
	for _, pool := range slices.Sorted(maps.Keys(d.queues)) {
		queue = append(queue, d.queues[pool]...)
	}
	return api.PoolsResponse{
		Installation: d.cfg.Prefix,
		GeneratedAt:  now.UTC(),
		Pools:        scheduler.Pools(d.agentsView(now), queue, now),
	}
}

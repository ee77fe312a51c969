package metrics

import (
	"context"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Instrument wraps a provider so every call is timed
// (agentcloud_provider_call_duration_seconds) and every failure counted by
// kind (agentcloud_provider_errors_total). Untyped errors count as "unknown".
func (m *Metrics) Instrument(p providers.Provider) providers.Provider {
	return &instrumented{p: p, m: m}
}

// instrumented is the decorator Instrument returns.
type instrumented struct {
	p providers.Provider
	m *Metrics
}

// observe records one call that started at start.
func (i *instrumented) observe(op string, start time.Time, err error) {
	name := i.p.Name()
	i.m.providerDuration.WithLabelValues(name, op).Observe(time.Since(start).Seconds())
	if err != nil {
		kind := string(providers.KindOf(err))
		if kind == "" {
			kind = "unknown"
		}
		i.m.providerErrors.WithLabelValues(name, op, kind).Inc()
	}
}

// Name returns the wrapped provider's name.
func (i *instrumented) Name() string { return i.p.Name() }

// Capabilities returns the wrapped provider's capabilities.
func (i *instrumented) Capabilities() providers.Capabilities { return i.p.Capabilities() }

// List lists through the wrapped provider, timed.
func (i *instrumented) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	start := time.Now()
	out, err := i.p.List(ctx, owner)
	i.observe("list", start, err)
	return out, err
}

// Create creates through the wrapped provider, timed.
func (i *instrumented) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	start := time.Now()
	out, err := i.p.Create(ctx, reqs)
	i.observe("create", start, err)
	return out, err
}

// Suspend suspends through the wrapped provider, timed.
func (i *instrumented) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	start := time.Now()
	out, err := i.p.Suspend(ctx, mode, ids)
	i.observe("suspend", start, err)
	return out, err
}

// Resume resumes through the wrapped provider, timed.
func (i *instrumented) Resume(ctx context.Context, ids []string) ([]string, error) {
	start := time.Now()
	out, err := i.p.Resume(ctx, ids)
	i.observe("resume", start, err)
	return out, err
}

// Destroy destroys through the wrapped provider, timed.
func (i *instrumented) Destroy(ctx context.Context, ids []string) ([]string, error) {
	start := time.Now()
	out, err := i.p.Destroy(ctx, ids)
	i.observe("destroy", start, err)
	return out, err
}

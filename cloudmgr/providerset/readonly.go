package providerset

import (
	"context"

	"github.com/agentcloud/agentcloud/providers"
)

// ReadOnly wraps a provider so that only Name, Capabilities and List reach
// it; Create, Suspend, Resume and Destroy fail with a not-supported error and
// never call it. The dry-run plan runs on it.
func ReadOnly(p providers.Provider) providers.Provider {
	return readOnly{p: p}
}

// readOnly is the adapter ReadOnly returns.
type readOnly struct {
	p providers.Provider
}

// Name returns the wrapped provider's name.
func (r readOnly) Name() string { return r.p.Name() }

// Capabilities returns the wrapped provider's capabilities.
func (r readOnly) Capabilities() providers.Capabilities { return r.p.Capabilities() }

// List lists through the wrapped provider.
func (r readOnly) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	return r.p.List(ctx, owner)
}

// Create refuses.
func (r readOnly) Create(context.Context, []providers.CreateRequest) ([]providers.Instance, error) {
	return nil, refused("create")
}

// Suspend refuses.
func (r readOnly) Suspend(context.Context, providers.SuspendMode, []string) ([]string, error) {
	return nil, refused("suspend")
}

// Resume refuses.
func (r readOnly) Resume(context.Context, []string) ([]string, error) {
	return nil, refused("resume")
}

// Destroy refuses.
func (r readOnly) Destroy(context.Context, []string) ([]string, error) {
	return nil, refused("destroy")
}

func refused(op string) error {
	return providers.Errorf(providers.KindNotSupported, op, "", "read-only provider (dry run): %s refused", op)
}

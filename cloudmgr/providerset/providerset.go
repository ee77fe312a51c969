// Package providerset builds the configured providers from cloudmgr's config
// through a factory map keyed by provider type (local, fake, docker, ec2,
// gce), and offers the read-only adapter the dry-run plan uses.
package providerset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/ec2"
	"github.com/agentcloud/agentcloud/providers/gce"
)

// Factory knows one provider type.
type Factory struct {
	// Capabilities checks a provider's settings and says what it can do,
	// without building it (no side effects: used by `cloudmgr validate`).
	Capabilities func(cfg config.Provider) (providers.Capabilities, error)
	// New builds the provider.
	New func(ctx context.Context, cfg config.Provider, log *slog.Logger) (providers.Provider, error)
	// CheckPool, when set, checks a pool's provider-specific settings without
	// calling the provider (used when the policies load).
	CheckPool func(settings map[string]string) error
}

// Factories returns the built-in factories by type (a fresh map each call).
func Factories() map[string]Factory {
	return map[string]Factory{
		"local":  {Capabilities: localCapabilities, New: newLocal},
		"fake":   {Capabilities: fakeCapabilities, New: newFake},
		"docker": {Capabilities: dockerCapabilities, New: newDocker, CheckPool: checkDockerPool},
		"ec2":    {Capabilities: ec2Capabilities, New: newEC2, CheckPool: ec2.CheckPoolSettings},
		"gce":    {Capabilities: gceCapabilities, New: newGCE, CheckPool: gce.ValidatePoolSettings},
	}
}

// Types returns the sorted type names of factories.
func Types(factories map[string]Factory) []string {
	return slices.Sorted(maps.Keys(factories))
}

// Capabilities checks every configured provider's settings and returns their
// capabilities by name, with every problem at once (each naming the
// provider's file:line).
func Capabilities(cfgs []config.Provider, factories map[string]Factory) (map[string]providers.Capabilities, error) {
	out := make(map[string]providers.Capabilities, len(cfgs))
	var errs []error
	for _, c := range cfgs {
		f, ok := factories[c.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: provider %s: unknown type %q", c.Source, c.Name, c.Type))
			continue
		}
		caps, err := f.Capabilities(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: provider %s: %w", c.Source, c.Name, err))
			continue
		}
		out[c.Name] = caps
	}
	return out, errors.Join(errs...)
}

// PoolChecks returns, by provider name, the pool-settings check of every
// configured provider whose type has one.
func PoolChecks(cfgs []config.Provider, factories map[string]Factory) map[string]func(map[string]string) error {
	out := map[string]func(map[string]string) error{}
	for _, c := range cfgs {
		if f, ok := factories[c.Type]; ok && f.CheckPool != nil {
			out[c.Name] = f.CheckPool
		}
	}
	return out
}

// Build builds every configured provider, by name. Each provider labels its
// own log lines with its name; ctx bounds what building does (connecting to
// an engine, loading cloud credentials).
func Build(ctx context.Context, cfgs []config.Provider, factories map[string]Factory, log *slog.Logger) (map[string]providers.Provider, error) {
	out := make(map[string]providers.Provider, len(cfgs))
	var errs []error
	for _, c := range cfgs {
		f, ok := factories[c.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: provider %s: unknown type %q", c.Source, c.Name, c.Type))
			continue
		}
		p, err := f.New(ctx, c, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: building provider %s: %w", c.Source, c.Name, err))
			continue
		}
		out[c.Name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Package inventory takes stock of every instance this cloudmgr owns: one
// List per provider per tick, all providers at once, and the instances grouped
// by provider, installation and pool. The number of List calls grows with the
// providers, never with the pools.
package inventory

import (
	"context"
	"fmt"
	"sync"

	"github.com/agentcloud/agentcloud/providers"
)

// Key identifies one pool's instances on one provider.
type Key struct {
	Provider     string
	Installation string
	Pool         string
}

// Inventory is the instances of every provider, grouped by pool.
type Inventory struct {
	// Pools holds each pool's instances.
	Pools map[Key][]providers.Instance
	// Errors holds the List error of each provider that failed, by provider name.
	Errors map[string]error
	// ListCalls counts the List calls made.
	ListCalls int
}

// Collect lists every provider once, concurrently, with the owner label.
func Collect(ctx context.Context, provs []providers.Provider, owner string) *Inventory {
	type result struct {
		name  string
		insts []providers.Instance
		err   error
	}
	results := make([]result, len(provs))
	var wg sync.WaitGroup
	for i, p := range provs {
		wg.Go(func() {
			insts, err := p.List(ctx, owner)
			if err != nil {
				err = fmt.Errorf("listing instances of provider %s: %w", p.Name(), err)
			}
			results[i] = result{name: p.Name(), insts: insts, err: err}
		})
	}
	wg.Wait()

	// Count first, so each pool's slice is allocated once at its size.
	sizes := map[Key]int{}
	for _, r := range results {
		for _, in := range r.insts {
			sizes[Key{Provider: r.name, Installation: in.Installation, Pool: in.Pool}]++
		}
	}
	inv := &Inventory{Pools: make(map[Key][]providers.Instance, len(sizes)), Errors: map[string]error{}, ListCalls: len(provs)}
	for k, n := range sizes {
		inv.Pools[k] = make([]providers.Instance, 0, n)
	}
	for _, r := range results {
		if r.err != nil {
			inv.Errors[r.name] = r.err
			continue
		}
		for _, in := range r.insts {
			k := Key{Provider: r.name, Installation: in.Installation, Pool: in.Pool}
			inv.Pools[k] = append(inv.Pools[k], in)
		}
	}
	return inv
}

// Pool returns one pool's instances on a provider, or the provider's List
// error (the pool's instances are then unknown).
func (inv *Inventory) Pool(provider, installation, pool string) ([]providers.Instance, error) {
	if err := inv.Errors[provider]; err != nil {
		return nil, err
	}
	return inv.Pools[Key{Provider: provider, Installation: installation, Pool: pool}], nil
}

package simulate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// simCapabilities is what every provider named in a policy file can do in a
// replay: both suspend modes.
var simCapabilities = providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend}}

// LoadPolicies loads and validates a policy file (or folder) as cloudmgr
// does, with every provider it names able to stop and suspend.
func LoadPolicies(path string) (*policies.Set, error) {
	set, err := policies.Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading policies: %w", err)
	}
	set, err = policies.LoadAndValidate(path, knownProviders(set))
	if err != nil {
		return nil, fmt.Errorf("loading policies: %w", err)
	}
	return set, nil
}

// knownProviders gives every provider the set names the simulated capabilities.
func knownProviders(set *policies.Set) map[string]providers.Capabilities {
	known := map[string]providers.Capabilities{}
	for _, p := range set.Pools {
		if p.Provider != "" {
			known[p.Provider] = simCapabilities
		}
	}
	return known
}

// MapPools gives each trace pool its policy: the set's policy for that pool
// name, else (with defaultPolicy, a pool name or installation/pool of the
// set) a copy of that policy renamed to the trace pool. Pools the set names
// come first, in the set's order, then the others by name.
func MapPools(set *policies.Set, tracePools []string, defaultPolicy string, model Model) ([]PoolSpec, error) {
	var def *policies.Policy
	if defaultPolicy != "" {
		var err error
		if def, err = findPolicy(set, defaultPolicy); err != nil {
			return nil, fmt.Errorf("-default-policy: %w", err)
		}
	}
	inTrace := map[string]bool{}
	for _, name := range tracePools {
		inTrace[name] = true
	}
	var specs []PoolSpec
	named := map[string]*policies.Policy{}
	for _, p := range set.Pools {
		if !inTrace[p.Pool] {
			continue
		}
		if first, dup := named[p.Pool]; dup {
			return nil, fmt.Errorf("trace pool %s has two policies, %s (%s) and %s (%s): keep one", p.Pool, first.Key(), first.Source, p.Key(), p.Source)
		}
		named[p.Pool] = p
		specs = append(specs, PoolSpec{Pool: p.Pool, Policy: p, Model: model.For(p.Provider)})
	}
	var missing []string
	for _, name := range tracePools {
		if named[name] != nil {
			continue
		}
		if def == nil {
			missing = append(missing, name)
			continue
		}
		cp := *def
		cp.Pool = name
		specs = append(specs, PoolSpec{Pool: name, Policy: &cp, Model: model.For(cp.Provider)})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the trace has pools the policies do not name: %s (replay one with -pool NAME, or map them with -default-policy POOL)",
			strings.Join(missing, ", "))
	}
	return specs, nil
}

// findPolicy finds a policy by pool name or installation/pool.
func findPolicy(set *policies.Set, name string) (*policies.Policy, error) {
	var found []*policies.Policy
	for _, p := range set.Pools {
		if p.Key() == name || p.Pool == name {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var keys []string
		for _, p := range set.Pools {
			keys = append(keys, p.Key())
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("no policy %q (policies: %s)", name, strings.Join(keys, ", "))
	}
	return nil, fmt.Errorf("pool %q is in several installations: name it as installation/pool", name)
}

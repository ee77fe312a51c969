package app

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// LoadPolicies loads and validates the policies at cfg.Policies against the
// providers' capabilities, checks every pool's provider-specific settings
// (checks), and checks that every pool's installation is one cloudmgr watches. Every problem is returned at once, as policies.Problems
// sorted by file and line.
func LoadPolicies(cfg *config.Config, caps map[string]providers.Capabilities, checks map[string]func(map[string]string) error) (*policies.Set, error) {
	set, err := policies.LoadAndValidate(cfg.Policies, caps)
	var ps policies.Problems
	switch {
	case err == nil:
		ps = installationProblems(cfg, set)
		ps = append(ps, poolSettingProblems(set, checks)...)
	case errors.As(err, &ps):
		// Invalid values: the files still parse, so the installations can be checked too.
		if loaded, lerr := policies.Load(cfg.Policies); lerr == nil {
			ps = append(ps, installationProblems(cfg, loaded)...)
		}
	default:
		return nil, fmt.Errorf("loading policies from %s: %w", cfg.Policies, err)
	}
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b policies.Problem) int {
			fa, la := splitSource(a.Source)
			fb, lb := splitSource(b.Source)
			return cmp.Or(cmp.Compare(fa, fb), cmp.Compare(la, lb))
		})
		return nil, ps
	}
	return set, nil
}

// poolSettingProblems runs each pool's provider-specific settings check
// (checks by provider name, from providerset.PoolChecks), so a bad setting is
// reported with the pool's file:line when the policies load, not at the
// first create.
func poolSettingProblems(set *policies.Set, checks map[string]func(map[string]string) error) policies.Problems {
	var ps policies.Problems
	for _, p := range set.Pools {
		check := checks[p.Provider]
		if check == nil {
			continue
		}
		if err := check(p.Settings); err != nil {
			ps = append(ps, policies.Problem{Source: p.Source, Field: "settings", Msg: err.Error()})
		}
	}
	return ps
}

// installationProblems reports pools and installation limits that name an
// installation missing from cloudmgr's config.
func installationProblems(cfg *config.Config, set *policies.Set) policies.Problems {
	known := make([]string, 0, len(cfg.Installations))
	for _, in := range cfg.Installations {
		known = append(known, in.Name)
	}
	missing := func(name string) string {
		return fmt.Sprintf("installation %q is not in %s (known: %s)", name, cfg.Path, strings.Join(known, ", "))
	}
	var ps policies.Problems
	for _, p := range set.Pools {
		if p.Installation != "" && !slices.Contains(known, p.Installation) {
			ps = append(ps, policies.Problem{Source: p.Source, Field: "installation", Msg: missing(p.Installation)})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(set.Installations)) {
		if !slices.Contains(known, name) {
			ps = append(ps, policies.Problem{Source: set.Installations[name].Source, Field: "name", Msg: missing(name)})
		}
	}
	return ps
}

// splitSource splits "file:line" (line 0 when there is none).
func splitSource(s string) (string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0
	}
	return s[:i], n
}

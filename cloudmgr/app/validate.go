package app

import (
	"errors"
	"fmt"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/providerset"
)

// Validate checks the config file at path, its providers' settings and its
// policies (with the providers' capabilities), changing nothing. On success it
// returns "ok: N installations, M pools, K providers"; otherwise an error
// holding every problem, one per line, each with file:line.
func Validate(path string, factories map[string]providerset.Factory) (string, error) {
	if factories == nil {
		factories = providerset.Factories()
	}
	cfg, err := config.Load(path, providerset.Types(factories))
	if err != nil {
		return "", err
	}
	caps, capErr := providerset.Capabilities(cfg.Providers, factories)
	set, polErr := LoadPolicies(cfg, caps, providerset.PoolChecks(cfg.Providers, factories))
	if err := errors.Join(capErr, polErr); err != nil {
		return "", err
	}
	return fmt.Sprintf("ok: %d installations, %d pools, %d providers", len(cfg.Installations), len(set.Pools), len(cfg.Providers)), nil
}

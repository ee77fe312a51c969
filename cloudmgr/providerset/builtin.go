package providerset

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
	"github.com/agentcloud/agentcloud/providers/local"
)

// localSettings are the settings of a local provider.
var localSettings = []string{"dir", "command", "stop_grace", "env.<NAME>"}

// localConfig reads a local provider's settings: dir (relative to the config
// file), command (split on spaces; a relative program path with a slash is
// relative to the config file), stop_grace, and env.NAME entries.
func localConfig(c config.Provider) (local.Config, error) {
	lc := local.Config{Name: c.Name}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(c.Settings)) {
		v := c.Settings[k]
		switch {
		case k == "dir":
			lc.Dir = anchor(c.Dir, v)
		case k == "command":
			lc.Command = strings.Fields(v)
			if len(lc.Command) > 0 && strings.Contains(lc.Command[0], "/") {
				lc.Command[0] = anchor(c.Dir, lc.Command[0])
			}
		case k == "stop_grace":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				problems = append(problems, fmt.Sprintf("settings.stop_grace: want a positive duration, got %q", v))
			}
			lc.StopGrace = d
		case strings.HasPrefix(k, "env.") && len(k) > 4:
			if lc.Env == nil {
				lc.Env = map[string]string{}
			}
			lc.Env[k[4:]] = v
		default:
			problems = append(problems, fmt.Sprintf("settings.%s: unknown setting (known: %s)", k, strings.Join(localSettings, ", ")))
		}
	}
	if lc.Dir == "" {
		problems = append(problems, "settings.dir: required: the folder holding the instances")
	}
	if len(problems) > 0 {
		return lc, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return lc, nil
}

func localCapabilities(c config.Provider) (providers.Capabilities, error) {
	if _, err := localConfig(c); err != nil {
		return providers.Capabilities{}, err
	}
	// The local provider's capabilities do not depend on its config.
	return new(local.Provider).Capabilities(), nil
}

func newLocal(_ context.Context, c config.Provider, log *slog.Logger) (providers.Provider, error) {
	lc, err := localConfig(c)
	if err != nil {
		return nil, err
	}
	return local.New(lc, log)
}

// fakeConfig reads a fake provider's settings: suspend_modes, a comma list
// (default "stop,suspend"; "" or "none" for none).
func fakeConfig(c config.Provider) (providers.Capabilities, error) {
	caps := providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend}}
	for _, k := range slices.Sorted(maps.Keys(c.Settings)) {
		v := c.Settings[k]
		if k != "suspend_modes" {
			return caps, fmt.Errorf("settings.%s: unknown setting (known: suspend_modes)", k)
		}
		caps.SuspendModes = nil
		for _, m := range strings.Split(v, ",") {
			switch mode := providers.SuspendMode(strings.TrimSpace(m)); mode {
			case "", providers.SuspendNone:
			case providers.SuspendStop, providers.SuspendSuspend:
				caps.SuspendModes = append(caps.SuspendModes, mode)
			default:
				return caps, fmt.Errorf("settings.suspend_modes: unknown mode %q (stop, suspend)", mode)
			}
		}
	}
	return caps, nil
}

func fakeCapabilities(c config.Provider) (providers.Capabilities, error) { return fakeConfig(c) }

func newFake(_ context.Context, c config.Provider, _ *slog.Logger) (providers.Provider, error) {
	caps, err := fakeConfig(c)
	if err != nil {
		return nil, err
	}
	return fake.New(c.Name, fake.WithCapabilities(caps)), nil
}

// anchor resolves a relative path against dir.
func anchor(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

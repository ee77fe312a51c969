// Package local is the embedded default provider: every instance is an agent
// process on this machine with its own directory under a base dir. Suspend
// stops the process and keeps the directory; resume starts it again on the same
// directory. The directory's instance.json is the source of truth, so a new
// Provider on the same base dir (after a cloudmgr restart) finds every instance
// again and manages the processes the previous one started, by pid and process
// start time. Linux only: liveness reads /proc.
package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// LabelAlive is set on running instances: "true" when the agent process is
// alive, "false" when it is gone (the instance still counts as running).
const LabelAlive = "agentcloud-local-alive"

// Config configures the local provider.
type Config struct {
	// Name is the provider's name (default "local").
	Name string
	// Dir is the base dir holding one folder per instance; created if missing.
	Dir string
	// Command is the program and arguments started for each instance; default the
	// "agent" binary in the folder of the running executable.
	Command []string
	// Env is extra environment for every agent, over the request's Env.
	Env map[string]string
	// StopGrace is how long a stopped agent has between SIGTERM and SIGKILL (default 10s).
	StopGrace time.Duration
}

// Provider runs instances as local processes. It is safe for concurrent use.
type Provider struct {
	cfg Config
	log *slog.Logger

	locks providers.KeyLocks // per instance name, while an operation runs on it
}

var _ providers.Provider = (*Provider)(nil)

// New checks cfg, fills its defaults, creates Dir and returns the provider.
// A nil log discards.
func New(cfg Config, log *slog.Logger) (*Provider, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = "local"
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("local provider %s: config: dir is required", cfg.Name)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("local provider %s: config: dir %q: %w", cfg.Name, cfg.Dir, err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("local provider %s: creating dir: %w", cfg.Name, err)
	}
	if len(cfg.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("local provider %s: finding the agent next to this program: %w", cfg.Name, err)
		}
		cfg.Command = []string{filepath.Join(filepath.Dir(exe), "agent")}
	} else if cfg.Command[0] == "" {
		return nil, errors.New("local provider " + cfg.Name + ": config: command has an empty program")
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	return &Provider{
		cfg: cfg,
		log: log.With("provider", cfg.Name),
	}, nil
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.cfg.Name }

// Capabilities: the local provider can stop an agent and keep its dir.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop}}
}

// lockName locks the instance name and returns the unlock.
func (p *Provider) lockName(name string) (unlock func()) {
	return p.locks.Lock(name)
}

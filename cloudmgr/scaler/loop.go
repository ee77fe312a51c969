// Package scaler is cloudmgr's scaling loop. Every tick (and after a poke) it
// takes stock of the instances (one List per provider), reads each
// installation's latest pool status, runs policies.Decide for every pool
// policy and executes the plans through the providers and the masters, pools
// in parallel with a bounded worker pool.
//
// A machine's life, as the loop drives it:
//
//	backlog: resume a suspended machine, else create ──► booting
//	booting ── agent registers ──► idle / busy
//	booting ── boot_timeout ──► destroy (a boot failure)
//	idle beyond want for idle_timeout ──► drain (through the master)
//	drained and idle (the master confirms) ──► suspend, or destroy (suspend: none)
//	suspended ── backlog again ──► resume
//	suspended ── suspended_ttl, or beyond max_suspended ──► destroy
//
// The loop keeps no database: after a restart it rebuilds everything from
// List and the masters' status. What it remembers between ticks (cooldowns,
// backoff, offerings that ran out of capacity) starts afresh.
package scaler

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/metrics"
	"github.com/agentcloud/agentcloud/cloudmgr/watch"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// Defaults for Config's zero fields.
const (
	DefaultWorkers        = 32
	DefaultCallTimeout    = 2 * time.Minute
	DefaultUnavailableFor = 3 * time.Minute
	DefaultTickInterval   = 5 * time.Second
	DefaultStaleAfter     = 45 * time.Second
)

// Config tunes the loop.
type Config struct {
	// Owner is this cloudmgr's id: the owner label of every instance.
	Owner string
	// StaleAfter: status older than this is stale and the pools hold.
	StaleAfter time.Duration
	// TickInterval is the time between ticks in Run.
	TickInterval time.Duration
	// Workers bounds the pools executed at once (default 32).
	Workers int
	// CallTimeout bounds each provider and drain call (default 2m).
	CallTimeout time.Duration
	// UnavailableFor is how long an offering is skipped after a capacity error (default 3m).
	UnavailableFor time.Duration
}

// Installation is what the loop needs of one installation: how its agents are
// configured.
type Installation struct {
	// Name is the installation's name.
	Name string
	// BrokerURL, Prefix and AgentToken become AGENTCLOUD_BROKER_URL,
	// AGENTCLOUD_PREFIX and AGENTCLOUD_TOKEN of every machine.
	BrokerURL  string
	Prefix     string
	AgentToken string
	// AgentEnv holds extra variables for every machine.
	AgentEnv map[string]string
}

// Drainer asks an installation's master to drain an agent.
type Drainer interface {
	Drain(ctx context.Context, installation, agentID string) (api.DrainResponse, error)
}

// Deps are the loop's collaborators.
type Deps struct {
	// Providers by name (wrap them with metrics.Instrument first).
	Providers map[string]providers.Provider
	// Installations by name.
	Installations map[string]Installation
	// Status gives each installation's latest pool status.
	Status watch.StatusSource
	// Drainer drains agents through the masters.
	Drainer Drainer
	// Metrics receives pool gauges, action counters and tick durations.
	Metrics *metrics.Metrics
	// Log receives one line per action and per error.
	Log *slog.Logger
	// Load loads and validates the policy set; Reload calls it.
	Load func() (*policies.Set, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand returns a number in [0,1) for the backoff jitter (default math/rand/v2).
	Rand func() float64
}

// Loop is the scaling loop. Tick, Plan and Run are serialised; Reload, Trigger,
// Status and Ready may be called from any goroutine.
type Loop struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	provs []providers.Provider // every provider, listed once per tick
	set   atomic.Pointer[policies.Set]

	tickMu  sync.Mutex            // serialises ticks
	pools   map[string]*poolState // by policy key; touched only under tickMu
	trigger chan struct{}

	report atomic.Pointer[Report]
}

// poolState is what the loop remembers about one pool between ticks.
type poolState struct {
	installation, pool string
	state              policies.PoolState
	metrics            *metrics.Pool
	recent             []ActionReport // the last executed actions, newest last
}

// New returns a loop; call Reload (or SetPolicies) before the first tick.
func New(cfg Config, deps Deps) *Loop {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.UnavailableFor <= 0 {
		cfg.UnavailableFor = DefaultUnavailableFor
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = DefaultTickInterval
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Rand == nil {
		deps.Rand = rand.Float64
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	l := &Loop{cfg: cfg, deps: deps, log: deps.Log, pools: map[string]*poolState{}, trigger: make(chan struct{}, 1)}
	for _, name := range sortedKeys(deps.Providers) {
		l.provs = append(l.provs, deps.Providers[name])
	}
	return l
}

// SetPolicies replaces the policy set (already validated).
func (l *Loop) SetPolicies(set *policies.Set) {
	l.set.Store(set)
}

// Policies returns the current policy set (nil before the first load).
func (l *Loop) Policies() *policies.Set {
	return l.set.Load()
}

// Reload loads the policies again (on SIGHUP). A set that fails to load or
// validate is refused: the last good set stays, and every problem is logged.
func (l *Loop) Reload() error {
	if l.deps.Load == nil {
		return errors.New("reloading policies: no loader configured")
	}
	set, err := l.deps.Load()
	if err != nil {
		kept := "no policies loaded yet"
		if l.set.Load() != nil {
			kept = "keeping the last good policies"
		}
		l.log.Error("policy load failed: "+kept, "error_kind", "policy")
		for _, line := range strings.Split(err.Error(), "\n") {
			l.log.Error("policy problem", "problem", line)
		}
		return err
	}
	l.set.Store(set)
	l.log.Info("policies loaded", "pools", len(set.Pools), "installations", len(set.Installations))
	return nil
}

// Trigger asks Run for a tick now (after a poked poll); it never blocks.
func (l *Loop) Trigger() {
	select {
	case l.trigger <- struct{}{}:
	default:
	}
}

// Run ticks at once, then every TickInterval and on Trigger, until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.cfg.TickInterval)
	defer t.Stop()
	for {
		l.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-l.trigger:
		}
	}
}

// Ready reports whether policies are loaded and a tick has completed, with
// the reason when not.
func (l *Loop) Ready() (bool, string) {
	if l.set.Load() == nil {
		return false, "no policies loaded"
	}
	if r := l.report.Load(); r == nil || r.Ticks == 0 {
		return false, "no tick completed yet"
	}
	return true, ""
}

// Status returns the report of the last tick (an empty one before the first).
func (l *Loop) Status() *Report {
	if r := l.report.Load(); r != nil {
		return r
	}
	return &Report{}
}

// Package app assembles a cloudmgr from its config: providers (through the
// factory map), metrics, one watcher per master, the scaling loop and the HTTP
// server. It also holds the `validate` and `plan` commands' logic, so
// cmd/cloudmgr stays a thin main.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/events"
	"github.com/agentcloud/agentcloud/cloudmgr/httpserver"
	"github.com/agentcloud/agentcloud/cloudmgr/metrics"
	"github.com/agentcloud/agentcloud/cloudmgr/providerset"
	"github.com/agentcloud/agentcloud/cloudmgr/scaler"
	"github.com/agentcloud/agentcloud/cloudmgr/watch"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// Options tune New.
type Options struct {
	// Factories by provider type (default providerset.Factories()).
	Factories map[string]providerset.Factory
	// Log receives everything (default: discard).
	Log *slog.Logger
	// HTTPClient calls the masters (default: a client with sane transport
	// limits; per-call timeouts come from the config).
	HTTPClient *http.Client
	// DryRun wraps every provider read-only and drains nothing: for `plan`.
	DryRun bool
}

// App is one configured cloudmgr.
type App struct {
	Config *config.Config
	// Metrics are this process's metrics, on their own registry.
	Metrics *metrics.Metrics
	// Watcher polls the masters; Poke it when a change event arrives.
	Watcher *watch.Watcher
	// Events pokes the Watcher on the masters' pool-change events (nil in a
	// dry run, or when no installation has events on).
	Events *events.Subscriber
	// Loop is the scaling loop.
	Loop *scaler.Loop
	// Providers are the built providers by name, as the loop calls them
	// (instrumented, and read-only in a dry run).
	Providers map[string]providers.Provider

	log    *slog.Logger
	dryRun bool
}

// New builds everything from cfg and loads the policies; it fails when a
// provider cannot be built or the policies do not load.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	if opts.Factories == nil {
		opts.Factories = providerset.Factories()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	caps, err := providerset.Capabilities(cfg.Providers, opts.Factories)
	if err != nil {
		return nil, err
	}
	checks := providerset.PoolChecks(cfg.Providers, opts.Factories)
	built, err := providerset.Build(ctx, cfg.Providers, opts.Factories, opts.Log)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Metrics: metrics.New(), Providers: map[string]providers.Provider{}, log: opts.Log, dryRun: opts.DryRun}
	for name, p := range built {
		if opts.DryRun {
			p = providerset.ReadOnly(p)
		}
		a.Providers[name] = a.Metrics.Instrument(p)
	}

	var targets []watch.Target
	clients := drainers{}
	insts := map[string]scaler.Installation{}
	for _, in := range cfg.Installations {
		poller, drain, err := statusSource(in, opts.HTTPClient, opts.Log)
		if err != nil {
			return nil, err
		}
		targets = append(targets, watch.Target{Name: in.Name, Master: poller})
		clients[in.Name] = drain
		insts[in.Name] = scaler.Installation{
			Name: in.Name, BrokerURL: in.Agent.BrokerURL, Prefix: in.Agent.Prefix,
			AgentToken: in.Agent.Token, AgentEnv: in.Agent.Env,
		}
	}
	var loop *scaler.Loop
	a.Watcher = watch.New(targets, watch.Options{
		Interval: cfg.PollInterval,
		Timeout:  cfg.PollTimeout,
		Observer: a.Metrics,
		OnPoked:  func(string) { loop.Trigger() },
	}, opts.Log.With("component", "watch"))
	if targets := eventTargets(cfg); len(targets) > 0 && !opts.DryRun {
		a.Events = events.New(targets, a.Watcher, events.Options{Observer: a.Metrics}, opts.Log.With("component", "events"))
	}
	deps := scaler.Deps{
		Providers:     a.Providers,
		Installations: insts,
		Status:        a.Watcher,
		Metrics:       a.Metrics,
		Log:           opts.Log.With("component", "scaler"),
		Load:          func() (*policies.Set, error) { return LoadPolicies(cfg, caps, checks) },
	}
	if !opts.DryRun {
		deps.Drainer = clients
	}
	set, err := deps.Load()
	if err != nil {
		return nil, err
	}
	loop = scaler.New(scaler.Config{Owner: cfg.ID, StaleAfter: cfg.StaleAfter, TickInterval: cfg.TickInterval}, deps)
	loop.SetPolicies(set)
	a.Loop = loop
	return a, nil
}

// Reload reloads the policies (SIGHUP); a failing set keeps the last good one.
func (a *App) Reload() error {
	return a.Loop.Reload()
}

// Run serves HTTP, polls the masters and runs the loop until ctx ends. The
// first tick waits for every master's first poll (at most poll_timeout), so it
// acts on real status.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.Config.Listen, err)
	}
	srv := &http.Server{
		Handler:           httpserver.New(a.Loop, a.Metrics.Registry, a.log.With("component", "http")),
		ReadHeaderTimeout: 10 * time.Second,
	}
	a.log.Info("cloudmgr started", "id", a.Config.ID, "listen", ln.Addr().String(),
		"installations", len(a.Config.Installations), "providers", len(a.Config.Providers))

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("serving HTTP: %w", err)
			stop()
		}
	})
	wg.Go(func() { a.Watcher.Run(ctx) })
	if a.Events != nil {
		wg.Go(func() { a.Events.Run(ctx) })
	}
	wg.Go(func() {
		select {
		case <-a.Watcher.Polled():
		case <-time.After(a.Config.PollTimeout + time.Second):
		case <-ctx.Done():
			return
		}
		a.Loop.Run(ctx)
	})

	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		a.log.Warn("shutting down HTTP", "error", err)
	}
	wg.Wait()
	select {
	case err := <-serveErr:
		return err
	default:
	}
	a.log.Info("cloudmgr stopped")
	return nil
}

// drainers routes drains to each installation's master.
type drainers map[string]drainer

// Drain drains an agent through its installation's master.
func (d drainers) Drain(ctx context.Context, installation, agentID string) (api.DrainResponse, error) {
	c := d[installation]
	if c == nil {
		return api.DrainResponse{}, fmt.Errorf("draining %s: installation %s is not configured", agentID, installation)
	}
	return c.Drain(ctx, agentID)
}

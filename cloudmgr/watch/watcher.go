package watch

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// Poller fetches one master's pool status; *Client is one.
type Poller interface {
	Pools(ctx context.Context) (api.PoolsResponse, error)
}

// Observer is told the outcome of every poll (metrics implement it).
type Observer interface {
	// ObservePoll records one poll of the installation that completed at at;
	// err is nil on success.
	ObservePoll(installation string, at time.Time, err error)
}

// Target is one installation to watch.
type Target struct {
	// Name is the installation's name.
	Name string
	// Master fetches its status.
	Master Poller
}

// Options tune a Watcher.
type Options struct {
	// Interval between polls of one installation (default 10s), jittered by ±Jitter.
	Interval time.Duration
	// Timeout bounds one poll (default 5s).
	Timeout time.Duration
	// Jitter is the fraction of Interval to jitter by (default 0.1; negative: none).
	Jitter float64
	// Observer, if set, is told every poll's outcome.
	Observer Observer
	// OnPoked, if set, is called after each poll that Poke triggered, so the
	// scaling loop can act on the fresh status at once.
	OnPoked func(installation string)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand returns a number in [0,1) for the jitter (default math/rand/v2).
	Rand func() float64
}

// Watcher polls every target in its own goroutine and keeps the latest
// Snapshot of each. It is a StatusSource.
type Watcher struct {
	opts    Options
	log     *slog.Logger
	targets map[string]*target
	order   []*target

	firstLeft atomic.Int64  // targets not yet polled once
	first     chan struct{} // closed when every target has been polled once
}

// target is one installation's poll state.
type target struct {
	name   string
	master Poller
	poke   chan struct{}
	polled atomic.Bool // a first poll has completed

	mu   sync.Mutex
	snap Snapshot
}

// New returns a watcher for targets; Run starts it.
func New(targets []Target, opts Options, log *slog.Logger) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Jitter == 0 {
		opts.Jitter = 0.1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	w := &Watcher{opts: opts, log: log, targets: make(map[string]*target, len(targets)), first: make(chan struct{})}
	for _, t := range targets {
		tg := &target{name: t.Name, master: t.Master, poke: make(chan struct{}, 1), snap: Snapshot{Installation: t.Name}}
		w.targets[t.Name] = tg
		w.order = append(w.order, tg)
	}
	w.firstLeft.Store(int64(len(w.order)))
	if len(w.order) == 0 {
		close(w.first)
	}
	return w
}

// Run polls every installation until ctx ends: each at once, then every
// jittered interval or when poked. It returns when all its goroutines have.
func (w *Watcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range w.order {
		wg.Go(func() { w.loop(ctx, t) })
	}
	wg.Wait()
}

// PollAll polls every installation once, concurrently, and returns when all
// polls are done (used by the dry-run plan).
func (w *Watcher) PollAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range w.order {
		wg.Go(func() { w.poll(ctx, t) })
	}
	wg.Wait()
}

// Poke asks for an immediate poll of the installation (a change event arrived).
// It never blocks; it returns false for an unknown installation.
func (w *Watcher) Poke(installation string) bool {
	t := w.targets[installation]
	if t == nil {
		return false
	}
	select {
	case t.poke <- struct{}{}:
	default: // a poke is already pending
	}
	return true
}

// Snapshot returns the latest snapshot of the installation.
func (w *Watcher) Snapshot(installation string) (Snapshot, bool) {
	t := w.targets[installation]
	if t == nil {
		return Snapshot{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap, true
}

// Polled is closed once every installation has been polled at least once
// (successfully or not), so a first tick can wait for real status.
func (w *Watcher) Polled() <-chan struct{} {
	return w.first
}

// Installations lists the watched installations in configuration order.
func (w *Watcher) Installations() []string {
	names := make([]string, len(w.order))
	for i, t := range w.order {
		names[i] = t.name
	}
	return names
}

// loop is one installation's goroutine.
func (w *Watcher) loop(ctx context.Context, t *target) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			w.poll(ctx, t)
		case <-t.poke:
			w.poll(ctx, t)
			if w.opts.OnPoked != nil && ctx.Err() == nil {
				w.opts.OnPoked(t.name)
			}
		}
		timer.Reset(jittered(w.opts.Interval, w.opts.Jitter, w.opts.Rand()))
	}
}

// poll fetches one status and publishes the new snapshot.
func (w *Watcher) poll(ctx context.Context, t *target) {
	pctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	resp, err := t.master.Pools(pctx)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: not a master failure
	}
	now := w.opts.Now()
	if err != nil {
		err = fmt.Errorf("polling installation %s: %w", t.name, err)
	}

	t.mu.Lock()
	s := t.snap
	s.AttemptedAt = now
	s.Err = err
	if err != nil {
		s.Failures++
	} else {
		s.Failures = 0
		s.FetchedAt = now
		s.Pools = make(map[string]*api.PoolStatus, len(resp.Pools))
		for i := range resp.Pools {
			p := &resp.Pools[i]
			s.Pools[p.Pool] = p
		}
	}
	wasFailing := t.snap.Err != nil
	t.snap = s
	t.mu.Unlock()

	switch {
	case err != nil && s.Failures == 1:
		w.log.Warn("master poll failed", "installation", t.name, "error", err)
	case err != nil:
		w.log.Debug("master poll failed again", "installation", t.name, "failures", s.Failures, "error", err)
	case wasFailing:
		w.log.Info("master poll recovered", "installation", t.name, "pools", len(s.Pools))
	}
	if w.opts.Observer != nil {
		w.opts.Observer.ObservePoll(t.name, now, err)
	}
	if t.polled.CompareAndSwap(false, true) && w.firstLeft.Add(-1) == 0 {
		close(w.first)
	}
}

// jittered spreads d by ±frac: r in [0,1) maps to [d·(1-frac), d·(1+frac)).
func jittered(d time.Duration, frac, r float64) time.Duration {
	if frac <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 - frac + 2*frac*r))
}

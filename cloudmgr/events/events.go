// Package events makes cloudmgr react at once to a change in a pool: it
// subscribes to each installation's pool-change topic (wire.EventsTopic of the
// installation's prefix) on its broker and, on a pool_changed event, pokes that
// installation's watcher, which polls the master and triggers a tick. Events
// are debounced per installation, so a burst gives one poll and one tick.
//
// The poll stays the fallback: an event lost, a broker away or an
// installation without events only delays the reaction to the next poll.
// The broker client reconnects and subscribes again by itself; after a
// reconnection the installation is poked once, for the events missed while
// away.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
)

// Defaults for Options' zero fields.
const (
	DefaultDebounce      = 200 * time.Millisecond
	DefaultCheckInterval = 500 * time.Millisecond
)

// Poker asks for an immediate poll of an installation (and, after it, a
// tick); *watch.Watcher is one.
type Poker interface {
	Poke(installation string) bool
}

// Observer is told about events and the subscriptions' state (metrics
// implement it).
type Observer interface {
	// EventReceived counts one pool_changed event of the installation.
	EventReceived(installation string)
	// EventsConnected records whether the installation's subscription is
	// connected now.
	EventsConnected(installation string, connected bool)
}

// Target is one installation to subscribe to.
type Target struct {
	// Installation is the installation's name, as the Poker knows it.
	Installation string
	// Prefix is the installation's destination prefix.
	Prefix string
	// Broker says how to reach its broker (URL, login, passcode).
	Broker broker.Config
}

// Options tune a Subscriber.
type Options struct {
	// Debounce is how long after the first event of a burst the installation
	// is poked; the burst's later events ride along (default 200ms).
	Debounce time.Duration
	// CheckInterval is how often the connection state is sampled for the
	// connected gauge and the poke after a reconnection (default 500ms).
	CheckInterval time.Duration
	// Observer, if set, is told every event and connection change.
	Observer Observer
}

// Subscriber subscribes to the pool-change events of several installations.
type Subscriber struct {
	targets []Target
	poker   Poker
	opts    Options
	log     *slog.Logger
}

// New returns a subscriber that pokes p; Run starts it.
func New(targets []Target, p Poker, opts Options, log *slog.Logger) *Subscriber {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = DefaultCheckInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Subscriber{targets: targets, poker: p, opts: opts, log: log}
}

// Targets lists the installations subscribed to.
func (s *Subscriber) Targets() []Target {
	return s.targets
}

// Run subscribes to every target until ctx ends, then disconnects. A target
// whose broker config is bad is logged and skipped; an unreachable broker is
// retried by the client, with backoff, for as long as Run runs.
func (s *Subscriber) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range s.targets {
		wg.Go(func() { s.run(ctx, t) })
	}
	wg.Wait()
}

// run is one installation's subscription.
func (s *Subscriber) run(ctx context.Context, t Target) {
	log := s.log.With("installation", t.Installation)
	topic := wire.EventsTopic(t.Prefix)
	cfg := t.Broker
	if cfg.Name == "" {
		cfg.Name = "cloudmgr-events-" + t.Installation
	}
	cfg.ClientAck = false // events are hints: ack:auto on every broker
	c, err := broker.Dial(ctx, cfg, log)
	if err != nil {
		log.Error("cannot subscribe to pool events; polling only", "error", fmt.Errorf("subscribing to %s: %w", topic, err))
		s.connected(t.Installation, false)
		return
	}
	defer c.Close()
	d := newDebouncer(s.opts.Debounce, func() { s.poker.Poke(t.Installation) }, afterFunc)
	defer d.stop()
	if err := c.Subscribe(topic, func(_ context.Context, body []byte) error {
		return s.handle(log, t.Installation, d, body)
	}); err != nil {
		log.Error("cannot subscribe to pool events; polling only", "error", err)
		s.connected(t.Installation, false)
		return
	}
	s.connected(t.Installation, false)
	s.watch(ctx, log, t, topic, c, d)
}

// watch samples the connection until ctx ends: it logs and records every
// change, and pokes after each reconnection for the events missed.
func (s *Subscriber) watch(ctx context.Context, log *slog.Logger, t Target, topic string, c *broker.Client, d *debouncer) {
	tick := time.NewTicker(s.opts.CheckInterval)
	defer tick.Stop()
	was, warned, lost := false, false, false
	started := time.Now()
	for {
		now := c.Connected()
		switch {
		case now && !was:
			log.Info("subscribed to pool events", "topic", topic, "broker", t.Broker.URL)
			s.connected(t.Installation, true)
			if lost {
				d.event() // for the events missed while away
			}
			warned = false
		case !now && was:
			log.Warn("pool events connection lost; polling only until it is back", "broker", t.Broker.URL)
			s.connected(t.Installation, false)
			started, lost = time.Now(), true
		case !now && !warned && time.Since(started) > 10*s.opts.CheckInterval:
			log.Warn("pool events broker not reachable yet; polling only until it is", "broker", t.Broker.URL)
			warned = true
		}
		was = now
		select {
		case <-ctx.Done():
			s.connected(t.Installation, false)
			return
		case <-tick.C:
		}
	}
}

// handle processes one message of the topic: a pool_changed event counts and
// schedules a poke; anything else is logged and dropped.
func (s *Subscriber) handle(log *slog.Logger, installation string, d *debouncer, body []byte) error {
	msg, err := wire.Decode(body)
	if err != nil {
		log.Warn("dropping a malformed pool event", "error", err, "body", excerpt(body))
		return nil
	}
	ev, ok := msg.(*wire.PoolChanged)
	if !ok {
		log.Warn("dropping a message that is not a pool event", "type", fmt.Sprintf("%T", msg))
		return nil
	}
	log.Debug("pool changed", "pool", ev.Pool, "queued", ev.Queued)
	if s.opts.Observer != nil {
		s.opts.Observer.EventReceived(installation)
	}
	d.event()
	return nil
}

// connected tells the observer, if any.
func (s *Subscriber) connected(installation string, up bool) {
	if s.opts.Observer != nil {
		s.opts.Observer.EventsConnected(installation, up)
	}
}

// excerpt is the start of a body, for logs.
func excerpt(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

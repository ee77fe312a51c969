// Package dispatch is the master's side of the agent protocol (DESIGN.md
// §4.4): it keeps the registered agents in memory, the compositions in the
// store, hands queued compositions to agents as package scheduler decides,
// and applies what agents report.
//
// # Protocol
//
// Agents send to wire.MasterQueue(prefix); the master sends to
// wire.AgentQueue(prefix, agent) and announces pool changes on
// wire.EventsTopic(prefix).
//
//   - register: the agent (re)joins with its pool, facts and plugins. When an
//     agent token is configured, a register with another token is dropped (and
//     logged). A re-register keeps the agent's drain flag. Its LastDone is
//     applied like a done (idempotently); its Running claims the attempt it
//     runs: the master's own record of that attempt stays, an attempt the
//     master assigned it but which it no longer runs is treated as lost, and
//     an attempt the master does not consider current is cancelled.
//   - heartbeat: updates last seen. An agent silent for the heartbeat timeout
//     (default 30s) is removed; its composition is lost (below). A heartbeat
//     from an agent the master does not know (it restarted while the agent's
//     connection to an external broker survived) is answered with a
//     reregister, at once and then at most once per heartbeat timeout; the
//     agent sends its register again.
//   - accepted: assigned → running; counts an accepted attempt.
//   - output: stored; a line already stored (same composition, attempt,
//     task, seq) is ignored. Lines of other than the current attempt are dropped.
//   - context: the values are merged (top-level keys, last write wins) into
//     the composition context.
//   - done: ends the current attempt: succeeded → succeeded, failed → failed
//     with its error, interrupted → lost. A done for an attempt that is not the
//     composition's current one (stale) is ignored.
//   - bye: the agent leaves; its composition is lost.
//
// Every dispatch sends an assign (tasks plus the composition's current
// context) and increments the composition's attempt. An assignment the agent
// does not accept within the accept timeout (default 15s) goes back to the
// queue without counting against max_attempts (and the agent gets a cancel).
// A lost composition (agent gone, or attempt interrupted) goes back to the
// queue if its accepted attempts are fewer than its max_attempts, else it
// fails with a reason that names the agent.
//
// A message that does not decode, has an unknown type or misses a required
// field is logged with the reason and dropped.
//
// # Context
//
// A task publishes key/values with a context message; the master merges them
// into the composition context and stores it. Every assign carries the
// composition's current context, so a re-dispatched attempt starts from what
// earlier attempts published. The agent gives later tasks the context values
// as default field values (a task's own fields win); that merge is the
// agent's job, not the master's.
//
// # Restart
//
// The store is the truth. On Start, queued compositions go back in the
// queue; assigned and running ones stay so, waiting for their agent to
// re-register (Register.Running, LastDone) or to report on them. If nothing
// is heard of them within the heartbeat timeout they are lost as above.
// Agents live in memory only, but drain flags are stored too: an agent that
// re-registers within the heartbeat timeout after a restart is still
// draining (it would ignore new work anyway).
//
// # Broker outages
//
// While the master's own broker connection is down (Config.Connected), it
// can hear no agent: heartbeat, accept and orphan timeouts are paused, and
// once the connection is back every agent, assignment and orphan gets a
// whole timeout again from that moment, so a broker restart does not make
// the master give up on agents that were only waiting to reconnect.
//
// # Pool events
//
// Whenever a pool's queue or agents change, a wire.PoolChanged goes to the
// events topic, at most one per pool per event interval (default 100ms):
// further changes within the interval are coalesced into one event sent when
// it ends.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/ids"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/scheduler"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// Bus is the part of a STOMP session the dispatcher uses; *broker.Client satisfies it.
type Bus interface {
	Send(ctx context.Context, dest string, body []byte) error
	Subscribe(dest string, h func(ctx context.Context, body []byte) error) error
}

// Defaults.
const (
	DefaultAcceptTimeout    = 15 * time.Second
	DefaultHeartbeatTimeout = 30 * time.Second
	DefaultEventInterval    = 100 * time.Millisecond
)

// Config tunes a Dispatcher. Zero fields take defaults.
type Config struct {
	// Prefix is the installation prefix of the destinations (default "agentcloud").
	Prefix string
	// AgentToken, when set, must be in every register.
	AgentToken string
	// AcceptTimeout is how long an assignment may wait for its accepted.
	AcceptTimeout time.Duration
	// HeartbeatTimeout is how long an agent may be silent before it is removed.
	HeartbeatTimeout time.Duration
	// EventInterval is the least time between two events of one pool.
	EventInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives the dispatcher's logs (default: discarded).
	Log *slog.Logger
	// Metrics receives counts (default: fresh, unregistered metrics).
	Metrics *metrics.Metrics
	// IDs makes composition ids (default: one reading Now).
	IDs *ids.Generator
	// Connected reports whether the master's broker connection is up (nil:
	// always). While it is down the master hears nothing, so silence proves
	// nothing: heartbeat, accept and orphan timeouts count from the moment
	// it is back.
	Connected func() bool
}

// Errors.
var (
	// ErrNotFound: no composition has that id.
	ErrNotFound = store.ErrNotFound
	// ErrUnknownAgent: no registered agent has that id.
	ErrUnknownAgent = errors.New("agent not registered")
)

// Dispatcher runs the master side of the protocol. It is safe for concurrent use.
type Dispatcher struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	bus   Bus

	mu      sync.Mutex
	started bool
	agents  map[string]*agent
	active  map[string]*entry           // queued, assigned and running compositions
	queues  map[string][]*scheduler.Job // per pool, oldest first
	orphans map[string]time.Time        // assigned/running compositions whose agent is not registered: deadline
	drained map[string]time.Time        // drained agents not re-registered since the restart: deadline
	toSched map[string]bool             // pools to run the scheduler on
	events  *coalescer                  // pools whose change is not announced yet
	outbox  []outMsg                    // messages decided by the current operation
	unknown map[string]time.Time        // unknown agents: when they were last asked to register again
	// resumedAt is the last tick the broker connection was seen down: no
	// silence before it counts (Config.Connected).
	resumedAt time.Time
	offline   bool

	out     *sender // sends in decision order, off the lock
	stop    context.CancelFunc
	stopped chan struct{}
}

// entry is an active composition.
type entry struct {
	c   *store.Composition
	job *scheduler.Job
}

type outMsg struct {
	dest string
	msg  any
}

// New makes a Dispatcher over a store and a bus. Call Start, then Run.
func New(cfg Config, st *store.Store, bus Bus) *Dispatcher {
	if cfg.Prefix == "" {
		cfg.Prefix = "agentcloud"
	}
	if cfg.AcceptTimeout <= 0 {
		cfg.AcceptTimeout = DefaultAcceptTimeout
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if cfg.EventInterval <= 0 {
		cfg.EventInterval = DefaultEventInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.IDs == nil {
		cfg.IDs = ids.NewGenerator(cfg.Now, nil)
	}
	return &Dispatcher{
		cfg:     cfg,
		log:     cfg.Log,
		store:   st,
		bus:     bus,
		agents:  map[string]*agent{},
		active:  map[string]*entry{},
		queues:  map[string][]*scheduler.Job{},
		orphans: map[string]time.Time{},
		drained: map[string]time.Time{},
		toSched: map[string]bool{},
		events:  newCoalescer(cfg.EventInterval),
		unknown: map[string]time.Time{},
		out:     newSender(bus, cfg.Log),
		stopped: make(chan struct{}),
	}
}

// Start loads the active compositions from the store and subscribes to the
// master queue.
func (d *Dispatcher) Start(ctx context.Context) error {
	active, err := d.store.Active(ctx)
	if err != nil {
		return fmt.Errorf("starting dispatcher: %w", err)
	}
	drained, err := d.store.DrainingAgents(ctx)
	if err != nil {
		return fmt.Errorf("starting dispatcher: %w", err)
	}
	var loadErr error
	d.do(ctx, func(ctx context.Context) {
		if d.started {
			loadErr = errors.New("starting dispatcher: already started")
			return
		}
		d.started = true
		deadline := d.cfg.Now().Add(d.cfg.HeartbeatTimeout)
		for _, c := range active {
			if err := d.load(ctx, c, deadline); err != nil {
				d.log.Error("cannot resume composition; failing it", "composition", c.ID, "err", err)
			}
		}
		for agentID := range drained {
			d.drained[agentID] = deadline
		}
	})
	if loadErr != nil {
		return loadErr
	}
	d.log.Info("dispatcher resumed from the store", "active_compositions", len(active), "drained_agents", len(drained))
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = cancel
	go func() {
		defer close(d.stopped)
		d.out.run(life)
	}()
	dest := wire.MasterQueue(d.cfg.Prefix)
	if err := d.bus.Subscribe(dest, d.HandleMessage); err != nil {
		return fmt.Errorf("subscribing to %s: %w", dest, err)
	}
	return nil
}

// load puts a stored active composition back in memory (lock held).
func (d *Dispatcher) load(ctx context.Context, c *store.Composition, orphanDeadline time.Time) error {
	job, err := jobOf(c)
	if err != nil {
		en := &entry{c: c}
		d.finish(ctx, en, "", fmt.Sprintf("cannot be resumed after a master restart: %v", err))
		return err
	}
	en := &entry{c: c, job: job}
	d.active[c.ID] = en
	switch c.State {
	case api.CompQueued:
		d.enqueue(en)
	default: // assigned, running: wait for the agent
		d.orphans[c.ID] = orphanDeadline
		d.events.mark(c.Pool)
	}
	return nil
}

// Close stops sending; messages not sent yet are dropped (the protocol's
// timeouts recover from that). Call it after the subscription is gone.
func (d *Dispatcher) Close() {
	if d.stop == nil {
		return
	}
	d.stop()
	<-d.stopped
}

// Run checks timeouts and sends coalesced events until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	tick := time.NewTicker(min(d.cfg.EventInterval/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			d.Tick(ctx)
		}
	}
}

// Tick does the periodic work once: accept and heartbeat timeouts, orphans
// whose agent never came back, and events whose interval has passed.
func (d *Dispatcher) Tick(ctx context.Context) {
	d.do(ctx, d.checkTimeouts)
}

// do runs fn with the lock held, then the scheduler on the pools fn marked,
// and queues what they decided to send, in order.
func (d *Dispatcher) do(ctx context.Context, fn func(ctx context.Context)) {
	ctx = context.WithoutCancel(ctx) // a state change, once begun, completes
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(ctx)
	d.scheduleMarked(ctx)
	for _, pool := range d.events.due(d.cfg.Now()) {
		d.outbox = append(d.outbox, outMsg{dest: wire.EventsTopic(d.cfg.Prefix), msg: &wire.PoolChanged{
			Type: wire.TypePoolChanged, Pool: pool, Queued: len(d.queues[pool]), At: d.cfg.Now(),
		}})
	}
	d.out.push(d.outbox)
	d.outbox = nil
}

// send queues a message for after the lock is released (lock held).
func (d *Dispatcher) send(dest string, msg any) {
	d.outbox = append(d.outbox, outMsg{dest: dest, msg: msg})
}

func (d *Dispatcher) sendAgent(agentID string, msg any) {
	d.send(wire.AgentQueue(d.cfg.Prefix, agentID), msg)
}

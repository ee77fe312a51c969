package session

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentcloud/agentcloud/agent/runner"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/wire"
)

// Defaults for zero Config fields.
const (
	DefaultHeartbeat     = 5 * time.Second
	DefaultShutdownGrace = 60 * time.Second
	DefaultFlushTimeout  = 10 * time.Second
	DefaultReconnectPoll = 250 * time.Millisecond
	DefaultQueueLimit    = 10000
	// recentDone is how many finished attempts are remembered for dedupe.
	recentDone = 32
)

// Runner runs one composition (*runner.Runner).
type Runner interface {
	Run(ctx context.Context, tasks []api.Task, initial map[string]any, ev runner.Events) runner.Outcome
}

// Config is who the agent is and how it behaves on the wire.
type Config struct {
	AgentID, Instance, Pool, Prefix, Token, Version string
	// Facts are registered as they are.
	Facts map[string]any
	// Plugins lists the callable plugin names ("shell", ...).
	Plugins []string
	// Heartbeat is the heartbeat interval (default DefaultHeartbeat).
	Heartbeat time.Duration
	// ShutdownGrace is how long a running attempt may finish after the
	// session's context ends (default DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// FlushTimeout bounds sending what is queued, and Bye, at shutdown
	// (default DefaultFlushTimeout).
	FlushTimeout time.Duration
	// ReconnectPoll is how often Conn.Reconnects is checked (default
	// DefaultReconnectPoll).
	ReconnectPoll time.Duration
	// QueueLimit bounds queued messages; past it Output lines are dropped
	// (default DefaultQueueLimit).
	QueueLimit int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Errors that end an attempt early; the Done tells them apart.
var (
	// ErrCancelled is the cause of an attempt stopped by a Cancel message.
	ErrCancelled = errors.New("cancelled")
	// ErrShutdown is the cause of an attempt killed past the shutdown grace.
	ErrShutdown = errors.New("agent shutting down")
)

// Session is the agent's conversation with the master.
type Session struct {
	cfg  Config
	conn Conn
	run  Runner
	log  *slog.Logger
	out  *outbox

	// session is this process's random id, sent in every Register.
	session string

	reregister atomic.Bool // the master asked for a Register

	mu       sync.Mutex
	running  *attempt
	draining bool
	stopping bool
	lastDone *wire.Done
	recent   map[wire.Ref]*wire.Done
	order    []wire.Ref // recent, oldest first
	attempts sync.WaitGroup
}

// attempt is the running attempt.
type attempt struct {
	ref    wire.Ref
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// New makes a session; Run starts it.
func New(cfg Config, conn Conn, run Runner, log *slog.Logger) *Session {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	if cfg.ReconnectPoll <= 0 {
		cfg.ReconnectPoll = DefaultReconnectPoll
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Session{
		cfg:     cfg,
		conn:    conn,
		run:     run,
		log:     log.With("agent", cfg.AgentID),
		out:     newOutbox(cfg.QueueLimit),
		recent:  map[wire.Ref]*wire.Done{},
		session: rand.Text(),
	}
}

// Run subscribes to the agent's queue and serves the master until ctx ends;
// then it shuts down gracefully (see the package doc) and returns nil. The
// caller closes the Conn afterwards.
func (s *Session) Run(ctx context.Context) error {
	dest := wire.AgentQueue(s.cfg.Prefix, s.cfg.AgentID)
	if err := s.conn.Subscribe(dest, s.handle); err != nil {
		return fmt.Errorf("subscribing to %s: %w", dest, err)
	}
	s.log.Info("agent session started", "queue", dest, "pool", s.cfg.Pool, "plugins", s.cfg.Plugins)

	senderCtx, stopSender := context.WithCancel(context.WithoutCancel(ctx))
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		s.sender(senderCtx)
	}()

	<-ctx.Done()
	s.shutdown()
	stopSender()
	<-senderDone
	s.flush()
	s.log.Info("agent session ended")
	return nil
}

// shutdown stops taking work and ends the running attempt within the grace.
func (s *Session) shutdown() {
	s.mu.Lock()
	s.stopping = true
	att := s.running
	s.mu.Unlock()
	if att != nil {
		s.log.Info("shutting down: waiting for the running composition", "composition", att.ref.Composition,
			"attempt", att.ref.Attempt, "grace", s.cfg.ShutdownGrace)
		t := time.NewTimer(s.cfg.ShutdownGrace)
		select {
		case <-att.done:
		case <-t.C:
			s.log.Warn("shutdown grace passed: killing the running composition", "composition", att.ref.Composition,
				"attempt", att.ref.Attempt)
			att.cancel(ErrShutdown)
		}
		t.Stop()
	} else {
		s.log.Info("shutting down: idle")
	}
	s.attempts.Wait()
}

// register is the Register message for the agent as it stands.
func (s *Session) register() *wire.Register {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &wire.Register{
		Type:     wire.TypeRegister,
		Agent:    s.cfg.AgentID,
		Instance: s.cfg.Instance,
		Pool:     s.cfg.Pool,
		Version:  s.cfg.Version,
		Facts:    s.cfg.Facts,
		Plugins:  s.cfg.Plugins,
		Session:  s.session,
		LastDone: s.lastDone,
		Token:    s.cfg.Token,
	}
	if s.running != nil {
		ref := s.running.ref
		r.Running = &ref
	}
	return r
}

// heartbeat is the Heartbeat message for now.
func (s *Session) heartbeat() *wire.Heartbeat {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &wire.Heartbeat{Type: wire.TypeHeartbeat, Agent: s.cfg.AgentID, At: s.cfg.Now().UTC()}
	if s.running != nil {
		ref := s.running.ref
		h.Running = &ref
	}
	return h
}

// handle processes one message from the agent's queue. Errors (bad
// messages) are logged by the broker client; the session carries on.
func (s *Session) handle(_ context.Context, body []byte) error {
	msg, err := wire.Decode(body)
	if err != nil {
		return fmt.Errorf("agent queue message: %w", err)
	}
	switch m := msg.(type) {
	case *wire.Assign:
		return s.onAssign(m)
	case *wire.Cancel:
		s.onCancel(m)
	case *wire.Drain:
		s.onDrain()
	case *wire.Reregister:
		s.onReregister(m)
	default:
		var env wire.Envelope
		_ = json.Unmarshal(body, &env)
		return fmt.Errorf("agent queue message: unexpected type %q (want assign, cancel, drain or reregister)", env.Type)
	}
	return nil
}

func (s *Session) onAssign(a *wire.Assign) error {
	if a.Composition == "" {
		return fmt.Errorf("assign message: missing \"composition\"")
	}
	log := s.log.With("composition", a.Composition, "attempt", a.Attempt)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.running != nil && s.running.ref == a.Ref:
		log.Info("duplicate assign of the running attempt: accepting again")
		s.out.push(s.accepted(a.Ref), false)
		return nil
	case s.recent[a.Ref] != nil:
		log.Info("duplicate assign of a finished attempt: sending its result again")
		s.out.push(s.recent[a.Ref], false)
		return nil
	case s.stopping:
		log.Warn("shutting down: ignoring assign")
		return nil
	case s.draining:
		log.Warn("draining: ignoring assign")
		return nil
	case s.running != nil:
		log.Warn("busy: ignoring assign", "running", s.running.ref.Composition, "running_attempt", s.running.ref.Attempt)
		return nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	att := &attempt{ref: a.Ref, cancel: cancel, done: make(chan struct{})}
	s.running = att
	s.out.push(s.accepted(a.Ref), false)
	log.Info("composition accepted", "tasks", len(a.Tasks))
	s.attempts.Add(1)
	go s.runAttempt(ctx, att, a.Tasks, s.initialContext(a), log)
	return nil
}

// ContextKey is the context key under which an attempt's tasks find what
// they run: {"composition": id, "attempt": n, "agent": id}.
const ContextKey = "agentcloud"

// initialContext is the context an attempt starts with: the assignment's,
// plus ContextKey.
func (s *Session) initialContext(a *wire.Assign) map[string]any {
	initial := maps.Clone(a.Context)
	if initial == nil {
		initial = map[string]any{}
	}
	initial[ContextKey] = map[string]any{"composition": a.Composition, "attempt": a.Attempt, "agent": s.cfg.AgentID}
	return initial
}

func (s *Session) accepted(ref wire.Ref) *wire.Accepted {
	return &wire.Accepted{Type: wire.TypeAccepted, Agent: s.cfg.AgentID, Ref: ref}
}

// runAttempt runs one attempt and reports it.
func (s *Session) runAttempt(ctx context.Context, att *attempt, tasks []api.Task, initial map[string]any, log *slog.Logger) {
	defer s.attempts.Done()
	defer close(att.done)
	defer att.cancel(nil)
	seq := 0
	outcome := s.run.Run(ctx, tasks, initial, runner.Events{
		Output: func(task int, stream, line string) {
			seq++
			s.out.push(&wire.Output{Type: wire.TypeOutput, Agent: s.cfg.AgentID, Ref: att.ref,
				Task: task, Seq: seq, Stream: stream, Line: line, At: s.cfg.Now().UTC()}, true)
		},
		Context: func(task int, values map[string]any) {
			s.out.push(&wire.Context{Type: wire.TypeContext, Agent: s.cfg.AgentID, Ref: att.ref,
				Task: task, Values: values}, false)
		},
	})
	done := &wire.Done{Type: wire.TypeDone, Agent: s.cfg.AgentID, Ref: att.ref,
		Result: outcome.Result, FailedTask: outcome.FailedTask, ExitCode: outcome.ExitCode}
	cause := context.Cause(ctx)
	switch {
	case outcome.Result == wire.ResultSucceeded:
	case errors.Is(cause, ErrShutdown):
		done.Result = wire.ResultInterrupted
		done.Error = fmt.Sprintf("interrupted: %v", outcome.Err)
	case errors.Is(cause, ErrCancelled):
		done.Result = wire.ResultFailed
		done.Error = cause.Error()
	case outcome.Err != nil:
		done.Error = outcome.Err.Error()
	}
	if dropped := s.out.takeDropped(); dropped > 0 {
		log.Warn("output lines dropped while the broker was unreachable", "lines", dropped)
	}
	log.Info("composition done", "result", done.Result, "failed_task", done.FailedTask,
		"exit_code", done.ExitCode, "err", done.Error)

	s.mu.Lock()
	s.running = nil
	s.lastDone = done
	s.remember(done)
	s.out.push(done, false)
	s.mu.Unlock()
}

// remember keeps done for dedupe, forgetting the oldest past recentDone.
func (s *Session) remember(done *wire.Done) {
	if _, ok := s.recent[done.Ref]; !ok {
		s.order = append(s.order, done.Ref)
	}
	s.recent[done.Ref] = done
	for len(s.order) > recentDone {
		delete(s.recent, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *Session) onCancel(c *wire.Cancel) {
	log := s.log.With("composition", c.Composition, "attempt", c.Attempt)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.running != nil && s.running.ref == c.Ref:
		reason := ErrCancelled
		if c.Reason != "" {
			reason = fmt.Errorf("%w: %s", ErrCancelled, c.Reason)
		}
		log.Info("cancelling the running attempt", "reason", c.Reason)
		s.running.cancel(reason)
	case s.recent[c.Ref] != nil:
		log.Info("cancel of a finished attempt: sending its result again")
		s.out.push(s.recent[c.Ref], false)
	default:
		log.Warn("cancel of an attempt this agent does not run: ignoring")
	}
}

// onReregister makes the sender send Register again soon.
func (s *Session) onReregister(m *wire.Reregister) {
	s.log.Info("the master asks this agent to register again", "reason", m.Reason)
	s.reregister.Store(true)
	s.out.poke()
}

func (s *Session) onDrain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.draining {
		s.log.Info("draining: taking no new work")
	}
	s.draining = true
}

// Draining reports whether the master drained the agent.
func (s *Session) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

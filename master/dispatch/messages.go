package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// HandleMessage applies one message from the master queue; it is the
// subscription's handler. A malformed message is logged and dropped (nil error).
func (d *Dispatcher) HandleMessage(ctx context.Context, body []byte) error {
	msg, err := wire.Decode(body)
	if err == nil {
		err = validate(msg)
	}
	if err != nil {
		d.cfg.Metrics.MessagesDropped.WithLabelValues("malformed").Inc()
		d.log.Warn("dropping malformed message from the master queue", "err", err, "body", excerpt(body))
		return nil
	}
	d.do(ctx, func(ctx context.Context) {
		switch m := msg.(type) {
		case *wire.Register:
			d.onRegister(ctx, m)
		case *wire.Heartbeat:
			d.onHeartbeat(ctx, m)
		case *wire.Accepted:
			d.onAccepted(ctx, m)
		case *wire.Output:
			d.onOutput(ctx, m)
		case *wire.Context:
			d.onContext(ctx, m)
		case *wire.Done:
			d.onDone(ctx, m)
		case *wire.Bye:
			d.onBye(ctx, m)
		}
	})
	return nil
}

// validate checks the fields a message needs.
func validate(msg any) error {
	need := func(typ wire.Type, field, value string) error {
		if value == "" {
			return fmt.Errorf("%s message: missing %q", typ, field)
		}
		return nil
	}
	ref := func(typ wire.Type, r wire.Ref) error {
		if r.Composition == "" {
			return fmt.Errorf("%s message: missing \"composition\"", typ)
		}
		if r.Attempt < 1 {
			return fmt.Errorf("%s message: \"attempt\" must be 1 or more, got %d", typ, r.Attempt)
		}
		return nil
	}
	switch m := msg.(type) {
	case *wire.Register:
		if err := need(wire.TypeRegister, "agent", m.Agent); err != nil {
			return err
		}
		if err := need(wire.TypeRegister, "pool", m.Pool); err != nil {
			return err
		}
		if m.Running != nil {
			return ref(wire.TypeRegister, *m.Running)
		}
		return nil
	case *wire.Heartbeat:
		if err := need(wire.TypeHeartbeat, "agent", m.Agent); err != nil {
			return err
		}
		if m.Running != nil {
			return ref(wire.TypeHeartbeat, *m.Running)
		}
		return nil
	case *wire.Accepted:
		return errors.Join(need(wire.TypeAccepted, "agent", m.Agent), ref(wire.TypeAccepted, m.Ref))
	case *wire.Output:
		if err := errors.Join(need(wire.TypeOutput, "agent", m.Agent), ref(wire.TypeOutput, m.Ref),
			need(wire.TypeOutput, "stream", m.Stream)); err != nil {
			return err
		}
		if m.Task < 0 || m.Seq < 0 {
			return fmt.Errorf("output message: \"task\" and \"seq\" must not be negative")
		}
		return nil
	case *wire.Context:
		if err := errors.Join(need(wire.TypeContext, "agent", m.Agent), ref(wire.TypeContext, m.Ref)); err != nil {
			return err
		}
		if m.Values == nil {
			return fmt.Errorf("context message: missing \"values\"")
		}
		return nil
	case *wire.Done:
		return validDone(m)
	case *wire.Bye:
		return need(wire.TypeBye, "agent", m.Agent)
	}
	return fmt.Errorf("unexpected %T message on the master queue (it goes from master to agents)", msg)
}

func validDone(m *wire.Done) error {
	if m.Agent == "" {
		return fmt.Errorf("done message: missing \"agent\"")
	}
	if m.Composition == "" {
		return fmt.Errorf("done message: missing \"composition\"")
	}
	if m.Attempt < 1 {
		return fmt.Errorf("done message: \"attempt\" must be 1 or more, got %d", m.Attempt)
	}
	switch m.Result {
	case wire.ResultSucceeded, wire.ResultFailed, wire.ResultInterrupted:
		return nil
	case "":
		return fmt.Errorf("done message: missing \"result\"")
	}
	return fmt.Errorf("done message: unknown result %q (want succeeded, failed or interrupted)", m.Result)
}

func excerpt(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// onAccepted handles an accepted (lock held).
func (d *Dispatcher) onAccepted(ctx context.Context, m *wire.Accepted) {
	en := d.current(m.Ref, m.Agent)
	if en == nil {
		d.log.Info("accepted for an attempt that is not current; cancelling it", "agent", m.Agent,
			"composition", m.Composition, "attempt", m.Attempt)
		if a := d.agents[m.Agent]; a != nil && d.active[m.Composition] != nil {
			d.cancelForeign(a, m.Ref, "attempt is not current (accepted too late?)")
		} else {
			d.sendAgent(m.Agent, &wire.Cancel{Type: wire.TypeCancel, Ref: m.Ref, Reason: "attempt is not current"})
		}
		return
	}
	d.touchOrphan(en)
	if en.c.State == api.CompRunning {
		return // duplicate
	}
	d.markRunning(ctx, en)
}

// touchOrphan keeps alive a composition whose agent, not registered yet,
// still reports on it.
func (d *Dispatcher) touchOrphan(en *entry) {
	if _, ok := d.orphans[en.c.ID]; ok {
		d.orphans[en.c.ID] = d.cfg.Now().Add(d.cfg.HeartbeatTimeout)
	}
}

// onOutput stores an output line of the current attempt (lock held).
func (d *Dispatcher) onOutput(ctx context.Context, m *wire.Output) {
	var c *store.Composition
	if en := d.active[m.Composition]; en != nil {
		c = en.c
		d.touchOrphan(en)
	} else {
		var err error
		if c, err = d.store.Get(ctx, m.Composition); err != nil {
			d.log.Warn("dropping output", "agent", m.Agent, "composition", m.Composition, "err", err)
			return
		}
	}
	if c.Attempt != m.Attempt || c.Agent != m.Agent {
		d.log.Debug("dropping output of an attempt that is not current", "agent", m.Agent,
			"composition", m.Composition, "attempt", m.Attempt, "current", c.Attempt)
		return
	}
	at := m.At
	if at.IsZero() {
		at = d.cfg.Now()
	}
	_, err := d.store.AddOutput(ctx, m.Composition, api.OutputLine{
		Attempt: m.Attempt, Task: m.Task, Seq: m.Seq, Stream: m.Stream, Line: m.Line, At: at,
	})
	if err != nil {
		d.log.Error("cannot store output", "composition", m.Composition, "err", err)
	}
}

// onContext merges published context values (lock held).
func (d *Dispatcher) onContext(ctx context.Context, m *wire.Context) {
	en := d.current(m.Ref, m.Agent)
	if en == nil {
		d.log.Info("dropping context of an attempt that is not current", "agent", m.Agent,
			"composition", m.Composition, "attempt", m.Attempt)
		return
	}
	d.touchOrphan(en)
	d.save(ctx, en, func(c *store.Composition) {
		merged := maps.Clone(c.Context)
		if merged == nil {
			merged = make(map[string]any, len(m.Values))
		}
		maps.Copy(merged, m.Values)
		c.Context = merged
	})
}

// onDone ends the current attempt; a stale done only frees its agent (lock held).
func (d *Dispatcher) onDone(ctx context.Context, m *wire.Done) {
	en := d.current(m.Ref, m.Agent)
	if en == nil {
		level := slog.LevelInfo
		if d.active[m.Composition] == nil {
			level = slog.LevelDebug // a repeat of a final result, e.g. a register's last_done
		}
		d.log.Log(ctx, level, "ignoring done of an attempt that is not current", "agent", m.Agent,
			"composition", m.Composition, "attempt", m.Attempt, "result", m.Result)
		d.release(m.Agent, m.Ref)
		return
	}
	if en.c.State == api.CompAssigned && m.Result != wire.ResultInterrupted {
		d.markRunning(ctx, en) // its accepted was lost: it ran
	}
	if m.Result != wire.ResultSucceeded && d.endCancelled(ctx, en, fmt.Sprintf("stopped on agent %s", m.Agent)) {
		return
	}
	switch m.Result {
	case wire.ResultSucceeded:
		d.finish(ctx, en, api.CompSucceeded, "")
	case wire.ResultFailed:
		msg := m.Error
		if msg == "" {
			msg = fmt.Sprintf("task %d failed with exit code %d", m.FailedTask, m.ExitCode)
		}
		d.finish(ctx, en, api.CompFailed, msg)
	case wire.ResultInterrupted:
		reason := fmt.Sprintf("interrupted on agent %s", m.Agent)
		if m.Error != "" {
			reason += ": " + m.Error
		}
		d.lost(ctx, en, reason, metrics.ReasonInterrupted)
	}
}

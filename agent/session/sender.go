package session

import (
	"context"
	"time"

	"github.com/agentcloud/agentcloud/master/wire"
)

// Send retry policy for a message whose Send failed although Send itself
// waits for a connection (the broker refused it, the client is closing).
const (
	maxSendAttempts = 5
	retryMin        = 200 * time.Millisecond
	retryMax        = 3 * time.Second
)

// sender sends, until ctx ends: Register first and again whenever the
// connection count changes or the master asks for it (Reregister), a
// Heartbeat every interval, and the outbox in order. Heartbeats and registers go between queued messages, so a long
// output stream does not starve them.
func (s *Session) sender(ctx context.Context) {
	dest := wire.MasterQueue(s.cfg.Prefix)
	registeredAt := -1 // Reconnects() value when Register last went out
	hb := time.NewTicker(s.cfg.Heartbeat)
	defer hb.Stop()
	poll := time.NewTicker(s.cfg.ReconnectPoll)
	defer poll.Stop()
	heartbeatDue := false
	failures := 0

	for ctx.Err() == nil {
		// Wait for a connection first, so that after a reconnect Register
		// goes out before anything queued meanwhile.
		if err := s.conn.WaitConnected(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("waiting for the broker", "err", err)
			if !s.pause(ctx, nil) {
				return
			}
			continue
		}
		rc := s.conn.Reconnects()
		asked := s.reregister.Swap(false)
		if rc != registeredAt || asked {
			if rc >= 0 && registeredAt >= 0 && rc != registeredAt {
				s.log.Info("broker reconnected: registering again", "reconnects", rc)
			}
			if s.sendOnce(ctx, dest, s.register()) {
				registeredAt = rc
				heartbeatDue = false
				failures = 0
			} else {
				if asked {
					s.reregister.Store(true)
				}
				if !s.pause(ctx, &failures) {
					return
				}
			}
			continue
		}
		select {
		case <-hb.C: // noticed even while the outbox keeps the loop busy
			heartbeatDue = true
		default:
		}
		if heartbeatDue {
			if s.sendOnce(ctx, dest, s.heartbeat()) {
				heartbeatDue = false
			}
		}
		if msg, ok := s.out.peek(); ok {
			if s.sendOnce(ctx, dest, msg) {
				s.out.pop()
				failures = 0
				continue
			}
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures >= maxSendAttempts {
				s.log.Error("giving up sending a message to the master", "type", typeName(msg), "attempts", failures)
				s.out.pop()
				failures = 0
				continue
			}
			if !s.pause(ctx, nil) {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.out.wake:
		case <-hb.C:
			heartbeatDue = true
		case <-poll.C:
		}
	}
}

// pause waits a backoff after a failed send; false if ctx ended. With a
// counter it counts the failure too.
func (s *Session) pause(ctx context.Context, failures *int) bool {
	n := 1
	if failures != nil {
		*failures++
		n = *failures
	}
	d := retryMin << min(n-1, 4)
	d = min(d, retryMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sendOnce encodes and sends one message; false (logged) on failure.
func (s *Session) sendOnce(ctx context.Context, dest string, msg any) bool {
	body, err := wire.Encode(msg)
	if err != nil {
		s.log.Error("encoding message for the master", "type", typeName(msg), "err", err)
		return true // cannot ever succeed: drop it
	}
	if err := s.conn.Send(ctx, dest, body); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sending to the master", "type", typeName(msg), "err", err)
		}
		return false
	}
	return true
}

// flush sends what is still queued, then Bye, within FlushTimeout.
func (s *Session) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.FlushTimeout)
	defer cancel()
	dest := wire.MasterQueue(s.cfg.Prefix)
	for {
		msg, ok := s.out.peek()
		if !ok {
			break
		}
		if !s.sendOnce(ctx, dest, msg) && ctx.Err() != nil {
			s.log.Warn("shutdown: could not send every queued message", "left", s.out.len())
			return
		}
		s.out.pop()
	}
	if s.sendOnce(ctx, dest, &wire.Bye{Type: wire.TypeBye, Agent: s.cfg.AgentID}) {
		s.log.Info("said bye to the master")
	}
}

// typeName is a message's wire type, for logs.
func typeName(msg any) wire.Type {
	switch m := msg.(type) {
	case *wire.Register:
		return m.Type
	case *wire.Heartbeat:
		return m.Type
	case *wire.Accepted:
		return m.Type
	case *wire.Output:
		return m.Type
	case *wire.Context:
		return m.Type
	case *wire.Done:
		return m.Type
	case *wire.Bye:
		return m.Type
	}
	return "unknown"
}

package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/master/wire"
)

// sendTimeout bounds one send; a broker that is away makes Send wait for it.
const sendTimeout = 10 * time.Second

// maxOutbound caps the messages waiting for the broker; beyond it the oldest
// are dropped (the protocol's timeouts recover from lost messages).
const maxOutbound = 10000

// sender sends messages in the order they were decided, from its own
// goroutine, so the dispatcher's lock is never held while the broker is slow
// or away.
type sender struct {
	bus Bus
	log *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond // signalled when q empties or a send ends
	q       []outMsg
	sending bool
	wake    chan struct{}
	dropped int
}

func newSender(bus Bus, log *slog.Logger) *sender {
	s := &sender{bus: bus, log: log, wake: make(chan struct{}, 1)}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// push queues messages to send.
func (s *sender) push(msgs []outMsg) {
	if len(msgs) == 0 {
		return
	}
	s.mu.Lock()
	s.q = append(s.q, msgs...)
	if over := len(s.q) - maxOutbound; over > 0 {
		s.q = append(s.q[:0], s.q[over:]...)
		s.dropped += over
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends until ctx ends.
func (s *sender) run(ctx context.Context) {
	for {
		s.mu.Lock()
		if s.dropped > 0 {
			s.log.Warn("broker too slow or away: dropped oldest outgoing messages", "dropped", s.dropped)
			s.dropped = 0
		}
		if len(s.q) == 0 {
			s.cond.Broadcast()
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				continue
			}
		}
		m := s.q[0]
		s.q = s.q[1:]
		s.sending = true
		s.mu.Unlock()

		s.sendOne(ctx, m)

		s.mu.Lock()
		s.sending = false
		s.cond.Broadcast()
		s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

func (s *sender) sendOne(ctx context.Context, m outMsg) {
	body, err := wire.Encode(m.msg)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err = s.bus.Send(sctx, m.dest, body)
		cancel()
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("cannot send message; timeouts will recover", "dest", m.dest, "type", fmt.Sprintf("%T", m.msg), "err", err)
	}
}

// wait blocks until everything pushed so far is sent (or given up).
func (s *sender) wait() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.q) > 0 || s.sending {
		s.cond.Wait()
	}
}

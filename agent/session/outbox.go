package session

import (
	"sync"
)

// outbox is the ordered queue of messages to the master. Past its limit it
// drops droppable messages (Output lines), never the others.
type outbox struct {
	mu      sync.Mutex
	items   []queued
	limit   int
	dropped int
	wake    chan struct{} // capacity 1: something was pushed
}

type queued struct {
	msg       any
	droppable bool
}

func newOutbox(limit int) *outbox {
	return &outbox{limit: limit, wake: make(chan struct{}, 1)}
}

// push queues msg (a *wire.X message).
func (o *outbox) push(msg any, droppable bool) {
	o.mu.Lock()
	if droppable && len(o.items) >= o.limit {
		o.dropped++
		o.mu.Unlock()
		return
	}
	o.items = append(o.items, queued{msg: msg, droppable: droppable})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// poke wakes the sender without queueing anything.
func (o *outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// peek returns the first message without removing it.
func (o *outbox) peek() (any, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) == 0 {
		return nil, false
	}
	return o.items[0].msg, true
}

// pop removes the first message.
func (o *outbox) pop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) > 0 {
		o.items[0] = queued{}
		o.items = o.items[1:]
	}
	if len(o.items) == 0 {
		o.items = nil
	}
}

// len counts queued messages.
func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

// takeDropped returns and resets the count of dropped messages.
func (o *outbox) takeDropped() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.dropped
	o.dropped = 0
	return n
}

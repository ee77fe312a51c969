package broker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/go-stomp/stomp/v3"
)

// subscription is a remembered Subscribe: made again on every connection,
// with one handler goroutine for the client's lifetime.
type subscription struct {
	dest string
	h    Handler
	// ackFirst: with client acks, acknowledge before the handler runs
	// (SubscribeAtMostOnce).
	ackFirst bool

	mu    sync.Mutex
	queue []delivery
	wake  chan struct{} // capacity 1: something was queued
}

// delivery is one received message and the connection it came on.
type delivery struct {
	msg  *stomp.Message
	sess *session
}

// Subscribe subscribes to dest (/queue/... or /topic/...) now if connected
// and after every reconnect. h is called for one message at a time, in
// arrival order.
//
// With Config.ClientAck a message is acknowledged once h returned nil (NACKed
// on an error), so a message whose handler never finished, because the
// connection or the process died, is delivered again: at least once.
func (c *Client) Subscribe(dest string, h Handler) error {
	return c.subscribe(dest, h, false)
}

// SubscribeAtMostOnce is Subscribe for consumers that cannot recognise a
// message they handled before a restart (the agent remembers the attempts it
// ran in memory only): with Config.ClientAck each message is acknowledged
// before h runs, so a process that dies in h never gets it again. A message
// whose acknowledgement is cut off by a connection loss (not a process exit)
// may still come again; the handler's own dedupe covers that.
func (c *Client) SubscribeAtMostOnce(dest string, h Handler) error {
	return c.subscribe(dest, h, true)
}

func (c *Client) subscribe(dest string, h Handler, ackFirst bool) error {
	if dest == "" {
		return errors.New("subscribing: empty destination")
	}
	if h == nil {
		return fmt.Errorf("subscribing to %s: nil handler", dest)
	}
	sub := &subscription{dest: dest, h: h, ackFirst: ackFirst, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("subscribing to %s: %w", dest, ErrClosed)
	}
	c.subs = append(c.subs, sub)
	c.wg.Add(1)
	go c.handle(sub)
	if s := c.sess; s != nil {
		if err := s.subscribe(sub); err != nil {
			// The connection is broken; the next one subscribes.
			c.log.Warn("broker connection unusable; reconnecting", "err", err)
			s.nc.closeWith(err)
		}
	}
	return nil
}

// push queues a delivery for the handler goroutine. The queue is unbounded so
// the connection keeps reading (and heart-beating) whatever the handler does;
// with ClientAck the broker's prefetch of 1 bounds it.
func (sub *subscription) push(d delivery) {
	sub.mu.Lock()
	sub.queue = append(sub.queue, d)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// next waits for the next delivery; false when ctx ends.
func (sub *subscription) next(ctx context.Context) (delivery, bool) {
	for {
		sub.mu.Lock()
		if len(sub.queue) > 0 {
			d := sub.queue[0]
			sub.queue[0] = delivery{}
			sub.queue = sub.queue[1:]
			sub.mu.Unlock()
			return d, true
		}
		sub.mu.Unlock()
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return delivery{}, false
		}
	}
}

// handle runs sub's handler on each delivery until the client closes.
func (c *Client) handle(sub *subscription) {
	defer c.wg.Done()
	for {
		d, ok := sub.next(c.ctx)
		if !ok {
			return
		}
		if d.sess.clientAck && d.sess.ended() {
			// Unacknowledged on a lost connection: the broker redelivers it.
			c.log.Debug("dropping message from a lost connection; the broker redelivers it", "destination", sub.dest)
			continue
		}
		if d.sess.clientAck && sub.ackFirst {
			if err := d.msg.Conn.Ack(d.msg); err != nil {
				c.log.Debug("acknowledging message", "destination", sub.dest, "err", err)
			}
		}
		err := c.call(sub, d.msg.Body)
		if err != nil && c.ctx.Err() == nil {
			c.log.Warn("message not processed", "destination", sub.dest, "err", err)
		}
		if !d.sess.clientAck || sub.ackFirst {
			continue
		}
		if err == nil {
			err = d.msg.Conn.Ack(d.msg)
		} else {
			err = d.msg.Conn.Nack(d.msg)
		}
		if err != nil {
			c.log.Debug("acknowledging message", "destination", sub.dest, "err", err)
		}
	}
}

// call runs the handler, turning a panic into an error so one bad message
// cannot take the process down.
func (c *Client) call(sub *subscription, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler for %s panicked: %v\n%s", sub.dest, r, debug.Stack())
		}
	}()
	return sub.h(c.ctx, body)
}

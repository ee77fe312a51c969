package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by a Client's calls after Close.
var ErrClosed = errors.New("broker client closed")

// closeWait bounds how long Close waits for the client's goroutines (a
// handler that ignores its context, a go-stomp wait in progress).
const closeWait = 10 * time.Second

// Handler processes one message body. Returning an error means the message
// was not processed: it is logged, and with Config.ClientAck NACKed so the
// broker may redeliver it. The subscription carries on either way. ctx is
// cancelled when the Client closes.
type Handler func(ctx context.Context, body []byte) error

// Client is a STOMP connection that reconnects by itself. Subscriptions are
// remembered and made again on every new connection; Send waits for a
// connection. All methods are safe for concurrent use.
type Client struct {
	cfg Config
	ep  endpoint
	log *slog.Logger

	ctx    context.Context // the client's lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the client started

	receiptSeq   atomic.Uint64
	warnedNoAcks atomic.Bool

	mu       sync.Mutex
	closed   bool
	sess     *session      // the current connection; nil while disconnected
	ready    chan struct{} // closed while sess != nil
	subs     []*subscription
	connects int // successful connections so far
}

// Dial checks cfg and starts connecting in the background; it returns at
// once, and the first connection may come later (see WaitConnected). A bad
// configuration is an error naming the URL. The client runs until Close; ctx
// only carries values (it is not a lifetime, so a shutdown signal does not
// stop a client that still has to say goodbye).
func Dial(ctx context.Context, cfg Config, log *slog.Logger) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dialing broker: %w", err)
	}
	cfg, ep, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	log = orDiscard(log).With("broker", ep.display)
	if cfg.Name != "" {
		log = log.With("client", cfg.Name)
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &Client{
		cfg:    cfg,
		ep:     ep,
		log:    log,
		ctx:    life,
		cancel: cancel,
		ready:  make(chan struct{}),
	}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// Connected reports whether the client has a working broker connection now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil && !c.sess.ended()
}

// WaitConnected waits until the client is connected, ctx ends or the client
// is closed.
func (c *Client) WaitConnected(ctx context.Context) error {
	if _, err := c.waitSession(ctx); err != nil {
		return fmt.Errorf("waiting for broker %s: %w", c.ep.display, err)
	}
	return nil
}

// Reconnects counts the successful connections after the first one.
func (c *Client) Reconnects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.connects-1, 0)
}

// Close disconnects (politely, with DISCONNECT, when it can), stops
// reconnecting, cancels handler contexts and waits for the client's
// goroutines. Later calls return ErrClosed; Close itself may be called again.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		c.log.Warn("broker client: goroutines still running after close (a handler ignoring its context?)", "wait", closeWait)
	}
	return nil
}

// waitSession returns the current connection, waiting for one if needed. A
// connection already lost but not yet retired by the connection loop is
// waited out, not returned.
func (c *Client) waitSession(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, ready, closed := c.sess, c.ready, c.closed
		c.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		next := ready
		if s != nil {
			if !s.ended() {
				return s, nil
			}
			next = s.retired
		}
		select {
		case <-next:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// spawn runs f in a goroutine the client waits for on Close; false when the
// client is closed (f is not run).
func (c *Client) spawn(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

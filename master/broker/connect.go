package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3"
)

// Connection tuning.
const (
	// connectTimeout bounds one attempt: TCP, TLS and the STOMP handshake.
	connectTimeout = 10 * time.Second
	// minReceiptTimeout is the least go-stomp waits for a receipt; see
	// receiptTimeout.
	minReceiptTimeout = 30 * time.Second
	// disconnectWait is how long Close waits for the broker to confirm
	// DISCONNECT before dropping the connection.
	disconnectWait = time.Second
	// disconnectReceiptTimeout is go-stomp's own bound on that wait; longer
	// than disconnectWait, so our close always ends it first (see doc.go).
	disconnectReceiptTimeout = 5 * time.Second
	// pumpDrainWait bounds how long a lost connection's subscription
	// goroutines may take to see go-stomp close their channels.
	pumpDrainWait = 2 * time.Second
	// embeddedServerPrefix starts the "server" header of go-stomp's broker.
	embeddedServerPrefix = "stompd/"
	// heartBeatGrace multiplies the wait for the broker's heart-beats; see
	// connectOptions.
	heartBeatGrace = 1.5
)

// errClientClosing is the reason a connection ends because of Close.
var errClientClosing = errors.New("client closing")

// run is the connection loop: connect, serve until the connection is lost,
// back off, again; until Close.
func (c *Client) run() {
	defer c.wg.Done()
	attempt, failures := 0, 0
	for c.ctx.Err() == nil {
		s, err := c.connect(c.ctx)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			failures++
			delay := backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff, nil)
			level := c.log.Debug
			if failures == 1 || failures%10 == 0 {
				level = c.log.Warn
			}
			level("broker unreachable; retrying", "err", err, "failures", failures, "retry_in", delay.Round(time.Millisecond))
			attempt++
			if !c.sleep(delay) {
				return
			}
			continue
		}
		failures = 0
		began := time.Now()
		c.serve(s)
		if time.Since(began) > c.cfg.MaxBackoff {
			attempt = 0 // it was a stable connection: start backing off afresh
		}
		if !c.sleep(backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff, nil)) {
			return
		}
		attempt++
	}
}

// sleep waits d; false if the client closed meanwhile.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// connect makes one connection: TCP, TLS for stomp+ssl, STOMP CONNECT.
func (c *Client) connect(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", c.ep.addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", c.ep.addr, err)
	}
	nc := raw
	if c.ep.tls {
		tc := tls.Client(raw, c.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", c.ep.addr, err)
		}
		nc = tc
	}
	w := newWatchedConn(nc)
	// go-stomp only honours the deadline; close the connection to abort the
	// handshake at once when the client closes.
	stop := context.AfterFunc(ctx, func() { w.closeWith(ctx.Err()) })
	conn, err := stomp.ConnectWithContext(ctx, w, c.connectOptions()...)
	if !stop() {
		if err == nil {
			_ = conn.MustDisconnect()
		}
		return nil, fmt.Errorf("STOMP handshake with %s: %w", c.ep.addr, ctx.Err())
	}
	if err != nil {
		w.closeWith(err)
		return nil, fmt.Errorf("STOMP handshake with %s: %w", c.ep.addr, err)
	}
	s := &session{
		c:       c,
		conn:    conn,
		nc:      w,
		server:  conn.Server(),
		abandon: make(chan struct{}),
		retired: make(chan struct{}),
	}
	s.clientAck = c.cfg.ClientAck
	if s.clientAck && strings.HasPrefix(s.server, embeddedServerPrefix) {
		s.clientAck = false
		if !c.warnedNoAcks.Swap(true) {
			c.log.Warn("broker is go-stomp, whose client acks are broken; using ack:auto", "server", s.server)
		}
	}
	return s, nil
}

// connectOptions are the go-stomp options for a new connection.
//
// Heart-beats (period hb): the CONNECT header is "heart-beat:hb,hb/2": we
// promise to beat every hb, and ask the broker for one every hb/2. go-stomp
// subtracts HeartBeatError (hb/2) from what the broker wants of us, so we
// beat every hb/2; and it waits (hb/2 + HeartBeatError) × grace = 1.5·hb for
// the broker before it declares the connection lost. Asking the broker for
// twice our rate matters: ActiveMQ only beats when it wrote nothing during a
// whole period, so its silences last up to two of its periods (its first
// beat comes two periods after CONNECTED), which with "hb,hb" would exceed
// go-stomp's wait and drop every idle connection (see doc.go).
func (c *Client) connectOptions() []func(*stomp.Conn) error {
	hb := c.cfg.HeartBeat
	opts := []func(*stomp.Conn) error{
		stomp.ConnOpt.Host(c.ep.host),
		stomp.ConnOpt.AcceptVersion(stomp.V11, stomp.V12),
		stomp.ConnOpt.HeartBeat(hb, hb/2),
		stomp.ConnOpt.RcvReceiptTimeout(c.receiptTimeout()),
		stomp.ConnOpt.DisconnectReceiptTimeout(disconnectReceiptTimeout),
		stomp.ConnOpt.Logger(stompLogger{c.log}),
	}
	if hb > 0 {
		opts = append(opts,
			stomp.ConnOpt.HeartBeatError(hb/2),
			stomp.ConnOpt.HeartBeatGracePeriodMultiplier(heartBeatGrace))
	}
	if c.cfg.Login != "" || c.cfg.Passcode != "" {
		opts = append(opts, stomp.ConnOpt.Login(c.cfg.Login, c.cfg.Passcode))
	}
	return opts
}

// receiptTimeout is go-stomp's bound on a receipt wait. When it expires,
// go-stomp leaves a channel behind that blocks the connection forever once
// anything is sent on it, so it must be longer than heart-beat loss
// detection (1.5 periods): a dead connection always ends the wait first.
// Send returns on its own context long before.
func (c *Client) receiptTimeout() time.Duration {
	return max(minReceiptTimeout, 3*c.cfg.HeartBeat)
}

// serve makes the remembered subscriptions on a new connection, publishes it,
// and waits for it to end.
func (c *Client) serve(s *session) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.nc.closeWith(errClientClosing)
		return
	}
	for _, sub := range c.subs {
		if err := s.subscribe(sub); err != nil {
			c.mu.Unlock()
			s.nc.closeWith(err)
			c.log.Warn("broker connection unusable; reconnecting", "err", err)
			s.drain()
			return
		}
	}
	c.sess = s
	close(c.ready)
	c.connects++
	reconnects := c.connects - 1
	subs := len(c.subs)
	c.mu.Unlock()

	c.log.Info("broker connected", "server", s.server, "reconnects", reconnects,
		"subscriptions", subs, "client_ack", s.clientAck, "heart_beat", c.cfg.HeartBeat)

	closing := false
	select {
	case <-s.nc.dead:
	case <-c.ctx.Done():
		closing = true
	}

	c.mu.Lock()
	c.sess = nil
	c.ready = make(chan struct{})
	c.mu.Unlock()
	close(s.retired)

	if closing {
		s.disconnect()
		s.drain()
		c.log.Info("broker disconnected", "reason", "client closed")
		return
	}
	s.nc.closeWith(errClosedByLibrary) // no-op: already dead; makes sure the socket is closed
	s.drain()
	c.log.Info("broker connection lost; reconnecting", "reason", s.lossReason())
}

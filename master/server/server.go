// Package server assembles a master: store, broker (embedded or external),
// dispatcher, HTTP API and metrics, from a config.Serve; and takes it down
// cleanly.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/config"
	"github.com/agentcloud/agentcloud/master/dispatch"
	"github.com/agentcloud/agentcloud/master/httpapi"
	"github.com/agentcloud/agentcloud/master/metrics"
	"github.com/agentcloud/agentcloud/master/retention"
	"github.com/agentcloud/agentcloud/master/store"
)

// shutdownWait bounds how long in-flight HTTP requests may take at shutdown.
const shutdownWait = 5 * time.Second

// agentMessageTTL is how long the master's messages to an agent's queue on
// an external broker live: past it an assignment is long re-dispatched and a
// drain or cancel is sent again on register, so an agent that never comes
// back leaves nothing behind.
const agentMessageTTL = time.Hour

// Master is a running master.
type Master struct {
	log        *slog.Logger
	store      *store.Store
	embedded   *broker.Server // nil with an external broker
	bus        *broker.Client
	dispatcher *dispatch.Dispatcher
	http       *http.Server
	ln         net.Listener
	cancel     context.CancelFunc
	done       chan struct{} // closed when the background loops end
	httpErr    chan error
}

// Start brings a master up: it listens on its HTTP address and (embedded)
// broker address before returning, so a port in use is an error here.
func Start(ctx context.Context, cfg config.Serve, log *slog.Logger) (*Master, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Tokens) == 0 {
		if !cfg.Insecure {
			return nil, errors.New("starting master: no API token configured (give -insecure to run without)")
		}
		log.Warn("no API token configured: the HTTP API is open to anyone who can reach it (-insecure)")
	}
	m := &Master{log: log, done: make(chan struct{}), httpErr: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			m.closeParts()
		}
	}()

	var err error
	if m.store, err = store.Open(ctx, cfg.DataDir); err != nil {
		return nil, fmt.Errorf("starting master: %w", err)
	}
	bcfg := broker.Config{URL: cfg.BrokerURL, Login: cfg.BrokerLogin, Passcode: cfg.BrokerPasscode, Name: "master"}
	if cfg.BrokerURL == "" {
		if m.embedded, err = broker.StartEmbedded(ctx, cfg.BrokerListen, log); err != nil {
			return nil, fmt.Errorf("starting master: %w", err)
		}
		bcfg.URL = m.embedded.URL()
	} else {
		bcfg.ClientAck, bcfg.Receipts = true, true
		bcfg.QueueTTL = agentMessageTTL
	}
	if m.bus, err = broker.Dial(ctx, bcfg, log); err != nil {
		return nil, fmt.Errorf("starting master: %w", err)
	}

	mets := metrics.New()
	m.dispatcher = dispatch.New(dispatch.Config{
		Prefix:           cfg.Prefix,
		AgentToken:       cfg.AgentToken,
		AcceptTimeout:    cfg.AcceptTimeout,
		HeartbeatTimeout: cfg.HeartbeatTimeout,
		Log:              log.With("component", "dispatch"),
		Metrics:          mets,
		Connected:        m.bus.Connected,
	}, m.store, busAdapter{m.bus})
	if err := m.dispatcher.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting master: %w", err)
	}
	keep := retention.Config{
		Retain: cfg.Retain,
		Purged: func(n int) { mets.Purged.Add(float64(n)) },
		Log:    log.With("component", "retention"),
	}
	reg, err := mets.Registry(m.dispatcher)
	if err != nil {
		return nil, fmt.Errorf("starting master: %w", err)
	}
	handler := httpapi.New(m.dispatcher, httpapi.Config{
		Tokens:  cfg.Tokens,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}),
		Log:     log.With("component", "http"),
	})
	var lc net.ListenConfig
	if m.ln, err = lc.Listen(ctx, "tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("starting master: listening on %s: %w", cfg.Listen, err)
	}
	m.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	go func() {
		defer close(m.done)
		purged := make(chan struct{})
		go func() {
			defer close(purged)
			retention.Run(life, m.store, keep)
		}()
		m.dispatcher.Run(life)
		<-purged
	}()
	go func() {
		if err := m.http.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.httpErr <- err
		}
	}()
	log.Info("master started", "listen", m.ln.Addr().String(), "broker", bcfg.URL, "embedded_broker", m.embedded != nil,
		"prefix", cfg.Prefix, "data_dir", cfg.DataDir, "accept_timeout", cfg.AcceptTimeout, "heartbeat_timeout", cfg.HeartbeatTimeout, "retain", cfg.Retain)
	ok = true
	return m, nil
}

// Addr is the HTTP API's host:port.
func (m *Master) Addr() string { return m.ln.Addr().String() }

// BrokerURL is the embedded broker's URL ("" with an external broker).
func (m *Master) BrokerURL() string {
	if m.embedded == nil {
		return ""
	}
	return m.embedded.URL()
}

// Wait blocks until ctx ends or the HTTP server fails.
func (m *Master) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.httpErr:
		return fmt.Errorf("serving HTTP: %w", err)
	}
}

// Close takes the master down: HTTP first (in-flight requests get a few
// seconds), then the broker session, the dispatcher, the embedded broker and
// the store.
func (m *Master) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	var errs []error
	if m.http != nil {
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping HTTP server: %w", err))
		}
	}
	if m.cancel != nil {
		m.cancel()
		<-m.done
	}
	errs = append(errs, m.closeParts())
	m.log.Info("master stopped")
	return errors.Join(errs...)
}

// closeParts closes what Start opened, in reverse order.
func (m *Master) closeParts() error {
	var errs []error
	if m.ln != nil && m.http == nil {
		m.ln.Close()
	}
	if m.bus != nil {
		if err := m.bus.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing broker session: %w", err))
		}
	}
	if m.dispatcher != nil {
		m.dispatcher.Close()
	}
	if m.embedded != nil {
		if err := m.embedded.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// busAdapter adapts a broker client to dispatch.Bus (its handler type is named).
type busAdapter struct{ c *broker.Client }

// Send sends body to dest.
func (b busAdapter) Send(ctx context.Context, dest string, body []byte) error {
	return b.c.Send(ctx, dest, body)
}

// Subscribe subscribes h to dest.
func (b busAdapter) Subscribe(dest string, h func(ctx context.Context, body []byte) error) error {
	return b.c.Subscribe(dest, broker.Handler(h))
}

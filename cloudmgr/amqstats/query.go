package amqstats

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-stomp/stomp/v3"
)

// Statistics plugin destinations and headers.
const (
	statsDestination  = "/queue/ActiveMQ.Statistics.Destination."
	statsSubscription = "/queue/ActiveMQ.Statistics.Subscription"
	headerEndWithNull = "ActiveMQ.Statistics.Destination.List.End.With.Null"
	headerFirstMsgTS  = "ActiveMQ.Statistics.Destination.Include.First.Message.Timestamp"
	headerTransform   = "transformation"
	transformMapXML   = "jms-map-xml"
)

// stats is one round of statistics.
type stats struct {
	queues []map[string]any // one per queue matching the template
	subs   []map[string]any // one per queue or topic subscription of the broker
}

// endpoint is a broker URL taken apart.
type endpoint struct {
	addr, host string
	tls        bool
	display    string // without a password
}

func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("broker URL %q: %w", raw, err)
	}
	ep := endpoint{display: u.Redacted(), host: u.Hostname()}
	switch u.Scheme {
	case "stomp", "tcp":
	case "stomp+ssl":
		ep.tls = true
	default:
		return endpoint{}, fmt.Errorf("broker URL %q: want stomp://host:port or stomp+ssl://host:port", ep.display)
	}
	if ep.host == "" || u.Port() == "" {
		return endpoint{}, fmt.Errorf("broker URL %q: want stomp://host:port or stomp+ssl://host:port", ep.display)
	}
	ep.addr = net.JoinHostPort(ep.host, u.Port())
	return ep, nil
}

// query asks the statistics plugin, on a connection of its own, for the
// subscriptions and the queues matching the template. The subscription
// list has no end marker, so the queue query goes second: its terminating
// empty map ends both (the broker answers one connection's requests in
// order).
func (s *Source) query(ctx context.Context) (st stats, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", s.ep.addr)
	if err != nil {
		return st, fmt.Errorf("connecting to %s: %w", s.ep.addr, err)
	}
	if s.ep.tls {
		tc := tls.Client(nc, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return st, fmt.Errorf("TLS handshake with %s: %w", s.ep.addr, err)
		}
		nc = tc
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() }) // go-stomp honours no context after the handshake
	defer stop()

	opts := []func(*stomp.Conn) error{
		stomp.ConnOpt.Host(s.ep.host),
		stomp.ConnOpt.AcceptVersion(stomp.V11, stomp.V12),
		stomp.ConnOpt.HeartBeat(0, 0),
		stomp.ConnOpt.Logger(quietLogger{}),
	}
	if s.cfg.Login != "" || s.cfg.Passcode != "" {
		opts = append(opts, stomp.ConnOpt.Login(s.cfg.Login, s.cfg.Passcode))
	}
	conn, err := stomp.ConnectWithContext(ctx, nc, opts...)
	if err != nil {
		return st, fmt.Errorf("STOMP handshake: %w", err)
	}
	defer func() {
		if err == nil {
			_ = conn.Disconnect()
		}
	}()

	replyTo := "/temp-queue/agentcloud-stats-" + randomID()
	sub, err := conn.Subscribe(replyTo, stomp.AckAuto, stomp.SubscribeOpt.Header(headerTransform, transformMapXML))
	if err != nil {
		return st, fmt.Errorf("subscribing to %s: %w", replyTo, err)
	}
	reply := stomp.SendOpt.Header(stomp.ReplyToHeader, replyTo)
	if err := conn.Send(statsSubscription, "", nil, reply); err != nil {
		return st, fmt.Errorf("asking for subscription statistics: %w", err)
	}
	dest := statsDestination + s.tmpl.wildcard
	if err := conn.Send(dest, "", nil, reply,
		stomp.SendOpt.Header(headerEndWithNull, "true"),
		stomp.SendOpt.Header(headerFirstMsgTS, "true")); err != nil {
		return st, fmt.Errorf("asking for queue statistics (%s): %w", dest, err)
	}
	for {
		var msg *stomp.Message
		select {
		case msg = <-sub.C:
		case <-ctx.Done():
			return st, fmt.Errorf("waiting for the statistics plugin's replies (is <statisticsBrokerPlugin/> configured?): %w", ctx.Err())
		}
		if msg == nil {
			return st, errors.New("connection closed while reading statistics")
		}
		if msg.Err != nil {
			if ctx.Err() != nil {
				return st, fmt.Errorf("waiting for the statistics plugin's replies (is <statisticsBrokerPlugin/> configured?): %w", ctx.Err())
			}
			return st, fmt.Errorf("reading statistics: %w", msg.Err)
		}
		m, err := parseMap(msg.Body)
		if err != nil {
			if len(strings.TrimSpace(string(msg.Body))) == 0 {
				err = fmt.Errorf("%w; an empty reply means the broker could not transform it to XML: are the xstream and xpp3 jars in its lib folder?", err)
			}
			return st, err
		}
		switch {
		case len(m) == 0:
			return st, nil
		case m["size"] != nil:
			st.queues = append(st.queues, m)
		default:
			st.subs = append(st.subs, m)
		}
	}
}

// tlsConfig is the TLS configuration for stomp+ssl.
func (s *Source) tlsConfig() *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLS != nil {
		tc = s.cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.ep.host
	}
	return tc
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// quietLogger drops go-stomp's logs: every poll opens and closes a
// connection, which go-stomp reports at error level.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any)   {}
func (quietLogger) Infof(string, ...any)    {}
func (quietLogger) Warningf(string, ...any) {}
func (quietLogger) Errorf(string, ...any)   {}
func (quietLogger) Debug(string)            {}
func (quietLogger) Info(string)             {}
func (quietLogger) Warning(string)          {}
func (quietLogger) Error(string)            {}

package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by Dial to zero Config fields.
const (
	DefaultHeartBeat  = 10 * time.Second
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// NoHeartBeat, as Config.HeartBeat, turns STOMP heart-beats off (any
// negative value does). A zero HeartBeat means DefaultHeartBeat.
const NoHeartBeat time.Duration = -1

// Config says how a Client reaches its broker.
type Config struct {
	// URL is stomp://host:port or stomp+ssl://host:port (tcp:// is read as
	// stomp://). Login and passcode may be given as user info when the
	// fields below are empty.
	URL string
	// Login and Passcode authenticate to the broker (optional).
	Login, Passcode string
	// TLS configures stomp+ssl; nil means the default configuration with
	// ServerName taken from the URL. Setting it with a plain stomp URL is an
	// error.
	TLS *tls.Config
	// ClientAck is for external brokers: client-individual acks and prefetch 1
	// (ActiveMQ header activemq.prefetchSize:1); a handler error NACKs the
	// message. False means ack:auto, the only mode the embedded broker
	// supports (Client falls back to it there even when ClientAck is set).
	ClientAck bool
	// Receipts makes Send wait for the broker's receipt (external brokers).
	Receipts bool
	// QueueTTL, when positive, makes messages sent to queues expire that long
	// after they were sent (STOMP header "expires", which ActiveMQ honours),
	// so messages to an agent that never comes back do not stay in its queue
	// for ever. Zero: they never expire.
	QueueTTL time.Duration
	// HeartBeat is the STOMP heart-beat period (zero: DefaultHeartBeat;
	// negative, e.g. NoHeartBeat: off). We beat every half period and ask
	// the broker to do the same; a connection silent for 1.5 periods is
	// considered lost.
	HeartBeat time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles per
	// failed attempt with full jitter (zero: DefaultMinBackoff,
	// DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Name identifies the client in logs.
	Name string
}

// endpoint is a broker URL taken apart.
type endpoint struct {
	addr     string // host:port to dial
	host     string // host name: TLS ServerName, STOMP host header
	tls      bool
	login    string // from the URL's user info
	passcode string
	display  string // the URL with any password redacted, for logs and errors
}

// parseURL reads a broker URL; errors name the URL (password redacted).
func parseURL(raw string) (endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return endpoint{}, errors.New("broker URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("broker URL %q: %w", raw, unwrapURLError(err))
	}
	ep := endpoint{display: u.Redacted()}
	switch strings.ToLower(u.Scheme) {
	case "stomp", "tcp":
	case "stomp+ssl":
		ep.tls = true
	case "":
		return endpoint{}, fmt.Errorf("broker URL %q: missing scheme (want stomp:// or stomp+ssl://)", ep.display)
	default:
		return endpoint{}, fmt.Errorf("broker URL %q: unsupported scheme %q (want stomp, stomp+ssl or tcp)", ep.display, u.Scheme)
	}
	if u.Opaque != "" {
		return endpoint{}, fmt.Errorf("broker URL %q: want scheme://host:port", ep.display)
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("broker URL %q: missing host", ep.display)
	}
	port := u.Port()
	if port == "" {
		return endpoint{}, fmt.Errorf("broker URL %q: missing port (e.g. %s:61613)", ep.display, ep.host)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("broker URL %q: unexpected path, query or fragment", ep.display)
	}
	ep.addr = net.JoinHostPort(ep.host, port)
	if u.User != nil {
		ep.login = u.User.Username()
		ep.passcode, _ = u.User.Password()
	}
	return ep, nil
}

// unwrapURLError drops url.Error's own quoting of the URL, which may hold a
// password; the caller names the URL itself.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// normalize validates cfg, applies defaults and parses the URL.
func (cfg Config) normalize() (Config, endpoint, error) {
	ep, err := parseURL(cfg.URL)
	if err != nil {
		return cfg, endpoint{}, err
	}
	if cfg.TLS != nil && !ep.tls {
		return cfg, endpoint{}, fmt.Errorf("broker URL %q: TLS configuration given but the scheme is not stomp+ssl", ep.display)
	}
	if cfg.Login == "" && cfg.Passcode == "" {
		cfg.Login, cfg.Passcode = ep.login, ep.passcode
	}
	switch {
	case cfg.HeartBeat == 0:
		cfg.HeartBeat = DefaultHeartBeat
	case cfg.HeartBeat < 0:
		cfg.HeartBeat = 0
	case cfg.HeartBeat < time.Millisecond:
		return cfg, endpoint{}, fmt.Errorf("broker %q: heart-beat %v is below 1ms", ep.display, cfg.HeartBeat)
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return cfg, endpoint{}, fmt.Errorf("broker %q: negative backoff (min %v, max %v)", ep.display, cfg.MinBackoff, cfg.MaxBackoff)
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MinBackoff > cfg.MaxBackoff {
		return cfg, endpoint{}, fmt.Errorf("broker %q: min backoff %v exceeds max backoff %v", ep.display, cfg.MinBackoff, cfg.MaxBackoff)
	}
	if ep.tls {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TLS != nil {
			tc = cfg.TLS.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = ep.host
		}
		cfg.TLS = tc
	}
	return cfg, ep, nil
}

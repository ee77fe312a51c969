// Package docker is the Docker provider: every instance is a container on one
// Docker engine, created from the pool's image with the agent's configuration
// in its environment and the §4.1 labels on it.
//
// Suspend means "stop" (the container's filesystem stays; mode stop) or
// "pause" (the processes are frozen and keep their memory; mode suspend);
// resume is start or unpause; destroy removes the container with its anonymous
// volumes.
//
// Container labels cannot change after create, so the times a container was
// suspended or resumed are kept on the engine too, in tiny marker volumes
// labelled with the container's id and the time (markers.go). List is then two
// API calls whatever the number of containers: one ContainerList and one
// VolumeList, both filtered by the owner label on the engine.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// Config configures the Docker provider. The zero value of every field but
// Name means "the default"; ConfigFromSettings builds one from cloudmgr's
// provider settings.
type Config struct {
	// Name is the provider's name (default "docker").
	Name string
	// Host is the engine's address (unix:///var/run/docker.sock, tcp://host:2376);
	// empty means DOCKER_HOST, else the engine's default socket.
	Host string
	// TLSCA, TLSCert and TLSKey are PEM files for a TLS engine; when all are
	// empty, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY apply.
	TLSCA, TLSCert, TLSKey string
	// Network is the default network mode of the containers: "host" (default),
	// "bridge", "none" or a named network. A pool's settings may override it.
	Network string
	// ExtraHosts are "name:ip" entries added to every container's /etc/hosts
	// ("name:host-gateway" maps name to the host).
	ExtraHosts []string
	// BrokerHost, when set, is a name mapped to the host (host-gateway) in
	// containers not on the host network, and loopback broker URLs in
	// AGENTCLOUD_BROKER_URL are rewritten to it.
	BrokerHost string
	// StopTimeout is how long a stopped container has between SIGTERM and
	// SIGKILL (default 10s).
	StopTimeout time.Duration
	// Restart is the containers' restart policy: "unless-stopped" (default),
	// "no", "on-failure" or "always".
	Restart string
	// NoInit turns off the init process (docker-init) that otherwise runs as
	// PID 1 in each container, forwarding signals and reaping zombies.
	NoInit bool
	// Env is extra environment for every container, over the request's Env.
	Env map[string]string
}

// Provider runs instances as containers on one Docker engine. It is safe for
// concurrent use.
type Provider struct {
	cfg Config
	eng engine
	log *slog.Logger
	now func() time.Time

	locks providers.KeyLocks // per container name or id, while an operation runs on it
}

var _ providers.Provider = (*Provider)(nil)

// defaultStopTimeout is Config.StopTimeout's default.
const defaultStopTimeout = 10 * time.Second

// pingTimeout bounds New's first contact with the engine.
const pingTimeout = 5 * time.Second

// New checks cfg, fills its defaults and connects to the engine. An engine
// that cannot be reached now is not an error (it is logged): every call then
// fails with a KindUnavailable error until it is back. A nil log discards.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Provider, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts := []client.Opt{client.WithAPIVersionFromEnv()}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	} else {
		opts = append(opts, client.WithHostFromEnv())
	}
	if cfg.TLSCA != "" || cfg.TLSCert != "" || cfg.TLSKey != "" {
		opts = append(opts, client.WithTLSClientConfig(cfg.TLSCA, cfg.TLSCert, cfg.TLSKey))
	} else {
		opts = append(opts, client.WithTLSClientConfigFromEnv())
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker provider %s: connecting to the engine (settings host, tls_ca, tls_cert, tls_key or DOCKER_* env): %w", cfg.Name, err)
	}
	p := newProvider(cfg, c, log)
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		p.log.Warn("the Docker engine cannot be reached now; calls fail as unavailable until it is back",
			"host", c.DaemonHost(), "err", err)
	} else {
		p.log.Info("connected to the Docker engine", "host", c.DaemonHost(), "api_version", c.ClientVersion())
	}
	return p, nil
}

// newProvider builds a provider on an engine; cfg has its defaults.
func newProvider(cfg Config, eng engine, log *slog.Logger) *Provider {
	return &Provider{
		cfg: cfg,
		eng: eng,
		log: log.With("provider", cfg.Name),
		now: time.Now,
	}
}

// withDefaults fills the zero fields and checks the others.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "docker"
	}
	if c.Network == "" {
		c.Network = "host"
	}
	if err := checkNetwork(c.Network); err != nil {
		return c, fmt.Errorf("docker provider %s: config: network: %w", c.Name, err)
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = defaultStopTimeout
	}
	if c.StopTimeout < time.Second {
		return c, fmt.Errorf("docker provider %s: config: stop_timeout %s: want at least 1s", c.Name, c.StopTimeout)
	}
	if c.Restart == "" {
		c.Restart = "unless-stopped"
	}
	if !validRestart(c.Restart) {
		return c, fmt.Errorf("docker provider %s: config: restart %q: want no, on-failure, unless-stopped or always", c.Name, c.Restart)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, errors.New("docker provider " + c.Name + ": config: tls_cert and tls_key go together")
	}
	for _, h := range c.ExtraHosts {
		if err := checkExtraHost(h); err != nil {
			return c, fmt.Errorf("docker provider %s: config: extra_hosts: %w", c.Name, err)
		}
	}
	if c.BrokerHost != "" {
		if err := checkHostname(c.BrokerHost); err != nil {
			return c, fmt.Errorf("docker provider %s: config: broker_host: %w", c.Name, err)
		}
	}
	return c, nil
}

// validRestart reports whether r is a restart policy Docker knows.
func validRestart(r string) bool {
	switch r {
	case "no", "on-failure", "unless-stopped", "always":
		return true
	}
	return false
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.cfg.Name }

// Capabilities: stop (the filesystem stays, the processes end) and suspend
// (docker pause: the processes are frozen and keep their memory). They do not
// depend on the config, so a zero Provider answers too.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend}}
}

// Close releases the engine client's idle connections.
func (p *Provider) Close() error { return p.eng.Close() }

// lock locks key (a container name or id) and returns the unlock.
func (p *Provider) lock(key string) (unlock func()) {
	return p.locks.Lock(key)
}

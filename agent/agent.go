// Package agent is the agent program: it gathers the machine's facts, loads
// its plugins, connects to the broker and serves the master until its context
// ends (SIGTERM), then finishes within the shutdown grace and says bye.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/agentcloud/agentcloud/agent/config"
	"github.com/agentcloud/agentcloud/agent/facts"
	"github.com/agentcloud/agentcloud/agent/plugins"
	"github.com/agentcloud/agentcloud/agent/runner"
	"github.com/agentcloud/agentcloud/agent/session"
	"github.com/agentcloud/agentcloud/master/broker"
)

// GatherFacts collects the machine's facts as cfg says, resolves cfg.AgentID
// when it is not set (cloud instance name, else hostname) and adds the
// agentcloud facts (pool, agent_id, instance).
func GatherFacts(ctx context.Context, cfg *config.Config, log *slog.Logger) (map[string]any, error) {
	opts := facts.Options{ExternalDir: cfg.FactsDir, ExecTimeout: cfg.FactsTimeout, Log: log}
	if cfg.CloudFacts {
		opts.Cloud = &facts.CloudOptions{GCEURL: cfg.GCEMetadataURL, EC2URL: cfg.EC2MetadataURL, Timeout: cfg.CloudTimeout}
	}
	f := facts.Gather(ctx, opts)
	host, _ := facts.Lookup(f, "networking.hostname")
	hostname, _ := host.(string)
	if err := cfg.ResolveAgentID(facts.CloudInstanceName(f), hostname); err != nil {
		return nil, err
	}
	facts.SetAgentcloud(f, cfg.Pool, cfg.AgentID, cfg.Instance)
	return f, nil
}

// Version is the agent's version from its build information.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Run runs the agent until ctx ends, then shuts down gracefully; it returns
// nil after a clean shutdown.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	f, err := GatherFacts(ctx, &cfg, log)
	if err != nil {
		return fmt.Errorf("gathering facts: %w", err)
	}
	reg, err := plugins.Load(cfg.PluginsDir)
	if err != nil {
		log.Warn("some plugins were not loaded", "dir", cfg.PluginsDir, "err", err)
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("creating work dir: %w", err)
	}
	bcfg := broker.Config{
		URL:       cfg.BrokerURL,
		Login:     cfg.BrokerLogin,
		Passcode:  cfg.BrokerPasscode,
		ClientAck: cfg.BrokerClientAck,
		Receipts:  cfg.BrokerReceipts,
		Name:      "agent " + cfg.AgentID,
	}
	if cfg.BrokerCAFile != "" {
		tc, err := tlsConfig(cfg.BrokerCAFile)
		if err != nil {
			return err
		}
		bcfg.TLS = tc
	}
	client, err := broker.Dial(ctx, bcfg, log)
	if err != nil {
		return fmt.Errorf("connecting to the broker: %w", err)
	}
	defer client.Close()

	log.Info("agent starting", "agent", cfg.AgentID, "version", Version(), "pool", cfg.Pool, "broker", redact(cfg.BrokerURL),
		"work_dir", cfg.WorkDir, "plugins", reg.Names())
	sess := session.New(session.Config{
		AgentID:       cfg.AgentID,
		Instance:      cfg.Instance,
		Pool:          cfg.Pool,
		Prefix:        cfg.Prefix,
		Token:         cfg.Token,
		Version:       Version(),
		Facts:         f,
		Plugins:       reg.Names(),
		Heartbeat:     cfg.Heartbeat,
		ShutdownGrace: cfg.ShutdownGrace,
	}, session.FromBroker(client), runner.New(reg, cfg.WorkDir, log.With("agent", cfg.AgentID)), log)
	return sess.Run(ctx)
}

// tlsConfig trusts the CAs of a PEM file.
func tlsConfig(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("broker_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("broker_ca_file %s: no PEM certificates found", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// redact hides a password in a URL's user info.
func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	user := u[scheme+3 : at]
	if name, _, ok := strings.Cut(user, ":"); ok {
		return u[:scheme+3] + name + ":xxxxx" + u[at:]
	}
	return u
}

// Package config loads the agent's configuration from flags, environment
// variables (AGENTCLOUD_*) and a YAML file, in that order of precedence
// (flags > env > file > defaults), and validates it.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything the agent needs to run.
type Config struct {
	// BrokerURL is stomp://host:port or stomp+ssl://host:port.
	BrokerURL string
	// BrokerLogin and BrokerPasscode authenticate to the broker (optional).
	BrokerLogin, BrokerPasscode string
	// BrokerClientAck uses client-individual acks and prefetch 1, for external
	// brokers such as ActiveMQ (the embedded broker supports only ack:auto).
	BrokerClientAck bool
	// BrokerReceipts makes every send wait for the broker's receipt (safer on
	// external brokers, slower: one round trip per output line).
	BrokerReceipts bool
	// BrokerCAFile is a PEM file of CAs trusted for stomp+ssl (default: the system's).
	BrokerCAFile string
	// Prefix is the installation prefix of the STOMP destinations.
	Prefix string
	// Pool is the pool the agent serves.
	Pool string
	// AgentID is the agent's id; empty until ResolveAgentID fills it.
	AgentID string
	// Instance is the provider's instance id (optional).
	Instance string
	// Token authenticates the agent to the master (optional).
	Token string
	// WorkDir is where compositions run.
	WorkDir string
	// FactsDir is the external facts folder (facts.d); a missing folder is fine.
	FactsDir string
	// PluginsDir is the external plugins folder; a missing folder is fine.
	PluginsDir string
	// Heartbeat is the interval between heartbeats.
	Heartbeat time.Duration
	// ShutdownGrace is how long SIGTERM waits for the running composition.
	ShutdownGrace time.Duration
	// FactsTimeout bounds each executable external fact.
	FactsTimeout time.Duration
	// CloudFacts turns the GCE/EC2 metadata probes on.
	CloudFacts bool
	// CloudTimeout bounds the metadata probes.
	CloudTimeout time.Duration
	// GCEMetadataURL and EC2MetadataURL override the metadata servers ("-" skips one).
	GCEMetadataURL, EC2MetadataURL string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// File is the YAML config file read, if any.
	File string
}

// Defaults is the configuration before any file, env or flag.
func Defaults() Config {
	return Config{
		BrokerURL:     "stomp://127.0.0.1:61613",
		Prefix:        "agentcloud",
		Pool:          "default",
		WorkDir:       filepath.Join(os.TempDir(), "agentcloud-agent"),
		FactsDir:      "/etc/agentcloud/facts.d",
		PluginsDir:    "/etc/agentcloud/plugins",
		Heartbeat:     5 * time.Second,
		ShutdownGrace: 60 * time.Second,
		FactsTimeout:  10 * time.Second,
		CloudFacts:    true,
		CloudTimeout:  300 * time.Millisecond,
		LogLevel:      "info",
		LogFormat:     "text",
	}
}

// Validate checks every setting and names the first bad one and why.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BrokerURL)
	switch {
	case err != nil:
		return fmt.Errorf("broker_url %q: %w", c.BrokerURL, err)
	case u.Scheme != "stomp" && u.Scheme != "stomp+ssl":
		return fmt.Errorf("broker_url %q: scheme must be stomp or stomp+ssl", c.BrokerURL)
	case u.Hostname() == "" || u.Port() == "":
		return fmt.Errorf("broker_url %q: want host:port", c.BrokerURL)
	}
	if err := checkName("prefix", c.Prefix); err != nil {
		return err
	}
	if err := checkName("pool", c.Pool); err != nil {
		return err
	}
	if c.AgentID != "" {
		if err := checkName("agent_id", c.AgentID); err != nil {
			return err
		}
	}
	if c.WorkDir == "" {
		return fmt.Errorf("work_dir: must not be empty")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"heartbeat", c.Heartbeat}, {"shutdown_grace", c.ShutdownGrace}, {"facts_timeout", c.FactsTimeout}, {"cloud_timeout", c.CloudTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", d.name, d.v)
		}
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format %q: want text or json", c.LogFormat)
	}
	return nil
}

// checkName rejects names that cannot be part of a STOMP destination.
func checkName(setting, v string) error {
	if v == "" {
		return fmt.Errorf("%s: must not be empty", setting)
	}
	if i := strings.IndexFunc(v, func(r rune) bool {
		return r <= ' ' || r == '/' || r == '*' || r == '>' || r == ',' || r == ':' || r > '~'
	}); i >= 0 {
		return fmt.Errorf("%s %q: character %q not allowed (use letters, digits, '.', '-', '_')", setting, v, v[i])
	}
	return nil
}

// ParseLevel reads a log level name.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log_level %q: want debug, info, warn or error", s)
}

// ResolveAgentID fills AgentID when no flag, env or file set it: the cloud
// instance name (GCE name or EC2 instance id), else the hostname.
func (c *Config) ResolveAgentID(cloudName, hostname string) error {
	if c.AgentID == "" {
		c.AgentID = cloudName
	}
	if c.AgentID == "" {
		c.AgentID = hostname
	}
	if c.AgentID == "" {
		return fmt.Errorf("agent_id: not set, and neither a cloud instance name nor a hostname is known")
	}
	return checkName("agent_id", c.AgentID)
}

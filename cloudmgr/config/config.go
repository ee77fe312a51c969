// Package config reads cloudmgr's YAML configuration file: its identity, the
// masters it watches (installations), the providers it creates machines with,
// and where the pool policies live. Load reports every problem at once, each
// with file:line and the reason.
package config

import "time"

// Defaults for the fields a config file leaves out.
const (
	DefaultListen       = "127.0.0.1:9090"
	DefaultPollInterval = 10 * time.Second
	DefaultPollTimeout  = 5 * time.Second
	DefaultStaleAfter   = 45 * time.Second
	DefaultTickInterval = 5 * time.Second
)

// Config is cloudmgr's configuration.
type Config struct {
	// Path is the file the config was read from.
	Path string
	// ID is the owner label put on every instance this cloudmgr creates.
	ID string
	// Listen is the address of the metrics, health and status server.
	Listen string
	// PollInterval is how often each installation's master is polled (±10% jitter).
	PollInterval time.Duration
	// PollTimeout bounds one poll.
	PollTimeout time.Duration
	// StaleAfter: status older than this is stale, and the pools hold.
	StaleAfter time.Duration
	// TickInterval is how often the scaling loop runs.
	TickInterval time.Duration
	// Policies is the policy file or folder, resolved against the config file's folder.
	Policies string
	// Providers are the configured providers, in file order.
	Providers []Provider
	// Installations are the watched masters, in file order.
	Installations []Installation
}

// Provider is one configured provider.
type Provider struct {
	// Name is how policies refer to it.
	Name string
	// Type selects the implementation (local, fake, ...).
	Type string
	// Settings are type-specific; scalars are kept as written.
	Settings map[string]string
	// Dir is the config file's folder: relative paths in Settings are resolved
	// against it.
	Dir string
	// Source is where it was defined (file:line).
	Source string
}

// Installation is one watched master (a tenant), or with source: activemq
// one installation's pool queues on an ActiveMQ broker.
type Installation struct {
	// Name is the installation's name, as policies refer to it.
	Name string
	// MasterURL is the master's base URL (http or https).
	MasterURL string
	// TokenEnv or TokenFile say where the master's bearer token is.
	TokenEnv  string
	TokenFile string
	// Token is the master's bearer token, read from TokenEnv or TokenFile
	// ("" when neither is given: the master is called without one).
	Token string
	// Agent is handed to every machine of the installation.
	Agent Agent
	// Events says whether and how cloudmgr subscribes to the installation's
	// pool-change events.
	Events Events
	// StatusSource is where the pool status comes from (the `source` field):
	// SourceMaster (default) or SourceActiveMQ, which reads ActiveMQ.
	StatusSource string
	// ActiveMQ configures SourceActiveMQ (nil otherwise).
	ActiveMQ *ActiveMQSource
	// Source is where it was defined (file:line).
	Source string
}

// Agent is the configuration every agent of an installation receives.
type Agent struct {
	// BrokerURL is the STOMP broker the agents connect to.
	BrokerURL string
	// Prefix is the installation's destination prefix (default: the installation name).
	Prefix string
	// TokenEnv or TokenFile say where the agent registration token is (optional).
	TokenEnv  string
	TokenFile string
	// Token is the agent registration token, read from TokenEnv or TokenFile.
	Token string
	// Env holds extra environment variables for the agents.
	Env map[string]string
}

// Provider returns the provider of that name, or nil.
func (c *Config) Provider(name string) *Provider {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i]
		}
	}
	return nil
}

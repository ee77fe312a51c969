package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// setting is one configuration value with its names in each source.
type setting struct {
	key   string // YAML key; the flag is the key with '_' as '-'
	env   string // environment variable
	usage string
	bool  bool
	set   func(c *Config, v string) error
	get   func(c *Config) string
}

func (s setting) flag() string { return strings.ReplaceAll(s.key, "_", "-") }

func strSetting(key, env, usage string, field func(*Config) *string) setting {
	return setting{key: key, env: env, usage: usage,
		set: func(c *Config, v string) error { *field(c) = v; return nil },
		get: func(c *Config) string { return *field(c) },
	}
}

func durSetting(key, env, usage string, field func(*Config) *time.Duration) setting {
	return setting{key: key, env: env, usage: usage,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid duration %q (want e.g. 5s, 1m30s)", v)
			}
			*field(c) = d
			return nil
		},
		get: func(c *Config) string { return field(c).String() },
	}
}

func boolSetting(key, env, usage string, field func(*Config) *bool) setting {
	return setting{key: key, env: env, usage: usage, bool: true,
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid boolean %q (want true or false)", v)
			}
			*field(c) = b
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

// settings lists every setting; it is built per call (no package state).
func settings() []setting {
	return []setting{
		strSetting("broker_url", "AGENTCLOUD_BROKER_URL", "broker `URL`: stomp://host:port or stomp+ssl://host:port",
			func(c *Config) *string { return &c.BrokerURL }),
		strSetting("broker_login", "AGENTCLOUD_BROKER_LOGIN", "broker `login`", func(c *Config) *string { return &c.BrokerLogin }),
		strSetting("broker_passcode", "AGENTCLOUD_BROKER_PASSCODE", "broker `passcode`", func(c *Config) *string { return &c.BrokerPasscode }),
		boolSetting("broker_client_ack", "AGENTCLOUD_BROKER_CLIENT_ACK", "client-individual acks and prefetch 1 (external brokers such as ActiveMQ)",
			func(c *Config) *bool { return &c.BrokerClientAck }),
		boolSetting("broker_receipts", "AGENTCLOUD_BROKER_RECEIPTS", "wait for the broker's receipt on every send",
			func(c *Config) *bool { return &c.BrokerReceipts }),
		strSetting("broker_ca_file", "AGENTCLOUD_BROKER_CA_FILE", "PEM `file` of CAs for stomp+ssl (default: system CAs)",
			func(c *Config) *string { return &c.BrokerCAFile }),
		strSetting("prefix", "AGENTCLOUD_PREFIX", "installation `prefix` of the STOMP destinations", func(c *Config) *string { return &c.Prefix }),
		strSetting("pool", "AGENTCLOUD_POOL", "`pool` name", func(c *Config) *string { return &c.Pool }),
		strSetting("agent_id", "AGENTCLOUD_AGENT_ID", "agent `id` (default: cloud instance name, else hostname)",
			func(c *Config) *string { return &c.AgentID }),
		strSetting("instance", "AGENTCLOUD_INSTANCE", "provider instance `id`", func(c *Config) *string { return &c.Instance }),
		strSetting("token", "AGENTCLOUD_TOKEN", "agent registration `token`", func(c *Config) *string { return &c.Token }),
		strSetting("work_dir", "AGENTCLOUD_WORK_DIR", "`dir` where compositions run", func(c *Config) *string { return &c.WorkDir }),
		strSetting("facts_dir", "AGENTCLOUD_FACTS_DIR", "external facts `dir` (facts.d)", func(c *Config) *string { return &c.FactsDir }),
		strSetting("plugins_dir", "AGENTCLOUD_PLUGINS_DIR", "external plugins `dir`", func(c *Config) *string { return &c.PluginsDir }),
		durSetting("heartbeat", "AGENTCLOUD_HEARTBEAT", "heartbeat `interval`", func(c *Config) *time.Duration { return &c.Heartbeat }),
		durSetting("shutdown_grace", "AGENTCLOUD_SHUTDOWN_GRACE", "on SIGTERM, how long (a `duration`) the running composition may still run",
			func(c *Config) *time.Duration { return &c.ShutdownGrace }),
		durSetting("facts_timeout", "AGENTCLOUD_FACTS_TIMEOUT", "`timeout` of each executable external fact",
			func(c *Config) *time.Duration { return &c.FactsTimeout }),
		boolSetting("cloud_facts", "AGENTCLOUD_CLOUD_FACTS", "probe the GCE and EC2 metadata servers",
			func(c *Config) *bool { return &c.CloudFacts }),
		durSetting("cloud_timeout", "AGENTCLOUD_CLOUD_TIMEOUT", "`timeout` of the metadata probes",
			func(c *Config) *time.Duration { return &c.CloudTimeout }),
		strSetting("gce_metadata_url", "AGENTCLOUD_GCE_METADATA_URL", "GCE metadata base `URL` (\"-\" skips GCE)",
			func(c *Config) *string { return &c.GCEMetadataURL }),
		strSetting("ec2_metadata_url", "AGENTCLOUD_EC2_METADATA_URL", "EC2 metadata base `URL` (\"-\" skips EC2)",
			func(c *Config) *string { return &c.EC2MetadataURL }),
		strSetting("log_level", "AGENTCLOUD_LOG_LEVEL", "log `level`: debug, info, warn, error", func(c *Config) *string { return &c.LogLevel }),
		strSetting("log_format", "AGENTCLOUD_LOG_FORMAT", "log `format`: text or json", func(c *Config) *string { return &c.LogFormat }),
	}
}

// ConfigEnv names the config file in the environment (the -config flag wins).
const ConfigEnv = "AGENTCLOUD_CONFIG"

// flagValue records a flag's text; settings are applied after env and file.
type flagValue struct {
	s     setting
	def   string
	value *string
}

// String is the flag's text, or its default.
func (f *flagValue) String() string {
	if f == nil || f.value == nil {
		return ""
	}
	if *f.value == "" {
		return f.def
	}
	return *f.value
}

// Set records the flag's text.
func (f *flagValue) Set(v string) error { *f.value = v; return nil }

// IsBoolFlag lets boolean settings be given as a bare -flag.
func (f *flagValue) IsBoolFlag() bool { return f.s.bool }

// Load reads the configuration: defaults, then the YAML file (-config or
// AGENTCLOUD_CONFIG), then the environment, then the flags in args. lookupEnv
// is os.LookupEnv in production. It returns the remaining positional
// arguments. Errors name the source and setting: "flag -heartbeat: ...",
// "env AGENTCLOUD_POOL: ...", "agent.yaml:3: heartbeat: ...".
func Load(name string, args []string, lookupEnv func(string) (string, bool), output io.Writer) (Config, []string, error) {
	cfg := Defaults()
	all := settings()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	configFile := fs.String("config", "", "YAML config `file` (env "+ConfigEnv+")")
	values := make([]string, len(all))
	seen := map[string]bool{}
	for i, s := range all {
		def := s.get(&cfg)
		if s.bool && def == "false" {
			def = "" // not shown as a default, like flag.Bool
		}
		fs.Var(&flagValue{s: s, def: def, value: &values[i]}, s.flag(), s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	fs.Visit(func(f *flag.Flag) { seen[f.Name] = true })

	path := *configFile
	if !seen["config"] {
		path, _ = lookupEnv(ConfigEnv)
	}
	if path != "" {
		if err := applyFile(&cfg, all, path); err != nil {
			return cfg, nil, err
		}
		cfg.File = path
	}
	for _, s := range all {
		if v, ok := lookupEnv(s.env); ok && v != "" {
			if err := s.set(&cfg, v); err != nil {
				return cfg, nil, fmt.Errorf("env %s: %w", s.env, err)
			}
		}
	}
	for i, s := range all {
		if seen[s.flag()] {
			if err := s.set(&cfg, values[i]); err != nil {
				return cfg, nil, fmt.Errorf("flag -%s: %w", s.flag(), err)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), nil
}

// applyFile reads a YAML mapping of setting keys to scalar values.
func applyFile(cfg *Config, all []setting, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of settings", path, m.Line)
	}
	byKey := map[string]setting{}
	for _, s := range all {
		byKey[s.key] = s
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		s, ok := byKey[k.Value]
		if !ok {
			return fmt.Errorf("%s:%d: unknown setting %q (known: %s)", path, k.Line, k.Value, knownKeys(all))
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s:%d: %s: want a single value", path, v.Line, k.Value)
		}
		if err := s.set(cfg, v.Value); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, v.Line, k.Value, err)
		}
	}
	return nil
}

func knownKeys(all []setting) string {
	keys := make([]string, len(all))
	for i, s := range all {
		keys[i] = s.key
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

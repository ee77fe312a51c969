// Package config reads the settings of `master serve`. Every setting comes,
// from lowest to highest precedence, from its default, a YAML file (-config,
// or env AGENTCLOUD_MASTER_CONFIG), an environment variable, and a flag:
//
//	flag                      env                                  YAML key                 default
//	-listen                   AGENTCLOUD_MASTER_LISTEN             listen                   127.0.0.1:8080
//	-data-dir                 AGENTCLOUD_MASTER_DATA_DIR           data_dir                 ./data
//	-prefix                   AGENTCLOUD_PREFIX                    prefix                   default
//	-broker-listen            AGENTCLOUD_MASTER_BROKER_LISTEN      broker_listen            127.0.0.1:61613
//	-broker-url               AGENTCLOUD_BROKER_URL                broker_url               (embedded broker)
//	-broker-credentials-file  AGENTCLOUD_BROKER_CREDENTIALS_FILE   broker_credentials_file
//	(none)                    AGENTCLOUD_BROKER_LOGIN, _PASSCODE   broker_login, broker_passcode
//	-agent-token              AGENTCLOUD_TOKEN                     agent_token
//	-tokens-file              AGENTCLOUD_MASTER_TOKENS_FILE        tokens_file
//	(none)                    AGENTCLOUD_MASTER_TOKENS             tokens (a list)
//	-accept-timeout           AGENTCLOUD_ACCEPT_TIMEOUT            accept_timeout           15s
//	-heartbeat-timeout        AGENTCLOUD_HEARTBEAT_TIMEOUT         heartbeat_timeout        30s
//	-retain                   AGENTCLOUD_MASTER_RETAIN             retain                   720h (0: forever)
//	-insecure                 AGENTCLOUD_MASTER_INSECURE           insecure                 false
//	-log-level                AGENTCLOUD_LOG_LEVEL                 log_level                info
//
// A -broker-url (stomp://host:port or stomp+ssl://host:port) selects an
// external broker; without one the master runs an embedded broker on
// -broker-listen. The broker credentials file holds "login=..." and
// "passcode=..." lines. API tokens are the union of AGENTCLOUD_MASTER_TOKENS
// (comma-separated), the YAML list and the tokens file (one per line; blank
// lines and # comments ignored). Without any token the master refuses to
// start unless -insecure is given.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Serve is the configuration of `master serve`.
type Serve struct {
	Listen           string
	DataDir          string
	Prefix           string
	BrokerListen     string
	BrokerURL        string // empty: embedded broker
	BrokerLogin      string
	BrokerPasscode   string
	AgentToken       string
	Tokens           []string // API bearer tokens
	AcceptTimeout    time.Duration
	HeartbeatTimeout time.Duration
	// Retain is how long finished compositions and their output are kept (0: forever).
	Retain   time.Duration
	Insecure bool
	LogLevel slog.Level
}

// file is the YAML layout.
type file struct {
	Listen                string   `yaml:"listen"`
	DataDir               string   `yaml:"data_dir"`
	Prefix                string   `yaml:"prefix"`
	BrokerListen          string   `yaml:"broker_listen"`
	BrokerURL             string   `yaml:"broker_url"`
	BrokerCredentialsFile string   `yaml:"broker_credentials_file"`
	BrokerLogin           string   `yaml:"broker_login"`
	BrokerPasscode        string   `yaml:"broker_passcode"`
	AgentToken            string   `yaml:"agent_token"`
	TokensFile            string   `yaml:"tokens_file"`
	Tokens                []string `yaml:"tokens"`
	AcceptTimeout         string   `yaml:"accept_timeout"`
	HeartbeatTimeout      string   `yaml:"heartbeat_timeout"`
	Retain                string   `yaml:"retain"`
	Insecure              *bool    `yaml:"insecure"`
	LogLevel              string   `yaml:"log_level"`
}

// setting is one flag/env/YAML triple, read as text.
type setting struct {
	flag, env, def, usage string
	isBool                bool
	yaml                  func(*file) string
}

func settingsTable() []setting {
	return []setting{
		{flag: "listen", env: "AGENTCLOUD_MASTER_LISTEN", def: "127.0.0.1:8080", usage: "HTTP API address",
			yaml: func(f *file) string { return f.Listen }},
		{flag: "data-dir", env: "AGENTCLOUD_MASTER_DATA_DIR", def: "data", usage: "directory of the master's database",
			yaml: func(f *file) string { return f.DataDir }},
		{flag: "prefix", env: "AGENTCLOUD_PREFIX", def: "agentcloud", usage: "installation prefix of the STOMP destinations",
			yaml: func(f *file) string { return f.Prefix }},
		{flag: "broker-listen", env: "AGENTCLOUD_MASTER_BROKER_LISTEN", def: "127.0.0.1:61613", usage: "address of the embedded STOMP broker",
			yaml: func(f *file) string { return f.BrokerListen }},
		{flag: "broker-url", env: "AGENTCLOUD_BROKER_URL", usage: "external broker, stomp:// or stomp+ssl:// (empty: run the embedded one)",
			yaml: func(f *file) string { return f.BrokerURL }},
		{flag: "broker-credentials-file", env: "AGENTCLOUD_BROKER_CREDENTIALS_FILE", usage: "file with login=... and passcode=... lines for the external broker",
			yaml: func(f *file) string { return f.BrokerCredentialsFile }},
		{flag: "agent-token", env: "AGENTCLOUD_TOKEN", usage: "token agents must present to register (empty: none)",
			yaml: func(f *file) string { return f.AgentToken }},
		{flag: "tokens-file", env: "AGENTCLOUD_MASTER_TOKENS_FILE", usage: "file of API bearer tokens, one per line",
			yaml: func(f *file) string { return f.TokensFile }},
		{flag: "accept-timeout", env: "AGENTCLOUD_ACCEPT_TIMEOUT", def: "15s", usage: "how long an assignment may wait to be accepted",
			yaml: func(f *file) string { return f.AcceptTimeout }},
		{flag: "heartbeat-timeout", env: "AGENTCLOUD_HEARTBEAT_TIMEOUT", def: "30s", usage: "how long an agent may be silent before it is lost",
			yaml: func(f *file) string { return f.HeartbeatTimeout }},
		{flag: "retain", env: "AGENTCLOUD_MASTER_RETAIN", def: "720h", usage: "how long finished compositions and their output are kept (0: forever)",
			yaml: func(f *file) string { return f.Retain }},
		{flag: "insecure", env: "AGENTCLOUD_MASTER_INSECURE", def: "false", isBool: true, usage: "serve the API without tokens when none is configured",
			yaml: func(f *file) string {
				if f.Insecure == nil {
					return ""
				}
				return strconv.FormatBool(*f.Insecure)
			}},
		{flag: "log-level", env: "AGENTCLOUD_LOG_LEVEL", def: "info", usage: "debug, info, warn or error",
			yaml: func(f *file) string { return f.LogLevel }},
	}
}

// textFlag is a flag read as text that knows whether it was given.
type textFlag struct {
	value  string
	set    bool
	isBool bool
}

func (f *textFlag) String() string     { return f.value }
func (f *textFlag) Set(v string) error { f.value, f.set = v, true; return nil }
func (f *textFlag) IsBoolFlag() bool   { return f.isBool }

// sourced is a setting's text and where it came from, for error messages.
type sourced struct {
	value, from string
}

// LoadServe reads the settings from args (after "serve"), getenv and the
// YAML file they name. Flag usage goes to usage.
func LoadServe(args []string, getenv func(string) string, usage io.Writer) (Serve, error) {
	fs := flag.NewFlagSet("master serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	cfgPath := fs.String("config", getenv("AGENTCLOUD_MASTER_CONFIG"), "YAML configuration file (env AGENTCLOUD_MASTER_CONFIG)")
	table := settingsTable()
	flags := map[string]*textFlag{}
	for _, s := range table {
		f := &textFlag{isBool: s.isBool}
		flags[s.flag] = f
		help := fmt.Sprintf("%s (env %s)", s.usage, s.env)
		if s.def != "" && !s.isBool {
			help = fmt.Sprintf("%s (env %s; default %s)", s.usage, s.env, s.def)
		}
		fs.Var(f, s.flag, help)
	}
	if err := fs.Parse(args); err != nil {
		return Serve{}, err
	}
	if fs.NArg() > 0 {
		return Serve{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var y file
	if *cfgPath != "" {
		var err error
		if y, err = readFile(*cfgPath); err != nil {
			return Serve{}, err
		}
	}
	v := map[string]sourced{}
	for _, s := range table {
		cur := sourced{value: s.def, from: "default"}
		if yv := s.yaml(&y); yv != "" {
			cur = sourced{value: yv, from: fmt.Sprintf("%s: %s", *cfgPath, strings.ReplaceAll(s.flag, "-", "_"))}
		}
		if ev := getenv(s.env); ev != "" {
			cur = sourced{value: ev, from: "env " + s.env}
		}
		if f := flags[s.flag]; f.set {
			cur = sourced{value: f.value, from: "-" + s.flag}
		}
		v[s.flag] = cur
	}
	return build(v, &y, flags, getenv)
}

// build turns the resolved text settings into a Serve.
func build(v map[string]sourced, y *file, flags map[string]*textFlag, getenv func(string) string) (Serve, error) {
	c := Serve{
		Listen:       v["listen"].value,
		DataDir:      v["data-dir"].value,
		Prefix:       v["prefix"].value,
		BrokerListen: v["broker-listen"].value,
		BrokerURL:    v["broker-url"].value,
		AgentToken:   v["agent-token"].value,
	}
	var err error
	if c.AcceptTimeout, err = duration(v["accept-timeout"]); err != nil {
		return Serve{}, err
	}
	if c.HeartbeatTimeout, err = duration(v["heartbeat-timeout"]); err != nil {
		return Serve{}, err
	}
	ret := v["retain"]
	if c.Retain, err = time.ParseDuration(ret.value); err != nil || c.Retain < 0 || (c.Retain > 0 && c.Retain < time.Minute) {
		return Serve{}, fmt.Errorf("%s: want a duration of at least 1m such as 720h, or 0 to keep finished compositions forever, got %q", ret.from, ret.value)
	}
	ins := v["insecure"]
	if c.Insecure, err = strconv.ParseBool(ins.value); err != nil {
		return Serve{}, fmt.Errorf("%s: want true or false, got %q", ins.from, ins.value)
	}
	lvl := v["log-level"]
	if err := c.LogLevel.UnmarshalText([]byte(lvl.value)); err != nil {
		return Serve{}, fmt.Errorf("%s: want debug, info, warn or error, got %q", lvl.from, lvl.value)
	}
	if c.Prefix == "" || strings.ContainsAny(c.Prefix, "/ \t") {
		return Serve{}, fmt.Errorf("%s: the prefix must be non-empty without '/' or spaces, got %q", v["prefix"].from, c.Prefix)
	}
	if c.DataDir == "" {
		return Serve{}, fmt.Errorf("%s: the data directory must not be empty", v["data-dir"].from)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return Serve{}, fmt.Errorf("%s: want host:port, got %q", v["listen"].from, c.Listen)
	}
	if c.BrokerURL == "" {
		if _, _, err := net.SplitHostPort(c.BrokerListen); err != nil {
			return Serve{}, fmt.Errorf("%s: want host:port, got %q", v["broker-listen"].from, c.BrokerListen)
		}
	} else {
		if flags["broker-listen"].set {
			return Serve{}, errors.New("-broker-listen and -broker-url exclude each other: the first runs an embedded broker, the second uses an external one")
		}
		if !strings.HasPrefix(c.BrokerURL, "stomp://") && !strings.HasPrefix(c.BrokerURL, "stomp+ssl://") && !strings.HasPrefix(c.BrokerURL, "tcp://") {
			return Serve{}, fmt.Errorf("%s: want stomp://host:port or stomp+ssl://host:port, got %q", v["broker-url"].from, c.BrokerURL)
		}
	}

	// Broker credentials: YAML, then the credentials file, then env.
	c.BrokerLogin, c.BrokerPasscode = y.BrokerLogin, y.BrokerPasscode
	if cf := v["broker-credentials-file"]; cf.value != "" {
		login, pass, err := readCredentials(cf.value)
		if err != nil {
			return Serve{}, fmt.Errorf("%s: %w", cf.from, err)
		}
		c.BrokerLogin, c.BrokerPasscode = login, pass
	}
	if l := getenv("AGENTCLOUD_BROKER_LOGIN"); l != "" {
		c.BrokerLogin = l
	}
	if p := getenv("AGENTCLOUD_BROKER_PASSCODE"); p != "" {
		c.BrokerPasscode = p
	}

	// API tokens: the union of every source.
	c.Tokens = append(c.Tokens, y.Tokens...)
	for _, t := range strings.Split(getenv("AGENTCLOUD_MASTER_TOKENS"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Tokens = append(c.Tokens, t)
		}
	}
	if tf := v["tokens-file"]; tf.value != "" {
		toks, err := readTokens(tf.value)
		if err != nil {
			return Serve{}, fmt.Errorf("%s: %w", tf.from, err)
		}
		c.Tokens = append(c.Tokens, toks...)
	}
	if len(c.Tokens) == 0 && !c.Insecure {
		return Serve{}, errors.New("no API token configured: set AGENTCLOUD_MASTER_TOKENS or -tokens-file, or give -insecure to serve the API without authentication")
	}
	return c, nil
}

func duration(s sourced) (time.Duration, error) {
	d, err := time.ParseDuration(s.value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: want a positive duration such as 15s, got %q", s.from, s.value)
	}
	return d, nil
}

// readFile reads the YAML configuration; unknown keys are errors with their line.
func readFile(path string) (file, error) {
	var f file
	data, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("reading config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("config file %s: %w", path, err)
	}
	return f, nil
}

// readTokens reads one token per line; blank lines and # comments are skipped.
func readTokens(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading tokens file: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tokens file %s holds no token", path)
	}
	return out, nil
}

// readCredentials reads login=... and passcode=... lines.
func readCredentials(path string) (login, passcode string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("reading broker credentials file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		switch strings.TrimSpace(key) {
		case "login":
			login = strings.TrimSpace(val)
		case "passcode":
			passcode = strings.TrimSpace(val)
		default:
			ok = false
		}
		if !ok {
			return "", "", fmt.Errorf("broker credentials file %s line %d: want login=... or passcode=...", path, n)
		}
	}
	if login == "" {
		return "", "", fmt.Errorf("broker credentials file %s has no login= line", path)
	}
	return login, passcode, nil
}

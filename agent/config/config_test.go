package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	cfg, rest, err := Load("agent", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Errorf("rest = %v", rest)
	}
	d := Defaults()
	if cfg.BrokerURL != d.BrokerURL || cfg.Heartbeat != 5*time.Second || cfg.ShutdownGrace != 60*time.Second ||
		cfg.FactsTimeout != 10*time.Second || !cfg.CloudFacts || cfg.AgentID != "" {
		t.Errorf("defaults = %+v", cfg)
	}
}

// TestPrecedence sets each setting in several sources; the strongest wins:
// flags > env > file > defaults.
func TestPrecedence(t *testing.T) {
	file := writeConfig(t, `
broker_url: stomp://file:1
pool: file-pool
prefix: file-prefix
agent_id: file-id
heartbeat: 7s
work_dir: /file/work
cloud_facts: false
`)
	e := env(map[string]string{
		"AGENTCLOUD_CONFIG":     file,
		"AGENTCLOUD_BROKER_URL": "stomp://env:2",
		"AGENTCLOUD_POOL":       "env-pool",
		"AGENTCLOUD_AGENT_ID":   "env-id",
		"AGENTCLOUD_TOKEN":      "env-token",
	})
	cfg, _, err := Load("agent", []string{"-pool", "flag-pool", "-shutdown-grace=2s", "-cloud-facts"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"pool (flag over env and file)", cfg.Pool, "flag-pool"},
		{"broker_url (env over file)", cfg.BrokerURL, "stomp://env:2"},
		{"agent_id (env over file)", cfg.AgentID, "env-id"},
		{"prefix (file over default)", cfg.Prefix, "file-prefix"},
		{"work_dir (file)", cfg.WorkDir, "/file/work"},
		{"token (env)", cfg.Token, "env-token"},
		{"heartbeat (file)", cfg.Heartbeat.String(), "7s"},
		{"shutdown_grace (flag)", cfg.ShutdownGrace.String(), "2s"},
		{"facts_timeout (default)", cfg.FactsTimeout.String(), "10s"},
		{"cloud_facts (flag over file)", boolString(cfg.CloudFacts), "true"},
		{"file", cfg.File, file},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestConfigFlagBeatsConfigEnv(t *testing.T) {
	envFile := writeConfig(t, "pool: from-env-file\n")
	flagFile := writeConfig(t, "pool: from-flag-file\n")
	cfg, _, err := Load("agent", []string{"-config", flagFile}, env(map[string]string{"AGENTCLOUD_CONFIG": envFile}), io.Discard)
	if err != nil || cfg.Pool != "from-flag-file" {
		t.Errorf("pool = %q, err %v; want from-flag-file", cfg.Pool, err)
	}
}

func TestEmptyEnvIsUnset(t *testing.T) {
	cfg, _, err := Load("agent", nil, env(map[string]string{"AGENTCLOUD_POOL": ""}), io.Discard)
	if err != nil || cfg.Pool != "default" {
		t.Errorf("pool = %q, err %v", cfg.Pool, err)
	}
}

func TestErrorsNameSourceAndSetting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{"bad flag duration", []string{"-heartbeat", "often"}, nil, "", `flag -heartbeat: invalid duration "often"`},
		{"bad env duration", nil, map[string]string{"AGENTCLOUD_SHUTDOWN_GRACE": "1 minute"}, "", `env AGENTCLOUD_SHUTDOWN_GRACE: invalid duration "1 minute"`},
		{"bad env bool", nil, map[string]string{"AGENTCLOUD_CLOUD_FACTS": "maybe"}, "", `env AGENTCLOUD_CLOUD_FACTS: invalid boolean "maybe"`},
		{"bad file duration", nil, nil, "pool: p\nheartbeat: soon\n", `:2: heartbeat: invalid duration "soon"`},
		{"unknown file key", nil, nil, "pool: p\n\nhartbeat: 5s\n", `:3: unknown setting "hartbeat"`},
		{"file value not scalar", nil, nil, "pool: [a, b]\n", `:1: pool: want a single value`},
		{"file not a mapping", nil, nil, "- a\n", `want a mapping of settings`},
		{"file not yaml", nil, nil, "pool: [\n", `agent.yaml`},
		{"missing file", []string{"-config", "/nonexistent/agent.yaml"}, nil, "", `reading config file`},
		{"bad scheme", []string{"-broker-url", "http://x:1"}, nil, "", `broker_url "http://x:1": scheme must be stomp or stomp+ssl`},
		{"no port", []string{"-broker-url", "stomp://x"}, nil, "", `broker_url "stomp://x": want host:port`},
		{"bad pool", []string{"-pool", "a/b"}, nil, "", `pool "a/b": character '/' not allowed`},
		{"empty prefix", []string{"-prefix", ""}, nil, "", `prefix: must not be empty`},
		{"bad agent id", nil, map[string]string{"AGENTCLOUD_AGENT_ID": "my agent"}, "", `agent_id "my agent": character ' ' not allowed`},
		{"zero heartbeat", []string{"-heartbeat", "0s"}, nil, "", `heartbeat: must be positive`},
		{"bad log level", []string{"-log-level", "loud"}, nil, "", `log_level "loud"`},
		{"unknown flag", []string{"-colour", "red"}, nil, "", `flag provided but not defined: -colour`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range tt.env {
				e[k] = v
			}
			if tt.file != "" {
				e["AGENTCLOUD_CONFIG"] = writeConfig(t, tt.file)
			}
			_, _, err := Load("agent", tt.args, env(e), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResolveAgentID(t *testing.T) {
	tests := []struct {
		set, cloud, host, want, err string
	}{
		{"given", "cloud-name", "host", "given", ""},
		{"", "cloud-name", "host", "cloud-name", ""},
		{"", "", "host", "host", ""},
		{"", "", "", "", "agent_id: not set"},
		{"", "", "bad host", "", `agent_id "bad host"`},
	}
	for _, tt := range tests {
		cfg := Defaults()
		cfg.AgentID = tt.set
		err := cfg.ResolveAgentID(tt.cloud, tt.host)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolveAgentID(%q, %q, %q) err = %v, want %q", tt.set, tt.cloud, tt.host, err, tt.err)
			}
			continue
		}
		if err != nil || cfg.AgentID != tt.want {
			t.Errorf("ResolveAgentID(%q, %q, %q) = %q, %v; want %q", tt.set, tt.cloud, tt.host, cfg.AgentID, err, tt.want)
		}
	}
}

func TestPositionalArgsReturned(t *testing.T) {
	_, rest, err := Load("agent", []string{"-pool", "p", "facts"}, env(nil), io.Discard)
	if err != nil || len(rest) != 1 || rest[0] != "facts" {
		t.Errorf("rest = %v, err %v", rest, err)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

package config

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := LoadServe([]string{"-insecure"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Serve{Listen: "127.0.0.1:8080", DataDir: "data", Prefix: "agentcloud", BrokerListen: "127.0.0.1:61613",
		AcceptTimeout: 15 * time.Second, HeartbeatTimeout: 30 * time.Second, Retain: 720 * time.Hour, Insecure: true}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	tokens := write(t, "tokens", "# ops\nfile-token\n\n")
	cfg := write(t, "master.yaml", `
listen: 127.0.0.1:9000
data_dir: /var/lib/m
prefix: fromfile
accept_timeout: 20s
heartbeat_timeout: 40s
tokens: [yaml-token]
tokens_file: `+tokens+`
agent_token: file-agent
log_level: debug
retain: 0
`)
	e := env(map[string]string{
		"AGENTCLOUD_MASTER_CONFIG":  cfg,
		"AGENTCLOUD_PREFIX":         "fromenv",
		"AGENTCLOUD_ACCEPT_TIMEOUT": "25s",
		"AGENTCLOUD_MASTER_TOKENS":  "env-a, env-b",
		"AGENTCLOUD_TOKEN":          "env-agent",
	})
	c, err := LoadServe([]string{"-accept-timeout", "5s", "-listen", "127.0.0.1:9001"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9001" || c.DataDir != "/var/lib/m" || c.Prefix != "fromenv" ||
		c.AcceptTimeout != 5*time.Second || c.HeartbeatTimeout != 40*time.Second || c.AgentToken != "env-agent" ||
		c.LogLevel.String() != "DEBUG" || c.Retain != 0 {
		t.Fatalf("got %+v", c)
	}
	if !reflect.DeepEqual(c.Tokens, []string{"yaml-token", "env-a", "env-b", "file-token"}) {
		t.Fatalf("tokens = %v", c.Tokens)
	}
}

func TestExternalBroker(t *testing.T) {
	creds := write(t, "creds", "login = ci\npasscode=p=w\n")
	c, err := LoadServe([]string{"-insecure", "-broker-url", "stomp+ssl://mq:61614", "-broker-credentials-file", creds}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.BrokerURL != "stomp+ssl://mq:61614" || c.BrokerLogin != "ci" || c.BrokerPasscode != "p=w" {
		t.Fatalf("got %+v", c)
	}
	c, err = LoadServe([]string{"-insecure", "-broker-url", "stomp://mq:61613"},
		env(map[string]string{"AGENTCLOUD_BROKER_LOGIN": "u", "AGENTCLOUD_BROKER_PASSCODE": "p"}), io.Discard)
	if err != nil || c.BrokerLogin != "u" || c.BrokerPasscode != "p" {
		t.Fatalf("env credentials: %+v, %v", c, err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no token", nil, nil, "no API token configured"},
		{"bad duration flag", []string{"-insecure", "-accept-timeout", "soon"}, nil, `-accept-timeout: want a positive duration`},
		{"bad duration env", []string{"-insecure"}, map[string]string{"AGENTCLOUD_HEARTBEAT_TIMEOUT": "-1s"}, "env AGENTCLOUD_HEARTBEAT_TIMEOUT"},
		{"unknown yaml key", []string{"-insecure", "-config", write(t, "c.yaml", "listen: x:1\nlisen: y\n")}, nil, "line 2: field lisen not found"},
		{"bad yaml value", []string{"-insecure", "-config", write(t, "c.yaml", "heartbeat_timeout: often\n")}, nil, "c.yaml: heartbeat_timeout: want a positive duration"},
		{"both brokers", []string{"-insecure", "-broker-url", "stomp://x:1", "-broker-listen", "127.0.0.1:1"}, nil, "exclude each other"},
		{"bad broker url", []string{"-insecure", "-broker-url", "http://x:1"}, nil, "want stomp://host:port"},
		{"bad listen", []string{"-insecure", "-listen", "8080"}, nil, "-listen: want host:port"},
		{"bad prefix", []string{"-insecure", "-prefix", "a/b"}, nil, "prefix must be non-empty"},
		{"bad insecure env", nil, map[string]string{"AGENTCLOUD_MASTER_INSECURE": "maybe"}, "want true or false"},
		{"bad log level", []string{"-insecure", "-log-level", "loud"}, nil, "want debug, info"},
		{"empty tokens file", []string{"-tokens-file", write(t, "t", "# none\n")}, nil, "holds no token"},
		{"missing tokens file", []string{"-tokens-file", "/nonexistent"}, nil, "-tokens-file: reading tokens file"},
		{"bad credentials", []string{"-insecure", "-broker-url", "stomp://x:1", "-broker-credentials-file", write(t, "c", "user=x\n")}, nil, "line 1: want login="},
		{"negative retain", []string{"-insecure", "-retain", "-1h"}, nil, "-retain: want a duration of at least 1m"},
		{"tiny retain", []string{"-insecure", "-retain", "5s"}, nil, "-retain: want a duration of at least 1m"},
		{"bad retain env", []string{"-insecure"}, map[string]string{"AGENTCLOUD_MASTER_RETAIN": "a month"}, "env AGENTCLOUD_MASTER_RETAIN: want a duration"},
		{"stray argument", []string{"-insecure", "extra"}, nil, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		_, err := LoadServe(c.args, env(c.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

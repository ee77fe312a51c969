package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var types = []string{"local", "fake"}

const good = `id: cloudmgr-1
listen: 127.0.0.1:9191
poll_interval: 2s
poll_timeout: 1s
stale_after: 10s
tick_interval: 1s
policies: ./policies
providers:
  - name: local
    type: local
    settings: {dir: ./var/instances, command: "./bin/agent", stop_grace: 5s, cpus: 2}
installations:
  - name: demo
    master_url: http://127.0.0.1:8080/
    token_env: CFG_TEST_MASTER_TOKEN
    agent:
      broker_url: stomp://127.0.0.1:61613
      prefix: demo-prefix
      token_file: agent.token
      env: {EXTRA: value}
  - name: other
    master_url: https://master.example:8443
    agent:
      broker_url: stomp+ssl://127.0.0.1:61614
`

// write puts content in dir/cloudmgr.yaml and returns its path.
func write(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "cloudmgr.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadGood(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CFG_TEST_MASTER_TOKEN", " master-secret\n")
	if err := os.WriteFile(filepath.Join(dir, "agent.token"), []byte("agent-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, dir, good), types)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.ID != "cloudmgr-1" || c.Listen != "127.0.0.1:9191" {
		t.Errorf("id, listen = %q, %q", c.ID, c.Listen)
	}
	if c.PollInterval != 2*time.Second || c.PollTimeout != time.Second || c.StaleAfter != 10*time.Second || c.TickInterval != time.Second {
		t.Errorf("durations = %v %v %v %v", c.PollInterval, c.PollTimeout, c.StaleAfter, c.TickInterval)
	}
	if want := filepath.Join(dir, "policies"); c.Policies != want {
		t.Errorf("policies = %q, want %q (relative to the config file)", c.Policies, want)
	}
	if len(c.Providers) != 1 {
		t.Fatalf("providers = %+v", c.Providers)
	}
	p := c.Providers[0]
	if p.Name != "local" || p.Type != "local" || p.Dir != dir || p.Settings["command"] != "./bin/agent" || p.Settings["stop_grace"] != "5s" || p.Settings["cpus"] != "2" {
		t.Errorf("provider = %+v", p)
	}
	if !strings.HasSuffix(p.Source, "cloudmgr.yaml:9") {
		t.Errorf("provider source = %q, want line 9", p.Source)
	}
	if len(c.Installations) != 2 {
		t.Fatalf("installations = %+v", c.Installations)
	}
	demo := c.Installations[0]
	if demo.MasterURL != "http://127.0.0.1:8080" {
		t.Errorf("master_url = %q, want the trailing slash trimmed", demo.MasterURL)
	}
	if demo.Token != "master-secret" {
		t.Errorf("master token = %q, want it from the environment, trimmed", demo.Token)
	}
	if demo.Agent.Token != "agent-secret" {
		t.Errorf("agent token = %q, want it from the file next to the config", demo.Agent.Token)
	}
	if demo.Agent.Prefix != "demo-prefix" || demo.Agent.BrokerURL != "stomp://127.0.0.1:61613" || demo.Agent.Env["EXTRA"] != "value" {
		t.Errorf("agent = %+v", demo.Agent)
	}
	other := c.Installations[1]
	if other.Token != "" || other.Agent.Token != "" {
		t.Errorf("other tokens = %q %q, want none", other.Token, other.Agent.Token)
	}
	if other.Agent.Prefix != "other" {
		t.Errorf("other prefix = %q, want the installation name", other.Agent.Prefix)
	}
	if c.Provider("local") != &c.Providers[0] || c.Provider("nope") != nil {
		t.Error("Provider lookup")
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`id: a
policies: p.yaml
providers: [{name: f, type: fake}]
installations: [{name: x, master_url: "http://127.0.0.1:1", agent: {broker_url: "stomp://127.0.0.1:2"}}]
`), types)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.PollInterval != DefaultPollInterval || c.PollTimeout != DefaultPollTimeout ||
		c.StaleAfter != DefaultStaleAfter || c.TickInterval != DefaultTickInterval {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // each must appear in the error, in this order
	}{
		{
			name: "literal master token",
			yaml: `id: a
policies: p
providers: [{name: f, type: fake}]
installations:
  - name: x
    master_url: http://127.0.0.1:1
    token: s3cret
    agent: {broker_url: "stomp://127.0.0.1:2"}
`,
			want: []string{"c.yaml:7: installations[0].token: a literal token is not allowed in the config: use token_env or token_file"},
		},
		{
			name: "literal agent token",
			yaml: `id: a
policies: p
providers: [{name: f, type: fake}]
installations:
  - name: x
    master_url: http://127.0.0.1:1
    agent:
      broker_url: "stomp://127.0.0.1:2"
      token: s3cret
`,
			want: []string{"c.yaml:9: installations[0].agent.token: a literal token is not allowed"},
		},
		{
			name: "everything at once",
			yaml: `id: Bad_ID
listen: nowhere
poll_interval: soon
stale_after: -1s
policies: p
colour: blue
providers:
  - name: f
    type: gce
  - name: f
    type: fake
  - settings: {nested: {a: b}}
installations:
  - name: x
    master_url: ftp://127.0.0.1
    token_env: CFG_TEST_UNSET_VARIABLE
    agent:
      broker_url: http://127.0.0.1:2
      env: {AGENTCLOUD_POOL: p, "1BAD": v}
  - name: x
    master_url: http://127.0.0.1:1
    token_env: A
    token_file: B
`,
			want: []string{
				`c.yaml:1: id: want lowercase letters, digits and dashes`,
				`c.yaml:2: listen: want host:port, got "nowhere"`,
				`c.yaml:3: poll_interval: want a duration such as 10s, got "soon"`,
				`c.yaml:4: stale_after: must be positive`,
				`c.yaml:6: colour: unknown field`,
				`c.yaml:9: providers[0].type: unknown provider type "gce" (known: local, fake)`,
				`c.yaml:10: providers[1].name: provider f defined twice (first at c.yaml:8)`,
				`c.yaml:12: providers[2].settings.nested: want a string, got a mapping`,
				`c.yaml:12: providers[2].name: required`,
				`c.yaml:12: providers[2].type: required`,
				`c.yaml:15: installations[0].master_url: want an http or https URL`,
				`c.yaml:16: installations[0].token_env: environment variable CFG_TEST_UNSET_VARIABLE is not set or empty`,
				`c.yaml:18: installations[0].agent.broker_url: want stomp://host:port or stomp+ssl://host:port`,
				`c.yaml:19: installations[0].agent.env.1BAD: not a valid environment variable name`,
				`c.yaml:19: installations[0].agent.env.AGENTCLOUD_POOL: set by cloudmgr itself`,
				`c.yaml:20: installations[1].agent: required`,
				`c.yaml:20: installations[1].name: installation x defined twice (first at c.yaml:14)`,
				`c.yaml:22: installations[1]: give token_env or token_file, not both`,
			},
		},
		{
			name: "missing required",
			yaml: "listen: 127.0.0.1:1\n",
			want: []string{"c.yaml:1: id: required", "c.yaml:1: policies: required", "c.yaml:1: providers: required", "c.yaml:1: installations: required"},
		},
		{
			name: "stale shorter than poll",
			yaml: "id: a\npoll_interval: 1m\npolicies: p\nproviders: [{name: f, type: fake}]\ninstallations: [{name: x, master_url: 'http://h:1', agent: {broker_url: 'stomp://h:2'}}]\n",
			want: []string{"c.yaml:2: poll_interval: stale_after (45s) must be longer than poll_interval (1m0s)"},
		},
		{
			name: "token file missing",
			yaml: "id: a\npolicies: p\nproviders: [{name: f, type: fake}]\ninstallations:\n  - {name: x, master_url: 'http://h:1', token_file: /nonexistent/token, agent: {broker_url: 'stomp://h:2'}}\n",
			want: []string{"c.yaml:5: installations[0].token_file: cannot read /nonexistent/token: no such file or directory"},
		},
		{
			name: "bad yaml",
			yaml: "id: a\nproviders: [\n",
			want: []string{"c.yaml:2: bad YAML: did not find expected node content"},
		},
		{
			name: "empty",
			yaml: "",
			want: []string{"c.yaml: empty config file"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tc.yaml), types)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T is not Problems", err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("error lacks %q (or out of order); got:\n%s", w, msg)
					continue
				}
				rest = rest[i+len(w):]
			}
			if len(ps) < len(tc.want) {
				t.Errorf("got %d problems, want at least %d:\n%s", len(ps), len(tc.want), msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml: cannot read: no such file or directory") {
		t.Fatalf("err = %v", err)
	}
}

// The documented example stays valid.
func TestExample(t *testing.T) {
	t.Setenv("DEMO_MASTER_TOKEN", "m")
	t.Setenv("DEMO_AGENT_TOKEN", "a")
	c, err := Load(filepath.Join("testdata", "cloudmgr.example.yaml"), types)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Providers) != 2 || len(c.Installations) != 1 || c.Installations[0].Agent.Token != "a" ||
		c.Providers[0].Settings["env.AGENTCLOUD_FACTS_DIR"] == "" {
		t.Errorf("example = %+v", c)
	}
}

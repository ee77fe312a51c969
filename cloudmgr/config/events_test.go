package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestEventsDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`id: a
policies: p.yaml
providers: [{name: f, type: fake}]
installations:
  - {name: x, master_url: "http://127.0.0.1:1", agent: {broker_url: "stomp://127.0.0.1:2"}}
`), types)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Installations[0].Events
	if !e.Enabled || e.BrokerURL != "stomp://127.0.0.1:2" || e.Login != "" || e.Passcode != "" {
		t.Errorf("events = %+v, want enabled on the agents' broker without credentials", e)
	}
}

func TestEventsFields(t *testing.T) {
	t.Setenv("CFG_TEST_EV_LOGIN", "cloudmgr")
	t.Setenv("CFG_TEST_EV_PASS", " s3cret\n")
	c, err := Parse("c.yaml", []byte(`id: a
policies: p.yaml
providers: [{name: f, type: fake}]
installations:
  - name: x
    master_url: "http://127.0.0.1:1"
    agent: {broker_url: "stomp://127.0.0.1:2"}
    events_broker_url: stomp+ssl://broker.example:61614
    events_login_env: CFG_TEST_EV_LOGIN
    events_passcode_env: CFG_TEST_EV_PASS
  - name: y
    master_url: "http://127.0.0.1:1"
    agent: {broker_url: "stomp://127.0.0.1:2"}
    events: false
    events_login_env: CFG_TEST_UNSET_VARIABLE
`), types)
	if err != nil {
		t.Fatal(err)
	}
	x := c.Installations[0].Events
	want := Events{Enabled: true, BrokerURL: "stomp+ssl://broker.example:61614", LoginEnv: "CFG_TEST_EV_LOGIN",
		PasscodeEnv: "CFG_TEST_EV_PASS", Login: "cloudmgr", Passcode: "s3cret"}
	if x != want {
		t.Errorf("x events = %+v\nwant %+v", x, want)
	}
	if y := c.Installations[1].Events; y.Enabled || y.Login != "" {
		t.Errorf("y events = %+v, want disabled (and its unset login env not read)", y)
	}
}

func TestEventsProblems(t *testing.T) {
	_, err := Parse("c.yaml", []byte(`id: a
policies: p.yaml
providers: [{name: f, type: fake}]
installations:
  - name: x
    master_url: "http://127.0.0.1:1"
    agent: {broker_url: "stomp://127.0.0.1:2"}
    events: maybe
    events_broker_url: http://127.0.0.1:3
    events_passcode_env: CFG_TEST_UNSET_VARIABLE
    events_colour: blue
`), types)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	got := err.Error()
	for _, want := range []string{
		`c.yaml:8: installations[0].events: want true or false, got "maybe"`,
		`c.yaml:9: installations[0].events_broker_url: want stomp://host:port or stomp+ssl://host:port, got "http://127.0.0.1:3"`,
		`c.yaml:10: installations[0].events_passcode_env: environment variable CFG_TEST_UNSET_VARIABLE is not set or empty`,
		`c.yaml:11: installations[0].events_colour: unknown field (known: name, master_url, token_env, token_file, agent, events, events_broker_url`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

// A config named by a relative path anchors its relative paths absolutely:
// the local provider starts agents in their own work dirs.
func TestRelativeConfigPathAnchorsAbsolutely(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "id: a\npolicies: ./policies\nproviders: [{name: l, type: local, settings: {command: ../bin/agent}}]\n"+
		"installations: [{name: x, master_url: 'http://h:1', agent: {broker_url: 'stomp://h:2'}}]\n")
	t.Chdir(dir)
	c, err := Load("cloudmgr.yaml", types)
	if err != nil {
		t.Fatal(err)
	}
	if c.Policies != filepath.Join(dir, "policies") || c.Providers[0].Dir != dir {
		t.Errorf("policies %q, provider dir %q; want both under %s", c.Policies, c.Providers[0].Dir, dir)
	}
}

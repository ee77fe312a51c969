package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestActiveMQSource(t *testing.T) {
	t.Setenv("CFG_TEST_AMQ_LOGIN", "stats")
	t.Setenv("CFG_TEST_AMQ_PASS", " s3cret\n")
	c, err := Parse("c.yaml", []byte(`id: a
policies: p.yaml
providers: [{name: f, type: fake}]
installations:
  - name: legacy
    source: activemq
    activemq:
      broker_url: stomp://127.0.0.1:61613
      login_env: CFG_TEST_AMQ_LOGIN
      passcode_env: CFG_TEST_AMQ_PASS
      queue: /queue/jobs.{pool}
    agent: {broker_url: "stomp://127.0.0.1:61613"}
  - {name: ours, master_url: "http://127.0.0.1:1", agent: {broker_url: "stomp://127.0.0.1:2"}}
`), types)
	if err != nil {
		t.Fatal(err)
	}
	legacy, ours := c.Installations[0], c.Installations[1]
	want := &ActiveMQSource{BrokerURL: "stomp://127.0.0.1:61613", LoginEnv: "CFG_TEST_AMQ_LOGIN", PasscodeEnv: "CFG_TEST_AMQ_PASS",
		Login: "stats", Passcode: "s3cret", Queue: "/queue/jobs.{pool}"}
	if legacy.StatusSource != SourceActiveMQ || !reflect.DeepEqual(legacy.ActiveMQ, want) || legacy.MasterURL != "" {
		t.Errorf("legacy = source %q, activemq %+v, master %q", legacy.StatusSource, legacy.ActiveMQ, legacy.MasterURL)
	}
	if legacy.Events.Enabled {
		t.Error("events on for an activemq source, which has no master to publish them")
	}
	if ours.StatusSource != SourceMaster || ours.ActiveMQ != nil {
		t.Errorf("ours = source %q, activemq %+v; want the master default", ours.StatusSource, ours.ActiveMQ)
	}
}

func TestActiveMQSourceProblems(t *testing.T) {
	_, err := Parse("c.yaml", []byte(`id: a
policies: p.yaml
providers: [{name: f, type: fake}]
installations:
  - name: a
    source: activemq
    agent: {broker_url: "stomp://127.0.0.1:2"}
  - name: b
    source: activemq
    master_url: "http://127.0.0.1:1"
    activemq: {broker_url: "http://x:1", queue: "/queue/jobs", login_env: CFG_TEST_UNSET_VARIABLE, colour: red}
    agent: {broker_url: "stomp://127.0.0.1:2"}
  - name: c
    source: rabbit
    master_url: "http://127.0.0.1:1"
    agent: {broker_url: "stomp://127.0.0.1:2"}
  - name: d
    master_url: "http://127.0.0.1:1"
    activemq: {broker_url: "stomp://x:1", queue: "/queue/{pool}"}
    agent: {broker_url: "stomp://127.0.0.1:2"}
  - name: e
    activemq: {broker_url: "stomp://x:1"}
    agent: {broker_url: "stomp://127.0.0.1:2"}
`), types)
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, want := range []string{
		"c.yaml:5: installations[0].activemq: required with source: activemq",
		"c.yaml:8: installations[1].master_url: not used with source: activemq",
		`c.yaml:11: installations[1].activemq.broker_url: want stomp://host:port or stomp+ssl://host:port, got "http://x:1"`,
		`installations[1].activemq.queue: queue template "/queue/jobs": want {pool} exactly once`,
		"installations[1].activemq.login_env: environment variable CFG_TEST_UNSET_VARIABLE is not set or empty",
		"installations[1].activemq.colour: unknown field",
		`c.yaml:14: installations[2].source: want master or activemq, got "rabbit"`,
		"installations[3].activemq: only used with source: activemq",
		"installations[4].activemq.queue: required",
		"installations[4].master_url: required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

package config

import (
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// eventsFields are an installation's fields about its pool-change events.
var eventsFields = []string{"events", "events_broker_url", "events_login_env", "events_passcode_env"}

// Events says whether and how cloudmgr subscribes to an installation's
// pool-change events (the master's /topic/<prefix>.events), so it polls and
// ticks at once on a change instead of waiting for its next poll.
type Events struct {
	// Enabled is the `events` field (default true).
	Enabled bool
	// BrokerURL is the broker cloudmgr subscribes on: events_broker_url, or
	// by default the agents' broker_url.
	BrokerURL string
	// LoginEnv and PasscodeEnv name the environment variables holding
	// cloudmgr's broker login and passcode (optional).
	LoginEnv, PasscodeEnv string
	// Login and Passcode are read from LoginEnv and PasscodeEnv.
	Login, Passcode string
}

// eventsNodes locate an installation's events fields for problems.
type eventsNodes struct {
	field                    string
	brokerURL, login, passwd *yaml.Node
}

// eventsField reads one of eventsFields of an installation into e.
func (r *reader) eventsField(kv pair, name string, e *Events, at *eventsNodes) {
	switch kv.key.Value {
	case "events":
		var on bool
		if err := kv.val.Decode(&on); err != nil || kv.val.Kind != yaml.ScalarNode {
			r.problem(kv.val, name, "want true or false, got "+quote(kv.val.Value))
			return
		}
		e.Enabled = on
	case "events_broker_url":
		e.BrokerURL, at.brokerURL = r.str(kv.val, name), kv.val
		if u, err := url.Parse(e.BrokerURL); err != nil || (u.Scheme != "stomp" && u.Scheme != "stomp+ssl") || u.Host == "" {
			r.problem(kv.val, name, "want stomp://host:port or stomp+ssl://host:port, got "+quote(e.BrokerURL))
		}
	case "events_login_env":
		e.LoginEnv, at.login = r.str(kv.val, name), kv.val
	case "events_passcode_env":
		e.PasscodeEnv, at.passwd = r.str(kv.val, name), kv.val
	}
}

// finishEvents fills an installation's events defaults and reads the
// credentials from their environment variables. Without events, the other
// events fields are not checked further.
func (r *reader) finishEvents(inst *Installation, at eventsNodes) {
	e := &inst.Events
	if e.BrokerURL == "" {
		e.BrokerURL = inst.Agent.BrokerURL
	}
	if !e.Enabled {
		return
	}
	read := func(env string, n *yaml.Node, field string) string {
		if env == "" {
			return ""
		}
		v, ok := os.LookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			r.problem(n, join(at.field, field), "environment variable "+env+" is not set or empty")
		}
		return strings.TrimSpace(v)
	}
	e.Login = read(e.LoginEnv, at.login, "events_login_env")
	e.Passcode = read(e.PasscodeEnv, at.passwd, "events_passcode_env")
}

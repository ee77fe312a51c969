package config

import (
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/agentcloud/agentcloud/cloudmgr/amqstats"
)

// Where an installation's pool status comes from (the `source` field).
const (
	// SourceMaster polls the master's HTTP API (the default).
	SourceMaster = "master"
	// SourceActiveMQ reads each pool's queue from ActiveMQ's statistics
	// plugin, for installations whose master is not agentcloud's
	// (cloudmgr/amqstats).
	SourceActiveMQ = "activemq"
)

// sourceFields are an installation's fields about its status source;
// activemqFields are those of its activemq section.
var (
	sourceFields   = []string{"source", "activemq"}
	activemqFields = []string{"broker_url", "login_env", "passcode_env", "queue"}
)

// ActiveMQSource says how to read an installation's pool queues from
// ActiveMQ (source: activemq).
type ActiveMQSource struct {
	// BrokerURL is the broker's stomp:// or stomp+ssl:// URL.
	BrokerURL string
	// LoginEnv and PasscodeEnv name the environment variables holding the
	// broker login and passcode (optional).
	LoginEnv, PasscodeEnv string
	// Login and Passcode are read from LoginEnv and PasscodeEnv.
	Login, Passcode string
	// Queue is the queue name template, e.g. /queue/jobs.{pool}.
	Queue string
}

// sourceNodes locate an installation's source fields for problems.
type sourceNodes struct {
	field            string
	source, activemq *yaml.Node
}

// sourceField reads `source` or the `activemq` section of an installation.
func (r *reader) sourceField(kv pair, name string, inst *Installation, at *sourceNodes) {
	switch kv.key.Value {
	case "source":
		inst.StatusSource, at.source = r.str(kv.val, name), kv.val
		if inst.StatusSource != SourceMaster && inst.StatusSource != SourceActiveMQ {
			r.problem(kv.val, name, "want master or activemq, got "+quote(inst.StatusSource))
		}
	case "activemq":
		at.activemq = kv.key
		a := &ActiveMQSource{}
		for _, f := range r.fields(kv.val, name, activemqFields) {
			fname := join(name, f.key.Value)
			switch f.key.Value {
			case "broker_url":
				a.BrokerURL = r.str(f.val, fname)
				if u, err := url.Parse(a.BrokerURL); err != nil || (u.Scheme != "stomp" && u.Scheme != "stomp+ssl") || u.Hostname() == "" || u.Port() == "" {
					r.problem(f.val, fname, "want stomp://host:port or stomp+ssl://host:port, got "+quote(a.BrokerURL))
				}
			case "login_env":
				a.LoginEnv = r.str(f.val, fname)
				a.Login = r.env(f.val, fname, a.LoginEnv)
			case "passcode_env":
				a.PasscodeEnv = r.str(f.val, fname)
				a.Passcode = r.env(f.val, fname, a.PasscodeEnv)
			case "queue":
				a.Queue = r.str(f.val, fname)
				if _, err := amqstats.ParseTemplate(a.Queue); err != nil {
					r.problem(f.val, fname, err.Error())
				}
			}
		}
		if a.BrokerURL == "" {
			r.problem(kv.val, join(name, "broker_url"), "required")
		}
		if a.Queue == "" {
			r.problem(kv.val, join(name, "queue"), "required (e.g. /queue/jobs.{pool})")
		}
		inst.ActiveMQ = a
	}
}

// env reads a required environment variable named by a field.
func (r *reader) env(n *yaml.Node, field, name string) string {
	if name == "" {
		return ""
	}
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		r.problem(n, field, "environment variable "+name+" is not set or empty")
	}
	return strings.TrimSpace(v)
}

// finishSource checks that the source and its fields agree. An activemq
// source has no pool-change events (no agentcloud master publishes them), so
// events are off for it.
func (r *reader) finishSource(inst *Installation, n *yaml.Node, at sourceNodes) {
	if inst.StatusSource == "" {
		inst.StatusSource = SourceMaster
	}
	switch inst.StatusSource {
	case SourceActiveMQ:
		// No agentcloud master publishes pool-change events there.
		inst.Events.Enabled = false
		if inst.ActiveMQ == nil {
			r.problem(n, join(at.field, "activemq"), "required with source: activemq (broker_url and queue)")
		}
		if inst.MasterURL != "" {
			r.problem(n, join(at.field, "master_url"), "not used with source: activemq (the status comes from the broker)")
		}
	case SourceMaster:
		if inst.ActiveMQ != nil {
			r.problem(at.activemq, join(at.field, "activemq"), "only used with source: activemq")
		}
		if inst.MasterURL == "" {
			r.problem(n, join(at.field, "master_url"), "required")
		}
	}
}

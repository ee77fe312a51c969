// Package wire holds the STOMP messages between master and agent (DESIGN.md
// §4.4). Every message is a JSON object with a "type"; both sides import this
// package, and nothing else defines these shapes.
package wire

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// Destinations for an installation prefix.

// MasterQueue is where agents send to the master.
func MasterQueue(prefix string) string { return "/queue/" + prefix + ".master" }

// AgentQueue is where the master sends to one agent.
func AgentQueue(prefix, agentID string) string { return "/queue/" + prefix + ".agent." + agentID }

// EventsTopic is where the master announces pool changes.
func EventsTopic(prefix string) string { return "/topic/" + prefix + ".events" }

// Type names a message.
type Type string

// Message types. Agent to master: register, heartbeat, accepted, output, context,
// done, bye. Master to agent: assign, cancel, drain, reregister. Master to
// topic: pool_changed.
const (
	TypeRegister    Type = "register"
	TypeHeartbeat   Type = "heartbeat"
	TypeAccepted    Type = "accepted"
	TypeOutput      Type = "output"
	TypeContext     Type = "context"
	TypeDone        Type = "done"
	TypeBye         Type = "bye"
	TypeAssign      Type = "assign"
	TypeCancel      Type = "cancel"
	TypeDrain       Type = "drain"
	TypeReregister  Type = "reregister"
	TypePoolChanged Type = "pool_changed"
)

// Envelope is the common head of every message; Decode reads it first.
type Envelope struct {
	Type Type `json:"type"`
}

// Register announces an agent with its facts; sent on connect and reconnect.
type Register struct {
	Type     Type           `json:"type"`
	Agent    string         `json:"agent"`
	Instance string         `json:"instance,omitempty"`
	Pool     string         `json:"pool"`
	Version  string         `json:"version,omitempty"`
	Facts    map[string]any `json:"facts"`
	// Session is a random id the agent picks when its process starts. A register
	// under a known agent id with a new session is a restarted agent (a resumed
	// machine): the master clears its drain flag, since a fresh process was never
	// drained.
	Session string `json:"session,omitempty"`
	// Plugins lists the plugins the agent can run ("shell", and external ones);
	// the master only assigns compositions whose every task's plugin is listed.
	Plugins []string `json:"plugins,omitempty"`
	// Running names the composition and attempt it runs, if any (after a reconnect).
	Running *Ref `json:"running,omitempty"`
	// LastDone repeats the agent's last result, so a result sent while the master
	// was away is not lost; the master applies results idempotently.
	LastDone *Done `json:"last_done,omitempty"`
	// Token authenticates the agent to the master when one is configured.
	Token string `json:"token,omitempty"`
}

// Ref names one attempt of one composition.
type Ref struct {
	Composition string `json:"composition"`
	Attempt     int    `json:"attempt"`
}

// Heartbeat says the agent is alive, and what it runs.
type Heartbeat struct {
	Type    Type      `json:"type"`
	Agent   string    `json:"agent"`
	Running *Ref      `json:"running,omitempty"`
	At      time.Time `json:"at"`
}

// Accepted acknowledges an assignment.
type Accepted struct {
	Type  Type   `json:"type"`
	Agent string `json:"agent"`
	Ref
}

// Output carries output lines of a task, in order by Seq.
type Output struct {
	Type  Type   `json:"type"`
	Agent string `json:"agent"`
	Ref
	Task   int       `json:"task"`
	Seq    int       `json:"seq"`
	Stream string    `json:"stream"`
	Line   string    `json:"line"`
	At     time.Time `json:"at"`
}

// Context publishes composition context key/values from a task.
type Context struct {
	Type  Type   `json:"type"`
	Agent string `json:"agent"`
	Ref
	Task   int            `json:"task"`
	Values map[string]any `json:"values"`
}

// Result is how an attempt ended.
type Result string

// Results.
const (
	ResultSucceeded   Result = "succeeded"
	ResultFailed      Result = "failed"
	ResultInterrupted Result = "interrupted" // the agent stopped before it finished
)

// Done ends an attempt.
type Done struct {
	Type  Type   `json:"type"`
	Agent string `json:"agent"`
	Ref
	Result Result `json:"result"`
	// FailedTask is the index of the task that failed, or -1.
	FailedTask int    `json:"failed_task"`
	ExitCode   int    `json:"exit_code"`
	Error      string `json:"error,omitempty"`
}

// Bye says the agent is shutting down cleanly.
type Bye struct {
	Type  Type   `json:"type"`
	Agent string `json:"agent"`
}

// Assign hands an attempt of a composition to an agent.
type Assign struct {
	Type Type `json:"type"`
	Ref
	Tasks   []api.Task     `json:"tasks"`
	Context map[string]any `json:"context,omitempty"`
}

// Cancel asks the agent to stop an attempt.
type Cancel struct {
	Type Type `json:"type"`
	Ref
	Reason string `json:"reason,omitempty"`
}

// Drain tells the agent it will get no new work.
type Drain struct {
	Type Type `json:"type"`
}

// Reregister asks an agent to send Register again: the master heard from it
// (a heartbeat) but does not know it, e.g. after a master restart on an
// external broker where the agent's connection survived, so the agent would
// otherwise get no work until it reconnects.
type Reregister struct {
	Type   Type   `json:"type"`
	Reason string `json:"reason,omitempty"`
}

// PoolChanged announces that a pool's queue or agents changed.
type PoolChanged struct {
	Type   Type      `json:"type"`
	Pool   string    `json:"pool"`
	Queued int       `json:"queued"`
	At     time.Time `json:"at"`
}

// Encode marshals a message, setting nothing: callers fill Type.
func Encode(msg any) ([]byte, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", msg, err)
	}
	return b, nil
}

// Decode parses a message body into its typed struct (a pointer, e.g. *Register).
// A body that is not JSON, has no type, or an unknown type gives an error naming why.
func Decode(body []byte) (any, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decoding message: not a JSON object: %w", err)
	}
	var msg any
	switch env.Type {
	case TypeRegister:
		msg = &Register{}
	case TypeHeartbeat:
		msg = &Heartbeat{}
	case TypeAccepted:
		msg = &Accepted{}
	case TypeOutput:
		msg = &Output{}
	case TypeContext:
		msg = &Context{}
	case TypeDone:
		msg = &Done{}
	case TypeBye:
		msg = &Bye{}
	case TypeAssign:
		msg = &Assign{}
	case TypeCancel:
		msg = &Cancel{}
	case TypeDrain:
		msg = &Drain{}
	case TypeReregister:
		msg = &Reregister{}
	case TypePoolChanged:
		msg = &PoolChanged{}
	case "":
		return nil, fmt.Errorf("decoding message: missing \"type\"")
	default:
		return nil, fmt.Errorf("decoding message: unknown type %q", env.Type)
	}
	if err := json.Unmarshal(body, msg); err != nil {
		return nil, fmt.Errorf("decoding %s message: %w", env.Type, err)
	}
	return msg, nil
}

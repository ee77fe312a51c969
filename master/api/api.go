// Package api holds the types of the master's HTTP API (DESIGN.md §4.5). The
// master serves them and cloudmgr reads them: this is the one package both import.
package api

import "time"

// Paths of the master's HTTP API.
const (
	PathCompositions = "/api/v1/compositions"
	PathPools        = "/api/v1/pools"
	// PathCompositionCancel is formatted with the composition id.
	PathCompositionCancel = "/api/v1/compositions/%s/cancel"
	// PathAgentDrain is formatted with the agent id: fmt.Sprintf(PathAgentDrain, id).
	PathAgentDrain = "/api/v1/agents/%s/drain"
	PathHealth     = "/healthz"
	PathMetrics    = "/metrics"
)

// AgentState is what an agent is doing.
type AgentState string

// Agent states.
const (
	AgentIdle AgentState = "idle" // registered, running nothing
	AgentBusy AgentState = "busy" // running a composition
)

// PoolsResponse is the body of GET /api/v1/pools.
type PoolsResponse struct {
	// Installation is the master's installation name, if it has one configured.
	Installation string `json:"installation,omitempty"`
	// GeneratedAt is the master's clock when the status was taken.
	GeneratedAt time.Time `json:"generated_at"`
	// Pools lists every pool with queued work or registered agents.
	Pools []PoolStatus `json:"pools"`
}

// PoolStatus is the queue and agents of one pool.
type PoolStatus struct {
	Pool string `json:"pool"`
	// Queued counts compositions waiting for an agent.
	Queued int `json:"queued"`
	// OldestQueuedAt is when the oldest queued composition was submitted (zero if none).
	OldestQueuedAt time.Time `json:"oldest_queued_at,omitzero"`
	// OldestWaitSeconds is how long that composition has waited.
	OldestWaitSeconds float64 `json:"oldest_wait_seconds"`
	// Unschedulable counts queued compositions that no agent of the pool, as its
	// facts stand, could take.
	Unschedulable int `json:"unschedulable"`
	// Agents lists the registered agents of the pool.
	Agents []AgentStatus `json:"agents"`
}

// AgentStatus is one registered agent.
type AgentStatus struct {
	// ID is the agent id: the instance name cloudmgr gave the machine.
	ID string `json:"id"`
	// Instance is the provider's instance id as the agent reports it (may be empty).
	Instance string `json:"instance,omitempty"`
	// State is idle or busy.
	State AgentState `json:"state"`
	// Draining is true once the agent takes no new work.
	Draining bool `json:"draining"`
	// IdleSince is when it last became idle (zero while busy).
	IdleSince time.Time `json:"idle_since,omitzero"`
	// LastSeen is its last heartbeat.
	LastSeen time.Time `json:"last_seen"`
	// Composition is the id of the composition it runs, if busy.
	Composition string `json:"composition,omitempty"`
	// Facts is a short summary of its facts (os, arch, cpus, memory).
	Facts map[string]string `json:"facts,omitempty"`
}

// DrainResponse answers POST /api/v1/agents/{id}/drain.
type DrainResponse struct {
	Agent string `json:"agent"`
	// Draining is true: the agent takes no new work.
	Draining bool `json:"draining"`
	// Idle is true when it runs nothing now, so it can be suspended at once.
	Idle bool `json:"idle"`
}

// ErrorResponse is the body of every 4xx and 5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

package policies

import (
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

// Input is everything Decide reads. Decide is pure: it reads nothing else, not
// even the clock.
type Input struct {
	// Now is the decision time.
	Now time.Time
	// Policy is the pool's policy.
	Policy *Policy
	// Status is the master's view of the pool; nil when missing.
	Status *api.PoolStatus
	// StatusStale is true when Status is older than the staleness limit or the
	// master could not be reached: Decide then holds (no scale-down, rule 8).
	StatusStale bool
	// Instances are this pool's instances with our owner label, from List.
	Instances []providers.Instance
	// State is what the loop remembers about the pool between ticks.
	State PoolState
	// Headroom is how many more agents the installation cap allows across all its
	// pools right now; negative means no cap.
	Headroom int
}

// PoolState is what the loop remembers about a pool between ticks. It is not
// persisted: after a restart, cooldowns and backoff start afresh.
type PoolState struct {
	// LastScaleUp and LastScaleDown are the times of the last actions of each kind.
	LastScaleUp   time.Time
	LastScaleDown time.Time
	// BackoffUntil: no provider action before this time (after provider errors).
	BackoffUntil time.Time
	// Failures counts consecutive failed ticks, for the exponential backoff.
	Failures int
	// Unavailable maps offering index to the time until which it is skipped
	// (after a capacity error there).
	Unavailable map[int]time.Time
}

// ActionKind is what an action does.
type ActionKind string

// Action kinds.
const (
	ActCreate  ActionKind = "create"
	ActResume  ActionKind = "resume"
	ActDrain   ActionKind = "drain"   // ask the master to drain; Then follows once confirmed idle
	ActSuspend ActionKind = "suspend" // a drained, idle agent's machine
	ActDestroy ActionKind = "destroy"
)

// Reason codes: short, stable, used as a metric label. Action.Reason carries
// the human sentence.
const (
	ReasonBacklog        = "backlog"         // queued + busy + warm above capacity
	ReasonMinAgents      = "min_agents"      // below the (schedule-aware) minimum
	ReasonMaxWait        = "max_wait"        // oldest queued composition waited too long
	ReasonIdle           = "idle_timeout"    // idle beyond want for idle_timeout
	ReasonDrainConfirmed = "drain_confirmed" // drained and idle: suspend or destroy now
	ReasonSuspendedTTL   = "suspended_ttl"
	ReasonMaxSuspended   = "max_suspended"
	ReasonBootTimeout    = "boot_timeout"
)

// Action is one step of a plan.
type Action struct {
	Kind ActionKind
	// InstanceID is the provider id (resume, suspend, destroy; drain's machine).
	InstanceID string
	// Name is the instance name, which is also the agent id. It is empty for
	// ActCreate: Decide invents no names; the executor gives each created
	// instance its deterministic, unique name (DESIGN.md §4.1, idempotent create).
	Name string
	// Offering is where to create (create only).
	Offering providers.Offering
	// OfferingIndex is the index of Offering in the policy (create only).
	OfferingIndex int
	// Then is what to do after a confirmed drain: ActSuspend or ActDestroy.
	Then ActionKind
	// Code is the reason code; Reason is the sentence a person reads.
	Code   string
	Reason string
	// BootFailure marks a destroy for boot_timeout.
	BootFailure bool
}

// Counts summarises the pool as Decide saw it.
type Counts struct {
	Queued int
	// Unschedulable is the part of Queued that no registered agent of the
	// pool could take by its facts or plugins: it does not raise want, since
	// another machine from the same image would not take it either
	// (max_wait, if set, may still add one machine at a time).
	Unschedulable int
	Busy          int // busy agents not draining (ours and by hand)
	Idle          int // idle agents not draining (ours and by hand)
	Draining      int // agents closed to new work
	Booting       int // our instances that are capacity but whose agent has not registered
	Suspended     int
	ByHand        int // registered agents no provider created
	Capacity      int // booting + registered agents not draining
}

// Plan is Decide's answer.
type Plan struct {
	// Want is the clamped target capacity.
	Want int
	// Min is the effective minimum (schedule-aware).
	Min int
	// Counts is the pool as Decide saw it.
	Counts Counts
	// Actions are to be executed in order.
	Actions []Action
	// Holds say why something that might be expected did not happen
	// ("cooldown up until 12:00:30", "status stale: holding").
	Holds []string
}

// Package providers defines the contract every machine provider implements
// (DESIGN.md §4.1): a narrow, batch-oriented interface over a cloud, a Docker
// engine or local processes, with typed errors and the labels that let a
// restarted cloudmgr rebuild its whole state from List.
package providers

import (
	"context"
	"time"
)

// Labels every instance carries, so the cloud stays the source of truth.
const (
	// LabelOwner holds the id of the cloudmgr that created the instance.
	LabelOwner = "agentcloud-owner"
	// LabelInstallation holds the installation (tenant) the instance serves.
	LabelInstallation = "agentcloud-installation"
	// LabelPool holds the pool the instance serves.
	LabelPool = "agentcloud-pool"
	// LabelSuspendedAt holds the Unix time (seconds) the instance was suspended.
	LabelSuspendedAt = "agentcloud-suspended-at"
)

// State is the lifecycle state of an instance, mapped from the provider's own.
type State string

// Instance states. Pending, Running and Resuming count as capacity; the others do not.
const (
	StatePending    State = "pending"    // requested or booting, not yet running
	StateRunning    State = "running"    // running; its agent may or may not have registered
	StateSuspending State = "suspending" // being stopped with its disk kept
	StateSuspended  State = "suspended"  // stopped, disk kept, can be resumed
	StateResuming   State = "resuming"   // being started again from suspended
	StateDestroying State = "destroying" // being deleted; gone soon
)

// Capacity reports whether an instance in this state is or will soon be an agent.
func (s State) Capacity() bool {
	return s == StatePending || s == StateRunning || s == StateResuming
}

// SuspendMode is what suspending means for a pool.
type SuspendMode string

// Suspend modes a pool may choose; a provider declares which it can do.
const (
	// SuspendNone destroys idle machines directly.
	SuspendNone SuspendMode = "none"
	// SuspendStop stops the machine and keeps its disk (local: stop the process, keep the dir).
	SuspendStop SuspendMode = "stop"
	// SuspendSuspend keeps memory too (EC2 hibernate, GCE suspend).
	SuspendSuspend SuspendMode = "suspend"
)

// Capabilities says what a provider can do beyond create and destroy.
type Capabilities struct {
	// SuspendModes lists the suspend modes besides SuspendNone that the provider supports.
	SuspendModes []SuspendMode
}

// Supports reports whether the provider can suspend in the given mode.
// SuspendNone is always supported.
func (c Capabilities) Supports(m SuspendMode) bool {
	if m == SuspendNone {
		return true
	}
	for _, s := range c.SuspendModes {
		if s == m {
			return true
		}
	}
	return false
}

// Offering is one place a machine can be created: a zone and a machine type.
// Empty fields mean the provider's default.
type Offering struct {
	Zone        string `json:"zone,omitempty" yaml:"zone"`
	MachineType string `json:"machine_type,omitempty" yaml:"machine_type"`
}

// String renders the offering for logs and reasons.
func (o Offering) String() string {
	switch {
	case o.Zone == "" && o.MachineType == "":
		return "default"
	case o.Zone == "":
		return o.MachineType
	case o.MachineType == "":
		return o.Zone
	}
	return o.Zone + "/" + o.MachineType
}

// Instance is one machine (or container, or process) as the provider reports it.
type Instance struct {
	// ID is the provider's identifier, used for Suspend, Resume and Destroy.
	ID string `json:"id"`
	// Name is the deterministic name cloudmgr gave it; the agent registers under it.
	Name string `json:"name"`
	// Owner, Installation and Pool come from the instance's labels.
	Owner        string `json:"owner"`
	Installation string `json:"installation"`
	Pool         string `json:"pool"`
	// State is the mapped lifecycle state.
	State State `json:"state"`
	// CreatedAt is when the instance was first created.
	CreatedAt time.Time `json:"created_at"`
	// StartedAt is when it was last created or resumed; boot_timeout counts from here.
	StartedAt time.Time `json:"started_at"`
	// SuspendedAt is when it was suspended (zero unless suspended, or unknown).
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
	// Offering is where it runs.
	Offering Offering `json:"offering"`
	// Labels are all its labels or tags.
	Labels map[string]string `json:"labels,omitempty"`
}

// CreateRequest asks for one machine.
type CreateRequest struct {
	// Name is deterministic and unique; creating an existing name adopts it.
	Name         string
	Owner        string
	Installation string
	Pool         string
	// Image is the pool's image or template.
	Image string
	// Offering is where to create it.
	Offering Offering
	// Env is the agent's configuration (broker URL, pool, agent id, token), handed to
	// the machine through its environment, metadata or user-data.
	Env map[string]string
	// Settings are provider-specific pool settings (limits, subnets, ...).
	Settings map[string]string
}

// Labels returns the labels a created instance must carry.
func (r CreateRequest) Labels() map[string]string {
	return map[string]string{
		LabelOwner:        r.Owner,
		LabelInstallation: r.Installation,
		LabelPool:         r.Pool,
	}
}

// Provider is the contract every provider implements. Batch calls return the ids
// that succeeded plus errors.Join of the failures, each a *Error where the kind is known.
type Provider interface {
	// Name is the provider's configured name.
	Name() string
	// Capabilities says which suspend modes it supports.
	Capabilities() Capabilities
	// List returns every instance labelled with owner, in O(zones or regions) calls.
	List(ctx context.Context, owner string) ([]Instance, error)
	// Create creates the requested machines, adopting any that already exist by name.
	Create(ctx context.Context, reqs []CreateRequest) ([]Instance, error)
	// Suspend stops the machines in the given mode, keeping their disks.
	Suspend(ctx context.Context, mode SuspendMode, ids []string) ([]string, error)
	// Resume starts suspended machines again.
	Resume(ctx context.Context, ids []string) ([]string, error)
	// Destroy deletes machines and their disks; an id already gone is a success.
	Destroy(ctx context.Context, ids []string) ([]string, error)
}

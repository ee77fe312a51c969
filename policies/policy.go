// Package policies holds the per-pool scaling policy (DESIGN.md §4.2): its model,
// YAML loading with file:line errors, validation, and the pure Decide function
// that turns a pool's status and instances into a plan (§4.3).
package policies

import (
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Set is every policy loaded from one file or folder.
type Set struct {
	// Installations holds installation-level limits, by name.
	Installations map[string]*Installation
	// Pools holds the pool policies in the order they were read.
	Pools []*Policy
}

// Installation is the policy of one tenant across all its pools.
type Installation struct {
	// Name is the installation's name, as in cloudmgr's config.
	Name string `yaml:"name"`
	// MaxAgents caps the agents of all the installation's pools together (0: no cap).
	MaxAgents int `yaml:"max_agents"`
	// Source is where it was defined (file:line).
	Source string `yaml:"-"`
}

// Policy is the scaling policy of one pool.
type Policy struct {
	// Installation and Pool identify the pool.
	Installation string `yaml:"installation"`
	Pool         string `yaml:"pool"`
	// Provider names a provider defined in cloudmgr's config.
	Provider string `yaml:"provider"`
	// Image is the image or template machines are created from.
	Image string `yaml:"image"`
	// MinAgents and MaxAgents bound the pool's capacity.
	MinAgents int `yaml:"min_agents"`
	MaxAgents int `yaml:"max_agents"`
	// MaxWait: when the oldest queued composition has waited longer and nothing
	// is booting, the pool wants one agent more than it has (0: off).
	MaxWait time.Duration `yaml:"max_wait"`
	// Warm is how many idle agents to keep ready beyond the queue.
	Warm int `yaml:"warm"`
	// ScaleUpStep caps resumes plus creates per tick.
	ScaleUpStep int `yaml:"scale_up_step"`
	// IdleTimeout: an agent idle this long beyond want is drained, then suspended.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Suspend is the suspend mode: stop, suspend, or none (destroy directly).
	Suspend providers.SuspendMode `yaml:"suspend"`
	// MaxSuspended caps suspended machines; the oldest beyond it are destroyed.
	MaxSuspended int `yaml:"max_suspended"`
	// SuspendedTTL: a machine suspended this long is destroyed.
	SuspendedTTL time.Duration `yaml:"suspended_ttl"`
	// BootTimeout: a machine whose agent has not registered this long after
	// create or resume is destroyed, and counted as a boot failure.
	BootTimeout time.Duration `yaml:"boot_timeout"`
	// Cooldown is the minimum time between scale-ups, and between scale-downs.
	Cooldown Cooldown `yaml:"cooldown"`
	// Schedule raises MinAgents inside cron windows.
	Schedule []Window `yaml:"schedule"`
	// Offerings are the zones and machine types to try, in order.
	Offerings []providers.Offering `yaml:"offerings"`
	// Settings are provider-specific (e.g. cpus and memory for Docker).
	Settings map[string]string `yaml:"settings"`
	// Source is where the policy was defined (file:line).
	Source string `yaml:"-"`

	// load records where Load read each field and which ones failed to parse,
	// so Validate points at the right line and does not report a field twice.
	load *loadInfo
	// sched caches the parsed schedule; Validate sets it, EffectiveMin reads it.
	sched *compiledSchedule
}

// Cooldown holds the scale-up and scale-down cooldowns.
type Cooldown struct {
	Up   time.Duration `yaml:"up"`
	Down time.Duration `yaml:"down"`
}

// Window raises the pool's minimum while it is open: from each time Cron fires,
// for Duration.
type Window struct {
	// Cron is a standard 5-field cron expression (or @daily etc.).
	Cron string `yaml:"cron"`
	// Duration is how long the window stays open.
	Duration time.Duration `yaml:"duration"`
	// MinAgents is the minimum while open.
	MinAgents int `yaml:"min_agents"`
	// Timezone is an IANA name; empty means UTC.
	Timezone string `yaml:"timezone"`
}

// Key is "installation/pool".
func (p *Policy) Key() string { return p.Installation + "/" + p.Pool }

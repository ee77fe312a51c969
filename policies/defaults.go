package policies

import (
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Defaults applied by Load to every field a pool leaves out. max_agents has no
// default: it is required. max_suspended defaults to the pool's max_agents, and
// offerings to one empty offering (the provider's default zone and type).
const (
	DefaultMinAgents    = 0
	DefaultWarm         = 0
	DefaultScaleUpStep  = 10
	DefaultIdleTimeout  = 10 * time.Minute
	DefaultSuspend      = providers.SuspendStop
	DefaultSuspendedTTL = 24 * time.Hour
	DefaultBootTimeout  = 10 * time.Minute
	DefaultCooldownUp   = 0 * time.Second
	DefaultCooldownDown = 1 * time.Minute
	DefaultMaxWait      = 0 * time.Second // off
	DefaultTimezone     = "UTC"
)

// Default documents one default, for the README and for `cloudmgr -help`.
type Default struct {
	// Field is the YAML field.
	Field string
	// Value is the default as it would be written in YAML.
	Value string
	// Note explains it, where needed.
	Note string
}

// Defaults returns the table of defaults, one row per pool field, in the order
// the README lists them. It returns a fresh slice on every call.
func Defaults() []Default {
	return []Default{
		{"min_agents", "0", ""},
		{"max_agents", "", "required, at least 1"},
		{"max_wait", fmtDur(DefaultMaxWait), "0 turns it off"},
		{"warm", "0", ""},
		{"scale_up_step", "10", "resumes plus creates per tick"},
		{"idle_timeout", fmtDur(DefaultIdleTimeout), ""},
		{"suspend", string(DefaultSuspend), "stop, suspend or none; some providers add their own (gce: delete-keep-disk)"},
		{"max_suspended", "max_agents", "the pool's own max_agents"},
		{"suspended_ttl", fmtDur(DefaultSuspendedTTL), ""},
		{"boot_timeout", fmtDur(DefaultBootTimeout), ""},
		{"cooldown.up", fmtDur(DefaultCooldownUp), ""},
		{"cooldown.down", fmtDur(DefaultCooldownDown), ""},
		{"schedule[].timezone", DefaultTimezone, ""},
		{"offerings", "[{}]", "one offering: the provider's default zone and machine type"},
	}
}

// applyDefaults fills the fields a pool left out; set holds the fields it gave.
func applyDefaults(p *Policy, set map[string]bool) {
	if !set["min_agents"] {
		p.MinAgents = DefaultMinAgents
	}
	if !set["warm"] {
		p.Warm = DefaultWarm
	}
	if !set["scale_up_step"] {
		p.ScaleUpStep = DefaultScaleUpStep
	}
	if !set["idle_timeout"] {
		p.IdleTimeout = DefaultIdleTimeout
	}
	if !set["suspend"] {
		p.Suspend = DefaultSuspend
	}
	if !set["max_suspended"] {
		p.MaxSuspended = p.MaxAgents
	}
	if !set["suspended_ttl"] {
		p.SuspendedTTL = DefaultSuspendedTTL
	}
	if !set["boot_timeout"] {
		p.BootTimeout = DefaultBootTimeout
	}
	if !set["cooldown.up"] {
		p.Cooldown.Up = DefaultCooldownUp
	}
	if !set["cooldown.down"] {
		p.Cooldown.Down = DefaultCooldownDown
	}
	if !set["max_wait"] {
		p.MaxWait = DefaultMaxWait
	}
	if len(p.Offerings) == 0 {
		p.Offerings = []providers.Offering{{}}
	}
	for i := range p.Schedule {
		if p.Schedule[i].Timezone == "" {
			p.Schedule[i].Timezone = DefaultTimezone
		}
	}
}

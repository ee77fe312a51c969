package policies

import (
	"fmt"

	"github.com/agentcloud/agentcloud/providers"
	"gopkg.in/yaml.v3"
)

// poolFields are the keys a pool may have, as Policy's yaml tags say.
var poolFields = []string{
	"installation", "pool", "provider", "image", "min_agents", "max_agents", "max_wait",
	"warm", "scale_up_step", "idle_timeout", "suspend", "max_suspended", "suspended_ttl",
	"boot_timeout", "cooldown", "schedule", "offerings", "settings",
}

var (
	cooldownFields = []string{"up", "down"}
	windowFields   = []string{"cron", "duration", "min_agents", "timezone"}
	offeringFields = []string{"zone", "machine_type"}
)

// pool reads one entry of pools; nil when it is not even a mapping.
func (l *loader) pool(parent *decoder, i int, n *yaml.Node) *Policy {
	where := "pools[" + itoa(i) + "]"
	if n.Kind != yaml.MappingNode {
		parent.problem(n, where, "want a mapping with installation, pool, provider..., got "+kindName(n))
		return nil
	}
	p := &Policy{Source: source(parent.file, n.Line), load: newLoadInfo()}
	d := &decoder{l: l, file: parent.file, info: p.load}
	pairs := d.pairs(n, "in "+where)
	// The names first, so that messages about the other fields can name the pool.
	for _, kv := range pairs {
		switch kv.key.Value {
		case "installation":
			d.str("installation", kv.val, &p.Installation)
		case "pool":
			d.str("pool", kv.val, &p.Pool)
		}
	}
	if p.Installation != "" && p.Pool != "" {
		where = "pool " + p.Key()
	}
	for _, kv := range pairs {
		l.poolField(d, p, kv, where)
	}
	if !p.load.set["max_agents"] && !p.load.bad["max_agents"] {
		d.fail(n, "max_agents", "required (at least 1) in "+where)
	}
	applyDefaults(p, p.load.set)
	return p
}

// poolField reads one field of a pool.
func (l *loader) poolField(d *decoder, p *Policy, kv keyValue, where string) {
	v := kv.val
	switch key := kv.key.Value; key {
	case "installation", "pool":
		// Read first.
	case "provider":
		d.str(key, v, &p.Provider)
	case "image":
		d.str(key, v, &p.Image)
	case "min_agents":
		d.int(key, v, &p.MinAgents)
	case "max_agents":
		d.int(key, v, &p.MaxAgents)
	case "max_wait":
		d.dur(key, v, &p.MaxWait)
	case "warm":
		d.int(key, v, &p.Warm)
	case "scale_up_step":
		d.int(key, v, &p.ScaleUpStep)
	case "idle_timeout":
		d.dur(key, v, &p.IdleTimeout)
	case "suspend":
		var s string
		d.str(key, v, &s)
		p.Suspend = providers.SuspendMode(s)
	case "max_suspended":
		d.int(key, v, &p.MaxSuspended)
	case "suspended_ttl":
		d.dur(key, v, &p.SuspendedTTL)
	case "boot_timeout":
		d.dur(key, v, &p.BootTimeout)
	case "cooldown":
		for _, c := range d.mapping(v, key, "in cooldown of "+where) {
			switch c.key.Value {
			case "up":
				d.dur("cooldown.up", c.val, &p.Cooldown.Up)
			case "down":
				d.dur("cooldown.down", c.val, &p.Cooldown.Down)
			default:
				d.unknown(c.key, "in cooldown of "+where, cooldownFields)
			}
		}
	case "schedule":
		for i, w := range d.list(v, key) {
			p.Schedule = append(p.Schedule, d.window(i, w, where))
		}
	case "offerings":
		for i, o := range d.list(v, key) {
			p.Offerings = append(p.Offerings, d.offering(i, o, where))
		}
	case "settings":
		for _, s := range d.mapping(v, key, "in settings of "+where) {
			var val string
			d.str("settings."+s.key.Value, s.val, &val)
			if p.Settings == nil {
				p.Settings = map[string]string{}
			}
			p.Settings[s.key.Value] = val
		}
	default:
		d.unknown(kv.key, "in "+where, poolFields)
	}
}

// window reads schedule[i].
func (d *decoder) window(i int, n *yaml.Node, where string) Window {
	var w Window
	field := fmt.Sprintf("schedule[%d]", i)
	d.seen(field, n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping with cron, duration, min_agents, timezone, got "+kindName(n))
		return w
	}
	in := "in " + field + " of " + where
	for _, kv := range d.pairs(n, in) {
		switch kv.key.Value {
		case "cron":
			d.str(field+".cron", kv.val, &w.Cron)
		case "duration":
			d.dur(field+".duration", kv.val, &w.Duration)
		case "min_agents":
			d.int(field+".min_agents", kv.val, &w.MinAgents)
		case "timezone":
			d.str(field+".timezone", kv.val, &w.Timezone)
		default:
			d.unknown(kv.key, in, windowFields)
		}
	}
	return w
}

// offering reads offerings[i].
func (d *decoder) offering(i int, n *yaml.Node, where string) providers.Offering {
	var o providers.Offering
	field := fmt.Sprintf("offerings[%d]", i)
	d.seen(field, n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping with zone and machine_type, got "+kindName(n))
		return o
	}
	in := "in " + field + " of " + where
	for _, kv := range d.pairs(n, in) {
		switch kv.key.Value {
		case "zone":
			d.str(field+".zone", kv.val, &o.Zone)
		case "machine_type":
			d.str(field+".machine_type", kv.val, &o.MachineType)
		default:
			d.unknown(kv.key, in, offeringFields)
		}
	}
	return o
}

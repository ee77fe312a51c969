package simulate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/policies"
)

// sweepField is one policy field a sweep can vary.
type sweepField struct {
	duration bool
	set      func(p *policies.Policy, d time.Duration, n int)
}

// sweepFields are the fields a sweep can vary, by YAML name.
func sweepFields() map[string]sweepField {
	dur := func(f func(p *policies.Policy) *time.Duration) sweepField {
		return sweepField{duration: true, set: func(p *policies.Policy, d time.Duration, _ int) { *f(p) = d }}
	}
	num := func(f func(p *policies.Policy) *int) sweepField {
		return sweepField{set: func(p *policies.Policy, _ time.Duration, n int) { *f(p) = n }}
	}
	return map[string]sweepField{
		"idle_timeout":  dur(func(p *policies.Policy) *time.Duration { return &p.IdleTimeout }),
		"suspended_ttl": dur(func(p *policies.Policy) *time.Duration { return &p.SuspendedTTL }),
		"max_wait":      dur(func(p *policies.Policy) *time.Duration { return &p.MaxWait }),
		"cooldown.up":   dur(func(p *policies.Policy) *time.Duration { return &p.Cooldown.Up }),
		"cooldown.down": dur(func(p *policies.Policy) *time.Duration { return &p.Cooldown.Down }),
		"warm":          num(func(p *policies.Policy) *int { return &p.Warm }),
		"min_agents":    num(func(p *policies.Policy) *int { return &p.MinAgents }),
		"max_agents":    num(func(p *policies.Policy) *int { return &p.MaxAgents }),
		"scale_up_step": num(func(p *policies.Policy) *int { return &p.ScaleUpStep }),
		"max_suspended": num(func(p *policies.Policy) *int { return &p.MaxSuspended }),
	}
}

// sweepFieldNames lists the sweepable fields for messages.
const sweepFieldNames = "idle_timeout, warm, min_agents, max_agents, suspended_ttl, scale_up_step, max_suspended, max_wait, cooldown.up, cooldown.down"

// Sweep varies one policy field over evenly spaced steps.
type Sweep struct {
	// Field is the policy field's YAML name.
	Field string `json:"field"`
	// Values are the steps' values, as written in YAML.
	Values []string `json:"values"`

	durs []time.Duration
	nums []int
	f    sweepField
}

// ParseSweep reads "field=from:to:steps", e.g. "idle_timeout=1m:30m:5":
// steps values from from to to, both included, evenly spaced (durations
// rounded to the second, counts to the nearest whole number).
func ParseSweep(s string) (*Sweep, error) {
	field, rng, ok := strings.Cut(s, "=")
	parts := strings.Split(rng, ":")
	if !ok || len(parts) != 3 {
		return nil, fmt.Errorf("sweep %q: want field=from:to:steps, like idle_timeout=1m:30m:5", s)
	}
	f, ok := sweepFields()[field]
	if !ok {
		return nil, fmt.Errorf("sweep %q: cannot sweep %q (sweepable: %s)", s, field, sweepFieldNames)
	}
	steps, err := strconv.Atoi(parts[2])
	if err != nil || steps < 1 {
		return nil, fmt.Errorf("sweep %q: steps %q must be a whole number of at least 1", s, parts[2])
	}
	sw := &Sweep{Field: field, f: f}
	frac := func(i int) float64 {
		if steps == 1 {
			return 0
		}
		return float64(i) / float64(steps-1)
	}
	if f.duration {
		from, err1 := time.ParseDuration(parts[0])
		to, err2 := time.ParseDuration(parts[1])
		if err1 != nil || err2 != nil || from < 0 || to < 0 {
			return nil, fmt.Errorf("sweep %q: %s takes durations like 1m and 30m (got %q and %q)", s, field, parts[0], parts[1])
		}
		for i := range steps {
			d := time.Duration(float64(from) + frac(i)*float64(to-from)).Round(time.Second)
			sw.durs = append(sw.durs, d)
			sw.Values = append(sw.Values, fmtDuration(d))
		}
		return sw, nil
	}
	from, err1 := strconv.Atoi(parts[0])
	to, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || from < 0 || to < 0 {
		return nil, fmt.Errorf("sweep %q: %s takes whole numbers (got %q and %q)", s, field, parts[0], parts[1])
	}
	for i := range steps {
		n := int(math.Round(float64(from) + frac(i)*float64(to-from)))
		sw.nums = append(sw.nums, n)
		sw.Values = append(sw.Values, strconv.Itoa(n))
	}
	return sw, nil
}

// Scenarios returns one scenario per step: base with the field set on every
// policy, each validated as cloudmgr would.
func (sw *Sweep) Scenarios(base Scenario) ([]Scenario, error) {
	out := make([]Scenario, 0, len(sw.Values))
	for i, v := range sw.Values {
		sc := Scenario{Name: sw.Field + "=" + v, Kind: KindSweep, Installations: base.Installations}
		set := &policies.Set{Installations: base.Installations}
		for _, s := range base.Pools {
			if s.Policy != nil {
				cp := *s.Policy
				var d time.Duration
				var n int
				if sw.f.duration {
					d = sw.durs[i]
				} else {
					n = sw.nums[i]
				}
				sw.f.set(&cp, d, n)
				s.Policy = &cp
				set.Pools = append(set.Pools, &cp)
			}
			sc.Pools = append(sc.Pools, s)
		}
		if err := policies.Validate(set, knownProviders(set)); err != nil {
			return nil, fmt.Errorf("sweep step %d (%s=%s): %w", i+1, sw.Field, v, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

// fmtDuration renders a duration compactly: 90s, 2m30s, 1h5m, 24h.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

package policies

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// LoadAndValidate loads path (see Load) and validates the set (see Validate),
// reporting the problems of both steps together.
func LoadAndValidate(path string, known map[string]providers.Capabilities) (*Set, error) {
	set, ps := load(path)
	ps = append(ps, validate(set, known)...)
	if len(ps) > 0 {
		sortProblems(ps)
		return nil, ps
	}
	return set, nil
}

// Validate checks every policy of set, alone and against the others, and
// against known, the configured providers by name (nil skips the provider
// checks). It reports every problem at once as Problems. On success it also
// caches each policy's parsed schedule, so Decide parses nothing per tick.
func Validate(set *Set, known map[string]providers.Capabilities) error {
	if ps := validate(set, known); len(ps) > 0 {
		sortProblems(ps)
		return ps
	}
	return nil
}

func validate(set *Set, known map[string]providers.Capabilities) Problems {
	var ps Problems
	names := make([]string, 0, len(set.Installations))
	for name := range set.Installations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		inst := set.Installations[name]
		src := inst.Source
		if src == "" {
			src = "installation " + name
		}
		if inst.Name == "" {
			ps = append(ps, Problem{Source: src, Field: "name", Msg: "required"})
		}
		if inst.MaxAgents < 0 {
			ps = append(ps, Problem{Source: src, Field: "max_agents", Msg: fmt.Sprintf("must not be negative (got %d; 0 means no cap)", inst.MaxAgents)})
		}
	}
	first := map[string]*Policy{}
	for _, p := range set.Pools {
		v := &checker{p: p}
		v.policy(known)
		if p.Installation != "" && p.Pool != "" {
			if f, dup := first[p.Key()]; dup {
				v.add("", fmt.Sprintf("pool %s defined twice (first at %s)", p.Key(), f.Source))
			} else {
				first[p.Key()] = p
			}
		}
		if v.scheduleOK {
			p.sched = compileSchedule(p.Schedule)
		}
		ps = append(ps, v.problems...)
	}
	return ps
}

// checker validates one policy.
type checker struct {
	p          *Policy
	problems   Problems
	scheduleOK bool
}

// at returns where the first of fields that Load saw was given, else the
// policy's Source, else the pool's name.
func (v *checker) at(fields ...string) string {
	if v.p.load != nil {
		for _, f := range fields {
			if s, ok := v.p.load.lines[f]; ok {
				return s
			}
		}
	}
	if v.p.Source != "" {
		return v.p.Source
	}
	return "pool " + v.p.Key()
}

// usable reports whether every named field parsed (else it was reported already).
func (v *checker) usable(fields ...string) bool {
	if v.p.load == nil {
		return true
	}
	for _, f := range fields {
		if v.p.load.bad[f] {
			return false
		}
	}
	return true
}

// add records a problem with field, located at field's line, else at the
// line of the first of near that Load saw.
func (v *checker) add(field, msg string, near ...string) {
	v.problems = append(v.problems, Problem{Source: v.at(append([]string{field}, near...)...), Field: field, Msg: msg})
}

func (v *checker) policy(known map[string]providers.Capabilities) {
	p := v.p
	for _, f := range []struct {
		name string
		val  string
	}{{"installation", p.Installation}, {"pool", p.Pool}, {"provider", p.Provider}} {
		if f.val == "" && v.usable(f.name) {
			v.add(f.name, "required")
		}
	}
	if p.Provider != "" && known != nil {
		if _, ok := known[p.Provider]; !ok {
			v.add("provider", unknownProvider(p.Provider, known))
		}
	}
	v.counts()
	v.durations()
	v.suspend(known)
	v.windows()
}

// counts checks the whole-number fields.
func (v *checker) counts() {
	p := v.p
	maxOK := v.usable("max_agents") && p.MaxAgents >= 1
	if v.usable("max_agents") && p.MaxAgents < 1 {
		v.add("max_agents", fmt.Sprintf("must be at least 1 (got %d)", p.MaxAgents))
	}
	for _, f := range []struct {
		name string
		val  int
	}{{"min_agents", p.MinAgents}, {"warm", p.Warm}, {"max_suspended", p.MaxSuspended}} {
		if v.usable(f.name) && f.val < 0 {
			v.add(f.name, fmt.Sprintf("must not be negative (got %d)", f.val))
		}
	}
	if maxOK && v.usable("min_agents") && p.MinAgents > p.MaxAgents {
		v.add("min_agents", fmt.Sprintf("%d is above max_agents %d", p.MinAgents, p.MaxAgents))
	}
	if maxOK && v.usable("warm") && p.Warm > p.MaxAgents {
		v.add("warm", fmt.Sprintf("%d is above max_agents %d", p.Warm, p.MaxAgents))
	}
	if v.usable("scale_up_step") && p.ScaleUpStep < 1 {
		v.add("scale_up_step", fmt.Sprintf("must be at least 1 (got %d)", p.ScaleUpStep))
	}
}

// durations checks the duration fields.
func (v *checker) durations() {
	p := v.p
	for _, f := range []struct {
		name     string
		val      time.Duration
		positive string // why zero is refused; "" when zero is fine
	}{
		{"max_wait", p.MaxWait, ""},
		{"idle_timeout", p.IdleTimeout, ""},
		{"suspended_ttl", p.SuspendedTTL, "use suspend: none to destroy idle machines directly"},
		{"boot_timeout", p.BootTimeout, "no machine boots in no time"},
		{"cooldown.up", p.Cooldown.Up, ""},
		{"cooldown.down", p.Cooldown.Down, ""},
	} {
		switch {
		case !v.usable(f.name):
		case f.val < 0:
			v.add(f.name, fmt.Sprintf("must not be negative (got %s)", fmtDur(f.val)))
		case f.val == 0 && f.positive != "":
			v.add(f.name, "must be above 0 ("+f.positive+")")
		}
	}
}

// suspend checks the suspend mode, and that the provider can do it.
func (v *checker) suspend(known map[string]providers.Capabilities) {
	p := v.p
	if !v.usable("suspend") {
		return
	}
	caps, ok := known[p.Provider]
	switch p.Suspend {
	case providers.SuspendNone, providers.SuspendStop, providers.SuspendSuspend:
	default:
		// A mode of a provider's own (gce: delete-keep-disk) is valid for the
		// pools of a provider whose capabilities list it.
		switch {
		case !ok:
			v.add("suspend", fmt.Sprintf("unknown mode %q (use stop, suspend or none)", p.Suspend))
		case !caps.Supports(p.Suspend):
			v.add("suspend", fmt.Sprintf("unknown mode %q (use stop, suspend or none, or a mode provider %q declares)", p.Suspend, p.Provider))
		}
		return
	}
	if !ok || caps.Supports(p.Suspend) {
		return
	}
	can := []string{string(providers.SuspendNone)}
	for _, m := range caps.SuspendModes {
		can = append(can, string(m))
	}
	v.add("suspend", fmt.Sprintf("provider %q cannot %q (it can: %s)", p.Provider, p.Suspend, strings.Join(can, ", ")))
}

// windows checks the schedule; scheduleOK says whether every window parsed.
func (v *checker) windows() {
	p := v.p
	v.scheduleOK = true
	for i, w := range p.Schedule {
		f := fmt.Sprintf("schedule[%d]", i)
		if !v.usable(f) {
			v.scheduleOK = false
			continue
		}
		if v.usable(f + ".cron") {
			if _, err := parseCron(w.Cron); err != nil {
				v.scheduleOK = false
				v.add(f+".cron", err.Error(), f)
			}
		} else {
			v.scheduleOK = false
		}
		if v.usable(f + ".duration") {
			given := v.p.load == nil || v.p.load.set[f+".duration"]
			switch {
			case w.Duration == 0 && !given:
				v.add(f+".duration", "required: how long the window stays open (like 10h)", f)
			case w.Duration <= 0:
				v.add(f+".duration", fmt.Sprintf("must be above 0 (got %s)", fmtDur(w.Duration)), f)
			}
		}
		if v.usable(f + ".min_agents") {
			switch {
			case w.MinAgents < 0:
				v.add(f+".min_agents", fmt.Sprintf("must not be negative (got %d)", w.MinAgents), f)
			case v.usable("max_agents") && p.MaxAgents >= 1 && w.MinAgents > p.MaxAgents:
				v.add(f+".min_agents", fmt.Sprintf("%d is above max_agents %d", w.MinAgents, p.MaxAgents), f)
			}
		}
		if v.usable(f + ".timezone") {
			if _, err := parseTimezone(w.Timezone); err != nil {
				v.scheduleOK = false
				v.add(f+".timezone", err.Error(), f)
			}
		} else {
			v.scheduleOK = false
		}
	}
}

// unknownProvider words an unknown provider, listing the known ones.
func unknownProvider(name string, known map[string]providers.Capabilities) string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	msg := fmt.Sprintf("unknown provider %q (configured: %s)", name, strings.Join(names, ", "))
	if len(names) == 0 {
		msg = fmt.Sprintf("unknown provider %q (no providers are configured)", name)
	}
	if s := suggest(name, names); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return msg
}

package policies

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // schedule time zones must resolve in FROM-scratch images too

	"github.com/robfig/cron/v3"
)

// compiledSchedule is a policy's schedule, parsed. from is the Schedule it was
// parsed from: a policy whose Schedule changed since is parsed again.
type compiledSchedule struct {
	from    []Window
	windows []compiledWindow
}

// compiledWindow is one parsed window.
type compiledWindow struct {
	sched cron.Schedule
	loc   *time.Location
}

// parseCron parses a window's cron: a standard 5-field expression or a
// descriptor such as @daily. @every has no start time, so it is refused, and a
// CRON_TZ= prefix too (the window has a timezone field).
func parseCron(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case e == "":
		return nil, errors.New("required (a 5-field cron like \"0 8 * * 1-5\", or @daily)")
	case strings.HasPrefix(e, "@every"):
		return nil, fmt.Errorf("bad cron %q: @every has no start time (use a 5-field cron or @hourly, @daily, @weekly...)", expr)
	case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
		return nil, fmt.Errorf("bad cron %q: set the window's timezone field instead of a TZ= prefix", expr)
	}
	s, err := cron.ParseStandard(e)
	if err != nil {
		return nil, fmt.Errorf("bad cron %q: %v", expr, err)
	}
	return s, nil
}

// parseTimezone resolves a window's time zone; empty means UTC.
func parseTimezone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`"Local" depends on the machine (use an IANA name like Europe/Paris)`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name like Europe/Paris)", name)
	}
	return loc, nil
}

// compileSchedule parses every window; a window that does not parse gets a
// nil schedule and never opens.
func compileSchedule(ws []Window) *compiledSchedule {
	c := &compiledSchedule{from: append([]Window(nil), ws...), windows: make([]compiledWindow, len(ws))}
	for i, w := range ws {
		s, err1 := parseCron(w.Cron)
		loc, err2 := parseTimezone(w.Timezone)
		if err1 == nil && err2 == nil {
			c.windows[i] = compiledWindow{sched: s, loc: loc}
		}
	}
	return c
}

// matches reports whether c was compiled from ws.
func (c *compiledSchedule) matches(ws []Window) bool {
	if c == nil || len(c.from) != len(ws) {
		return false
	}
	for i := range ws {
		if c.from[i] != ws[i] {
			return false
		}
	}
	return true
}

// schedule returns p's parsed schedule: the one Validate cached, or, for a
// policy built in code (or changed since), a freshly parsed one that is not kept.
func (p *Policy) schedule() *compiledSchedule {
	if p.sched.matches(p.Schedule) {
		return p.sched
	}
	return compileSchedule(p.Schedule)
}

// EffectiveMin returns the pool's minimum at now: the largest of min_agents and
// the min_agents of every open schedule window. window describes the window
// that set it ("" when min_agents did). A window opens each time its cron fires
// and stays open for its duration: it is open at now when the cron fires
// within (now-duration, now], evaluated in the window's time zone.
func EffectiveMin(p *Policy, now time.Time) (min int, window string) {
	min = p.MinAgents
	if len(p.Schedule) == 0 {
		return min, ""
	}
	c := p.schedule()
	for i, w := range p.Schedule {
		cw := c.windows[i]
		if cw.sched == nil || w.Duration <= 0 || w.MinAgents <= min {
			continue
		}
		t := now.In(cw.loc)
		if !cw.sched.Next(t.Add(-w.Duration)).After(t) {
			min, window = w.MinAgents, describeWindow(i, w)
		}
	}
	return min, window
}

// describeWindow renders `schedule[0] "0 8 * * 1-5" for 10h Europe/Paris`.
func describeWindow(i int, w Window) string {
	tz := w.Timezone
	if tz == "" {
		tz = DefaultTimezone
	}
	return fmt.Sprintf("schedule[%d] %q for %s %s", i, w.Cron, fmtDur(w.Duration), tz)
}

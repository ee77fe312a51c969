package policies

import (
	"fmt"
	"sort"

	"github.com/agentcloud/agentcloud/providers"
)

// housekeeping destroys suspended machines past suspended_ttl, then the oldest
// beyond max_suspended (rule 5). Suspending machines are left for a later
// tick, and so is any machine this plan resumes.
func (d *decision) housekeeping() {
	if !d.fresh {
		return
	}
	p := d.p
	var live []*providers.Instance // suspended, not touched by this plan: oldest first
	for _, in := range d.suspended {
		if in.State == providers.StateSuspended && !d.touched[in.ID] {
			live = append(live, in)
		}
	}
	sort.SliceStable(live, func(i, j int) bool { return live[i].SuspendedAt.Before(live[j].SuspendedAt) })
	type doom struct {
		in     *providers.Instance
		code   string
		reason string
	}
	var dooms []doom
	rest := live[:0:0]
	for _, in := range live {
		if p.SuspendedTTL > 0 && (in.SuspendedAt.IsZero() || d.now.Sub(in.SuspendedAt) >= p.SuspendedTTL) {
			dooms = append(dooms, doom{in, ReasonSuspendedTTL, fmt.Sprintf("%s: %s suspended %s (suspended_ttl %s): destroying",
				ReasonSuspendedTTL, in.Name, d.ago(in.SuspendedAt), fmtDur(p.SuspendedTTL))})
		} else {
			rest = append(rest, in)
		}
	}
	// Suspended after this plan: less resumed and destroyed, plus suspended now.
	count := len(d.suspended) - d.resumed - len(dooms) + d.suspending
	if over := count - p.MaxSuspended; over > 0 {
		for _, in := range rest[:min(over, len(rest))] {
			dooms = append(dooms, doom{in, ReasonMaxSuspended, fmt.Sprintf("%s: %d suspended or being suspended, above max_suspended %d: destroying %s (suspended %s), oldest first",
				ReasonMaxSuspended, count, p.MaxSuspended, in.Name, d.ago(in.SuspendedAt))})
		}
	}
	if len(dooms) == 0 {
		return
	}
	if d.backoff {
		d.backoffHold("destroying " + plural(len(dooms), "suspended machine"))
		return
	}
	for _, x := range dooms {
		d.touched[x.in.ID] = true
		d.add(Action{Kind: ActDestroy, InstanceID: x.in.ID, Name: x.in.Name, Code: x.code, Reason: x.reason})
	}
}

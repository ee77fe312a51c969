package policies

import (
	"fmt"
	"sort"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// scaleUp resumes, then creates, up to want, at most scale_up_step (rule 3).
func (d *decision) scaleUp() {
	p := d.p
	capacity := d.capacity()
	n := d.plan.Want - capacity
	if n <= 0 {
		return
	}
	step := ""
	if p.ScaleUpStep > 0 && n > p.ScaleUpStep {
		n, step = p.ScaleUpStep, fmt.Sprintf(" (scale_up_step %d)", p.ScaleUpStep)
	}
	head := fmt.Sprintf("%s: %s, capacity %d: adding %d%s", d.code, d.why, capacity, n, step)
	if d.backoff {
		d.backoffHold(fmt.Sprintf("adding %d (%s)", n, d.code))
		return
	}
	if until := d.in.State.LastScaleUp.Add(p.Cooldown.Up); p.Cooldown.Up > 0 && d.now.Before(until) {
		d.hold(fmt.Sprintf("cooldown up %s since the last scale-up at %s: not adding %d before %s",
			fmtDur(p.Cooldown.Up), fmtTime(d.in.State.LastScaleUp), n, fmtTime(until)))
		return
	}
	for _, in := range d.resumable() {
		if n == 0 {
			break
		}
		n--
		d.resumed++
		d.touched[in.ID] = true
		d.add(Action{Kind: ActResume, InstanceID: in.ID, Name: in.Name, Code: d.code,
			Reason: head + ": resuming " + in.Name + " (suspended " + d.ago(in.SuspendedAt) + ")"})
	}
	if n == 0 {
		return
	}
	i, off, ok := d.offering()
	if !ok {
		return
	}
	reason := fmt.Sprintf("%s: creating %d in offering %d (%s)", head, n, i, off)
	for ; n > 0; n-- {
		d.add(Action{Kind: ActCreate, Offering: off, OfferingIndex: i, Code: d.code, Reason: reason})
	}
}

// resumable returns the suspended (not suspending) machines, newest suspended
// first; a zero SuspendedAt counts as the oldest.
func (d *decision) resumable() []*providers.Instance {
	var out []*providers.Instance
	for _, in := range d.suspended {
		if in.State == providers.StateSuspended {
			out = append(out, in)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].SuspendedAt.After(out[j].SuspendedAt)
	})
	return out
}

// offering picks the first offering not marked unavailable at now; when all
// are, it holds and reports false.
func (d *decision) offering() (int, providers.Offering, bool) {
	offs := d.p.Offerings
	if len(offs) == 0 {
		offs = []providers.Offering{{}}
	}
	var soonest time.Time
	for i, o := range offs {
		until, marked := d.in.State.Unavailable[i]
		if !marked || !until.After(d.now) {
			return i, o, true
		}
		if soonest.IsZero() || until.Before(soonest) {
			soonest = until
		}
	}
	d.hold("all offerings unavailable after capacity errors until " + fmtTime(soonest) + ": creating none")
	return 0, providers.Offering{}, false
}

// ago renders how long ago t was, or that it is unknown.
func (d *decision) ago(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return fmtDur(d.now.Sub(t)) + " ago"
}

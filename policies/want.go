package policies

import (
	"fmt"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// bootTimeouts destroys booting machines whose agent never registered within
// boot_timeout (rule 2). It needs a fresh status: otherwise the agent may well
// have registered.
func (d *decision) bootTimeouts() {
	if !d.fresh || d.p.BootTimeout <= 0 {
		return
	}
	var late []*providers.Instance
	kept := d.booting[:0:0]
	for _, in := range d.booting {
		started := in.StartedAt
		if started.IsZero() {
			started = in.CreatedAt
		}
		if !started.IsZero() && d.now.Sub(started) >= d.p.BootTimeout {
			late = append(late, in)
		} else {
			kept = append(kept, in)
		}
	}
	if len(late) == 0 {
		return
	}
	if d.backoff {
		d.backoffHold(fmt.Sprintf("destroying %s past boot_timeout %s", plural(len(late), "machine"), fmtDur(d.p.BootTimeout)))
		return
	}
	for _, in := range late {
		started := in.StartedAt
		if started.IsZero() {
			started = in.CreatedAt
		}
		d.touched[in.ID] = true
		d.add(Action{
			Kind: ActDestroy, InstanceID: in.ID, Name: in.Name, Code: ReasonBootTimeout, BootFailure: true,
			Reason: fmt.Sprintf("%s: %s started %s ago and its agent never registered (boot_timeout %s): destroying",
				ReasonBootTimeout, in.Name, fmtDur(d.now.Sub(started)), fmtDur(d.p.BootTimeout)),
		})
	}
	d.booting = kept
}

// computeWant sets Plan.Min and Plan.Want, and the code and words that explain
// want (rule 3).
func (d *decision) computeWant() {
	p := d.p
	min, window := EffectiveMin(p, d.now)
	d.plan.Min = min
	minWords := fmt.Sprintf("min_agents %d", min)
	if window != "" {
		minWords += " from " + window
	}
	capacity := d.capacity()
	var want int
	if d.fresh {
		u := d.counts.Unschedulable
		q, b, w := d.counts.Queued-u, d.counts.Busy, p.Warm
		want = q + b + w
		d.code = ReasonBacklog
		queued := fmt.Sprintf("%d queued", q)
		if u > 0 {
			queued = fmt.Sprintf("%d queued (and %d unschedulable, not counted)", q, u)
		}
		d.why = fmt.Sprintf("%s + %d busy + %d warm = %d wanted", queued, b, w, want)
		if want < min {
			want = min
			d.code = ReasonMinAgents
			d.why += ", raised to " + minWords
		}
	} else {
		what := "stale"
		if d.in.Status == nil {
			what = "missing"
		}
		want = min
		d.code = ReasonMinAgents
		d.why = fmt.Sprintf("status %s, keeping %s", what, minWords)
		d.hold(fmt.Sprintf("status %s: no scale-down and no destroys; only keeping %s (capacity %d counted from instances)",
			what, minWords, capacity))
	}
	if want > p.MaxAgents {
		want = p.MaxAgents
		d.why += fmt.Sprintf(", capped at max_agents %d", p.MaxAgents)
	}
	if h := d.in.Headroom; h >= 0 && want > capacity+h {
		want = capacity + h
		d.why += fmt.Sprintf(", capped at %d by the installation's headroom of %d", want, h)
	}
	d.plan.Want = d.maxWait(want, capacity)
}

// maxWait raises want by one when the oldest queued composition waited longer
// than max_wait and nothing boots that could take it.
func (d *decision) maxWait(want, capacity int) int {
	p, st := d.p, d.in.Status
	if !d.fresh || p.MaxWait <= 0 || st.Queued == 0 || st.OldestWaitSeconds <= p.MaxWait.Seconds() {
		return want
	}
	waited := fmt.Sprintf("oldest queued waited %s > max_wait %s",
		fmtDur(time.Duration(st.OldestWaitSeconds*float64(time.Second))), fmtDur(p.MaxWait))
	switch {
	case len(d.booting) > 0:
		d.hold(fmt.Sprintf("max_wait: %s, but %d booting: waiting for them", waited, len(d.booting)))
		return want
	case want > capacity:
		return want // already scaling up
	}
	target, limit := capacity+1, ""
	if target > p.MaxAgents {
		target, limit = p.MaxAgents, fmt.Sprintf("max_agents %d", p.MaxAgents)
	}
	if h := d.in.Headroom; h >= 0 && target > capacity+h {
		target, limit = capacity+h, fmt.Sprintf("the installation's cap (headroom %d)", h)
	}
	if target <= capacity {
		d.hold(fmt.Sprintf("max_wait: %s, but at %s", waited, limit))
		return want
	}
	d.code = ReasonMaxWait
	d.why = fmt.Sprintf("%s with nothing booting (%s): one more", waited, d.why)
	return target
}

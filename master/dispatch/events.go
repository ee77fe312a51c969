package dispatch

import (
	"slices"
	"time"
)

// coalescer holds pools whose change is not announced yet and lets each pool
// through at most once per interval.
type coalescer struct {
	interval time.Duration
	last     map[string]time.Time
	pending  map[string]bool
}

func newCoalescer(interval time.Duration) *coalescer {
	return &coalescer{interval: interval, last: map[string]time.Time{}, pending: map[string]bool{}}
}

// mark notes that pool changed.
func (c *coalescer) mark(pool string) { c.pending[pool] = true }

// due returns, sorted, the changed pools whose last event is at least an
// interval old, and records now as their last event.
func (c *coalescer) due(now time.Time) []string {
	var out []string
	for pool := range c.pending {
		if last, ok := c.last[pool]; ok && now.Sub(last) < c.interval {
			continue
		}
		out = append(out, pool)
		c.last[pool] = now
		delete(c.pending, pool)
	}
	slices.Sort(out)
	return out
}

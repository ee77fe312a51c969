package events

import (
	"sync"
	"time"
)

// timer is the part of *time.Timer the debouncer uses.
type timer interface {
	Stop() bool
}

// scheduler runs f after d, in its own goroutine, unless the timer it
// returns is stopped first.
type scheduler func(d time.Duration, f func()) timer

// afterFunc is the real scheduler: time.AfterFunc.
func afterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }

// debouncer turns a burst of events into one call: the first event starts a
// delay, the events during it ride along, and fire runs once when it ends. An
// event after that starts a new delay. So a steady stream fires at most once
// per delay, and a lone event fires after one delay.
type debouncer struct {
	delay time.Duration
	fire  func()
	after scheduler

	mu      sync.Mutex
	pending timer // nil when no delay runs
	stopped bool
}

// newDebouncer returns a debouncer calling fire; after schedules the delays
// (afterFunc in production).
func newDebouncer(delay time.Duration, fire func(), after scheduler) *debouncer {
	return &debouncer{delay: delay, fire: fire, after: after}
}

// event notes one event.
func (d *debouncer) event() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending != nil || d.stopped {
		return
	}
	d.pending = d.after(d.delay, d.expire)
}

// expire ends the delay and fires.
func (d *debouncer) expire() {
	d.mu.Lock()
	d.pending = nil
	stopped := d.stopped
	d.mu.Unlock()
	if !stopped {
		d.fire()
	}
}

// stop cancels a pending call; later events are ignored.
func (d *debouncer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.pending != nil {
		d.pending.Stop()
		d.pending = nil
	}
}

package events

import (
	"sync"
	"testing"
	"time"
)

// fakeTimers is a scheduler whose timers fire only when told to.
type fakeTimers struct {
	mu      sync.Mutex
	pending []*fakeTimer
	delays  []time.Duration
}

type fakeTimer struct {
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (s *fakeTimers) after(d time.Duration, f func()) timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &fakeTimer{f: f}
	s.pending = append(s.pending, t)
	s.delays = append(s.delays, d)
	return t
}

// fireAll fires every pending, unstopped timer and returns how many fired.
func (s *fakeTimers) fireAll() int {
	s.mu.Lock()
	ts := s.pending
	s.pending = nil
	s.mu.Unlock()
	n := 0
	for _, t := range ts {
		if !t.stopped {
			t.f()
			n++
		}
	}
	return n
}

func TestDebouncer(t *testing.T) {
	tests := []struct {
		name string
		// steps: "e" is an event, "f" fires the pending timers, "s" stops.
		steps     string
		wantFires int
		wantDelay int // timers scheduled
	}{
		{"nothing", "", 0, 0},
		{"one event waits for its delay", "e", 0, 1},
		{"one event", "ef", 1, 1},
		{"a burst is one call", "eeeeeeeeeef", 1, 1},
		{"two bursts are two calls", "eeeefeeef", 2, 2},
		{"events during the call's delay ride along", "eefef", 2, 2},
		{"a fire without events does nothing", "eff", 1, 1},
		{"stop cancels the pending call", "eesf", 0, 1},
		{"events after stop are ignored", "seef", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var timers fakeTimers
			fires := 0
			d := newDebouncer(250*time.Millisecond, func() { fires++ }, timers.after)
			for _, step := range tc.steps {
				switch step {
				case 'e':
					d.event()
				case 'f':
					timers.fireAll()
				case 's':
					d.stop()
				}
			}
			if fires != tc.wantFires {
				t.Errorf("fires = %d, want %d", fires, tc.wantFires)
			}
			if len(timers.delays) != tc.wantDelay {
				t.Errorf("timers scheduled = %d, want %d", len(timers.delays), tc.wantDelay)
			}
			for _, got := range timers.delays {
				if got != 250*time.Millisecond {
					t.Errorf("delay = %s, want 250ms", got)
				}
			}
		})
	}
}

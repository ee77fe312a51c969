package simulate

import "time"

// evKind is what an event does; at one instant, lower kinds go first.
type evKind uint8

const (
	evMachine evKind = iota // a machine's transition ends (registered, suspended, gone)
	evDone                  // a job completes
)

// event is one scheduled happening. Arrivals, the end of the horizon and
// ticks are not stored as events: the loop reads them from their own streams.
type event struct {
	at   time.Duration // since the replay's start
	kind evKind
	seq  uint64 // scheduling order, for ties
	job  int32  // evDone
	m    *machine
	gen  uint32 // the machine's generation when scheduled; stale events are ignored
}

// before orders events by time, kind, then scheduling order.
func (a *event) before(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}

// eventHeap is a binary min-heap of events.
type eventHeap []event

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s[i].before(&s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = event{}
	s = s[:n]
	i := 0
	for {
		l, r, small := 2*i+1, 2*i+2, i
		if l < n && s[l].before(&s[small]) {
			small = l
		}
		if r < n && s[r].before(&s[small]) {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
	return top
}

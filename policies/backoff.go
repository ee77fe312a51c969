package policies

import "time"

// Backoff bounds: the first failure waits BackoffBase, each next one twice as
// long, up to BackoffMax.
const (
	BackoffBase = 5 * time.Second
	BackoffMax  = 5 * time.Minute
)

// NextBackoff returns how long a pool waits after its failures-th consecutive
// failed tick: 5s·2^(failures-1), at most 5m; 0 for no failure. It adds no
// jitter: the loop does.
func NextBackoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := BackoffBase
	for i := 1; i < failures && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// MarkUnavailable skips offering index until the given time, after a capacity
// error there; a later mark already in place is kept.
func MarkUnavailable(st *PoolState, index int, until time.Time) {
	if st.Unavailable == nil {
		st.Unavailable = map[int]time.Time{}
	}
	if cur, ok := st.Unavailable[index]; !ok || until.After(cur) {
		st.Unavailable[index] = until
	}
}

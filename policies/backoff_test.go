package policies

import (
	"testing"
	"time"
)

func TestNextBackoff(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{-1, 0}, {0, 0}, {1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second},
		{6, 160 * time.Second}, {7, 5 * time.Minute}, {8, 5 * time.Minute}, {1000, 5 * time.Minute},
	}
	for _, c := range cases {
		if got := NextBackoff(c.failures); got != c.want {
			t.Errorf("NextBackoff(%d) = %s, want %s", c.failures, got, c.want)
		}
	}
}

func TestMarkUnavailable(t *testing.T) {
	var st PoolState
	t1 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	MarkUnavailable(&st, 1, t1)
	MarkUnavailable(&st, 1, t1.Add(-time.Minute)) // an earlier mark does not shorten it
	MarkUnavailable(&st, 0, t1.Add(time.Minute))
	if len(st.Unavailable) != 2 || !st.Unavailable[1].Equal(t1) || !st.Unavailable[0].Equal(t1.Add(time.Minute)) {
		t.Errorf("Unavailable = %v", st.Unavailable)
	}
	MarkUnavailable(&st, 1, t1.Add(time.Hour))
	if !st.Unavailable[1].Equal(t1.Add(time.Hour)) {
		t.Errorf("a later mark did not extend: %v", st.Unavailable[1])
	}
}

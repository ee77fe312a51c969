package policies

import (
	"testing"
	"time"
)

func TestEffectiveMin(t *testing.T) {
	paris := Window{Cron: "0 8 * * 1-5", Duration: 10 * time.Hour, MinAgents: 5, Timezone: "Europe/Paris"}
	// Monday 00:00 in Paris is still Sunday in UTC.
	mondayParis := Window{Cron: "0 0 * * 1", Duration: time.Hour, MinAgents: 7, Timezone: "Europe/Paris"}
	utcEvening := Window{Cron: "0 20 * * *", Duration: 2 * time.Hour, MinAgents: 3}
	const parisDesc = `schedule[0] "0 8 * * 1-5" for 10h Europe/Paris`
	cases := []struct {
		name       string
		min        int
		windows    []Window
		now        string // RFC 3339
		want       int
		wantWindow string
	}{
		{"no schedule", 2, nil, "2025-03-10T12:00:00Z", 2, ""},
		{"before the window (07:30 Paris)", 1, []Window{paris}, "2025-03-10T06:30:00Z", 1, ""},
		{"window opens at 08:00 Paris", 1, []Window{paris}, "2025-03-10T07:00:00Z", 5, parisDesc},
		{"inside (08:30 Paris, 07:30 UTC)", 1, []Window{paris}, "2025-03-10T07:30:00Z", 5, parisDesc},
		{"last second (17:59:59 Paris)", 1, []Window{paris}, "2025-03-10T16:59:59Z", 5, parisDesc},
		{"closed at 18:00 Paris", 1, []Window{paris}, "2025-03-10T17:00:00Z", 1, ""},
		{"after DST, 08:30 Paris is 06:30 UTC", 1, []Window{paris}, "2025-03-31T06:30:00Z", 5, parisDesc},
		{"Saturday", 1, []Window{paris}, "2025-03-15T09:00:00Z", 1, ""},
		{"Sunday 23:30 UTC is Monday in Paris", 0, []Window{mondayParis}, "2025-03-09T23:30:00Z", 7, `schedule[0] "0 0 * * 1" for 1h Europe/Paris`},
		{"Monday 00:30 UTC is past the Paris hour", 0, []Window{mondayParis}, "2025-03-10T00:30:00Z", 0, ""},
		{"window across midnight UTC", 0, []Window{utcEvening}, "2025-03-10T21:30:00Z", 3, `schedule[0] "0 20 * * *" for 2h UTC`},
		{"min_agents above the window", 6, []Window{paris}, "2025-03-10T09:00:00Z", 6, ""},
		{"the largest open window wins", 1, []Window{utcEvening, {Cron: "@daily", Duration: 24 * time.Hour, MinAgents: 4}}, "2025-03-10T21:00:00Z", 4, `schedule[1] "@daily" for 24h UTC`},
		{"a window that does not parse never opens", 1, []Window{{Cron: "bad", Duration: time.Hour, MinAgents: 9}}, "2025-03-10T09:00:00Z", 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now, err := time.Parse(time.RFC3339, c.now)
			if err != nil {
				t.Fatal(err)
			}
			p := &Policy{MinAgents: c.min, MaxAgents: 10, Schedule: c.windows}
			got, window := EffectiveMin(p, now)
			if got != c.want || window != c.wantWindow {
				t.Errorf("EffectiveMin = %d, %q; want %d, %q", got, window, c.want, c.wantWindow)
			}
		})
	}
}

func TestEffectiveMinUsesTheCacheOnlyWhileTheScheduleIsUnchanged(t *testing.T) {
	p := validPolicy()
	p.Schedule = []Window{{Cron: "0 8 * * *", Duration: time.Hour, MinAgents: 4}}
	if err := Validate(&Set{Pools: []*Policy{p}}, knownProviders()); err != nil {
		t.Fatal(err)
	}
	if p.sched == nil || !p.sched.matches(p.Schedule) {
		t.Fatal("Validate did not cache the schedule")
	}
	at := time.Date(2025, 3, 10, 8, 30, 0, 0, time.UTC)
	if got, _ := EffectiveMin(p, at); got != 4 {
		t.Errorf("cached: min %d, want 4", got)
	}
	// Changed after validation: the stale cache must not be used.
	p.Schedule[0].Cron = "0 20 * * *"
	if got, _ := EffectiveMin(p, at); got != 0 {
		t.Errorf("after a change: min %d, want 0", got)
	}
	if got, _ := EffectiveMin(p, at.Add(12*time.Hour)); got != 4 {
		t.Errorf("after a change, in the new window: min %d, want 4", got)
	}
}

package policies

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

func TestDecideSuspendedHousekeeping(t *testing.T) {
	maxSusp := func(n int) func(*Policy) { return func(p *Policy) { p.MaxSuspended = n } }
	runDecide(t, []decideCase{
		{name: "past suspended_ttl, oldest first",
			in:   mk(pol(), status(0), susp("a", 25*time.Hour), susp("b", 30*time.Hour), susp("c", time.Hour)),
			want: []string{"destroy i-b suspended_ttl", "destroy i-a suspended_ttl"}},
		{name: "beyond max_suspended, oldest first",
			in:   mk(pol(maxSusp(2)), status(0), susp("h1", time.Hour), susp("h4", 4*time.Hour), susp("h2", 2*time.Hour), susp("h3", 3*time.Hour)),
			want: []string{"destroy i-h4 max_suspended", "destroy i-h3 max_suspended"}},
		{name: "ttl destroys count against the cap",
			in:   mk(pol(maxSusp(1)), status(0), susp("a", 30*time.Hour), susp("b", time.Hour), susp("c", 2*time.Hour)),
			want: []string{"destroy i-a suspended_ttl", "destroy i-c max_suspended"}},
		{name: "an unknown suspend time is the oldest",
			in:   mk(pol(maxSusp(1), func(p *Policy) { p.SuspendedTTL = 0 }), status(0), susp("known", time.Hour), susp("unknown", 0)),
			want: []string{"destroy i-unknown max_suspended"}},
		{name: "suspending machines count but wait for the next tick",
			in:   mk(pol(maxSusp(1)), status(0), inst("going", providers.StateSuspending), susp("s", time.Hour)),
			want: []string{"destroy i-s max_suspended"}},
		{name: "machines this plan suspends count",
			in:   mk(pol(maxSusp(1)), status(0, drained(idle("d", time.Minute))), running("d"), susp("s", time.Hour)),
			want: []string{"suspend i-d drain_confirmed", "destroy i-s max_suspended"}},
		{name: "a resumed machine is never destroyed, even past its ttl",
			in:   mk(pol(), status(1), susp("old", 30*time.Hour)),
			want: []string{"resume i-old backlog"}},
		{name: "resumes make room under the cap",
			in:   mk(pol(maxSusp(1)), status(1), susp("a", 3*time.Hour), susp("b", 2*time.Hour), susp("c", time.Hour)),
			want: []string{"resume i-c backlog", "destroy i-a max_suspended"}},
	})
}

func TestDecideBootTimeout(t *testing.T) {
	started := func(in providers.Instance, start, created time.Time) providers.Instance {
		in.StartedAt, in.CreatedAt = start, created
		return in
	}
	runDecide(t, []decideCase{
		{name: "never registered: destroy as a boot failure, and replace at once",
			in:   mk(pol(), status(1), booting("late", 11*time.Minute)),
			want: []string{"destroy i-late boot_timeout boot-failure", "create @0 backlog"}},
		{name: "exactly boot_timeout",
			in:   mk(pol(), status(0), booting("late", 10*time.Minute)),
			want: []string{"destroy i-late boot_timeout boot-failure"}},
		{name: "still within boot_timeout",
			in:   mk(pol(), status(1), booting("soon", 9*time.Minute)),
			want: nil},
		{name: "registered agents are not boot failures",
			in:   mk(pol(), status(0, busy("a")), booting("a", time.Hour)),
			want: nil},
		{name: "a resume that never registered",
			in:   mk(pol(), status(0), started(inst("r", providers.StateResuming), t0.Add(-20*time.Minute), t0.Add(-48*time.Hour))),
			want: []string{"destroy i-r boot_timeout boot-failure"}},
		{name: "a recent resume of an old machine is not late",
			in:   mk(pol(func(p *Policy) { p.MinAgents = 1 }), status(0), started(inst("r", providers.StateResuming), t0.Add(-time.Minute), t0.Add(-48*time.Hour))),
			want: nil},
		{name: "no StartedAt: CreatedAt counts",
			in:   mk(pol(), status(0), started(inst("c", providers.StatePending), time.Time{}, t0.Add(-time.Hour))),
			want: []string{"destroy i-c boot_timeout boot-failure"}},
		{name: "no time at all: never times out",
			in:   mk(pol(func(p *Policy) { p.MinAgents = 1 }), status(0), started(inst("c", providers.StatePending), time.Time{}, time.Time{})),
			want: nil},
		{name: "stale status: we cannot know, keep it",
			in:   with(mk(pol(), status(0), booting("late", time.Hour)), func(in *Input) { in.StatusStale = true }),
			want: nil},
	})
}

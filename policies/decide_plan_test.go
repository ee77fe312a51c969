package policies

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

func TestDecideReasonsAndCounts(t *testing.T) {
	in := mk(pol(func(p *Policy) { p.ScaleUpStep, p.Warm, p.MaxAgents = 5, 1, 20 }),
		status(12, busy("a"), busy("b"), busy("c"), drained(busy("x")), idle("hand", 0)),
		running("a"), running("b"), running("c"), running("x"), booting("d", time.Minute), booting("late", time.Hour), susp("s", 2*time.Hour))
	plan := Decide(in)
	const head = "backlog: 12 queued + 3 busy + 1 warm = 16 wanted, capacity 5: adding 5 (scale_up_step 5)"
	want := []Action{
		{Kind: ActDestroy, InstanceID: "i-late", Name: "late", Code: ReasonBootTimeout, BootFailure: true,
			Reason: "boot_timeout: late started 1h ago and its agent never registered (boot_timeout 10m): destroying"},
		{Kind: ActResume, InstanceID: "i-s", Name: "s", Code: ReasonBacklog, Reason: head + ": resuming s (suspended 2h ago)"},
	}
	for range 4 {
		want = append(want, Action{Kind: ActCreate, Offering: providers.Offering{Zone: "z1"}, Code: ReasonBacklog,
			Reason: head + ": creating 4 in offering 0 (z1)"})
	}
	if !reflect.DeepEqual(plan.Actions, want) {
		t.Errorf("actions:\n got %+v\nwant %+v", plan.Actions, want)
	}
	wantCounts := Counts{Queued: 12, Busy: 3, Idle: 1, Draining: 1, Booting: 1, Suspended: 1, ByHand: 1, Capacity: 5}
	if plan.Counts != wantCounts || plan.Want != 16 || plan.Min != 0 {
		t.Errorf("want %d min %d counts %+v; want 16, 0, %+v", plan.Want, plan.Min, plan.Counts, wantCounts)
	}
	if want := []string{"1 draining agent still busy (x): acting once idle"}; !reflect.DeepEqual(plan.Holds, want) {
		t.Errorf("holds %q, want %q", plan.Holds, want)
	}
}

func TestDecideScaleDownReasons(t *testing.T) {
	in := mk(pol(func(p *Policy) { p.MaxSuspended = 1 }),
		status(1, idle("a", time.Hour), idle("b", 30*time.Minute), drained(idle("c", time.Hour))),
		running("a"), running("b"), running("c"), susp("s1", 30*time.Hour), susp("s2", 2*time.Hour), susp("s3", time.Hour))
	var got []string
	for _, a := range Decide(in).Actions {
		got = append(got, a.Reason)
	}
	want := []string{
		"idle_timeout: capacity 2 above want 1 (1 queued + 0 busy + 0 warm = 1 wanted): draining a, idle 1h (idle_timeout 10m), then suspend",
		"drain_confirmed: c is drained and idle: suspending (suspend stop, max_suspended 1)",
		"suspended_ttl: s1 suspended 30h ago (suspended_ttl 24h): destroying",
		"max_suspended: 3 suspended or being suspended, above max_suspended 1: destroying s2 (suspended 2h ago), oldest first",
		"max_suspended: 3 suspended or being suspended, above max_suspended 1: destroying s3 (suspended 1h ago), oldest first",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons:\n got %q\nwant %q", got, want)
	}
}

func TestDecideWantAndMin(t *testing.T) {
	window := func(p *Policy) {
		p.MinAgents = 1
		p.Schedule = []Window{{Cron: "0 8 * * 1-5", Duration: 10 * time.Hour, MinAgents: 4, Timezone: "Europe/Paris"}}
	}
	cases := []struct {
		name           string
		in             Input
		wantW, wantMin int
	}{
		{"backlog", mk(pol(), status(3)), 3, 0},
		{"clamped to max", mk(pol(), status(30)), 10, 0},
		{"window min", mk(pol(window), status(0)), 4, 4},
		{"window closed at 19:00 Paris", with(mk(pol(window), status(0)), func(in *Input) { in.Now = t0.Add(6 * time.Hour) }), 1, 1},
		{"headroom caps but never below capacity", with(mk(pol(), status(9, busy("a"), busy("b")), running("a"), running("b")), func(in *Input) { in.Headroom = 1 }), 3, 0},
		{"stale: min only", with(mk(pol(window), status(30)), func(in *Input) { in.StatusStale = true }), 4, 4},
	}
	for _, c := range cases {
		if p := Decide(c.in); p.Want != c.wantW || p.Min != c.wantMin {
			t.Errorf("%s: want %d min %d; want %d, %d", c.name, p.Want, p.Min, c.wantW, c.wantMin)
		}
	}
}

func TestDecideIsDeterministic(t *testing.T) {
	in := mixedPool(40)
	first := Decide(in)
	if len(first.Actions) == 0 {
		t.Fatal("the mixed pool plans nothing: the test would prove nothing")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := in
		shuffled.Instances = append([]providers.Instance(nil), in.Instances...)
		r.Shuffle(len(shuffled.Instances), func(i, j int) {
			shuffled.Instances[i], shuffled.Instances[j] = shuffled.Instances[j], shuffled.Instances[i]
		})
		st := *in.Status
		st.Agents = append([]api.AgentStatus(nil), st.Agents...)
		r.Shuffle(len(st.Agents), func(i, j int) { st.Agents[i], st.Agents[j] = st.Agents[j], st.Agents[i] })
		shuffled.Status = &st
		if got := Decide(shuffled); !reflect.DeepEqual(got, first) {
			t.Fatalf("the order of the input changed the plan:\n got %+v\nwant %+v", got, first)
		}
	}
	// Decide does not modify its input.
	if in.Instances[0].Name != "m000" || in.Status.Agents[0].ID != "m000" {
		t.Error("Decide reordered its input")
	}
}

package simulate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// t0 is the start of the hand-made traces.
var t0 = time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)

// handJobs is the small trace whose answers are worked out by hand below:
// A at 0s for 100s, B at 5s for 50s, C at 200s for 10s.
func handJobs() []Job {
	return []Job{
		{ID: "A", Pool: "p", Arrival: t0, Duration: 100 * time.Second, Line: 2},
		{ID: "B", Pool: "p", Arrival: t0.Add(5 * time.Second), Duration: 50 * time.Second, Line: 3},
		{ID: "C", Pool: "p", Arrival: t0.Add(200 * time.Second), Duration: 10 * time.Second, Line: 4},
	}
}

// handPolicy scales pool p from 0 to 2 agents, with no idle_timeout and no cooldowns.
func handPolicy(mode providers.SuspendMode) *policies.Policy {
	return &policies.Policy{
		Installation: "i", Pool: "p", Provider: "sim", MaxAgents: 2, ScaleUpStep: 10,
		Suspend: mode, MaxSuspended: 2, SuspendedTTL: 24 * time.Hour, BootTimeout: 10 * time.Minute,
		Offerings: []providers.Offering{{}},
	}
}

// observed is a replay with what it saw of every job.
type observed struct {
	e      *engine
	run    *Run
	starts map[string]int
	dones  map[string]int
	agents map[string]string // the agent that ran each job
}

// replayObserved replays and counts, per job id, its starts and completions.
func replayObserved(t *testing.T, cfg Config, sc Scenario, jobs []Job) observed {
	t.Helper()
	e, err := newEngine(cfg, sc, jobs)
	if err != nil {
		t.Fatal(err)
	}
	o := observed{e: e, starts: map[string]int{}, dones: map[string]int{}}
	o.agents = map[string]string{}
	e.observe = func(kind string, job int, agent string, at time.Duration) {
		if kind == "start" {
			o.starts[jobs[job].ID]++
			o.agents[jobs[job].ID] = agent
		} else {
			o.dones[jobs[job].ID]++
		}
	}
	if err := e.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.run = e.result(sc)
	return o
}

// checkInvariants asserts what holds for every replay: every job started
// and completed exactly once, no wait is negative, no job was lost, and no
// pool costs less than its floor.
func checkInvariants(t *testing.T, o observed, jobs []Job) {
	t.Helper()
	for _, j := range jobs {
		if o.starts[j.ID] != 1 || o.dones[j.ID] != 1 {
			t.Errorf("%s: job %s started %d times and completed %d times, want once each", o.run.Name, j.ID, o.starts[j.ID], o.dones[j.ID])
		}
	}
	for i, w := range o.e.waits {
		if w < 0 {
			t.Errorf("%s: job %s waited %s", o.run.Name, jobs[i].ID, w)
		}
	}
	for _, p := range append(o.run.Pools, PoolResult{Pool: "overall", Stats: o.run.Overall}) {
		if p.Cost < p.Floor-1e-9 {
			t.Errorf("%s: pool %s costs %.4f, below its floor %.4f", o.run.Name, p.Pool, p.Cost, p.Floor)
		}
		if p.Lost != 0 {
			t.Errorf("%s: pool %s lost %d jobs", o.run.Name, p.Pool, p.Lost)
		}
		if p.Wait.P50 < 0 || p.Wait.P50 > p.Wait.P95 || p.Wait.P95 > p.Wait.P99 || p.Wait.P99 > p.Wait.Max {
			t.Errorf("%s: pool %s waits out of order: %+v", o.run.Name, p.Pool, p.Wait)
		}
	}
}

func TestReplayByHand(t *testing.T) {
	lat := Latencies{Create: 0, Boot: 30 * time.Second, Resume: 20 * time.Second, Suspend: 10 * time.Second, Destroy: 10 * time.Second}
	model := ProviderModel{Latencies: lat, Prices: Prices{Running: 0.36, Suspended: 0.036}}
	cfg := Config{Start: t0, End: t0.Add(210 * time.Second), TickInterval: 10 * time.Second}
	type want struct {
		waits              []time.Duration // A, B, C
		agents             []string        // that ran A, B, C
		running, suspended time.Duration
		creates, resumes   int
		suspends, destroys int
		drains, peak       int
		end                time.Duration
		cost               float64 // at $0.36/h: $0.0001 per running second, a tenth of that suspended
	}
	tests := []struct {
		name string
		spec PoolSpec
		want want
	}{
		{
			// tick 0: A queued: create m1 (registers at 30: A runs 30-130, waits 30).
			// tick 10: A and B queued, 1 booting: create m2 (registers at 40: B runs 40-90, waits 35).
			// tick 90: m2 idle, want 1: drain, destroy (gone at 100). tick 130: m1 likewise (gone at 140).
			// tick 200: C queued: create m3, named i-p-1 (the lowest free name), registers at 230:
			// C runs 230-240, waits 30; the replay ends at 240.
			// Running: m1 0-140, m2 10-100, m3 200-240 = 270 s.
			name: "create-destroy",
			spec: PoolSpec{Pool: "p", Policy: handPolicy(providers.SuspendNone), Model: model},
			want: want{waits: []time.Duration{30, 35, 30}, agents: []string{"i-p-1", "i-p-2", "i-p-1"}, running: 270, creates: 3, destroys: 2, drains: 2, peak: 2, end: 240, cost: 0.027},
		},
		{
			// As above until tick 90, where m2 is suspended instead (suspending 90-100, suspended from 100),
			// and m1 at tick 130 (suspended from 140). tick 200: resume the newest suspended, m1
			// (suspended at 140, after m2 at 100), which registers at 220 as i-p-1 again: C runs
			// 220-230, waits 20; the replay ends at 230.
			// Running: m1 0-140 and 200-230, m2 10-100 = 260 s. Suspended: m1 140-200, m2 100-230 = 190 s.
			name: "suspend",
			spec: PoolSpec{Pool: "p", Policy: handPolicy(providers.SuspendStop), Model: model},
			want: want{waits: []time.Duration{30, 35, 20}, agents: []string{"i-p-1", "i-p-2", "i-p-1"}, running: 260, suspended: 190, creates: 2, resumes: 1, suspends: 2, drains: 2, peak: 2, end: 230,
				cost: 0.026 + 0.0019},
		},
		{
			// min_agents 1 and warm 1: tick 0 wants 2 (A queued + warm 1): creates m1 and m2, both
			// registering at 30: A on m1 (waits 30, runs to 130), B on m2 (waits 25, runs to 80).
			// tick 80: want 1 busy + 1 warm = 2 = capacity: nothing. tick 130: want max(0+0+1, min 1) = 1,
			// capacity 2: drain the longest idle, m2 (since 80), destroyed 130-140.
			// tick 200: C arrived and took idle m1 at once (waits 0); want 1 busy + 1 warm = 2: create m3
			// (booting 200-230). C ends at 210, the horizon: the replay ends at 210.
			// Running: m1 0-210, m2 0-140, m3 200-210 = 360 s; at most 2 at once.
			name: "min and warm",
			spec: PoolSpec{Pool: "p", Policy: func() *policies.Policy {
				p := handPolicy(providers.SuspendNone)
				p.MinAgents, p.Warm = 1, 1
				return p
			}(), Model: model},
			want: want{waits: []time.Duration{30, 25, 0}, agents: []string{"i-p-1", "i-p-2", "i-p-1"}, running: 360, creates: 3, destroys: 1, drains: 1, peak: 2, end: 210, cost: 0.036},
		},
		{
			// Two agents from the start: nobody waits; 2 x 210 s running. C goes to
			// static-2, idle since 55 (static-1 since 100).
			name: "static",
			spec: PoolSpec{Pool: "p", Static: 2, Model: model},
			want: want{waits: []time.Duration{0, 0, 0}, agents: []string{"static-1", "static-2", "static-2"}, running: 420, peak: 2, end: 210, cost: 0.042},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jobs := handJobs()
			o := replayObserved(t, cfg, Scenario{Name: tc.name, Pools: []PoolSpec{tc.spec}}, jobs)
			checkInvariants(t, o, jobs)
			w := tc.want
			for i, j := range jobs {
				if got := o.e.waits[i]; got != w.waits[i]*time.Second {
					t.Errorf("job %s waited %s, want %s", j.ID, got, w.waits[i]*time.Second)
				}
				if got := o.agents[j.ID]; got != w.agents[i] {
					t.Errorf("job %s ran on %s, want %s", j.ID, got, w.agents[i])
				}
			}
			p := o.e.pools[0]
			if d := o.run.End.Sub(t0); d != w.end*time.Second {
				t.Errorf("ended at %s, want %s", d, w.end*time.Second)
			}
			if p.runningTime != w.running*time.Second || p.suspendedTime != w.suspended*time.Second {
				t.Errorf("running %s, suspended %s; want %s and %s", p.runningTime, p.suspendedTime, w.running*time.Second, w.suspended*time.Second)
			}
			got := o.run.Pools[0]
			if got.Creates != w.creates || got.Resumes != w.resumes || got.Suspends != w.suspends || got.Destroys != w.destroys || got.Drains != w.drains {
				t.Errorf("creates %d resumes %d suspends %d destroys %d drains %d; want %d %d %d %d %d", got.Creates, got.Resumes, got.Suspends, got.Destroys, got.Drains,
					w.creates, w.resumes, w.suspends, w.destroys, w.drains)
			}
			if got.PeakMachines != w.peak {
				t.Errorf("peak %d machines, want %d", got.PeakMachines, w.peak)
			}
			if p.busyTime != 160*time.Second {
				t.Errorf("busy %s, want 160s", p.busyTime)
			}
			if diff := got.Cost - w.cost; diff > 1e-12 || diff < -1e-12 {
				t.Errorf("cost %.6f, want %.6f", got.Cost, w.cost)
			}
			if want := 0.016; got.Floor-want > 1e-12 || want-got.Floor > 1e-12 {
				t.Errorf("floor %.6f, want %.6f (160 s at $0.0001)", got.Floor, want)
			}
		})
	}
}

func TestReplayCooldownAndBootTimeout(t *testing.T) {
	// One job of 60 s at 0 and two at 100 s; create 0 + boot 20 s.
	jobs := []Job{
		{ID: "a", Pool: "p", Arrival: t0, Duration: 60 * time.Second},
		{ID: "b", Pool: "p", Arrival: t0.Add(100 * time.Second), Duration: 10 * time.Second},
		{ID: "c", Pool: "p", Arrival: t0.Add(100 * time.Second), Duration: 10 * time.Second},
	}
	model := ProviderModel{Latencies: Latencies{Boot: 20 * time.Second, Destroy: 0}}
	pol := handPolicy(providers.SuspendNone)
	pol.ScaleUpStep = 1
	pol.Cooldown.Up = 30 * time.Second
	cfg := Config{Start: t0, End: t0.Add(110 * time.Second), TickInterval: 10 * time.Second}
	o := replayObserved(t, cfg, Scenario{Name: "cooldown", Pools: []PoolSpec{{Pool: "p", Policy: pol, Model: model}}}, jobs)
	checkInvariants(t, o, jobs)
	// a: created at 0, registers at 20 (waits 20), runs to 80; tick 80 destroys it (idle_timeout 0).
	// b, c at 100: tick 100 creates one (scale_up_step 1), registering at 120: b waits 20, runs to
	// 130. Ticks 110 and 120 want 2 but the cooldown up (30s since 100) holds the second create;
	// at 130 b's completion comes before the tick, c takes that agent (waits 30) and tick 130
	// wants no more. Without the cooldown, tick 110 would have created a third machine.
	want := []time.Duration{20 * time.Second, 20 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := o.e.waits[i]; got != w {
			t.Errorf("job %s waited %s, want %s", jobs[i].ID, got, w)
		}
	}
	if got := o.run.Pools[0].Creates; got != 2 {
		t.Errorf("%d creates, want 2", got)
	}

	// A boot_timeout not above create + boot is refused up front.
	pol2 := handPolicy(providers.SuspendNone)
	pol2.BootTimeout = 20 * time.Second
	_, err := Replay(context.Background(), cfg, Scenario{Name: "x", Pools: []PoolSpec{{Pool: "p", Policy: pol2, Model: model}}}, jobs)
	if err == nil || !strings.Contains(err.Error(), "boot_timeout 20s is not above the model's create + boot 20s") {
		t.Errorf("boot_timeout = boot: got %v", err)
	}
}

func TestReplayInstallationCap(t *testing.T) {
	// Two pools of one installation capped at 3 agents, 4 jobs each at once.
	var jobs []Job
	for i := range 8 {
		pool := []string{"a", "b"}[i%2]
		jobs = append(jobs, Job{ID: "j" + itoa(i), Pool: pool, Arrival: t0, Duration: time.Minute, Line: i + 2})
	}
	model := ProviderModel{Latencies: Latencies{Boot: 10 * time.Second}, Prices: Prices{Running: 1}}
	pa, pb := handPolicy(providers.SuspendNone), handPolicy(providers.SuspendNone)
	pa.Pool, pb.Pool = "a", "b"
	pa.MaxAgents, pb.MaxAgents = 4, 4
	sc := Scenario{Name: "cap", Pools: []PoolSpec{{Pool: "a", Policy: pa, Model: model}, {Pool: "b", Policy: pb, Model: model}},
		Installations: map[string]*policies.Installation{"i": {Name: "i", MaxAgents: 3}}}
	o := replayObserved(t, Config{Start: t0, End: t0.Add(time.Minute)}, sc, jobs)
	checkInvariants(t, o, jobs)
	if got := o.run.Overall.PeakMachines; got != 3 {
		t.Errorf("peak %d machines under an installation cap of 3", got)
	}
	// Pool a is decided first and takes the whole headroom.
	if a, b := o.run.Pools[0].PeakMachines, o.run.Pools[1].PeakMachines; a != 3 || b > 3 {
		t.Errorf("peaks a=%d b=%d, want a=3 (decided first)", a, b)
	}
}

func TestReplayBitcoinExtractInvariants(t *testing.T) {
	tr, err := ReadTrace("testdata/bitcoin-core-gha-jobs-1d.csv", Presets()["bitcoin"])
	if err != nil {
		t.Fatal(err)
	}
	set, err := LoadPolicies("../../examples/simulate/bitcoin-selfhosted.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, err := LoadPolicies("testdata/tight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sel := Select(tr.Jobs, Window{})
	specs, err := MapPools(set, Pools(sel.Jobs), "", Model{Default: DefaultProviderModel()})
	if err == nil {
		t.Fatalf("the example names only selfhosted-linux, yet every pool mapped: %+v", specs)
	}
	specs, err = MapPools(set, Pools(sel.Jobs), "selfhosted-linux", Model{Default: DefaultProviderModel()})
	if err != nil {
		t.Fatal(err)
	}
	tight, err := MapPools(def, Pools(sel.Jobs), "selfhosted-linux", Model{Default: DefaultProviderModel()})
	if err != nil {
		t.Fatal(err)
	}
	policy := PolicyScenario("example", set, specs)
	scs := []Scenario{StaticScenario(specs, sel.Jobs), CreateDestroyScenario(policy), policy, PolicyScenario("tight", def, tight)}
	cfg := Config{Start: sel.Start, End: sel.End}
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			o := replayObserved(t, cfg, sc, sel.Jobs)
			checkInvariants(t, o, sel.Jobs)
			if o.run.Overall.Jobs != len(sel.Jobs) {
				t.Errorf("%d jobs run, want %d", o.run.Overall.Jobs, len(sel.Jobs))
			}
		})
	}
}

func TestDispatchLongestIdleFirst(t *testing.T) {
	// Two static agents, idle since the start: x takes static-1 (ties go by
	// name), y static-2. x ends at 10, y at 20: z, at 30, goes to static-1,
	// idle the longest; w, queued behind it at the same instant, to static-2.
	jobs := []Job{
		{ID: "x", Pool: "p", Arrival: t0, Duration: 10 * time.Second},
		{ID: "y", Pool: "p", Arrival: t0, Duration: 20 * time.Second},
		{ID: "z", Pool: "p", Arrival: t0.Add(30 * time.Second), Duration: time.Second},
		{ID: "w", Pool: "p", Arrival: t0.Add(30 * time.Second), Duration: time.Second},
	}
	sc := Scenario{Name: "static", Pools: []PoolSpec{{Pool: "p", Static: 2}}}
	o := replayObserved(t, Config{Start: t0, End: t0.Add(31 * time.Second)}, sc, jobs)
	checkInvariants(t, o, jobs)
	want := map[string]string{"x": "static-1", "y": "static-2", "z": "static-1", "w": "static-2"}
	for job, agent := range want {
		if o.agents[job] != agent {
			t.Errorf("job %s ran on %s, want %s", job, o.agents[job], agent)
		}
	}
}

func TestReplayStopsOnStallAndCancel(t *testing.T) {
	jobs := handJobs()
	cfg := Config{Start: t0, End: t0.Add(210 * time.Second), TickInterval: time.Hour}
	// A static pool of no agents never runs anything.
	_, err := Replay(context.Background(), cfg, Scenario{Name: "empty", Pools: []PoolSpec{{Pool: "p"}}}, jobs)
	if err == nil || !strings.Contains(err.Error(), "pool p still has 3 jobs queued") {
		t.Errorf("stall: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Replay(ctx, cfg, Scenario{Name: "x", Pools: []PoolSpec{{Pool: "p", Static: 1}}}, jobs)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled: got %v", err)
	}
	// A job in a pool the scenario lacks is refused, naming it.
	_, err = Replay(context.Background(), cfg, Scenario{Name: "x", Pools: []PoolSpec{{Pool: "q", Static: 1}}}, jobs)
	if err == nil || !strings.Contains(err.Error(), "job A (line 2) is in pool p, which the scenario does not have") {
		t.Errorf("unknown pool: got %v", err)
	}
}

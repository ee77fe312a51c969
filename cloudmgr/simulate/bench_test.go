package simulate

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// sharedTraces is the project's shared traces folder, relative to this package.
const sharedTraces = "../../../shared/traces"

// BenchmarkReplayBitcoinWeek replays the first week of the Bitcoin Core
// selfhosted-linux pool with the example policy and both baselines (three
// replays, in parallel up to the CPUs), reading and parsing the whole trace
// each time, as `cloudmgr simulate` does. It reports the figures of the
// docs' table.
func BenchmarkReplayBitcoinWeek(b *testing.B) {
	trace := filepath.Join(sharedTraces, "bitcoin-core-gha-jobs.csv")
	if _, err := os.Stat(trace); err != nil {
		if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
			b.Fatalf("the shared Bitcoin Core trace is missing: %v", err)
		}
		b.Skipf("the shared Bitcoin Core trace is not at %s", trace)
	}
	o, code := parseFlags([]string{"-trace", trace, "-preset", "bitcoin", "-pool", "selfhosted-linux", "-days", "7",
		"-policy", "../../examples/simulate/bitcoin-selfhosted.yaml"}, os.Stderr)
	if code >= 0 {
		b.Fatalf("flags: exit %d", code)
	}
	var rep *Report
	for b.Loop() {
		var err error
		if rep, err = run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rep.Trace.Jobs), "jobs")
	for _, r := range rep.Runs {
		b.ReportMetric(r.Overall.Wait.P95, r.Kind+"_p95_s")
		b.ReportMetric(r.Overall.CostToFloor, r.Kind+"_cost/floor")
	}
}

// BenchmarkReplayWeekPolicyOnly is one replay of the week with the example
// policy, the trace already read: the engine's own speed.
func BenchmarkReplayWeekPolicyOnly(b *testing.B) {
	trace := filepath.Join(sharedTraces, "bitcoin-core-gha-jobs.csv")
	if _, err := os.Stat(trace); err != nil {
		b.Skipf("the shared Bitcoin Core trace is not at %s", trace)
	}
	tr, err := ReadTrace(trace, Presets()["bitcoin"])
	if err != nil {
		b.Fatal(err)
	}
	sel := Select(tr.Jobs, Window{Pool: "selfhosted-linux", Days: 7})
	set, err := LoadPolicies("../../examples/simulate/bitcoin-selfhosted.yaml")
	if err != nil {
		b.Fatal(err)
	}
	specs, err := MapPools(set, Pools(sel.Jobs), "", Model{Default: DefaultProviderModel()})
	if err != nil {
		b.Fatal(err)
	}
	sc := PolicyScenario("example", set, specs)
	cfg := Config{Start: sel.Start, End: sel.End}
	b.ReportAllocs()
	var r *Run
	for b.Loop() {
		if r, err = Replay(context.Background(), cfg, sc, sel.Jobs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.End.Sub(sel.Start)/DefaultTickInterval), "ticks")
}

// BenchmarkReplayGoogleWeek replays the whole Google ClusterData2011 week
// (four pools, up to 644 jobs at once) with examples/simulate/google-classes.yaml
// alone, the trace already read: a stress shape for the engine.
func BenchmarkReplayGoogleWeek(b *testing.B) {
	trace := filepath.Join(sharedTraces, "google-clusterdata2011-jobs-7d.csv")
	if _, err := os.Stat(trace); err != nil {
		b.Skipf("the shared Google trace is not at %s", trace)
	}
	tr, err := ReadTrace(trace, Presets()["google"])
	if err != nil {
		b.Fatal(err)
	}
	sel := Select(tr.Jobs, Window{})
	set, err := LoadPolicies("../../examples/simulate/google-classes.yaml")
	if err != nil {
		b.Fatal(err)
	}
	specs, err := MapPools(set, Pools(sel.Jobs), "batch", Model{Default: DefaultProviderModel()})
	if err != nil {
		b.Fatal(err)
	}
	sc := PolicyScenario("google", set, specs)
	cfg := Config{Start: sel.Start, End: sel.End}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(context.Background(), cfg, sc, sel.Jobs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(sel.Jobs)), "jobs")
}

package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleArgs replays the Bitcoin extract with the example policy.
var exampleArgs = []string{
	"-trace", "testdata/bitcoin-core-gha-jobs-1d.csv", "-preset", "bitcoin",
	"-policy", "../../examples/simulate/bitcoin-selfhosted.yaml", "-default-policy", "selfhosted-linux",
}

// oneArgs is exampleArgs for the selfhosted-linux pool alone (faster).
var oneArgs = append(append([]string{}, exampleArgs...), "-pool", "selfhosted-linux")

// runMain runs Main and returns its exit code, stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// decode reads a JSON report.
func decode(t *testing.T, s string) Report {
	t.Helper()
	var r Report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("decoding the JSON: %v\n%s", err, s)
	}
	return r
}

func TestMainIsDeterministic(t *testing.T) {
	for _, args := range [][]string{exampleArgs, append(append([]string{}, oneArgs...), "-sweep", "idle_timeout=0s:20m:3")} {
		args := append(append([]string{}, args...), "-json")
		c1, out1, err1 := runMain(t, args...)
		c2, out2, _ := runMain(t, args...)
		if c1 != 0 || c2 != 0 {
			t.Fatalf("exit %d, %d: %s", c1, c2, err1)
		}
		if out1 != out2 {
			t.Errorf("two replays of %v differ", args)
		}
		rep := decode(t, out1)
		for _, r := range rep.Runs {
			if r.Overall.Jobs != rep.Trace.Jobs || (rep.Trace.Jobs != 445 && rep.Trace.Jobs != 276) {
				t.Errorf("%s ran %d jobs of %d (445 in all pools, 276 in selfhosted-linux)", r.Name, r.Overall.Jobs, rep.Trace.Jobs)
			}
			if r.Overall.Cost < r.Overall.Floor || r.Overall.Floor <= 0 || r.Overall.Lost != 0 {
				t.Errorf("%s: cost %.2f, floor %.2f, lost %d", r.Name, r.Overall.Cost, r.Overall.Floor, r.Overall.Lost)
			}
		}
	}
}

func TestMainBaselinesAndPolicy(t *testing.T) {
	code, out, errs := runMain(t, append(exampleArgs, "-json")...)
	if code != 0 {
		t.Fatal(errs)
	}
	rep := decode(t, out)
	var names []string
	for _, r := range rep.Runs {
		names = append(names, r.Kind+":"+r.Name)
	}
	if got := strings.Join(names, " "); got != "static:static create-destroy:create-destroy policy:bitcoin-selfhosted" {
		t.Fatalf("runs %s", got)
	}
	static, cd, pol := rep.Runs[0], rep.Runs[1], rep.Runs[2]
	peak := map[string]int{}
	for _, p := range rep.Trace.Pools {
		peak[p.Pool] = p.Peak
	}
	for _, p := range static.Pools {
		if p.Static != peak[p.Pool] || p.Static == 0 || p.Wait.Max != 0 {
			t.Errorf("static pool %s: %d agents (peak %d), max wait %v", p.Pool, p.Static, peak[p.Pool], p.Wait.Max)
		}
	}
	if cd.Overall.Suspends != 0 || cd.Overall.SuspendedHours != 0 || cd.Overall.Resumes != 0 {
		t.Errorf("create-destroy suspended: %+v", cd.Overall)
	}
	if pol.Overall.Suspends == 0 || pol.Overall.Resumes == 0 {
		t.Errorf("the policy never suspended or resumed: %+v", pol.Overall)
	}
	if static.Overall.Cost <= pol.Overall.Cost {
		t.Errorf("static at peak costs %.2f, the policy %.2f", static.Overall.Cost, pol.Overall.Cost)
	}
}

func TestMainHandTraceThroughFlags(t *testing.T) {
	code, out, errs := runMain(t, "-trace", "testdata/hand.csv", "-arrival-col", "submitted", "-duration-col", "seconds",
		"-pool-col", "queue", "-id-col", "name", "-policy", "testdata/hand.yaml",
		"-create-latency", "0s", "-boot-latency", "30s", "-destroy-latency", "10s", "-price-running", "0.36", "-json")
	if code != 0 {
		t.Fatal(errs)
	}
	rep := decode(t, out)
	// See TestReplayByHand: waits 30, 35, 30; 270 s running; busy 160 s.
	pol := rep.Runs[2].Overall
	if pol.Wait.P50 != 30 || pol.Wait.Max != 35 || pol.Creates != 3 || pol.Destroys != 2 {
		t.Errorf("policy: %+v", pol)
	}
	if d := pol.Cost - 0.027; d > 1e-12 || d < -1e-12 {
		t.Errorf("cost %v, want 0.027", pol.Cost)
	}
	if rep.Trace.Pools[0].Peak != 2 || rep.Runs[0].Overall.Cost-0.042 > 1e-12 {
		t.Errorf("static: peak %d, cost %v", rep.Trace.Pools[0].Peak, rep.Runs[0].Overall.Cost)
	}
}

func TestMainSweepOneRowPerStep(t *testing.T) {
	code, out, errs := runMain(t, append(append([]string{}, oneArgs...), "-sweep", "idle_timeout=1m:30m:5", "-json")...)
	if code != 0 {
		t.Fatal(errs)
	}
	rep := decode(t, out)
	var steps []string
	for _, r := range rep.Runs {
		if r.Kind == KindSweep {
			steps = append(steps, r.Name)
		}
	}
	want := "idle_timeout=1m idle_timeout=8m15s idle_timeout=15m30s idle_timeout=22m45s idle_timeout=30m"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	code, table, _ := runMain(t, append(append([]string{}, oneArgs...), "-sweep", "idle_timeout=1m:30m:5")...)
	if code != 0 {
		t.Fatal("table run failed")
	}
	_, sweep, ok := strings.Cut(table, "\nsweep idle_timeout over 5 steps")
	if !ok {
		t.Fatalf("no sweep table in:\n%s", table)
	}
	if rows := strings.Count(strings.TrimSpace(sweep), "\n") - 1; rows != 5 {
		t.Errorf("sweep table has %d rows, want 5:\n%s", rows, sweep)
	}
}

func TestMainErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no trace", []string{"-policy", "x.yaml"}, 2, "-trace is required"},
		{"no policy", []string{"-trace", "t.csv"}, 2, "-policy is required"},
		{"unknown preset", []string{"-trace", "testdata/hand.csv", "-preset", "gitlab", "-policy", "testdata/hand.yaml"}, 1, `unknown -preset "gitlab" (known: bitcoin, google)`},
		{"bad column", []string{"-trace", "testdata/hand.csv", "-arrival-col", "submited", "-duration-col", "seconds", "-policy", "testdata/hand.yaml"}, 1,
			`testdata/hand.csv:1: no column "submited" for -arrival-col`},
		{"unmapped pools", []string{"-trace", "testdata/bitcoin-core-gha-jobs-1d.csv", "-preset", "bitcoin", "-policy", "../../examples/simulate/bitcoin-selfhosted.yaml"}, 1,
			"the trace has pools the policies do not name: gh-macos, gh-ubuntu, gh-windows (replay one with -pool NAME, or map them with -default-policy POOL)"},
		{"sweep step invalid", append(append([]string{}, exampleArgs...), "-sweep", "min_agents=0:40:3"), 1,
			"sweep step 3 (min_agents=40)"},
		{"sweep field", append(append([]string{}, exampleArgs...), "-sweep", "image=a:b:2"), 1, `cannot sweep "image"`},
		{"no jobs", append(append([]string{}, exampleArgs...), "-pool", "nope"), 1, "no jobs to replay in testdata/bitcoin-core-gha-jobs-1d.csv (pool nope)"},
		{"missing policy", []string{"-trace", "testdata/bitcoin-core-gha-jobs-1d.csv", "-preset", "bitcoin", "-policy", "testdata/missing.yaml"}, 1,
			"loading policies: testdata/missing.yaml: cannot read: no such file or directory"},
		{"invalid policy", []string{"-trace", "testdata/hand.csv", "-preset", "bitcoin", "-arrival-col", "submitted", "-duration-col", "seconds",
			"-pool-col", "queue", "-id-col", "name", "-policy", "testdata/invalid.yaml"}, 1, "testdata/invalid.yaml:7: min_agents: 3 is above max_agents 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runMain(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}

func TestMainSVG(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"timeline", []string{"-pool", "selfhosted-linux"}, []string{"pool selfhosted-linux: bitcoin-selfhosted", "busy agents", "suspended agents", "queued jobs"}},
		{"sweep", []string{"-pool", "selfhosted-linux", "-sweep", "max_suspended=0:32:3"}, []string{"sweep of max_suspended", "p95 job wait (minutes)", "cost ($)", ">16<"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".svg")
			code, _, errs := runMain(t, append(append(append([]string{}, exampleArgs...), tc.extra...), "-svg", path)...)
			if code != 0 {
				t.Fatal(errs)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dec := xml.NewDecoder(bytes.NewReader(data))
			for {
				if _, err := dec.Token(); err != nil {
					if err.Error() != "EOF" {
						t.Fatalf("not well-formed XML: %v", err)
					}
					break
				}
			}
			for _, w := range tc.want {
				if !bytes.Contains(data, []byte(w)) {
					t.Errorf("the picture lacks %q", w)
				}
			}
		})
	}
}

func TestParseSweep(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"idle_timeout=1m:30m:5", "1m 8m15s 15m30s 22m45s 30m", ""},
		{"warm=0:3:4", "0 1 2 3", ""},
		{"max_agents=10:20:3", "10 15 20", ""},
		{"scale_up_step=1:2:4", "1 1 2 2", ""},
		{"suspended_ttl=1h:1h:1", "1h", ""},
		{"idle_timeout=1m:30m", "", "want field=from:to:steps"},
		{"idle_timeout=1m:30m:0", "", "steps \"0\" must be a whole number of at least 1"},
		{"warm=a:3:2", "", "warm takes whole numbers"},
		{"idle_timeout=1:2:2", "", "idle_timeout takes durations"},
	}
	for _, tc := range tests {
		sw, err := ParseSweep(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error with %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case strings.Join(sw.Values, " ") != tc.want:
			t.Errorf("%s: values %v, want %s", tc.in, sw.Values, tc.want)
		}
	}
}

func TestLoadModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.yaml")
	os.WriteFile(path, []byte("providers:\n  gce:\n    create: 40s\n    price_running: 0.5\n"), 0o644)
	m, err := LoadModel(path, Model{Default: DefaultProviderModel()})
	if err != nil {
		t.Fatal(err)
	}
	gce, other := m.For("gce"), m.For("ec2")
	if gce.Latencies.Create.String() != "40s" || gce.Latencies.Boot != DefaultBoot || gce.Prices.Running != 0.5 || gce.Prices.Suspended != DefaultPriceSuspended {
		t.Errorf("gce: %+v", gce)
	}
	if other != DefaultProviderModel() {
		t.Errorf("ec2 takes the default, got %+v", other)
	}
	os.WriteFile(path, []byte("providers:\n  gce:\n    creat: 40s\n"), 0o644)
	if _, err := LoadModel(path, Model{}); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestMainComparesPolicyFiles(t *testing.T) {
	code, out, errs := runMain(t, append(append([]string{}, oneArgs...), "-policy", "testdata/tight.yaml", "-json")...)
	if code != 0 {
		t.Fatal(errs)
	}
	rep := decode(t, out)
	var names []string
	for _, r := range rep.Runs {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "static create-destroy bitcoin-selfhosted tight" {
		t.Fatalf("runs %s", got)
	}
	// tight.yaml caps the pool at 6 agents and its installation at 12.
	if p := rep.Runs[3].Overall.PeakMachines; p > 6 {
		t.Errorf("tight peaked at %d machines, above its max_agents 6", p)
	}
}

func TestExamplesLoad(t *testing.T) {
	dir := "../../examples/simulate"
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", dir, err)
	}
	for _, f := range files {
		var err error
		switch base := filepath.Base(f); {
		case strings.HasPrefix(base, "mapping-"):
			var m Mapping
			if m, err = LoadMapping(f, Mapping{}); err == nil {
				err = m.check()
			}
		case strings.HasPrefix(base, "model-"):
			_, err = LoadModel(f, Model{Default: DefaultProviderModel()})
		default:
			_, err = LoadPolicies(f)
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

package simulate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTraceErrorsNamePlace(t *testing.T) {
	base := Mapping{Arrival: "at", Duration: "dur", Pool: "pool"}
	tests := []struct {
		name string
		csv  string
		m    Mapping
		want string
	}{
		{"missing column", "at,len,pool\n1,2,a\n", base, `t.csv:1: no column "dur" for -duration-col (columns: at, len, pool)`},
		{"bad number", "at,dur,pool\n1,2,a\n5,abc,a\n", base, `t.csv:3: column dur: "abc" is not a number of seconds`},
		{"bad time", "at,dur,pool\nyesterday,2,a\n", base, `t.csv:2: column at: "yesterday" is neither a number of seconds since the Unix epoch nor an RFC 3339 time`},
		{"empty", "at,dur,pool\n1,,a\n", base, `t.csv:2: column dur: empty (use -drop-empty to skip such rows)`},
		{"negative", "at,dur,pool\n1,-4,a\n", base, `t.csv:2: column dur: negative duration -4s (use -drop-nonpositive to skip such rows)`},
		{"negative end - start", "at,s,e\n1,10,4\n", Mapping{Arrival: "at", Start: "s", End: "e"}, `t.csv:2: columns e - s: negative duration -6s`},
		{"short row", "at,dur,pool\n1,2\n", base, `t.csv:2: column pool: missing (the row has 2 fields, the column is number 3)`},
		{"empty pool", "at,dur,pool\n1,2,\n", base, `t.csv:2: column pool: empty pool`},
		{"line numbers count quoted newlines", "at,dur,pool\n1,2,\"a\nb\"\n3,x,a\n", base, `t.csv:4: column dur: "x" is not a number`},
		{"no duration", "at\n1\n", Mapping{Arrival: "at"}, "no duration column"},
		{"both", "at\n1\n", Mapping{Arrival: "at", Duration: "d", End: "e"}, "both a duration column (d) and an end column (e)"},
		{"unit", "at\n1\n", Mapping{Arrival: "at", Duration: "d", TimeUnit: "h"}, `unknown time unit "h" (use s, ms or us)`},
		{"empty file", "", base, "t.csv: empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(tc.csv), "t.csv", tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseTraceReads(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	tests := []struct {
		name    string
		csv     string
		m       Mapping
		want    []Job
		dropped []Drop
	}{
		{
			name: "duration, sorted by arrival, ids by row",
			csv:  "at,dur,pool\n20,5,a\n10,2.5,b\n",
			m:    Mapping{Arrival: "at", Duration: "dur", Pool: "pool"},
			want: []Job{
				{ID: "row 2", Pool: "b", Arrival: epoch.Add(10 * time.Second), Duration: 2500 * time.Millisecond, Line: 3},
				{ID: "row 1", Pool: "a", Arrival: epoch.Add(20 * time.Second), Duration: 5 * time.Second, Line: 2},
			},
		},
		{
			name: "end minus start in ms, no pool column",
			csv:  "id,sub,st,en\nx,1000,1500,4500\n",
			m:    Mapping{Arrival: "sub", Start: "st", End: "en", ID: "id", TimeUnit: "ms"},
			want: []Job{{ID: "x", Pool: "default", Arrival: epoch.Add(time.Second), Duration: 3 * time.Second, Line: 2}},
		},
		{
			name: "end minus arrival, RFC 3339",
			csv:  "a,b\n2025-09-01T00:00:00Z,2025-09-01T00:01:30Z\n",
			m:    Mapping{Arrival: "a", End: "b"},
			want: []Job{{ID: "row 1", Pool: "default", Arrival: t0, Duration: 90 * time.Second, Line: 2}},
		},
		{
			name:    "drops",
			csv:     "at,dur\n1,0\n2,\n3,-1\n",
			m:       Mapping{Arrival: "at", Duration: "dur", TimeUnit: "us", DropEmpty: true, DropNonPositive: true},
			dropped: []Drop{{"column dur <= 0", 2}, {"empty dur", 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ParseTrace(strings.NewReader(tc.csv), "t.csv", tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Jobs) != len(tc.want) {
				t.Fatalf("got %d jobs %+v, want %+v", len(tr.Jobs), tr.Jobs, tc.want)
			}
			for i := range tc.want {
				g, w := tr.Jobs[i], tc.want[i]
				if g.ID != w.ID || g.Pool != w.Pool || !g.Arrival.Equal(w.Arrival) || g.Duration != w.Duration || g.Line != w.Line {
					t.Errorf("job %d: got %+v, want %+v", i, g, w)
				}
			}
			if len(tr.Dropped) != len(tc.dropped) {
				t.Fatalf("dropped %+v, want %+v", tr.Dropped, tc.dropped)
			}
			for i := range tc.dropped {
				if tr.Dropped[i] != tc.dropped[i] {
					t.Errorf("dropped %+v, want %+v", tr.Dropped, tc.dropped)
				}
			}
		})
	}
}

func TestPresetsReadTheTraces(t *testing.T) {
	tests := []struct {
		preset, file string
		rows, jobs   int
		pools        []string
	}{
		// 476 rows, of which 31 have duration_s <= 0.
		{"bitcoin", "testdata/bitcoin-core-gha-jobs-1d.csv", 476, 445, []string{"gh-macos", "gh-ubuntu", "gh-windows", "selfhosted-linux"}},
		{"google", "testdata/google-clusterdata2011-jobs-300.csv", 300, 300, []string{"0", "1", "2", "3"}},
	}
	for _, tc := range tests {
		t.Run(tc.preset, func(t *testing.T) {
			tr, err := ReadTrace(tc.file, Presets()[tc.preset])
			if err != nil {
				t.Fatal(err)
			}
			if tr.Rows != tc.rows || len(tr.Jobs) != tc.jobs {
				t.Errorf("%d rows, %d jobs; want %d and %d (dropped %+v)", tr.Rows, len(tr.Jobs), tc.rows, tc.jobs, tr.Dropped)
			}
			if got := strings.Join(Pools(tr.Jobs), ","); got != strings.Join(tc.pools, ",") {
				t.Errorf("pools %s, want %s", got, strings.Join(tc.pools, ","))
			}
			for _, j := range tr.Jobs {
				if j.Duration < 0 || (tc.preset == "bitcoin" && j.Duration == 0) {
					t.Errorf("job %s kept with duration %s", j.ID, j.Duration)
				}
			}
		})
	}
}

func TestPresetsReadTheSharedTraces(t *testing.T) {
	dir := "../../../shared/traces"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
			t.Fatalf("the shared traces are missing at %s: %v", dir, err)
		}
		t.Skipf("the shared traces are not at %s: the testdata extracts cover the presets", dir)
	}
	tests := []struct {
		preset, file string
		rows         int
	}{
		{"bitcoin", "bitcoin-core-gha-jobs.csv", 17002},
		{"google", "google-clusterdata2011-jobs-7d.csv", 152596},
	}
	for _, tc := range tests {
		tr, err := ReadTrace(filepath.Join(dir, tc.file), Presets()[tc.preset])
		if err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		dropped := 0
		for _, d := range tr.Dropped {
			dropped += d.Rows
		}
		if tr.Rows != tc.rows || len(tr.Jobs)+dropped != tc.rows || len(tr.Jobs) == 0 {
			t.Errorf("%s: %d rows, %d jobs, %d dropped; want %d rows", tc.preset, tr.Rows, len(tr.Jobs), dropped, tc.rows)
		}
	}
}

func TestLoadMapping(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "m.yaml")
	os.WriteFile(good, []byte("arrival: created\nend: finished\ntime_unit: ms\ndrop_empty: true\n"), 0o644)
	m, err := LoadMapping(good, Presets()["bitcoin"])
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{Arrival: "created", Duration: "duration_s", End: "finished", Pool: "pool_guess", ID: "job_id", TimeUnit: "ms", DropNonPositive: true, DropEmpty: true}
	if m != want {
		t.Errorf("got %+v, want %+v", m, want)
	}
	// The file kept the preset's duration column and added an end column: refused when used.
	if err := m.check(); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("duration and end: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("arrival: a\nduraton: d\n"), 0o644)
	if _, err := LoadMapping(bad, Mapping{}); err == nil || !strings.Contains(err.Error(), `bad.yaml:2: unknown field "duraton"`) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestSelect(t *testing.T) {
	day := 24 * time.Hour
	jobs := []Job{
		{ID: "1", Pool: "a", Arrival: t0, Duration: time.Hour},
		{ID: "2", Pool: "b", Arrival: t0.Add(12 * time.Hour), Duration: time.Hour},
		{ID: "3", Pool: "a", Arrival: t0.Add(day + time.Hour), Duration: 2 * time.Hour},
		{ID: "4", Pool: "a", Arrival: t0.Add(3 * day), Duration: time.Hour},
	}
	tests := []struct {
		name       string
		w          Window
		ids        string
		start, end time.Time
	}{
		{"all", Window{}, "1,2,3,4", t0, t0.Add(3*day + time.Hour)},
		{"pool", Window{Pool: "a"}, "1,3,4", t0, t0.Add(3*day + time.Hour)},
		{"days", Window{Days: 2}, "1,2,3", t0, t0.Add(2 * day)},
		{"from and days", Window{From: t0.Add(time.Hour), Days: 1}, "2", t0.Add(time.Hour), t0.Add(day + time.Hour)},
		{"pool, days from the pool's first job", Window{Pool: "b", Days: 1}, "2", t0.Add(12 * time.Hour), t0.Add(36 * time.Hour)},
		{"to", Window{To: t0.Add(day)}, "1,2", t0, t0.Add(day)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Select(jobs, tc.w)
			var ids []string
			for _, j := range s.Jobs {
				ids = append(ids, j.ID)
			}
			if got := strings.Join(ids, ","); got != tc.ids || !s.Start.Equal(tc.start) || !s.End.Equal(tc.end) {
				t.Errorf("got %s from %s to %s; want %s from %s to %s", got, s.Start, s.End, tc.ids, tc.start, tc.end)
			}
		})
	}
}

func TestPeakConcurrency(t *testing.T) {
	at := func(s, d int) Job {
		return Job{Arrival: t0.Add(time.Duration(s) * time.Second), Duration: time.Duration(d) * time.Second}
	}
	tests := []struct {
		name string
		jobs []Job
		want int
	}{
		{"none", nil, 0},
		{"one", []Job{at(0, 10)}, 1},
		{"back to back do not overlap", []Job{at(0, 10), at(10, 10)}, 1},
		{"overlap", []Job{at(0, 10), at(5, 10), at(9, 1), at(20, 1)}, 3},
		{"together", []Job{at(0, 1), at(0, 1), at(0, 1)}, 3},
	}
	for _, tc := range tests {
		if got := PeakConcurrency(tc.jobs); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

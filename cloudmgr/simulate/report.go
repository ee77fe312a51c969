package simulate

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Report is the outcome of one `simulate` command: the trace, the model and
// every run.
type Report struct {
	Trace TraceInfo `json:"trace"`
	// TickSeconds is the tick interval.
	TickSeconds float64 `json:"tick_interval_seconds"`
	// Models are the latency and price models of the providers used, by provider.
	Models []NamedModel `json:"models"`
	// Runs are the baselines, then the policies (or the sweep's steps).
	Runs []*Run `json:"runs"`
	// Sweep describes the sweep, when there is one.
	Sweep *Sweep `json:"sweep,omitempty"`
}

// NamedModel is one provider's model, for the report.
type NamedModel struct {
	Provider  string      `json:"provider"`
	Latencies LatencyJSON `json:"latencies_seconds"`
	Prices    Prices      `json:"prices"`
}

// LatencyJSON is Latencies in seconds.
type LatencyJSON struct {
	Create  float64 `json:"create"`
	Boot    float64 `json:"boot"`
	Resume  float64 `json:"resume"`
	Suspend float64 `json:"suspend"`
	Destroy float64 `json:"destroy"`
}

// TraceInfo describes the jobs replayed.
type TraceInfo struct {
	Source string `json:"source"`
	// Preset names the column preset used, if any.
	Preset  string  `json:"preset,omitempty"`
	Mapping Mapping `json:"mapping"`
	// Rows counts the data rows read; Dropped the rows skipped, by reason.
	Rows    int    `json:"rows"`
	Dropped []Drop `json:"dropped,omitempty"`
	// Start and End are the replay's span (see Selection).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Jobs counts the jobs replayed; Pools describes them per pool.
	Jobs  int        `json:"jobs"`
	Pools []PoolInfo `json:"pools"`
}

// PoolInfo describes one pool's jobs.
type PoolInfo struct {
	Pool      string  `json:"pool"`
	Jobs      int     `json:"jobs"`
	BusyHours float64 `json:"busy_hours"`
	// Peak is the most jobs running at once if each starts on arrival.
	Peak int `json:"peak_concurrency"`
}

// describePools summarises the jobs of each pool.
func describePools(jobs []Job) []PoolInfo {
	var out []PoolInfo
	for _, name := range Pools(jobs) {
		var in []Job
		var busy time.Duration
		for _, j := range jobs {
			if j.Pool == name {
				in = append(in, j)
				busy += j.Duration
			}
		}
		out = append(out, PoolInfo{Pool: name, Jobs: len(in), BusyHours: busy.Hours(), Peak: PeakConcurrency(in)})
	}
	return out
}

// modelsOf lists the model of every provider the scenarios use.
func modelsOf(specs []PoolSpec) []NamedModel {
	var out []NamedModel
	seen := map[string]bool{}
	for _, s := range specs {
		name := "static"
		if s.Policy != nil {
			name = s.Policy.Provider
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		l := s.Model.Latencies
		out = append(out, NamedModel{Provider: name, Prices: s.Model.Prices, Latencies: LatencyJSON{
			Create: l.Create.Seconds(), Boot: l.Boot.Seconds(), Resume: l.Resume.Seconds(),
			Suspend: l.Suspend.Seconds(), Destroy: l.Destroy.Seconds(),
		}})
	}
	return out
}

// ReplayAll replays every scenario, in parallel up to the number of CPUs,
// and returns the runs in the scenarios' order. timeline names the scenario
// (by index) whose timeline is recorded; -1 records none.
func ReplayAll(ctx context.Context, cfg Config, scs []Scenario, jobs []Job, timeline int) ([]*Run, error) {
	runs := make([]*Run, len(scs))
	errs := make([]error, len(scs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(scs)) {
		wg.Go(func() {
			for i := range work {
				c := cfg
				c.Timeline = i == timeline
				runs[i], errs[i] = Replay(ctx, c, scs[i], jobs)
			}
		})
	}
	for i := range scs {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return runs, nil
}

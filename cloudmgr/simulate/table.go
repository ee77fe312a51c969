package simulate

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the report for people: the trace and model, one table
// per pool (and overall when there are several), and the sweep's trade-off.
func WriteTable(w io.Writer, rep *Report) error {
	var b strings.Builder
	tr := rep.Trace
	src := tr.Source
	if tr.Preset != "" {
		src += " (preset " + tr.Preset + ")"
	}
	fmt.Fprintf(&b, "trace    %s: %d jobs replayed of %d rows\n", src, tr.Jobs, tr.Rows)
	for _, d := range tr.Dropped {
		fmt.Fprintf(&b, "dropped  %d rows: %s\n", d.Rows, d.Reason)
	}
	fmt.Fprintf(&b, "span     %s to %s (%s)\n", tr.Start.Format("2006-01-02 15:04:05"), tr.End.Format("2006-01-02 15:04:05 MST"), fmtSpan(tr.End.Sub(tr.Start)))
	for _, m := range rep.Models {
		l := m.Latencies
		fmt.Fprintf(&b, "model    %s: create %s + boot %s, resume %s, suspend %s, destroy %s; $%.2f/h running, $%.3f/h suspended\n",
			m.Provider, secsWords(l.Create), secsWords(l.Boot), secsWords(l.Resume), secsWords(l.Suspend), secsWords(l.Destroy),
			m.Prices.Running, m.Prices.Suspended)
	}
	fmt.Fprintf(&b, "ticks    every %s of virtual time\n", secsWords(rep.TickSeconds))
	for _, pi := range tr.Pools {
		fmt.Fprintf(&b, "\npool %s: %d jobs, %.1f busy agent-hours, at most %d at once\n", pi.Pool, pi.Jobs, pi.BusyHours, pi.Peak)
		rows := make([]namedStats, 0, len(rep.Runs))
		for _, r := range rep.Runs {
			for _, p := range r.Pools {
				if p.Pool == pi.Pool {
					rows = append(rows, namedStats{label(r, p), p.Stats})
				}
			}
		}
		statsTable(&b, rows)
	}
	if len(tr.Pools) > 1 {
		fmt.Fprintf(&b, "\noverall: %d jobs in %d pools\n", tr.Jobs, len(tr.Pools))
		rows := make([]namedStats, 0, len(rep.Runs))
		for _, r := range rep.Runs {
			rows = append(rows, namedStats{r.Name, r.Overall})
		}
		statsTable(&b, rows)
	}
	if rep.Sweep != nil {
		sweepTable(&b, rep)
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

// namedStats is one row of a table.
type namedStats struct {
	name string
	s    Stats
}

// label names a run in a pool's table: the static size for the static run.
func label(r *Run, p PoolResult) string {
	if r.Kind == KindStatic {
		return fmt.Sprintf("static (%d agents)", p.Static)
	}
	return r.Name
}

// statsTable prints one table of runs.
func statsTable(b *strings.Builder, rows []namedStats) {
	width := len("run")
	for _, r := range rows {
		width = max(width, len(r.name))
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t wait p50\t p95\t p99\t max\t running h\t suspended h\t creates\t resumes\t suspends\t destroys\t cost\t floor\t cost/floor\t\n", width, "run")
	for _, r := range rows {
		s := r.s
		fmt.Fprintf(tw, "%-*s\t %s\t %s\t %s\t %s\t %.1f\t %.1f\t %d\t %d\t %d\t %d\t %s\t %s\t %s\t\n",
			width, r.name, fmtWait(s.Wait.P50), fmtWait(s.Wait.P95), fmtWait(s.Wait.P99), fmtWait(s.Wait.Max),
			s.RunningHours, s.SuspendedHours, s.Creates, s.Resumes, s.Suspends, s.Destroys,
			money(s.Cost), money(s.Floor), fmtRatio(s.CostToFloor))
	}
	tw.Flush()
}

// sweepTable prints the trade-off of a sweep: p95 wait against cost, one
// row per step, with the steps no other step beats on both marked.
func sweepTable(b *strings.Builder, rep *Report) {
	sw := rep.Sweep
	var steps []*Run
	for _, r := range rep.Runs {
		if r.Kind == KindSweep {
			steps = append(steps, r)
		}
	}
	fmt.Fprintf(b, "\nsweep %s over %d steps (every pool's policy; overall figures; * = no other step has both a lower p95 and a lower cost)\n", sw.Field, len(steps))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "step\t %s\t wait p95\t p99\t running h\t suspended h\t cost\t cost/floor\t \t\n", sw.Field)
	for i, r := range steps {
		s := r.Overall
		mark := ""
		if pareto(steps, i) {
			mark = "*"
		}
		fmt.Fprintf(tw, "%d\t %s\t %s\t %s\t %.1f\t %.1f\t %s\t %s\t %s\t\n", i+1, sw.Values[i],
			fmtWait(s.Wait.P95), fmtWait(s.Wait.P99), s.RunningHours, s.SuspendedHours, money(s.Cost), fmtRatio(s.CostToFloor), mark)
	}
	tw.Flush()
}

// pareto reports whether no other step is strictly better on p95 wait and cost.
func pareto(steps []*Run, i int) bool {
	a := steps[i].Overall
	for j, r := range steps {
		o := r.Overall
		if j != i && o.Wait.P95 <= a.Wait.P95 && o.Cost <= a.Cost && (o.Wait.P95 < a.Wait.P95 || o.Cost < a.Cost) {
			return false
		}
	}
	return true
}

// fmtWait renders seconds of wait: 0s, 42s, 5m02s, 1h05m.
func fmtWait(sec float64) string {
	s := int64(math.Round(sec))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
}

// secsWords renders a latency in seconds as a duration.
func secsWords(sec float64) string {
	return fmtDuration(time.Duration(sec * float64(time.Second)))
}

// fmtSpan renders a span in days and hours.
func fmtSpan(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	rest := (d % (24 * time.Hour)).Round(time.Minute)
	switch {
	case days == 0:
		return fmtDuration(rest)
	case rest == 0:
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %s", days, fmtDuration(rest))
}

// money renders a cost.
func money(v float64) string { return fmt.Sprintf("$%.2f", v) }

// fmtRatio renders cost/floor ("-" without a floor).
func fmtRatio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

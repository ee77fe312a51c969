package simulate

import (
	"sort"
	"time"
)

// Job is one unit of work of a trace.
type Job struct {
	// ID names the job (the id column, else "row N").
	ID string `json:"id"`
	// Pool is the pool it runs in.
	Pool string `json:"pool"`
	// Arrival is when it was submitted.
	Arrival time.Time `json:"arrival"`
	// Duration is how long it runs once an agent takes it.
	Duration time.Duration `json:"duration"`
	// Line is its line in the CSV file (1 is the header).
	Line int `json:"line"`
}

// Trace is the jobs read from a file, sorted by arrival (then by line).
type Trace struct {
	// Source is the file read.
	Source string
	// Rows counts the data rows read.
	Rows int
	// Jobs are the jobs kept.
	Jobs []Job
	// Dropped counts the rows skipped, by reason, in the order first seen.
	Dropped []Drop
}

// Drop counts the rows skipped for one reason.
type Drop struct {
	Reason string `json:"reason"`
	Rows   int    `json:"rows"`
}

// drop counts one skipped row.
func (t *Trace) drop(reason string) {
	for i := range t.Dropped {
		if t.Dropped[i].Reason == reason {
			t.Dropped[i].Rows++
			return
		}
	}
	t.Dropped = append(t.Dropped, Drop{Reason: reason, Rows: 1})
}

// sortJobs orders jobs by arrival, then by line.
func sortJobs(jobs []Job) {
	sort.SliceStable(jobs, func(i, j int) bool {
		if !jobs[i].Arrival.Equal(jobs[j].Arrival) {
			return jobs[i].Arrival.Before(jobs[j].Arrival)
		}
		return jobs[i].Line < jobs[j].Line
	})
}

// Pools returns the trace's pool names, sorted.
func Pools(jobs []Job) []string {
	seen := map[string]bool{}
	var out []string
	for _, j := range jobs {
		if !seen[j.Pool] {
			seen[j.Pool] = true
			out = append(out, j.Pool)
		}
	}
	sort.Strings(out)
	return out
}

// Window selects jobs by pool and arrival time.
type Window struct {
	// Pool keeps only this pool ("" keeps all).
	Pool string
	// From keeps jobs arriving at or after it (zero: from the first job).
	From time.Time
	// To keeps jobs arriving before it (zero: no end).
	To time.Time
	// Days, when To is zero, sets To to From (or the first kept job's
	// arrival) plus this many days.
	Days float64
}

// Selection is the jobs a Window kept and the span they are replayed over.
type Selection struct {
	Jobs []Job
	// Start is when the replay starts: From, else the first job's arrival.
	Start time.Time
	// End is the window's end: To (or From + Days), else the last job's
	// arrival plus its duration; the replay runs at least until then.
	End time.Time
}

// Select applies w to jobs (sorted by arrival) and returns what it kept.
func Select(jobs []Job, w Window) Selection {
	var kept []Job
	for _, j := range jobs {
		if w.Pool != "" && j.Pool != w.Pool {
			continue
		}
		if !w.From.IsZero() && j.Arrival.Before(w.From) {
			continue
		}
		kept = append(kept, j)
	}
	s := Selection{Start: w.From}
	if s.Start.IsZero() && len(kept) > 0 {
		s.Start = kept[0].Arrival
	}
	to := w.To
	if to.IsZero() && w.Days > 0 {
		to = s.Start.Add(time.Duration(w.Days * float64(24*time.Hour)))
	}
	if !to.IsZero() {
		n := sort.Search(len(kept), func(i int) bool { return !kept[i].Arrival.Before(to) })
		kept = kept[:n]
		s.End = to
	}
	s.Jobs = kept
	if to.IsZero() {
		for _, j := range kept {
			if e := j.Arrival.Add(j.Duration); e.After(s.End) {
				s.End = e
			}
		}
	}
	if s.End.Before(s.Start) {
		s.End = s.Start
	}
	return s
}

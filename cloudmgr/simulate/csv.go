package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// unitOf returns the duration of one unit of a time unit name.
func unitOf(name string) (time.Duration, error) {
	switch name {
	case "", "s":
		return time.Second, nil
	case "ms":
		return time.Millisecond, nil
	case "us":
		return time.Microsecond, nil
	}
	return 0, fmt.Errorf("unknown time unit %q (use s, ms or us)", name)
}

// ReadTrace reads a CSV trace (with a header row) from path through m.
func ReadTrace(path string, m Mapping) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading trace: %w", err)
	}
	defer f.Close()
	t, err := ParseTrace(f, path, m)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// column is one mapped column: its index and what it is for.
type column struct {
	name string // header name
	flag string // the flag that names it, for messages
	idx  int
}

// reader reads one trace through a mapping.
type reader struct {
	src  string
	m    Mapping
	unit time.Duration

	arrival, duration, end, start, pool, id column
}

// ParseTrace reads a CSV trace from r; name is used in messages
// ("name:LINE: column C: reason").
func ParseTrace(r io.Reader, name string, m Mapping) (*Trace, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("mapping the columns of %s: %w", name, err)
	}
	unit, _ := unitOf(m.TimeUnit)
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file: want a header row naming the columns", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rd := &reader{src: name, m: m, unit: unit}
	if err := rd.columns(header); err != nil {
		return nil, err
	}
	t := &Trace{Source: name}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		t.Rows++
		job, drop, err := rd.row(rec, line, t.Rows)
		if err != nil {
			return nil, err
		}
		if drop != "" {
			t.drop(drop)
			continue
		}
		t.Jobs = append(t.Jobs, job)
	}
	sortJobs(t.Jobs)
	return t, nil
}

// columns finds every mapped column in the header.
func (rd *reader) columns(header []string) error {
	idx := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := idx[h]; !dup {
			idx[h] = i
		}
	}
	var errs []error
	find := func(name, flag string, optional bool) column {
		if name == "" {
			return column{idx: -1}
		}
		i, ok := idx[name]
		if !ok && !optional {
			errs = append(errs, fmt.Errorf("%s:1: no column %q for %s (columns: %s)", rd.src, name, flag, strings.Join(header, ", ")))
		}
		if !ok {
			i = -1
		}
		return column{name: name, flag: flag, idx: i}
	}
	m := rd.m
	rd.arrival = find(m.Arrival, "-arrival-col", false)
	rd.duration = find(m.Duration, "-duration-col", false)
	rd.end = find(m.End, "-end-col", false)
	rd.start = find(m.Start, "-start-col", false)
	if m.End != "" && m.Start == "" {
		rd.start = rd.arrival
	}
	rd.pool = find(m.Pool, "-pool-col", false)
	rd.id = find(m.ID, "-id-col", false)
	return errors.Join(errs...)
}

// row reads one record; drop is the reason it is skipped, if it is.
func (rd *reader) row(rec []string, line, n int) (job Job, drop string, err error) {
	field := func(c column) (string, error) {
		if c.idx < 0 {
			return "", nil
		}
		if c.idx >= len(rec) {
			return "", fmt.Errorf("%s:%d: column %s: missing (the row has %d fields, the column is number %d)",
				rd.src, line, c.name, len(rec), c.idx+1)
		}
		return strings.TrimSpace(rec[c.idx]), nil
	}
	empty := func(c column) (string, error) {
		if rd.m.DropEmpty {
			return "empty " + c.name, nil
		}
		return "", fmt.Errorf("%s:%d: column %s: empty (use -drop-empty to skip such rows)", rd.src, line, c.name)
	}
	times := []column{rd.arrival}
	if rd.end.idx >= 0 {
		times = append(times, rd.start, rd.end)
	}
	var ts [3]time.Time
	for i, c := range times {
		s, err := field(c)
		if err != nil {
			return job, "", err
		}
		if s == "" {
			d, err := empty(c)
			return job, d, err
		}
		if ts[i], err = rd.parseTime(s); err != nil {
			return job, "", fmt.Errorf("%s:%d: column %s: %w", rd.src, line, c.name, err)
		}
	}
	job.Arrival = ts[0]
	job.Line = line
	if rd.duration.idx >= 0 {
		s, err := field(rd.duration)
		if err != nil {
			return job, "", err
		}
		if s == "" {
			d, err := empty(rd.duration)
			return job, d, err
		}
		if job.Duration, err = rd.parseDuration(s); err != nil {
			return job, "", fmt.Errorf("%s:%d: column %s: %w", rd.src, line, rd.duration.name, err)
		}
	} else {
		job.Duration = ts[2].Sub(ts[1])
	}
	if job.Duration < 0 || (job.Duration == 0 && rd.m.DropNonPositive) {
		what := rd.durationWords()
		if rd.m.DropNonPositive {
			return job, what + " <= 0", nil
		}
		return job, "", fmt.Errorf("%s:%d: %s: negative duration %s (use -drop-nonpositive to skip such rows)", rd.src, line, what, job.Duration)
	}
	if job.Pool, err = field(rd.pool); err != nil {
		return job, "", err
	}
	if rd.pool.idx < 0 {
		job.Pool = "default"
	} else if job.Pool == "" {
		return job, "", fmt.Errorf("%s:%d: column %s: empty pool", rd.src, line, rd.pool.name)
	}
	if job.ID, err = field(rd.id); err != nil {
		return job, "", err
	}
	if job.ID == "" {
		job.ID = "row " + strconv.Itoa(n)
	}
	return job, "", nil
}

// durationWords names where the duration comes from, for messages.
func (rd *reader) durationWords() string {
	if rd.duration.idx >= 0 {
		return "column " + rd.duration.name
	}
	return "columns " + rd.end.name + " - " + rd.start.name
}

// parseTime reads a number of units since the Unix epoch, or an RFC 3339 time.
func (rd *reader) parseTime(s string) (time.Time, error) {
	if d, err := rd.number(s); err == nil {
		return time.Unix(0, 0).UTC().Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a number of %s since the Unix epoch nor an RFC 3339 time", s, unitName(rd.m.TimeUnit))
	}
	return t.UTC(), nil
}

// parseDuration reads a number of units.
func (rd *reader) parseDuration(s string) (time.Duration, error) {
	d, err := rd.number(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number of %s", s, unitName(rd.m.TimeUnit))
	}
	return d, nil
}

// number reads a decimal number of units as a duration.
func (rd *reader) number(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(rd.unit) || n < math.MinInt64/int64(rd.unit) {
			return 0, errors.New("out of range")
		}
		return time.Duration(n) * rd.unit, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number")
	}
	v := f * float64(rd.unit)
	if v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, errors.New("out of range")
	}
	return time.Duration(math.Round(v)), nil
}

// unitName spells a time unit out.
func unitName(u string) string {
	switch u {
	case "ms":
		return "milliseconds"
	case "us":
		return "microseconds"
	}
	return "seconds"
}

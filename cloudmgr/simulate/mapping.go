package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mapping says which CSV columns hold a job's fields, and how to read them.
type Mapping struct {
	// Arrival is the column of the submission time (required).
	Arrival string `yaml:"arrival" json:"arrival"`
	// Duration is the column of the run time; or End (with Start) instead.
	Duration string `yaml:"duration" json:"duration,omitempty"`
	// End is the column of the time the job finished: duration = end - start.
	End string `yaml:"end" json:"end,omitempty"`
	// Start is the column of the time the job started running, with End
	// (default: the arrival column).
	Start string `yaml:"start" json:"start,omitempty"`
	// Pool is the column of the pool ("": every job is in pool "default").
	Pool string `yaml:"pool" json:"pool,omitempty"`
	// ID is the column of the job id ("": "row N").
	ID string `yaml:"id" json:"id,omitempty"`
	// TimeUnit is the unit of the numbers in the time columns: s, ms or us.
	// Times are counted from the Unix epoch; RFC 3339 timestamps are accepted too.
	TimeUnit string `yaml:"time_unit" json:"time_unit"`
	// DropNonPositive skips rows whose duration is zero or negative; without
	// it a negative duration is an error.
	DropNonPositive bool `yaml:"drop_nonpositive" json:"drop_nonpositive,omitempty"`
	// DropEmpty skips rows with an empty time or duration field; without it
	// an empty field is an error.
	DropEmpty bool `yaml:"drop_empty" json:"drop_empty,omitempty"`
}

// Presets are the mappings of the traces shipped in the project's shared
// traces folder (see its README.md), by name.
func Presets() map[string]Mapping {
	return map[string]Mapping{
		// bitcoin-core-gha-jobs.csv: GitHub Actions jobs of the Bitcoin Core CI.
		"bitcoin": {Arrival: "run_created_at", Duration: "duration_s", Pool: "pool_guess", ID: "job_id",
			TimeUnit: "s", DropNonPositive: true},
		// google-clusterdata2011-jobs-7d.csv: Borg jobs, scheduling class as the pool.
		"google": {Arrival: "submit_s", Start: "schedule_s", End: "end_s", Pool: "scheduling_class", ID: "job_id",
			TimeUnit: "s", DropEmpty: true},
	}
}

// presetNames lists the presets, sorted, for messages.
func presetNames() string {
	var names []string
	for n := range Presets() {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// mappingFields are the keys a mapping file may have.
var mappingFields = []string{"arrival", "duration", "end", "start", "pool", "id", "time_unit", "drop_nonpositive", "drop_empty"}

// LoadMapping reads a YAML mapping file over base: the fields it gives
// replace base's. Unknown keys are errors naming file and line.
func LoadMapping(path string, base Mapping) (Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("reading mapping file: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return base, fmt.Errorf("%s: bad YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return base, nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return base, fmt.Errorf("%s:%d: want a mapping of column names (arrival, duration...)", path, m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		known := false
		for _, f := range mappingFields {
			known = known || k.Value == f
		}
		if !known {
			return base, fmt.Errorf("%s:%d: unknown field %q (known: %s)", path, k.Line, k.Value, strings.Join(mappingFields, ", "))
		}
	}
	out := base
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&out); err != nil {
		return base, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return out, nil
}

// check reports a mapping that cannot be used.
func (m Mapping) check() error {
	var errs []error
	if m.Arrival == "" {
		errs = append(errs, errors.New("no arrival column (-arrival-col)"))
	}
	switch {
	case m.Duration == "" && m.End == "":
		errs = append(errs, errors.New("no duration column: give -duration-col, or -end-col (with -start-col, default the arrival column)"))
	case m.Duration != "" && m.End != "":
		errs = append(errs, fmt.Errorf("both a duration column (%s) and an end column (%s): give one", m.Duration, m.End))
	case m.Start != "" && m.End == "":
		errs = append(errs, fmt.Errorf("a start column (%s) needs an end column (-end-col)", m.Start))
	}
	if _, err := unitOf(m.TimeUnit); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

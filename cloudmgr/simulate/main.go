package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Exit codes of Main.
const (
	exitOK    = 0
	exitError = 1 // bad input or a failed replay
	exitUsage = 2
)

const usage = `usage: cloudmgr simulate -trace FILE [-preset NAME | column flags] -policy FILE [flags]

Replays a CSV trace of jobs through policies.Decide in virtual time and prints, per
pool and overall, job waits (p50/p95/p99/max), machine-hours, provider actions and
cost against the floor (busy agent-hours at the running price), for a static pool
sized at the trace's peak, create/destroy only (suspend: none), and the policy.

  cloudmgr simulate -trace bitcoin-core-gha-jobs.csv -preset bitcoin -pool selfhosted-linux \
      -days 7 -policy examples/simulate/bitcoin-selfhosted.yaml
  cloudmgr simulate ... -sweep idle_timeout=1m:30m:5       the p95-wait/cost trade-off
  cloudmgr simulate ... -policy a.yaml -policy b.yaml       compare policy files

flags:
`

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// options are the parsed flags.
type options struct {
	trace, preset, mappingFile string
	mapping                    Mapping
	pool, from, to             string
	days                       float64
	policies                   stringList
	defaultPolicy              string
	sweep                      string
	tick                       time.Duration
	modelFile                  string
	model                      ProviderModel
	baselines                  bool
	json                       bool
	svg                        string
	setFlags                   map[string]bool
}

// Main is the whole `cloudmgr simulate` command; args follow "simulate".
// It returns the exit code: 0 done, 1 bad input or failure, 2 bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitError
	}
	if o.svg != "" {
		if err := writeSVG(o.svg, rep); err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return exitError
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "simulate: writing JSON: %v\n", err)
			return exitError
		}
		return exitOK
	}
	if err := WriteTable(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "simulate: writing the table: %v\n", err)
		return exitError
	}
	return exitOK
}

// parseFlags reads the flags; code is -1 to go on, else the exit code.
func parseFlags(args []string, stderr io.Writer) (*options, int) {
	o := &options{}
	fs := flag.NewFlagSet("cloudmgr simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.trace, "trace", "", "the CSV trace `file` (required; a header row names the columns)")
	fs.StringVar(&o.preset, "preset", "", "column mapping `name` for a known trace: "+presetNames())
	fs.StringVar(&o.mappingFile, "mapping", "", "YAML column mapping `file` (arrival, duration or end/start, pool, id, time_unit, drop_nonpositive, drop_empty)")
	fs.StringVar(&o.mapping.Arrival, "arrival-col", "", "`column` of the arrival time")
	fs.StringVar(&o.mapping.Duration, "duration-col", "", "`column` of the run time")
	fs.StringVar(&o.mapping.End, "end-col", "", "`column` of the end time, instead of -duration-col (duration = end - start)")
	fs.StringVar(&o.mapping.Start, "start-col", "", "`column` of the start time, with -end-col (default: the arrival column)")
	fs.StringVar(&o.mapping.Pool, "pool-col", "", "`column` of the pool (default: every job in pool \"default\")")
	fs.StringVar(&o.mapping.ID, "id-col", "", "`column` of the job id (default: the row number)")
	fs.StringVar(&o.mapping.TimeUnit, "time-unit", "", "`unit` of the numbers in the time columns: s, ms or us (default s)")
	fs.BoolVar(&o.mapping.DropNonPositive, "drop-nonpositive", false, "skip rows whose duration is <= 0 (else a negative one is an error)")
	fs.BoolVar(&o.mapping.DropEmpty, "drop-empty", false, "skip rows with an empty time or duration (else an error)")
	fs.StringVar(&o.pool, "pool", "", "replay only this `pool`")
	fs.StringVar(&o.from, "from", "", "replay jobs arriving from this `time` (RFC 3339, 2006-01-02, or a number in the trace's unit)")
	fs.StringVar(&o.to, "to", "", "replay jobs arriving before this `time`")
	fs.Float64Var(&o.days, "days", 0, "replay this many `days` from -from (or the first job)")
	fs.Var(&o.policies, "policy", "policies YAML `file` or folder as cloudmgr loads it (repeat to compare files)")
	fs.StringVar(&o.defaultPolicy, "default-policy", "", "`pool` (or installation/pool) whose policy also scales trace pools the file does not name")
	fs.StringVar(&o.sweep, "sweep", "", "vary one field of every policy: `field=from:to:steps`, evenly spaced, both ends included, e.g. idle_timeout=1m:30m:5 (fields: "+sweepFieldNames+")")
	fs.DurationVar(&o.tick, "tick-interval", DefaultTickInterval, "virtual `time` between two decisions")
	fs.StringVar(&o.modelFile, "model", "", "YAML latency and price model `file` per provider (fields left out take the flags' values)")
	d := DefaultProviderModel()
	o.model = d
	fs.DurationVar(&o.model.Latencies.Create, "create-latency", d.Latencies.Create, "provisioning `time` of a new machine")
	fs.DurationVar(&o.model.Latencies.Boot, "boot-latency", d.Latencies.Boot, "`time` from provisioned to agent registered")
	fs.DurationVar(&o.model.Latencies.Resume, "resume-latency", d.Latencies.Resume, "`time` from resume to agent registered")
	fs.DurationVar(&o.model.Latencies.Suspend, "suspend-latency", d.Latencies.Suspend, "`time` from suspend to suspended")
	fs.DurationVar(&o.model.Latencies.Destroy, "destroy-latency", d.Latencies.Destroy, "`time` from destroy to gone")
	fs.Float64Var(&o.model.Prices.Running, "price-running", d.Prices.Running, "`price` per machine-hour running")
	fs.Float64Var(&o.model.Prices.Suspended, "price-suspended", d.Prices.Suspended, "`price` per machine-hour suspended (the disk)")
	fs.BoolVar(&o.baselines, "baselines", true, "also replay the static and create/destroy baselines")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of the table")
	fs.StringVar(&o.svg, "svg", "", "write a picture to `file`: queue and agents over time of the (first) policy, or the sweep's trade-off curve")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK
		}
		return nil, exitUsage
	}
	o.setFlags = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.setFlags[f.Name] = true })
	bad := func(format string, a ...any) (*options, int) {
		fmt.Fprintf(stderr, "simulate: "+format+"\n", a...)
		fs.Usage()
		return nil, exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case o.trace == "":
		return bad("-trace is required")
	case len(o.policies) == 0:
		return bad("-policy is required")
	case o.sweep != "" && len(o.policies) > 1:
		return bad("-sweep varies one policy file: give one -policy")
	case o.tick <= 0:
		return bad("-tick-interval must be above 0")
	case o.days < 0:
		return bad("-days must not be negative")
	case o.days > 0 && o.to != "":
		return bad("give -days or -to, not both")
	}
	if err := o.model.check("flags"); err != nil {
		return bad("%v", err)
	}
	return o, -1
}

// columnFlags maps the column flags to the mapping fields they set.
var columnFlags = map[string]func(dst *Mapping, src Mapping){
	"arrival-col":      func(d *Mapping, s Mapping) { d.Arrival = s.Arrival },
	"duration-col":     func(d *Mapping, s Mapping) { d.Duration, d.End, d.Start = s.Duration, "", "" },
	"end-col":          func(d *Mapping, s Mapping) { d.End, d.Duration = s.End, "" },
	"start-col":        func(d *Mapping, s Mapping) { d.Start = s.Start },
	"pool-col":         func(d *Mapping, s Mapping) { d.Pool = s.Pool },
	"id-col":           func(d *Mapping, s Mapping) { d.ID = s.ID },
	"time-unit":        func(d *Mapping, s Mapping) { d.TimeUnit = s.TimeUnit },
	"drop-nonpositive": func(d *Mapping, s Mapping) { d.DropNonPositive = s.DropNonPositive },
	"drop-empty":       func(d *Mapping, s Mapping) { d.DropEmpty = s.DropEmpty },
}

// resolveMapping layers the preset, the mapping file and the column flags.
func (o *options) resolveMapping() (Mapping, error) {
	var m Mapping
	if o.preset != "" {
		p, ok := Presets()[o.preset]
		if !ok {
			return m, fmt.Errorf("unknown -preset %q (known: %s)", o.preset, presetNames())
		}
		m = p
	}
	if o.mappingFile != "" {
		var err error
		if m, err = LoadMapping(o.mappingFile, m); err != nil {
			return m, err
		}
	}
	for _, name := range []string{"arrival-col", "duration-col", "end-col", "start-col", "pool-col", "id-col", "time-unit", "drop-nonpositive", "drop-empty"} {
		if o.setFlags[name] {
			columnFlags[name](&m, o.mapping)
		}
	}
	if m.TimeUnit == "" {
		m.TimeUnit = "s"
	}
	return m, nil
}

// run does the work of Main and returns the report.
func run(ctx context.Context, o *options) (*Report, error) {
	m, err := o.resolveMapping()
	if err != nil {
		return nil, err
	}
	model := Model{Default: o.model}
	if o.modelFile != "" {
		if model, err = LoadModel(o.modelFile, model); err != nil {
			return nil, err
		}
	}
	tr, err := ReadTrace(o.trace, m)
	if err != nil {
		return nil, err
	}
	unit, _ := unitOf(m.TimeUnit)
	w := Window{Pool: o.pool, Days: o.days}
	if w.From, err = parseWhen(o.from, unit); err != nil {
		return nil, fmt.Errorf("-from: %w", err)
	}
	if w.To, err = parseWhen(o.to, unit); err != nil {
		return nil, fmt.Errorf("-to: %w", err)
	}
	sel := Select(tr.Jobs, w)
	if len(sel.Jobs) == 0 {
		return nil, fmt.Errorf("no jobs to replay in %s%s", o.trace, windowWords(o))
	}
	pools := Pools(sel.Jobs)
	type file struct {
		name  string
		specs []PoolSpec
		sc    Scenario
	}
	var files []file
	for _, path := range o.policies {
		set, err := LoadPolicies(path)
		if err != nil {
			return nil, err
		}
		specs, err := MapPools(set, pools, o.defaultPolicy, model)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		files = append(files, file{name: path, specs: specs, sc: PolicyScenario(runName(path, o.policies), set, specs)})
	}
	var scs []Scenario
	if o.baselines {
		scs = append(scs, StaticScenario(files[0].specs, sel.Jobs), CreateDestroyScenario(files[0].sc))
	}
	timeline := len(scs)
	var sw *Sweep
	if o.sweep != "" {
		if sw, err = ParseSweep(o.sweep); err != nil {
			return nil, err
		}
		steps, err := sw.Scenarios(files[0].sc)
		if err != nil {
			return nil, err
		}
		scs = append(scs, steps...)
		timeline = -1
	} else {
		for _, f := range files {
			scs = append(scs, f.sc)
		}
	}
	if o.svg == "" {
		timeline = -1
	}
	cfg := Config{Start: sel.Start, End: sel.End, TickInterval: o.tick}
	runs, err := ReplayAll(ctx, cfg, scs, sel.Jobs, timeline)
	if err != nil {
		return nil, err
	}
	return &Report{
		Trace: TraceInfo{
			Source: o.trace, Preset: o.preset, Mapping: m, Rows: tr.Rows, Dropped: tr.Dropped,
			Start: sel.Start, End: sel.End, Jobs: len(sel.Jobs), Pools: describePools(sel.Jobs),
		},
		TickSeconds: o.tick.Seconds(),
		Models:      modelsOf(files[0].specs),
		Runs:        runs,
		Sweep:       sw,
	}, nil
}

// runName labels a policy file's run: its base name without extension,
// or the whole path when two files share a base name.
func runName(path string, all []string) string {
	base := func(p string) string {
		b := filepath.Base(filepath.Clean(p))
		return strings.TrimSuffix(strings.TrimSuffix(b, ".yaml"), ".yml")
	}
	for _, other := range all {
		if other != path && base(other) == base(path) {
			return path
		}
	}
	return base(path)
}

// windowWords describes the selection flags, for messages.
func windowWords(o *options) string {
	var parts []string
	if o.pool != "" {
		parts = append(parts, "pool "+o.pool)
	}
	if o.from != "" {
		parts = append(parts, "from "+o.from)
	}
	if o.to != "" {
		parts = append(parts, "to "+o.to)
	}
	if o.days > 0 {
		parts = append(parts, strconv.FormatFloat(o.days, 'g', -1, 64)+" days")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// parseWhen reads a -from or -to time: RFC 3339, a date, or a number of
// the trace's units since the Unix epoch. Empty gives the zero time.
func parseWhen(s string, unit time.Duration) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, 0).UTC().Add(time.Duration(f * float64(unit))), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use RFC 3339, 2006-01-02, or a number in the trace's time unit)", s)
}

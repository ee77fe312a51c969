package policies

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// knownProviders is the provider configuration the loader tests validate against.
func knownProviders() map[string]providers.Capabilities {
	return map[string]providers.Capabilities{
		"local":  {SuspendModes: []providers.SuspendMode{providers.SuspendStop}},
		"docker": {SuspendModes: []providers.SuspendMode{providers.SuspendStop}},
		"gce":    {SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend, "delete-keep-disk"}},
	}
}

// exported returns the pools with the loader's and validator's private
// bookkeeping cleared, for comparison with expected structs.
func exported(ps []*Policy) []Policy {
	out := make([]Policy, len(ps))
	for i, p := range ps {
		out[i] = *p
		out[i].load, out[i].sched = nil, nil
	}
	return out
}

func TestLoadGoodFile(t *testing.T) {
	set, err := LoadAndValidate("testdata/good.yaml", knownProviders())
	if err != nil {
		t.Fatalf("LoadAndValidate: %v", err)
	}
	wantInst := map[string]*Installation{
		"acme":   {Name: "acme", MaxAgents: 40, Source: "testdata/good.yaml:3"},
		"globex": {Name: "globex", MaxAgents: 0, Source: "testdata/good.yaml:5"},
	}
	if !reflect.DeepEqual(set.Installations, wantInst) {
		t.Errorf("installations:\n got %+v\nwant %+v", set.Installations, wantInst)
	}
	want := []Policy{
		{
			Installation: "acme", Pool: "linux", Provider: "gce",
			Image:     "projects/acme/global/images/agent-1",
			MinAgents: 2, MaxAgents: 20, MaxWait: 90 * time.Second, Warm: 1, ScaleUpStep: 5,
			IdleTimeout: 15 * time.Minute, Suspend: providers.SuspendSuspend, MaxSuspended: 8,
			SuspendedTTL: 48 * time.Hour, BootTimeout: 5 * time.Minute,
			Cooldown: Cooldown{Up: 30 * time.Second, Down: 2 * time.Minute},
			Schedule: []Window{
				{Cron: "0 8 * * 1-5", Duration: 10 * time.Hour, MinAgents: 6, Timezone: "Europe/Paris"},
				{Cron: "@daily", Duration: 90 * time.Minute, MinAgents: 3, Timezone: "UTC"},
			},
			Offerings: []providers.Offering{
				{Zone: "europe-west1-b", MachineType: "n2-standard-4"},
				{Zone: "europe-west1-c"},
			},
			Settings: map[string]string{"network": "ci", "cpus": "4"},
			Source:   "testdata/good.yaml:15",
		},
		{
			// Everything left out takes its default.
			Installation: "globex", Pool: "windows", Provider: "local",
			MinAgents: DefaultMinAgents, MaxAgents: 3, MaxWait: DefaultMaxWait, Warm: DefaultWarm,
			ScaleUpStep: DefaultScaleUpStep, IdleTimeout: DefaultIdleTimeout, Suspend: DefaultSuspend,
			MaxSuspended: 3, SuspendedTTL: DefaultSuspendedTTL, BootTimeout: DefaultBootTimeout,
			Cooldown:  Cooldown{Up: DefaultCooldownUp, Down: DefaultCooldownDown},
			Offerings: []providers.Offering{{}},
			Source:    "testdata/good.yaml:43",
		},
	}
	if got := exported(set.Pools); !reflect.DeepEqual(got, want) {
		t.Errorf("pools:\n got %+v\nwant %+v", got, want)
	}
	// Validation cached the parsed schedule.
	if p := set.Pools[0]; p.sched == nil || len(p.sched.windows) != 2 || p.sched.windows[0].loc.String() != "Europe/Paris" {
		t.Errorf("schedule not cached by Validate: %+v", p.sched)
	}
}

func TestLoadFolderOfTwoFiles(t *testing.T) {
	set, err := LoadAndValidate("testdata/two", knownProviders())
	if err != nil {
		t.Fatalf("LoadAndValidate: %v", err)
	}
	var got []string
	for _, p := range set.Pools {
		got = append(got, p.Key()+" "+p.Provider+" "+p.Source)
	}
	want := []string{ // sorted by file; both documents of b.yml; README.txt and dot files skipped
		"acme/linux local testdata/two/a.yaml:5",
		"acme/arm docker testdata/two/b.yml:2",
		"initech/mac local testdata/two/b.yml:8",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pools:\n got %q\nwant %q", got, want)
	}
	if len(set.Installations) != 1 || set.Installations["acme"].MaxAgents != 10 {
		t.Errorf("installations: %+v", set.Installations)
	}
}

// brokenProblems is every problem of testdata/broken, parse and validation.
var brokenProblems = []string{
	`testdata/broken/a.yaml:2: max_agents: must not be negative (got -1; 0 means no cap)`,
	`testdata/broken/a.yaml:5: max_agents: required (at least 1) in pool acme/linux`,
	`testdata/broken/a.yaml:7: provider: unknown provider "gcp" (configured: docker, gce, local); did you mean gce?`,
	`testdata/broken/a.yaml:8: unknown field "max_agent" in pool acme/linux (did you mean max_agents?)`,
	`testdata/broken/a.yaml:10: idle_timeout: bad duration "10 minutes" (use Go durations like 90s, 10m, 1h)`,
	`testdata/broken/a.yaml:11: suspend: unknown mode "hibernate" (use stop, suspend or none)`,
	`testdata/broken/a.yaml:13: schedule[0].cron: bad cron "0 8 * *": expected exactly 5 fields, found 4: [0 8 * *]`,
	`testdata/broken/a.yaml:14: schedule[0].duration: must be above 0 (got 0s)`,
	`testdata/broken/a.yaml:16: schedule[0].timezone: unknown time zone "Mars/Olympus" (use an IANA name like Europe/Paris)`,
	`testdata/broken/a.yaml:21: min_agents: 6 is above max_agents 5`,
	`testdata/broken/a.yaml:22: warm: must not be negative (got -2)`,
	`testdata/broken/a.yaml:23: suspend: provider "docker" cannot "suspend" (it can: none, stop)`,
	`testdata/broken/a.yaml:25: cooldown.up: bad duration "soon" (use Go durations like 90s, 10m, 1h)`,
	`testdata/broken/a.yaml:26: unknown field "dwn" in cooldown of pool acme/docker (did you mean down?)`,
	`testdata/broken/b.yaml:2: installation acme defined twice (first at testdata/broken/a.yaml:2)`,
	`testdata/broken/b.yaml:5: pool acme/docker defined twice (first at testdata/broken/a.yaml:17)`,
	`testdata/broken/b.yaml:8: max_agents: bad number "forty" (want a whole number like 10)`,
	`testdata/broken/b.yaml:9: scale_up_step: must be at least 1 (got 0)`,
	`testdata/broken/b.yaml:10: installation: required`,
	`testdata/broken/b.yaml:14: field "boot_timeout" given twice in pools[1] (first at line 13)`,
}

func TestLoadAndValidateBrokenFolderReportsEveryProblem(t *testing.T) {
	set, err := LoadAndValidate("testdata/broken", knownProviders())
	if set != nil {
		t.Errorf("set = %+v, want nil on error", set)
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	if got, want := err.Error(), strings.Join(brokenProblems, "\n"); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestLoadAloneReportsParseProblemsOnly(t *testing.T) {
	_, err := Load("testdata/broken")
	var want []string
	for _, p := range brokenProblems {
		// The parse-level problems: syntax, types, unknown and repeated fields,
		// missing max_agents, a repeated installation.
		for _, s := range []string{"bad duration", "bad number", "unknown field", "given twice", "required (at least 1)", "installation acme defined twice"} {
			if strings.Contains(p, s) {
				want = append(want, p)
				break
			}
		}
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Load problems:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want string // the whole error, with f standing for the file
	}{
		{"syntax", "pools:\n  - pool: \"a\n", `f:2: bad YAML: found unexpected end of stream`},
		{"top level typo", "pool:\n  - pool: a\n", `f:1: unknown field "pool" at top level (did you mean pools?)`},
		{"not a mapping", "- a\n- b\n", `f:1: want a mapping with installations and pools, got a list`},
		{"pools not a list", "pools:\n  pool: a\n", `f:2: pools: want a list, got a mapping`},
		{"pool entry scalar", "pools:\n  - linux\n", `f:2: pools[0]: want a mapping with installation, pool, provider..., got "linux"`},
		{"quoted number", "pools:\n  - installation: a\n    pool: b\n    max_agents: \"4\"\n", `f:4: max_agents: bad number "4" (want a whole number like 10)`},
		{"float", "pools:\n  - installation: a\n    pool: b\n    max_agents: 2.5\n", `f:4: max_agents: bad number "2.5" (want a whole number like 10)`},
		{"bare seconds", "pools:\n  - installation: a\n    pool: b\n    max_agents: 1\n    boot_timeout: 600\n", `f:5: boot_timeout: bad duration "600" (use Go durations like 90s, 10m, 1h)`},
		{"settings value list", "pools:\n  - installation: a\n    pool: b\n    max_agents: 1\n    settings:\n      cpus: [1, 2]\n", `f:6: settings.cpus: want a string, got a list`},
		{"schedule typo", "pools:\n  - installation: a\n    pool: b\n    max_agents: 1\n    schedule:\n      - cron: \"@daily\"\n        duraton: 1h\n", `f:7: unknown field "duraton" in schedule[0] of pool a/b (did you mean duration?)`},
		{"offering typo", "pools:\n  - installation: a\n    pool: b\n    max_agents: 1\n    offerings:\n      - zone: z\n        machine-type: t\n", `f:7: unknown field "machine-type" in offerings[0] of pool a/b (did you mean machine_type?)`},
		{"installation without name", "installations:\n  - max_agents: 3\n", `f:2: name: required in installations[0]`},
		{"installation typo", "installations:\n  - name: a\n    max_agnts: 3\n", `f:3: unknown field "max_agnts" in installation a (did you mean max_agents?)`},
		{"merge of a scalar", "pools:\n  - installation: a\n    pool: b\n    max_agents: 1\n    <<: 3\n", `f:5: << merges a mapping, got "3"`},
		{"several at once", "pools:\n  - installation: a\n    pool: b\n    max_agents: x\n    warm: y\n", "f:4: max_agents: bad number \"x\" (want a whole number like 10)\nf:5: warm: bad number \"y\" (want a whole number like 10)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(f, []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(f)
			want := strings.ReplaceAll(c.want, "f:", f+":")
			if err == nil || err.Error() != want {
				t.Errorf("Load error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || err.Error() != filepath.Join(dir, "nope.yaml")+": cannot read: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || err.Error() != dir+": no policy files (*.yaml, *.yml) in folder" {
		t.Errorf("empty folder: %v", err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("# nothing yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(empty)
	if err != nil || len(set.Pools) != 0 || len(set.Installations) != 0 {
		t.Errorf("empty file: set %+v, err %v; want an empty set", set, err)
	}
}

func TestDefaultsTableMatchesTheLoader(t *testing.T) {
	f := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(f, []byte("pools:\n  - installation: a\n    pool: b\n    provider: local\n    max_agents: 7\n    schedule:\n      - cron: \"@daily\"\n        duration: 1h\n        min_agents: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadAndValidate(f, knownProviders())
	if err != nil {
		t.Fatal(err)
	}
	p := set.Pools[0]
	got := map[string]string{
		"min_agents": itoa(p.MinAgents), "max_wait": fmtDur(p.MaxWait), "warm": itoa(p.Warm),
		"scale_up_step": itoa(p.ScaleUpStep), "idle_timeout": fmtDur(p.IdleTimeout), "suspend": string(p.Suspend),
		"suspended_ttl": fmtDur(p.SuspendedTTL), "boot_timeout": fmtDur(p.BootTimeout),
		"cooldown.up": fmtDur(p.Cooldown.Up), "cooldown.down": fmtDur(p.Cooldown.Down),
		"schedule[].timezone": p.Schedule[0].Timezone,
	}
	if p.MaxSuspended == p.MaxAgents {
		got["max_suspended"] = "max_agents"
	}
	if len(p.Offerings) == 1 && p.Offerings[0] == (providers.Offering{}) {
		got["offerings"] = "[{}]"
	}
	for _, d := range Defaults() {
		if d.Field == "max_agents" {
			continue
		}
		if got[d.Field] != d.Value {
			t.Errorf("default %s: the table says %q, the loader gives %q", d.Field, d.Value, got[d.Field])
		}
	}
}

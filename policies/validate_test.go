package policies

import (
	"errors"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// validPolicy is a policy built in code that passes Validate.
func validPolicy() *Policy {
	return &Policy{
		Installation: "acme", Pool: "linux", Provider: "gce", MaxAgents: 10, ScaleUpStep: 10,
		IdleTimeout: 10 * time.Minute, Suspend: providers.SuspendStop, MaxSuspended: 10,
		SuspendedTTL: 24 * time.Hour, BootTimeout: 10 * time.Minute, Source: "x.yaml:3",
	}
}

func TestValidateCodeBuiltPolicies(t *testing.T) {
	cases := []struct {
		name string
		mod  func(p *Policy)
		want string // "" for valid
	}{
		{"valid", func(p *Policy) {}, ""},
		{"valid suspend none on a provider that cannot suspend", func(p *Policy) { p.Provider, p.Suspend = "local", providers.SuspendNone }, ""},
		{"missing installation", func(p *Policy) { p.Installation = "" }, `x.yaml:3: installation: required`},
		{"missing pool", func(p *Policy) { p.Pool = "" }, `x.yaml:3: pool: required`},
		{"missing provider", func(p *Policy) { p.Provider = "" }, `x.yaml:3: provider: required`},
		{"unknown provider", func(p *Policy) { p.Provider = "ec2" }, `x.yaml:3: provider: unknown provider "ec2" (configured: docker, gce, local)`},
		{"max zero", func(p *Policy) { p.MaxAgents = 0 }, `x.yaml:3: max_agents: must be at least 1 (got 0)`},
		{"min above max", func(p *Policy) { p.MinAgents = 11 }, `x.yaml:3: min_agents: 11 is above max_agents 10`},
		{"negative min", func(p *Policy) { p.MinAgents = -1 }, `x.yaml:3: min_agents: must not be negative (got -1)`},
		{"warm above max", func(p *Policy) { p.Warm = 12 }, `x.yaml:3: warm: 12 is above max_agents 10`},
		{"negative max_suspended", func(p *Policy) { p.MaxSuspended = -3 }, `x.yaml:3: max_suspended: must not be negative (got -3)`},
		{"step zero", func(p *Policy) { p.ScaleUpStep = 0 }, `x.yaml:3: scale_up_step: must be at least 1 (got 0)`},
		{"negative max_wait", func(p *Policy) { p.MaxWait = -time.Minute }, `x.yaml:3: max_wait: must not be negative (got -1m)`},
		{"negative cooldown", func(p *Policy) { p.Cooldown.Down = -time.Second }, `x.yaml:3: cooldown.down: must not be negative (got -1s)`},
		{"zero boot_timeout", func(p *Policy) { p.BootTimeout = 0 }, `x.yaml:3: boot_timeout: must be above 0 (no machine boots in no time)`},
		{"zero suspended_ttl", func(p *Policy) { p.SuspendedTTL = 0 }, `x.yaml:3: suspended_ttl: must be above 0 (use suspend: none to destroy idle machines directly)`},
		{"unknown suspend mode", func(p *Policy) { p.Suspend = "pause" }, `x.yaml:3: suspend: unknown mode "pause" (use stop, suspend or none, or a mode provider "gce" declares)`},
		{"unknown suspend mode of an unknown provider", func(p *Policy) { p.Provider, p.Suspend = "gcp", "pause" },
			"x.yaml:3: provider: unknown provider \"gcp\" (configured: docker, gce, local); did you mean gce?\n" +
				`x.yaml:3: suspend: unknown mode "pause" (use stop, suspend or none)`},
		{"a provider's own suspend mode", func(p *Policy) { p.Suspend = "delete-keep-disk" }, ""},
		{"another provider's own suspend mode", func(p *Policy) { p.Provider, p.Suspend = "docker", "delete-keep-disk" },
			`x.yaml:3: suspend: unknown mode "delete-keep-disk" (use stop, suspend or none, or a mode provider "docker" declares)`},
		{"provider cannot suspend", func(p *Policy) { p.Provider, p.Suspend = "local", providers.SuspendSuspend }, `x.yaml:3: suspend: provider "local" cannot "suspend" (it can: none, stop)`},
		{"every is no window", func(p *Policy) { p.Schedule = []Window{{Cron: "@every 1h", Duration: time.Hour, MinAgents: 1}} },
			`x.yaml:3: schedule[0].cron: bad cron "@every 1h": @every has no start time (use a 5-field cron or @hourly, @daily, @weekly...)`},
		{"six fields", func(p *Policy) { p.Schedule = []Window{{Cron: "0 0 8 * * *", Duration: time.Hour, MinAgents: 1}} },
			`x.yaml:3: schedule[0].cron: bad cron "0 0 8 * * *": expected exactly 5 fields, found 6: [0 0 8 * * *]`},
		{"window duration negative", func(p *Policy) { p.Schedule = []Window{{Cron: "@daily", Duration: -time.Hour, MinAgents: 1}} },
			`x.yaml:3: schedule[0].duration: must be above 0 (got -1h)`},
		{"window min above max", func(p *Policy) { p.Schedule = []Window{{Cron: "@daily", Duration: time.Hour, MinAgents: 11}} },
			`x.yaml:3: schedule[0].min_agents: 11 is above max_agents 10`},
		{"window timezone", func(p *Policy) {
			p.Schedule = []Window{{Cron: "@daily", Duration: time.Hour, Timezone: "Europe/Pariss"}}
		},
			`x.yaml:3: schedule[0].timezone: unknown time zone "Europe/Pariss" (use an IANA name like Europe/Paris)`},
		{"no source names the pool", func(p *Policy) { p.Source, p.Warm = "", -1 }, `pool acme/linux: warm: must not be negative (got -1)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPolicy()
			c.mod(p)
			err := Validate(&Set{Pools: []*Policy{p}}, knownProviders())
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("Validate:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestValidateSet(t *testing.T) {
	a, b, c := validPolicy(), validPolicy(), validPolicy()
	b.Source = "b.yaml:9"
	c.Pool, c.Source = "arm", "b.yaml:20"
	set := &Set{
		Installations: map[string]*Installation{"acme": {Name: "acme", MaxAgents: -2, Source: "i.yaml:1"}},
		Pools:         []*Policy{b, a, c},
	}
	err := Validate(set, knownProviders())
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v is not Problems", err)
	}
	want := "i.yaml:1: max_agents: must not be negative (got -2; 0 means no cap)\n" +
		"x.yaml:3: pool acme/linux defined twice (first at b.yaml:9)"
	if err.Error() != want {
		t.Errorf("Validate:\n%s\nwant:\n%s", err, want)
	}
	// A nil provider map skips the provider checks.
	a.Provider = "anything"
	if err := Validate(&Set{Pools: []*Policy{a}}, nil); err != nil {
		t.Errorf("Validate with nil providers: %v", err)
	}
}

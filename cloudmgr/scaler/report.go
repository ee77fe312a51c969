package scaler

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/inventory"
	"github.com/agentcloud/agentcloud/cloudmgr/metrics"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// Report is what the last tick saw and did: the body of GET /api/v1/status
// and what the status page renders.
type Report struct {
	// DryRun is true for a report of Plan: nothing was executed.
	DryRun bool `json:"dry_run,omitempty"`
	// Ticks counts the ticks completed since start.
	Ticks int `json:"ticks"`
	// TickStarted and TickEnded bound the last tick (zero before the first).
	TickStarted time.Time `json:"tick_started,omitzero"`
	TickEnded   time.Time `json:"tick_ended,omitzero"`
	// TickSeconds is the last tick's duration.
	TickSeconds float64 `json:"tick_seconds"`
	// ListCalls counts the List calls of the last tick (one per provider).
	ListCalls int `json:"list_calls"`
	// ProviderErrors holds the List error of each provider that failed.
	ProviderErrors map[string]string `json:"provider_errors,omitempty"`
	// Installations are in the order the policies name them.
	Installations []InstallationReport `json:"installations"`
}

// InstallationReport is one installation: its master's poll state and its pools.
type InstallationReport struct {
	Name string `json:"name"`
	// MaxAgents is the installation's cap across its pools (0: none).
	MaxAgents int `json:"max_agents"`
	// Poll is the state of the master's polling.
	Poll  PollReport   `json:"poll"`
	Pools []PoolReport `json:"pools"`
}

// PollReport is the state of one master's polling.
type PollReport struct {
	// Up is true when the last poll succeeded.
	Up bool `json:"up"`
	// Stale is true when the status is too old or the last poll failed: pools hold.
	Stale       bool      `json:"stale"`
	FetchedAt   time.Time `json:"fetched_at,omitzero"`
	AttemptedAt time.Time `json:"attempted_at,omitzero"`
	Failures    int       `json:"failures,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// PoolReport is one pool as the last tick saw it.
type PoolReport struct {
	Pool     string `json:"pool"`
	Provider string `json:"provider"`
	// Source is where the policy was defined (file:line).
	Source string `json:"source"`
	// Stale is true when the pool's status was stale or missing.
	Stale             bool    `json:"stale"`
	Queued            int     `json:"queued"`
	OldestWaitSeconds float64 `json:"oldest_wait_seconds"`
	Unschedulable     int     `json:"unschedulable"`
	// Want, Min and Max: the target capacity and its bounds.
	Want int `json:"want"`
	Min  int `json:"min"`
	Max  int `json:"max"`
	// Agents and capacity as Decide counted them.
	Agents AgentCounts `json:"agents"`
	// Instances counts our instances by provider state.
	Instances map[providers.State]int `json:"instances"`
	// Actions are the last tick's plan with each action's outcome.
	Actions []ActionReport `json:"actions"`
	// Holds say why something expected did not happen.
	Holds []string `json:"holds"`
	// Recent are the last executed actions, oldest first.
	Recent []ActionReport `json:"recent"`
	// Failures and BackoffUntil are the pool's provider backoff.
	Failures     int       `json:"failures,omitempty"`
	BackoffUntil time.Time `json:"backoff_until,omitzero"`
	// LastTick is when the pool was last decided.
	LastTick time.Time `json:"last_tick"`
}

// AgentCounts are a pool's agents by state, as Decide counted them.
type AgentCounts struct {
	Idle      int `json:"idle"`
	Busy      int `json:"busy"`
	Draining  int `json:"draining"`
	Booting   int `json:"booting"`
	Suspended int `json:"suspended"`
	ByHand    int `json:"by_hand"`
	// Capacity is booting + registered agents not draining: the actual agents.
	Capacity int `json:"capacity"`
}

// ActionReport is one planned or executed action.
type ActionReport struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Instance string    `json:"instance,omitempty"`
	Code     string    `json:"code"`
	Reason   string    `json:"reason"`
	// Error and ErrorKind are set when it failed.
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`
	// Planned is true for an action of a dry run, or not reached.
	Planned bool `json:"planned,omitempty"`
}

// buildReport assembles the report of a tick.
func (l *Loop) buildReport(set *policies.Set, jobs []*job, inv *inventory.Inventory, start, end time.Time, dry bool) *Report {
	r := &Report{
		DryRun: dry, TickStarted: start, TickEnded: end, TickSeconds: end.Sub(start).Seconds(),
		ListCalls: inv.ListCalls,
	}
	for name, err := range inv.Errors {
		if r.ProviderErrors == nil {
			r.ProviderErrors = map[string]string{}
		}
		r.ProviderErrors[name] = err.Error()
	}
	index := map[string]int{}
	for _, j := range jobs {
		name := j.pol.Installation
		i, ok := index[name]
		if !ok {
			i = len(r.Installations)
			index[name] = i
			ir := InstallationReport{Name: name}
			if c := set.Installations[name]; c != nil {
				ir.MaxAgents = c.MaxAgents
			}
			if snap, ok := l.deps.Status.Snapshot(name); ok {
				ir.Poll = PollReport{
					Up: snap.Err == nil && !snap.FetchedAt.IsZero(), Stale: snap.Stale(end, l.cfg.StaleAfter),
					FetchedAt: snap.FetchedAt, AttemptedAt: snap.AttemptedAt, Failures: snap.Failures,
				}
				if snap.Err != nil {
					ir.Poll.Error = snap.Err.Error()
				}
			} else {
				ir.Poll = PollReport{Stale: true, Error: "installation not watched"}
			}
			r.Installations = append(r.Installations, ir)
		}
		r.Installations[i].Pools = append(r.Installations[i].Pools, l.poolReport(j, start, dry))
	}
	return r
}

// poolReport describes one pool's tick.
func (l *Loop) poolReport(j *job, at time.Time, dry bool) PoolReport {
	c := j.plan.Counts
	pr := PoolReport{
		Pool: j.pol.Pool, Provider: j.pol.Provider, Source: j.pol.Source, Stale: j.stale || j.status == nil,
		Want: j.plan.Want, Min: j.plan.Min, Max: j.pol.MaxAgents,
		Agents: AgentCounts{
			Idle: c.Idle, Busy: c.Busy, Draining: c.Draining, Booting: c.Booting,
			Suspended: c.Suspended, ByHand: c.ByHand, Capacity: c.Capacity,
		},
		Instances:    j.states,
		Holds:        slices.Clone(j.plan.Holds),
		Recent:       slices.Clone(j.st.recent),
		Failures:     j.st.state.Failures,
		BackoffUntil: j.st.state.BackoffUntil,
		LastTick:     at,
	}
	if pr.Holds == nil {
		pr.Holds = []string{}
	}
	if pr.Recent == nil {
		pr.Recent = []ActionReport{}
	}
	if j.status != nil {
		pr.Queued, pr.OldestWaitSeconds, pr.Unschedulable = j.status.Queued, j.status.OldestWaitSeconds, j.status.Unschedulable
	}
	if dry {
		pr.Actions = make([]ActionReport, 0, len(j.plan.Actions))
		for _, a := range j.plan.Actions {
			pr.Actions = append(pr.Actions, ActionReport{Time: at, Kind: string(a.Kind), Instance: cmp.Or(a.Name, a.InstanceID), Code: a.Code, Reason: a.Reason, Planned: true})
		}
	} else {
		pr.Actions = slices.Clone(j.results)
		if pr.Actions == nil {
			pr.Actions = []ActionReport{}
		}
	}
	return pr
}

// publishMetrics sets every decided pool's gauges.
func (l *Loop) publishMetrics(jobs []*job) {
	for _, j := range jobs {
		if j.skip != "" {
			continue
		}
		c := j.plan.Counts
		s := metrics.PoolSample{
			Idle: c.Idle, Busy: c.Busy, Draining: c.Draining, Booting: c.Booting,
			Instances:      j.states,
			Desired:        j.plan.Want,
			Actual:         c.Capacity,
			Min:            j.plan.Min,
			Max:            j.pol.MaxAgents,
			MaxWaitSeconds: j.pol.MaxWait.Seconds(),
		}
		if j.status != nil {
			s.Queued, s.OldestWaitSeconds, s.Unschedulable = j.status.Queued, j.status.OldestWaitSeconds, j.status.Unschedulable
		}
		j.st.metrics.Set(s)
	}
}

// countStates counts instances by state.
func countStates(insts []providers.Instance) map[providers.State]int {
	out := make(map[providers.State]int, 6)
	for _, in := range insts {
		out[in.State]++
	}
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

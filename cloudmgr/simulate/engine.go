package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/agentcloud/agentcloud/policies"
)

// DefaultTickInterval is the virtual time between two decisions.
const DefaultTickInterval = 10 * time.Second

// overrun is how far past the horizon (plus the longest job) a replay may run
// before it gives up on jobs that never got an agent.
const overrun = 30 * 24 * time.Hour

// Config is what every replay of one comparison shares.
type Config struct {
	// Start is when the replay starts (the first tick); End is the horizon:
	// the replay runs until every job completed and End is reached.
	Start, End time.Time
	// TickInterval is the virtual time between decisions (default 10s).
	TickInterval time.Duration
	// Timeline records a sample of every pool at every tick, for the SVG.
	Timeline bool
}

// Scenario is one way of running the pools: one replay.
type Scenario struct {
	// Name labels the run ("static", "create-destroy", a policy file...).
	Name string
	// Kind is static, create-destroy, policy or sweep.
	Kind string
	// Pools are the pools, decided in this order each tick.
	Pools []PoolSpec
	// Installations holds installation caps by name (nil: none).
	Installations map[string]*policies.Installation
}

// PoolSpec is one pool of a scenario.
type PoolSpec struct {
	// Pool is the trace's pool name.
	Pool string
	// Policy scales the pool; nil makes it static.
	Policy *policies.Policy
	// Static is how many agents a static pool has, registered from the start
	// and never touched (as agents started by hand).
	Static int
	// Model is the latency and price model of the pool's provider.
	Model ProviderModel
}

// engine is one replay in progress.
type engine struct {
	cfg   Config
	jobs  []Job
	pools []*pool
	// groups are the pools with a policy, by installation in first-seen order.
	groups []group

	events eventHeap
	seq    uint64
	now    time.Duration // since cfg.Start
	end    time.Duration // cfg.End since cfg.Start
	ended  bool          // the horizon was reached
	done   int           // jobs completed
	active int           // machines billed as running, all pools
	peak   int           // the most active at once

	// jobPool maps each job to its pool; starts and completions count per job.
	jobPool     []int32
	starts      []int32
	completions []int32
	waits       []time.Duration // per job, set at its start

	// observe, when set (tests), sees every job start and completion, and
	// the agent that runs it.
	observe func(kind string, job int, agent string, at time.Duration)
}

// group is the pools of one installation, decided in order under its cap.
type group struct {
	cap   int // installation max_agents; 0 is no cap
	pools []*pool
}

// Replay runs one scenario over jobs (sorted by arrival) and measures it.
func Replay(ctx context.Context, cfg Config, sc Scenario, jobs []Job) (*Run, error) {
	e, err := newEngine(cfg, sc, jobs)
	if err != nil {
		return nil, err
	}
	if err := e.run(ctx); err != nil {
		return nil, fmt.Errorf("replaying %s: %w", sc.Name, err)
	}
	return e.result(sc), nil
}

// newEngine prepares a replay.
func newEngine(cfg Config, sc Scenario, jobs []Job) (*engine, error) {
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = DefaultTickInterval
	}
	e := &engine{
		cfg: cfg, jobs: jobs, end: cfg.End.Sub(cfg.Start),
		jobPool: make([]int32, len(jobs)), starts: make([]int32, len(jobs)),
		completions: make([]int32, len(jobs)), waits: make([]time.Duration, len(jobs)),
	}
	byName := map[string]int{}
	groupOf := map[string]int{}
	for i, spec := range sc.Pools {
		if _, dup := byName[spec.Pool]; dup {
			return nil, fmt.Errorf("scenario %s: pool %s given twice", sc.Name, spec.Pool)
		}
		if err := checkSpec(spec); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		byName[spec.Pool] = i
		p := newPool(e, i, spec)
		e.pools = append(e.pools, p)
		if spec.Policy == nil {
			continue
		}
		inst := spec.Policy.Installation
		g, ok := groupOf[inst]
		if !ok {
			g = len(e.groups)
			groupOf[inst] = g
			c := 0
			if ip := sc.Installations[inst]; ip != nil {
				c = ip.MaxAgents
			}
			e.groups = append(e.groups, group{cap: c})
		}
		e.groups[g].pools = append(e.groups[g].pools, p)
	}
	for i, j := range jobs {
		pi, ok := byName[j.Pool]
		if !ok {
			return nil, fmt.Errorf("scenario %s: job %s (line %d) is in pool %s, which the scenario does not have", sc.Name, j.ID, j.Line, j.Pool)
		}
		if j.Arrival.Before(cfg.Start) {
			return nil, fmt.Errorf("scenario %s: job %s (line %d) arrives at %s, before the start %s", sc.Name, j.ID, j.Line, j.Arrival.Format(time.RFC3339), cfg.Start.Format(time.RFC3339))
		}
		e.jobPool[i] = int32(pi)
		e.pools[pi].jobs++
	}
	for _, p := range e.pools {
		p.startStatic()
	}
	return e, nil
}

// checkSpec refuses a pool whose machines could never register.
func checkSpec(s PoolSpec) error {
	if s.Policy == nil {
		if s.Static < 0 {
			return fmt.Errorf("pool %s: negative static size %d", s.Pool, s.Static)
		}
		return nil
	}
	bt, l := s.Policy.BootTimeout, s.Model.Latencies
	if bt > 0 && l.Create+l.Boot >= bt {
		return fmt.Errorf("pool %s: boot_timeout %s is not above the model's create + boot %s: no created machine would ever register",
			s.Pool, bt, l.Create+l.Boot)
	}
	if bt > 0 && l.Resume >= bt {
		return fmt.Errorf("pool %s: boot_timeout %s is not above the model's resume %s: no resumed machine would ever register",
			s.Pool, bt, l.Resume)
	}
	return nil
}

// at converts a replay offset to a wall time.
func (e *engine) at(d time.Duration) time.Time { return e.cfg.Start.Add(d) }

// schedule adds an event.
func (e *engine) schedule(ev event) {
	e.seq++
	ev.seq = e.seq
	e.events.push(ev)
}

// setActive moves the count of running-billed machines by delta.
func (e *engine) setActive(delta int) {
	e.active += delta
	e.peak = max(e.peak, e.active)
}

package scaler

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/inventory"
	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// job is one pool's work in one tick.
type job struct {
	pol  *policies.Policy
	st   *poolState
	inst Installation
	prov providers.Provider

	insts  []providers.Instance
	states map[providers.State]int // insts by state
	status *api.PoolStatus
	stale  bool
	// skip says why the pool was not decided this tick ("" when it was).
	skip string

	plan    policies.Plan
	results []ActionReport
}

// Tick runs one scaling tick: inventory, status, Decide and execution for
// every pool policy. It returns the tick's report (also what Status returns).
func (l *Loop) Tick(ctx context.Context) *Report {
	l.tickMu.Lock()
	defer l.tickMu.Unlock()
	start := l.deps.Now()
	set := l.set.Load()
	if set == nil {
		l.log.Warn("tick skipped: no policies loaded")
		return l.Status()
	}
	l.forget(set)
	inv := inventory.Collect(ctx, l.provs, l.cfg.Owner)
	for name, err := range inv.Errors {
		l.log.Error("listing instances failed", "provider", name, "error_kind", providerErrorKind(err), "error", err)
	}
	jobs := l.decide(set, inv, false)
	l.logHolds(ctx, jobs)
	l.executeAll(ctx, jobs)
	end := l.deps.Now()
	l.deps.Metrics.ObserveTick(end.Sub(start))
	prev := l.Status()
	r := l.buildReport(set, jobs, inv, start, end, false)
	r.Ticks = prev.Ticks + 1
	l.publishMetrics(jobs)
	l.report.Store(r)
	return r
}

// Plan runs one dry-run tick: inventory, status and Decide, executing
// nothing and changing no state. Pair it with read-only providers and no
// drainer to be sure.
func (l *Loop) Plan(ctx context.Context) *Report {
	l.tickMu.Lock()
	defer l.tickMu.Unlock()
	start := l.deps.Now()
	set := l.set.Load()
	if set == nil {
		return &Report{DryRun: true}
	}
	inv := inventory.Collect(ctx, l.provs, l.cfg.Owner)
	jobs := l.decide(set, inv, true)
	return l.buildReport(set, jobs, inv, start, l.deps.Now(), true)
}

// logHolds logs, at debug level, why each pool did not do more.
func (l *Loop) logHolds(ctx context.Context, jobs []*job) {
	if !l.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	for _, j := range jobs {
		if len(j.plan.Holds) > 0 {
			l.log.Debug("holds", "installation", j.pol.Installation, "pool", j.pol.Pool, "holds", j.plan.Holds)
		}
	}
}

// forget drops the state and metric series of pools no longer in the policies.
func (l *Loop) forget(set *policies.Set) {
	keep := make(map[string]bool, len(set.Pools))
	for _, p := range set.Pools {
		keep[p.Key()] = true
	}
	for key, st := range l.pools {
		if !keep[key] {
			l.deps.Metrics.DeletePool(st.installation, st.pool)
			delete(l.pools, key)
			l.log.Info("pool left the policies: forgetting it", "installation", st.installation, "pool", st.pool)
		}
	}
}

// decide prepares and decides every pool. Pools of one installation are
// decided in policy order, each seeing the headroom the earlier ones left
// under the installation's cap; installations are decided in parallel. A dry
// run remembers no new pool.
func (l *Loop) decide(set *policies.Set, inv *inventory.Inventory, dry bool) []*job {
	now := l.deps.Now()
	var order []string
	byInst := map[string][]*job{}
	jobs := make([]*job, 0, len(set.Pools))
	for _, p := range set.Pools {
		st := l.pools[p.Key()]
		if st == nil {
			st = &poolState{installation: p.Installation, pool: p.Pool}
			if !dry {
				st.metrics = l.deps.Metrics.Pool(p.Installation, p.Pool)
				l.pools[p.Key()] = st
			}
		}
		j := &job{pol: p, st: st}
		jobs = append(jobs, j)
		if byInst[p.Installation] == nil {
			order = append(order, p.Installation)
		}
		byInst[p.Installation] = append(byInst[p.Installation], j)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(order), 1)) {
		wg.Go(func() {
			for name := range work {
				l.decideInstallation(byInst[name], set.Installations[name], inv, now)
			}
		})
	}
	for _, name := range order {
		work <- name
	}
	close(work)
	wg.Wait()
	return jobs
}

// decideInstallation decides the pools of one installation in order.
func (l *Loop) decideInstallation(jobs []*job, capPolicy *policies.Installation, inv *inventory.Inventory, now time.Time) {
	for _, j := range jobs {
		l.prepare(j, inv, now)
	}
	headroom := -1
	if capPolicy != nil && capPolicy.MaxAgents > 0 {
		used := 0
		for _, j := range jobs {
			if j.skip == "" {
				used += capacity(j.status, j.stale, j.insts)
			}
		}
		headroom = max(capPolicy.MaxAgents-used, 0)
	}
	for _, j := range jobs {
		if j.skip != "" {
			j.plan = policies.Plan{Holds: []string{j.skip}}
			continue
		}
		j.plan = policies.Decide(policies.Input{
			Now:         now,
			Policy:      j.pol,
			Status:      j.status,
			StatusStale: j.stale,
			Instances:   j.insts,
			State:       j.st.state,
			Headroom:    headroom,
		})
		if headroom >= 0 {
			for _, a := range j.plan.Actions {
				if a.Kind == policies.ActCreate || a.Kind == policies.ActResume {
					headroom--
				}
			}
			headroom = max(headroom, 0)
		}
	}
}

// prepare gathers a pool's installation, provider, instances and status, or
// says in j.skip why it cannot be decided.
func (l *Loop) prepare(j *job, inv *inventory.Inventory, now time.Time) {
	p := j.pol
	inst, ok := l.deps.Installations[p.Installation]
	if !ok {
		j.skip = "installation " + p.Installation + " is not in cloudmgr's config: holding"
		return
	}
	j.inst = inst
	j.prov = l.deps.Providers[p.Provider]
	if j.prov == nil {
		j.skip = "provider " + p.Provider + " is not in cloudmgr's config: holding"
		return
	}
	insts, err := inv.Pool(p.Provider, p.Installation, p.Pool)
	if err != nil {
		j.skip = "instances unknown (" + err.Error() + "): holding"
		return
	}
	j.insts = insts
	j.states = countStates(insts)
	snap, ok := l.deps.Status.Snapshot(p.Installation)
	if !ok {
		j.stale = true
		return
	}
	j.stale = snap.Stale(now, l.cfg.StaleAfter)
	j.status = snap.Pools[p.Pool]
	if j.status == nil && !snap.FetchedAt.IsZero() {
		// The master lists pools with work or agents; an absent pool has neither.
		j.status = &api.PoolStatus{Pool: p.Pool}
	}
}

// capacity counts a pool's capacity as policies.Decide does (its rule 1), for
// the installation cap: with a fresh status, our capacity instances not
// registered as draining agents, plus registered agents started by hand that
// are not draining; without one, our capacity instances alone.
func capacity(status *api.PoolStatus, stale bool, insts []providers.Instance) int {
	n := 0
	if stale || status == nil {
		for _, in := range insts {
			if in.State.Capacity() {
				n++
			}
		}
		return n
	}
	agents := make(map[string]*api.AgentStatus, len(status.Agents))
	for i := range status.Agents {
		agents[status.Agents[i].ID] = &status.Agents[i]
	}
	ours := make(map[string]bool, len(insts))
	for _, in := range insts {
		ours[in.Name] = true
		if a := agents[in.Name]; in.State.Capacity() && (a == nil || !a.Draining) {
			n++
		}
	}
	for _, a := range status.Agents {
		if !ours[a.ID] && !a.Draining {
			n++
		}
	}
	return n
}

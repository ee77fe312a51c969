package scaler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// Agent environment variables cloudmgr sets on every machine.
const (
	EnvBrokerURL = "AGENTCLOUD_BROKER_URL"
	EnvPrefix    = "AGENTCLOUD_PREFIX"
	EnvPool      = "AGENTCLOUD_POOL"
	EnvAgentID   = "AGENTCLOUD_AGENT_ID"
	EnvToken     = "AGENTCLOUD_TOKEN"
)

// errorKindMaster labels failed drains in agentcloud_action_errors_total.
const errorKindMaster = "master"

// recentActions is how many executed actions a pool's report keeps.
const recentActions = 10

// executeAll executes the plans of the pools that have actions, at most
// Workers pools at once.
func (l *Loop) executeAll(ctx context.Context, jobs []*job) {
	work := make(chan *job)
	var wg sync.WaitGroup
	for range l.cfg.Workers {
		wg.Go(func() {
			for j := range work {
				l.execute(ctx, j)
			}
		})
	}
	for _, j := range jobs {
		if len(j.plan.Actions) > 0 {
			work <- j
		}
	}
	close(work)
	wg.Wait()
}

// outcome tallies one pool's provider calls in a tick.
type outcome struct {
	calls      int  // provider calls made
	failed     bool // a provider failure other than capacity
	scaledUp   bool // a create or resume succeeded
	scaledDown bool // an idle_timeout action succeeded
}

// execute runs one pool's plan: drains first (a drain the master confirms
// idle is followed at once by its Then), then destroys, suspends, resumes and
// creates, each kind as one batch call. It updates the pool's backoff,
// offerings and cooldown times.
func (l *Loop) execute(ctx context.Context, j *job) {
	var destroys, suspends, resumes, creates []policies.Action
	var o outcome
	for _, a := range j.plan.Actions {
		switch a.Kind {
		case policies.ActDrain:
			if then, ok := l.drain(ctx, j, a, &o); ok {
				if then.Kind == policies.ActSuspend {
					suspends = append(suspends, then)
				} else {
					destroys = append(destroys, then)
				}
			}
		case policies.ActDestroy:
			destroys = append(destroys, a)
		case policies.ActSuspend:
			suspends = append(suspends, a)
		case policies.ActResume:
			resumes = append(resumes, a)
		case policies.ActCreate:
			creates = append(creates, a)
		default:
			l.done(j, a, a.Name, fmt.Errorf("unknown action kind %q", a.Kind), "unknown", &o)
		}
	}
	l.batch(ctx, j, destroys, &o, j.prov.Destroy)
	l.batch(ctx, j, suspends, &o, func(ctx context.Context, ids []string) ([]string, error) {
		return j.prov.Suspend(ctx, j.pol.Suspend, ids)
	})
	l.batch(ctx, j, resumes, &o, j.prov.Resume)
	l.create(ctx, j, creates, &o)

	now := l.deps.Now()
	st := &j.st.state
	switch {
	case o.failed:
		st.Failures++
		st.BackoffUntil = now.Add(l.jitter(policies.NextBackoff(st.Failures)))
		l.log.Warn("pool backing off after provider errors", "installation", j.pol.Installation, "pool", j.pol.Pool,
			"failures", st.Failures, "until", st.BackoffUntil)
	case o.calls > 0:
		st.Failures = 0
	}
	if o.scaledUp {
		st.LastScaleUp = now
	}
	if o.scaledDown {
		st.LastScaleDown = now
	}
}

// drain asks the master to drain an agent. When the master answers that it
// is idle, the action's Then follows at once (returned with ok); otherwise
// Decide suspends it once the status shows it drained and idle.
func (l *Loop) drain(ctx context.Context, j *job, a policies.Action, o *outcome) (policies.Action, bool) {
	if l.deps.Drainer == nil {
		l.done(j, a, a.Name, errors.New("no master client to drain through"), errorKindMaster, o)
		return policies.Action{}, false
	}
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	resp, err := l.deps.Drainer.Drain(cctx, j.pol.Installation, a.Name)
	cancel()
	if err != nil {
		l.done(j, a, a.Name, fmt.Errorf("draining agent %s: %w", a.Name, err), errorKindMaster, o)
		return policies.Action{}, false
	}
	l.done(j, a, a.Name, nil, "", o)
	if !resp.Idle {
		return policies.Action{}, false
	}
	then := a.Then
	if then == "" {
		then = policies.ActSuspend
	}
	if then == policies.ActSuspend && j.pol.Suspend == providers.SuspendNone {
		then = policies.ActDestroy
	}
	return policies.Action{
		Kind: then, InstanceID: a.InstanceID, Name: a.Name, Code: policies.ReasonDrainConfirmed,
		Reason: fmt.Sprintf("%s: the master confirms %s drained and idle: %s at once", policies.ReasonDrainConfirmed, a.Name, then),
	}, true
}

// batch runs one suspend, resume or destroy call for acts and records each
// action's outcome.
func (l *Loop) batch(ctx context.Context, j *job, acts []policies.Action, o *outcome, call func(context.Context, []string) ([]string, error)) {
	if len(acts) == 0 {
		return
	}
	ids := make([]string, len(acts))
	for i, a := range acts {
		ids[i] = a.InstanceID
	}
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	ok, err := call(cctx, ids)
	cancel()
	o.calls++
	succeeded := make(map[string]bool, len(ok))
	for _, id := range ok {
		succeeded[id] = true
	}
	for _, a := range acts {
		if succeeded[a.InstanceID] {
			l.done(j, a, a.Name, nil, "", o)
			continue
		}
		e := errorFor(err, a.InstanceID, a.Name)
		if e == nil {
			e = fmt.Errorf("provider %s did not confirm %s of %s", j.prov.Name(), a.Kind, a.InstanceID)
		} else {
			e = fmt.Errorf("%s of %s: %w", a.Kind, a.Name, e)
		}
		o.failed = true
		l.done(j, a, a.Name, e, providerErrorKind(e), o)
	}
}

// create runs one Create call for the pool's create actions, naming each
// machine deterministically. A capacity error marks the offering unavailable
// for a while, so the next tick tries the next one.
func (l *Loop) create(ctx context.Context, j *job, acts []policies.Action, o *outcome) {
	if len(acts) == 0 {
		return
	}
	used := make(map[string]bool, len(j.insts))
	for _, in := range j.insts {
		used[in.Name] = true
	}
	if j.status != nil {
		for _, a := range j.status.Agents {
			used[a.ID] = true
		}
	}
	nm := newNamer(j.pol.Installation, j.pol.Pool, used)
	reqs := make([]providers.CreateRequest, len(acts))
	for i, a := range acts {
		name := nm.name()
		reqs[i] = providers.CreateRequest{
			Name:         name,
			Owner:        l.cfg.Owner,
			Installation: j.pol.Installation,
			Pool:         j.pol.Pool,
			Image:        j.pol.Image,
			Offering:     a.Offering,
			Env:          agentEnv(j.inst, j.pol.Pool, name),
			Settings:     maps.Clone(j.pol.Settings),
		}
	}
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	insts, err := j.prov.Create(cctx, reqs)
	cancel()
	o.calls++
	created := make(map[string]bool, len(insts))
	for _, in := range insts {
		created[in.Name] = true
	}
	now := l.deps.Now()
	for i, a := range acts {
		name := reqs[i].Name
		if created[name] {
			l.done(j, a, name, nil, "", o)
			continue
		}
		e := errorFor(err, name)
		switch {
		case e == nil:
			e = fmt.Errorf("provider %s did not confirm creating %s", j.prov.Name(), name)
			o.failed = true
		case providers.IsCapacity(e):
			policies.MarkUnavailable(&j.st.state, a.OfferingIndex, now.Add(l.cfg.UnavailableFor))
			e = fmt.Errorf("creating %s in offering %d (%s), skipped for %s: %w", name, a.OfferingIndex, a.Offering, l.cfg.UnavailableFor, e)
		default:
			e = fmt.Errorf("creating %s: %w", name, e)
			o.failed = true
		}
		l.done(j, a, name, e, providerErrorKind(e), o)
	}
}

// done logs, counts and reports one action's outcome.
func (l *Loop) done(j *job, a policies.Action, instance string, err error, errKind string, o *outcome) {
	inst, pool, kind := j.pol.Installation, j.pol.Pool, string(a.Kind)
	if instance == "" {
		instance = a.InstanceID
	}
	r := ActionReport{Time: l.deps.Now(), Kind: kind, Instance: instance, Code: a.Code, Reason: a.Reason}
	if err != nil {
		r.Error, r.ErrorKind = err.Error(), errKind
		l.deps.Metrics.ActionError(inst, pool, kind, errKind)
		l.log.Error("action failed", "installation", inst, "pool", pool, "kind", kind, "instance", instance,
			"code", a.Code, "reason", a.Reason, "error_kind", errKind, "error", err)
	} else {
		l.deps.Metrics.Action(inst, pool, kind, a.Code)
		if a.BootFailure {
			l.deps.Metrics.BootFailure(inst, pool)
		}
		switch {
		case a.Kind == policies.ActCreate || a.Kind == policies.ActResume:
			o.scaledUp = true
		case a.Code == policies.ReasonIdle:
			o.scaledDown = true
		}
		l.log.Info("action", "installation", inst, "pool", pool, "kind", kind, "instance", instance, "code", a.Code, "reason", a.Reason)
	}
	j.results = append(j.results, r)
	j.st.recent = append(j.st.recent, r)
	if n := len(j.st.recent); n > recentActions {
		j.st.recent = append(j.st.recent[:0:0], j.st.recent[n-recentActions:]...)
	}
}

// agentEnv is the configuration handed to a new machine.
func agentEnv(inst Installation, pool, name string) map[string]string {
	env := make(map[string]string, len(inst.AgentEnv)+5)
	maps.Copy(env, inst.AgentEnv)
	env[EnvBrokerURL] = inst.BrokerURL
	env[EnvPrefix] = inst.Prefix
	env[EnvPool] = pool
	env[EnvAgentID] = name
	if inst.AgentToken != "" {
		env[EnvToken] = inst.AgentToken
	}
	return env
}

// errorFor finds, in a batch call's joined error, the typed error about one
// of keys (an instance id or name); failing that, the whole error.
func errorFor(err error, keys ...string) error {
	if err == nil {
		return nil
	}
	if e := findTyped(err, keys); e != nil {
		return e
	}
	return err
}

// findTyped walks err's tree for a *providers.Error whose ID is one of keys.
func findTyped(err error, keys []string) error {
	if e, ok := err.(*providers.Error); ok {
		for _, k := range keys {
			if e.ID == k {
				return e
			}
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return findTyped(inner, keys)
		}
	case interface{ Unwrap() []error }:
		for _, sub := range u.Unwrap() {
			if e := findTyped(sub, keys); e != nil {
				return e
			}
		}
	}
	return nil
}

// providerErrorKind labels a provider error for metrics and logs.
func providerErrorKind(err error) string {
	if k := providers.KindOf(err); k != "" {
		return string(k)
	}
	return "unknown"
}

// jitter spreads a backoff by ±10%.
func (l *Loop) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*l.deps.Rand()))
}

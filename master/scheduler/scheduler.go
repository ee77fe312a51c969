// Package scheduler decides which agent runs which queued composition, and
// summarises each pool's queue and agents. It is pure logic: the dispatcher
// (package dispatch) feeds it the current agents and queue and acts on what it
// returns.
//
// The rules:
//
//   - Work is FIFO per pool: every free agent (idle, not draining, live) gets
//     the oldest queued composition of its pool that it can run. Agents idle
//     the longest choose first.
//   - An agent can run a composition when the composition's selector matches
//     the agent's facts and every task's plugin is among the agent's plugins.
//   - A queued composition is unschedulable when no registered agent of its
//     pool (busy, idle or draining alike: the question is about facts and
//     plugins, not about who is free now) could run it. When a pool has no
//     agents at all nothing is counted unschedulable: the pool may simply be
//     scaled to zero, and an autoscaler must still create its first agent.
package scheduler

import (
	"cmp"
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/master/selector"
)

// Agent is a registered agent as the scheduler sees it.
type Agent struct {
	ID       string
	Instance string
	Pool     string
	Facts    map[string]any
	// Plugins is the set of plugins it runs.
	Plugins map[string]bool
	// Composition is the composition it runs (empty when idle).
	Composition string
	Draining    bool
	// Live is false once its heartbeats are late.
	Live      bool
	IdleSince time.Time
	LastSeen  time.Time
}

// Busy reports whether it runs something.
func (a *Agent) Busy() bool { return a.Composition != "" }

// Free reports whether it may get new work now: idle, not draining, live.
func (a *Agent) Free() bool { return !a.Busy() && !a.Draining && a.Live }

// Job is a queued composition as the scheduler sees it.
type Job struct {
	ID       string
	Pool     string
	Selector *selector.Selector
	// Plugins lists the plugins its tasks call.
	Plugins     []string
	SubmittedAt time.Time
}

// CanRun reports whether agent a could run job j, by pool, facts and plugins.
func CanRun(a *Agent, j *Job) bool {
	if a.Pool != j.Pool {
		return false
	}
	for _, p := range j.Plugins {
		if !a.Plugins[p] {
			return false
		}
	}
	return j.Selector.Matches(a.Facts)
}

// Assignment gives a job to an agent.
type Assignment struct {
	Agent string
	Job   string
}

// Match assigns queued jobs to free agents. queue must be oldest first (FIFO);
// every free agent, longest idle first, takes the oldest job it can run that no
// other agent took in this round.
func Match(agents []*Agent, queue []*Job) []Assignment {
	free := make([]*Agent, 0, len(agents))
	for _, a := range agents {
		if a.Free() {
			free = append(free, a)
		}
	}
	slices.SortFunc(free, func(x, y *Agent) int {
		return cmp.Or(x.IdleSince.Compare(y.IdleSince), cmp.Compare(x.ID, y.ID))
	})
	taken := make(map[string]bool)
	var out []Assignment
	for _, a := range free {
		for _, j := range queue {
			if !taken[j.ID] && CanRun(a, j) {
				taken[j.ID] = true
				out = append(out, Assignment{Agent: a.ID, Job: j.ID})
				break
			}
		}
		if len(taken) == len(queue) {
			break
		}
	}
	return out
}

// Unschedulable counts the jobs that no agent of their pool could run. It
// returns 0 for a pool without agents (see the package comment).
func Unschedulable(agents []*Agent, queue []*Job) int {
	n := 0
	for _, j := range queue {
		seen, can := false, false
		for _, a := range agents {
			if a.Pool != j.Pool {
				continue
			}
			seen = true
			if CanRun(a, j) {
				can = true
				break
			}
		}
		if seen && !can {
			n++
		}
	}
	return n
}

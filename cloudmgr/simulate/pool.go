package simulate

import (
	"strconv"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/policies"
	"github.com/agentcloud/agentcloud/providers"
)

// pool is one pool in a replay: the master's queue and agents, the
// provider's machines, and the scaling loop's memory.
type pool struct {
	e    *engine
	idx  int
	spec PoolSpec
	name string
	pol  *policies.Policy

	// master
	queue []int32 // job indices, FIFO from head
	head  int

	// provider
	machines []*machine // live machines, in name order (then id)
	byID     map[string]*machine
	seq      int
	idPrefix string
	nameBase string

	// loop
	state policies.PoolState

	// measures
	jobs                       int
	runningTime, suspendedTime time.Duration
	busyTime                   time.Duration
	creates, resumes, suspends int
	destroys, drains           int
	bootFailures, lost         int
	active, peak               int
	timeline                   []Sample

	// scratch reused every tick
	status api.PoolStatus
	insts  []providers.Instance
}

// newPool prepares one pool of a replay.
func newPool(e *engine, idx int, spec PoolSpec) *pool {
	p := &pool{
		e: e, idx: idx, spec: spec, name: spec.Pool, pol: spec.Policy,
		byID: map[string]*machine{}, idPrefix: "sim-" + strconv.Itoa(idx) + "-",
	}
	if p.pol != nil {
		p.nameBase = sanitize(p.pol.Installation + "-" + p.pol.Pool)
	}
	return p
}

// startStatic registers a static pool's agents at the start, as agents
// started by hand: they run the whole replay and nothing touches them.
func (p *pool) startStatic() {
	if p.pol != nil {
		return
	}
	for i := 1; i <= p.spec.Static; i++ {
		p.seq++
		m := &machine{pool: p, id: p.idPrefix + itoa(p.seq), name: "static-" + itoa(i), state: providers.StateRunning, byHand: true}
		p.insertByName(m)
		p.byID[m.id] = m
		p.setActive(1)
		p.register(m)
	}
}

// queued is the number of jobs waiting.
func (p *pool) queued() int { return len(p.queue) - p.head }

// register makes a machine's agent known to the master, idle.
func (p *pool) register(m *machine) {
	m.agent, m.busy, m.draining, m.idleSince = true, false, false, p.e.now
	p.dispatch()
}

// leave removes a machine's agent from the master (its machine stops). A
// job it was running is lost and queued again first; the scaling rules
// never let this happen, and the replay counts it if it does.
func (p *pool) leave(m *machine) {
	if !m.agent {
		return
	}
	if m.busy {
		p.lost++
		m.gen++ // its scheduled completion is now stale
		p.requeue(m.job)
	}
	m.agent, m.busy, m.draining = false, false, false
}

// requeue puts a job back at the head of the queue.
func (p *pool) requeue(job int32) {
	if p.head > 0 {
		p.head--
		p.queue[p.head] = job
		return
	}
	p.queue = append([]int32{job}, p.queue...)
}

// dispatch gives queued jobs to free agents, oldest job first, longest idle
// agent first (ties by agent id), as the master's scheduler does.
func (p *pool) dispatch() {
	for p.queued() > 0 {
		var best *machine
		for _, m := range p.machines {
			if !m.agent || m.busy || m.draining {
				continue
			}
			if best == nil || m.idleSince < best.idleSince || (m.idleSince == best.idleSince && m.name < best.name) {
				best = m
			}
		}
		if best == nil {
			return
		}
		job := p.queue[p.head]
		p.head++
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
		}
		p.start(best, job)
	}
}

// start runs a job on a machine's agent.
func (p *pool) start(m *machine, job int32) {
	e := p.e
	j := &e.jobs[job]
	m.busy, m.job = true, job
	e.starts[job]++
	e.waits[job] = e.now - j.Arrival.Sub(e.cfg.Start)
	if e.observe != nil {
		e.observe("start", int(job), m.name, e.now)
	}
	e.schedule(event{at: e.now + j.Duration, kind: evDone, job: job, m: m, gen: m.gen})
}

// complete ends a job; its agent is idle again and takes the next one.
func (p *pool) complete(m *machine, job int) {
	e := p.e
	e.completions[job]++
	e.done++
	p.busyTime += e.jobs[job].Duration
	if e.observe != nil {
		e.observe("done", job, m.name, e.now)
	}
	m.busy, m.idleSince = false, e.now
	p.dispatch()
}

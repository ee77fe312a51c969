package simulate

import (
	"sort"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// machine is one simulated instance and, once registered, its agent.
type machine struct {
	pool *pool
	id   string
	name string

	state       providers.State
	created     time.Duration
	started     time.Duration // last create or resume
	suspendedAt time.Duration
	suspended   bool // suspendedAt is set
	byHand      bool // a static agent: never acted on
	gone        bool
	gen         uint32 // bumped at every state change; older events are stale

	// billing: since when, at which price, and whether counted active.
	billFrom time.Duration
	disk     bool // billed at the suspended price

	// agent
	agent     bool // registered with the master
	busy      bool
	job       int32
	draining  bool
	idleSince time.Duration
}

// bill adds the time since the last change to the pool's machine time.
func (p *pool) bill(m *machine) {
	d := p.e.now - m.billFrom
	if m.disk {
		p.suspendedTime += d
	} else {
		p.runningTime += d
	}
	m.billFrom = p.e.now
}

// move changes a machine's state: bills the time so far, sets the new state
// and price, and schedules the end of the transition after lat (lat < 0: a
// stable state, nothing scheduled).
func (p *pool) move(m *machine, st providers.State, disk bool, lat time.Duration) {
	p.bill(m)
	if m.disk != disk {
		if disk {
			p.setActive(-1)
		} else {
			p.setActive(1)
		}
	}
	m.state, m.disk = st, disk
	m.gen++
	if lat >= 0 {
		p.e.schedule(event{at: p.e.now + lat, kind: evMachine, m: m, gen: m.gen})
	}
}

// setActive counts machines billed as running in the pool and overall.
func (p *pool) setActive(delta int) {
	p.active += delta
	p.peak = max(p.peak, p.active)
	p.e.setActive(delta)
}

// create starts a new machine: pending for create + boot, then registered.
func (p *pool) create(name string) *machine {
	p.seq++
	m := &machine{
		pool: p, id: p.idPrefix + itoa(p.seq), name: name,
		state: providers.StatePending, created: p.e.now, started: p.e.now, billFrom: p.e.now,
	}
	p.insertByName(m)
	p.byID[m.id] = m
	p.setActive(1)
	p.creates++
	l := p.spec.Model.Latencies
	p.e.schedule(event{at: p.e.now + l.Create + l.Boot, kind: evMachine, m: m, gen: m.gen})
	return m
}

// settle ends a machine's transition.
func (p *pool) settle(m *machine) {
	switch m.state {
	case providers.StatePending, providers.StateResuming:
		p.move(m, providers.StateRunning, false, -1)
		p.register(m)
	case providers.StateSuspending:
		p.move(m, providers.StateSuspended, true, -1)
		m.suspendedAt, m.suspended = p.e.now, true
	case providers.StateDestroying:
		p.bill(m)
		if !m.disk {
			p.setActive(-1)
		}
		m.gone = true
		m.gen++
		p.forget(m)
	}
}

// suspend stops a machine, keeping its disk; its agent leaves the master.
// A machine already suspending or suspended is left alone.
func (p *pool) suspend(m *machine) {
	switch m.state {
	case providers.StatePending, providers.StateRunning, providers.StateResuming:
		p.leave(m)
		p.suspends++
		p.move(m, providers.StateSuspending, false, p.spec.Model.Latencies.Suspend)
	}
}

// resume starts a suspended (or suspending) machine again; its agent
// registers after the resume latency.
func (p *pool) resume(m *machine) {
	switch m.state {
	case providers.StateSuspending, providers.StateSuspended:
		p.resumes++
		m.started, m.suspended = p.e.now, false
		p.move(m, providers.StateResuming, false, p.spec.Model.Latencies.Resume)
	}
}

// destroy deletes a machine; it is gone after the destroy latency. A machine
// already being destroyed is left alone.
func (p *pool) destroy(m *machine) {
	if m.state == providers.StateDestroying || m.gone {
		return
	}
	p.leave(m)
	p.destroys++
	p.move(m, providers.StateDestroying, m.state == providers.StateSuspended, p.spec.Model.Latencies.Destroy)
}

// insertByName adds a machine to the pool's machines, kept in name order
// (then id): Decide sorts the instances by name, fastest when they already are.
func (p *pool) insertByName(m *machine) {
	i := sort.Search(len(p.machines), func(i int) bool {
		x := p.machines[i]
		return x.name > m.name || (x.name == m.name && x.id > m.id)
	})
	p.machines = append(p.machines, nil)
	copy(p.machines[i+1:], p.machines[i:])
	p.machines[i] = m
}

// forget drops a gone machine from the pool.
func (p *pool) forget(m *machine) {
	delete(p.byID, m.id)
	for i, x := range p.machines {
		if x == m {
			copy(p.machines[i:], p.machines[i+1:])
			p.machines[len(p.machines)-1] = nil
			p.machines = p.machines[:len(p.machines)-1]
			return
		}
	}
}

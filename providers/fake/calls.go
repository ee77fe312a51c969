package fake

import (
	"slices"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Call is one recorded call to the provider.
type Call struct {
	// Op is one of OpList, OpCreate, OpSuspend, OpResume, OpDestroy.
	Op string
	// Time is the clock's time when the call started.
	Time time.Time
	// Owner is List's owner argument.
	Owner string
	// Names are the requested names (OpCreate).
	Names []string
	// Requests are the create requests (OpCreate).
	Requests []providers.CreateRequest
	// IDs are the ids asked for (OpSuspend, OpResume, OpDestroy).
	IDs []string
	// Mode is the suspend mode (OpSuspend).
	Mode providers.SuspendMode
	// Succeeded are the ids that succeeded (for OpCreate the created or adopted ids).
	Succeeded []string
	// Err is what the call returned.
	Err error
}

// record appends c to the call log.
func (p *Provider) record(c Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, c)
}

// Calls returns a copy of every call so far, oldest first.
func (p *Provider) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Call, len(p.calls))
	for i, c := range p.calls {
		c.Names = slices.Clone(c.Names)
		c.Requests = slices.Clone(c.Requests)
		c.IDs = slices.Clone(c.IDs)
		c.Succeeded = slices.Clone(c.Succeeded)
		out[i] = c
	}
	return out
}

// CallCount returns how many calls of op were made.
func (p *Provider) CallCount(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if c.Op == op {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls.
func (p *Provider) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = nil
}

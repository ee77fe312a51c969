// Package fake is an in-memory providers.Provider for tests and for the trace
// simulator. Instances move through their states after configurable latencies
// measured against an injectable Clock: the state List reports is derived from
// timestamps when it is called, and no call ever sleeps. Every call is recorded,
// and errors can be injected per operation, per instance or per offering.
package fake

import (
	"fmt"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Operation names, used by Latencies, FailNext, the error hook and Calls.
const (
	OpList    = "list"
	OpCreate  = "create"
	OpSuspend = "suspend"
	OpResume  = "resume"
	OpDestroy = "destroy"
)

// Latencies are how long each transition takes, as observed by List.
type Latencies struct {
	// Create is the provisioning time before the machine boots; the instance is pending.
	Create time.Duration
	// Boot is the time from provisioned to running; the instance is still pending.
	Boot time.Duration
	// Suspend is the time from the Suspend call to suspended; the instance is suspending.
	Suspend time.Duration
	// Resume is the time from the Resume call to running; the instance is resuming.
	Resume time.Duration
	// Destroy is the time from the Destroy call until List no longer shows the
	// instance; it is destroying meanwhile.
	Destroy time.Duration
}

// Option configures a Provider.
type Option func(*Provider)

// WithCapabilities sets what the provider declares; default: suspend modes stop and suspend.
func WithCapabilities(c providers.Capabilities) Option {
	return func(p *Provider) { p.caps = c }
}

// WithClock sets the clock latencies are measured against; default: the wall clock.
func WithClock(c Clock) Option {
	return func(p *Provider) { p.clock = c }
}

// WithLatencies sets the transition latencies; default: all zero (instant).
func WithLatencies(l Latencies) Option {
	return func(p *Provider) { p.lat = l }
}

// Provider is the in-memory provider. It is safe for concurrent use.
type Provider struct {
	name  string
	caps  providers.Capabilities
	clock Clock
	lat   Latencies

	mu      sync.Mutex
	seq     int
	records map[string]*record // by ID
	names   map[string]string  // name -> ID
	fails   map[string][]failure
	hook    func(Attempt) error
	calls   []Call
}

var _ providers.Provider = (*Provider)(nil)

// New returns an empty fake provider called name.
func New(name string, opts ...Option) *Provider {
	p := &Provider{
		name: name,
		caps: providers.Capabilities{
			SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend},
		},
		clock:   realClock{},
		records: map[string]*record{},
		names:   map[string]string{},
		fails:   map[string][]failure{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.name }

// Capabilities returns the declared capabilities.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{SuspendModes: append([]providers.SuspendMode(nil), p.caps.SuspendModes...)}
}

// newID returns the next instance id; ids differ from names on purpose, as in a cloud.
// Call with p.mu held.
func (p *Provider) newID() string {
	for {
		p.seq++
		id := fmt.Sprintf("%s-%06d", p.name, p.seq)
		if _, taken := p.records[id]; !taken {
			return id
		}
	}
}

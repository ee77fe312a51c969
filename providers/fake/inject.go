package fake

import "github.com/agentcloud/agentcloud/providers"

// Attempt is one attempted operation on one instance, as the error hook sees it.
// A batch call makes one attempt per id or request; List makes one attempt.
type Attempt struct {
	// Op is one of OpList, OpCreate, OpSuspend, OpResume, OpDestroy.
	Op string
	// ID is the instance id; for OpCreate the requested name; for OpList "".
	ID string
	// Owner is the owner asked for (OpList) or requested (OpCreate).
	Owner string
	// Request is the create request (OpCreate only).
	Request providers.CreateRequest
	// Mode is the suspend mode (OpSuspend only).
	Mode providers.SuspendMode
}

// failure is one queued FailNext entry.
type failure struct {
	err  error
	left int
}

// FailNext makes the next n attempts of op fail with err (for a batch call each
// id or request is one attempt; each List call is one). Entries queue up: a
// second FailNext on the same op applies once the first is used up.
func (p *Provider) FailNext(op string, err error, n int) {
	if n < 1 || err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fails[op] = append(p.fails[op], failure{err: err, left: n})
}

// SetErrorFunc installs a hook asked before every attempt; a non-nil result
// fails that attempt (e.g. a capacity error for zone "a" only, or a not-found for
// one id). FailNext entries are used first. nil removes the hook. The hook runs
// without the provider's lock held, so it may call the provider's inspection
// methods; it must be safe for concurrent use if the provider is used so.
func (p *Provider) SetErrorFunc(f func(a Attempt) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hook = f
}

// injected returns the error injected for a, if any. Call without p.mu held.
func (p *Provider) injected(a Attempt) error {
	p.mu.Lock()
	if q := p.fails[a.Op]; len(q) > 0 {
		err := q[0].err
		q[0].left--
		if q[0].left == 0 {
			q = q[1:]
		}
		if len(q) == 0 {
			delete(p.fails, a.Op)
		} else {
			p.fails[a.Op] = q
		}
		p.mu.Unlock()
		return err
	}
	hook := p.hook
	p.mu.Unlock()
	if hook != nil {
		return hook(a)
	}
	return nil
}

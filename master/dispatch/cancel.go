package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// ErrFinished: the composition has already ended, so it cannot be cancelled.
var ErrFinished = errors.New("composition already finished")

// maxCancelReason caps the length of a cancel reason, in bytes.
const maxCancelReason = 1000

// Cancel stops a composition. A queued one is cancelled at once. One that is
// with an agent keeps its agent until the agent says the attempt ended: the
// agent is told to stop, the request is stored (it survives a master
// restart), and the attempt then ends cancelled, or succeeded if it finished
// before the agent heard. It is never dispatched again, even if its agent is
// lost meanwhile. Cancelling again while the agent has not answered sends the
// message again. A finished composition gives ErrFinished, an unknown id
// ErrNotFound.
func (d *Dispatcher) Cancel(ctx context.Context, id, reason string) (api.Composition, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > maxCancelReason {
		return api.Composition{}, &InvalidError{"reason", fmt.Sprintf("at most %d bytes, got %d", maxCancelReason, len(reason))}
	}
	if reason == "" {
		reason = "requested through the API"
	}
	var out api.Composition
	var err error
	d.do(ctx, func(ctx context.Context) {
		en := d.active[id]
		if en == nil {
			c, gerr := d.store.Get(ctx, id)
			if gerr != nil {
				err = fmt.Errorf("cancelling composition %s: %w", id, gerr)
				return
			}
			err = fmt.Errorf("cancelling composition %s: %w (state %s)", id, ErrFinished, c.State)
			return
		}
		switch {
		case en.c.State == api.CompQueued:
			d.finish(ctx, en, api.CompCancelled, cancelledText(reason, ""))
			if en.c.State != api.CompCancelled {
				err = errStoreRefused(id)
				return
			}
			d.log.Info("composition cancelled while queued", "composition", id, "reason", reason)
		case en.c.CancelRequested == "":
			if !d.save(ctx, en, func(c *store.Composition) { c.CancelRequested = reason }) {
				err = errStoreRefused(id)
				return
			}
			fallthrough
		default:
			d.log.Info("cancelling composition on its agent", "composition", id, "attempt", en.c.Attempt,
				"agent", en.c.Agent, "reason", en.c.CancelRequested)
			d.sendCancel(en)
		}
		out = en.c.API()
	})
	return out, err
}

// errStoreRefused says a cancel could not be stored; save logged why.
func errStoreRefused(id string) error {
	return fmt.Errorf("cancelling composition %s: the store refused the change (see the master's log)", id)
}

// sendCancel asks the agent of en's current attempt to stop it (lock held).
func (d *Dispatcher) sendCancel(en *entry) {
	d.sendAgent(en.c.Agent, &wire.Cancel{
		Type:   wire.TypeCancel,
		Ref:    wire.Ref{Composition: en.c.ID, Attempt: en.c.Attempt},
		Reason: en.c.CancelRequested,
	})
}

// endCancelled finishes a composition whose cancel was requested, instead of
// dispatching it again or failing it; how says how its attempt ended. It
// reports false when no cancel was requested (lock held).
func (d *Dispatcher) endCancelled(ctx context.Context, en *entry, how string) bool {
	if en.c.CancelRequested == "" {
		return false
	}
	d.finish(ctx, en, api.CompCancelled, cancelledText(en.c.CancelRequested, how))
	return true
}

// cancelledText is a cancelled composition's error text.
func cancelledText(reason, how string) string {
	if how == "" {
		return "cancelled: " + reason
	}
	return "cancelled: " + reason + " (" + how + ")"
}

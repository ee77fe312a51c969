package gce

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/google/uuid"
)

// wait waits until a zone operation is DONE, through zoneOperations.wait
// (which the server holds open up to about 2 minutes per call), and returns
// it with its error: a DONE operation may carry errors that the wait call
// itself does not report, so they are checked here, every time.
func (p *Provider) wait(ctx context.Context, zone string, op *computepb.Operation) (*computepb.Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.OperationTimeout)
	defer cancel()
	for op.GetStatus() != computepb.Operation_DONE {
		next, err := p.api.waitOperation(ctx, zone, op.GetName())
		if err != nil {
			return op, fmt.Errorf("waiting for operation %s (%s): %w", op.GetName(), op.GetOperationType(), err)
		}
		op = next
	}
	return op, operationError(op)
}

// do runs a call that starts a zone operation and waits for it.
func (p *Provider) do(ctx context.Context, zone string, call func() (*computepb.Operation, error)) (*computepb.Operation, error) {
	op, err := call()
	if err != nil {
		return nil, err
	}
	return p.wait(ctx, zone, op)
}

// requestID derives the requestId of an insert from the owner, zone, name,
// the purpose ("create <machine type> <template>", or "resume-<suspended-at>")
// and a generation. The
// same inputs give the same UUID, so an insert retried after a lost answer
// or a restart is deduplicated by the API rather than duplicated; the
// generation moves on when the id was already used by an earlier life of
// the same name (see Provider.insert).
func requestID(owner, zone, name, purpose string, gen int) string {
	data := fmt.Sprintf("agentcloud/gce/insert\x00%s\x00%s\x00%s\x00%s\x00%d", owner, zone, name, purpose, gen)
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(data)).String()
}

// stale reports whether an operation an insert answered with was started
// well before the call: the requestId belonged to an earlier attempt.
func (p *Provider) stale(op *computepb.Operation, callStart time.Time) bool {
	t, err := time.Parse(time.RFC3339, op.GetInsertTime())
	return err == nil && t.Before(callStart.Add(-p.cfg.StaleAfter))
}

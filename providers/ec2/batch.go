package ec2

import (
	"errors"
	"fmt"
)

// batch collects the outcome of a batch call per id.
type batch struct {
	verb string // "suspending", ...
	ids  []string
	errs map[string]error
}

// newBatch starts a batch over ids.
func newBatch(verb string, ids []string) *batch {
	return &batch{verb: verb, ids: ids, errs: map[string]error{}}
}

// fail records id's failure (the first one sticks).
func (b *batch) fail(id string, err error) {
	if _, ok := b.errs[id]; !ok {
		b.errs[id] = fmt.Errorf("%s instance %s: %w", b.verb, id, err)
	}
}

// failAll records the same failure for every id.
func (b *batch) failAll(ids []string, err func(id string) error) {
	for _, id := range ids {
		b.fail(id, err(id))
	}
}

// result returns the ids that did not fail, in order, and the failures joined
// in order.
func (b *batch) result() ([]string, error) {
	var ok []string
	var errs []error
	seen := map[string]bool{}
	for _, id := range b.ids {
		if err, failed := b.errs[id]; failed {
			if !seen[id] {
				errs = append(errs, err)
			}
		} else {
			ok = append(ok, id)
		}
		seen[id] = true
	}
	return ok, errors.Join(errs...)
}

// perID runs call on all ids at once and, when that fails because one of them
// is unknown (EC2 fails the whole call), on each id alone, so one unknown id
// does not fail the others. It returns each id's error (nil: success).
func perID(ids []string, call func(ids []string) error) map[string]error {
	out := make(map[string]error, len(ids))
	if len(ids) == 0 {
		return out
	}
	err := call(ids)
	if err != nil && len(ids) > 1 && kindOfCode(errorCode(err)) == codeNotFound {
		for _, id := range ids {
			out[id] = call([]string{id})
		}
		return out
	}
	for _, id := range ids {
		out[id] = err
	}
	return out
}

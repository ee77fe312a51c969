package providertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// harness holds one case's provider and the instances it created, and destroys
// them when the case ends.
type harness struct {
	t      *testing.T
	p      providers.Provider
	o      Options
	prefix string // unique per case; every name starts with it
	ids    []string
}

func newHarness(t *testing.T, newProvider func(t *testing.T) providers.Provider, o Options, prefix string) *harness {
	t.Helper()
	h := &harness{t: t, p: newProvider(t), o: o, prefix: prefix}
	t.Cleanup(h.cleanup)
	return h
}

// cleanup destroys every instance of the case: the ones it created and any
// other of its owner whose name carries the case's prefix.
func (h *harness) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), h.o.Timeout)
	defer cancel()
	ids := slices.Clone(h.ids)
	if insts, err := h.p.List(ctx, h.o.Owner); err == nil {
		for _, in := range insts {
			if strings.HasPrefix(in.Name, h.prefix) && !slices.Contains(ids, in.ID) {
				ids = append(ids, in.ID)
			}
		}
	} else {
		h.t.Logf("cleanup: listing instances of %s: %v", h.o.Owner, err)
	}
	if len(ids) == 0 {
		return
	}
	if _, err := h.p.Destroy(ctx, ids); err != nil {
		h.t.Errorf("cleanup: destroying %v: %v", ids, err)
	}
}

// ctx bounds one call.
func (h *harness) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.t.Context(), h.o.Timeout)
}

// req builds a create request for name in pool.
func (h *harness) req(name, pool string) providers.CreateRequest {
	return providers.CreateRequest{
		Name:         name,
		Owner:        h.o.Owner,
		Installation: h.o.Installation,
		Pool:         pool,
		Image:        h.o.Image,
		Offering:     h.o.Offering,
		Env:          h.o.Env,
		Settings:     h.o.Settings,
	}
}

// name returns the case's n-th instance name.
func (h *harness) name(n int) string { return fmt.Sprintf("%s-%d", h.prefix, n) }

// create creates reqs and fails the case unless every one succeeds.
func (h *harness) create(reqs ...providers.CreateRequest) []providers.Instance {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	insts, err := h.p.Create(ctx, reqs)
	for _, in := range insts {
		if in.ID != "" && !slices.Contains(h.ids, in.ID) {
			h.ids = append(h.ids, in.ID)
		}
	}
	if err != nil {
		h.t.Fatalf("Create(%d requests): %v", len(reqs), err)
	}
	if len(insts) != len(reqs) {
		h.t.Fatalf("Create(%d requests) returned %d instances, want %d: %+v", len(reqs), len(insts), len(reqs), insts)
	}
	for i, in := range insts {
		if in.Name != reqs[i].Name {
			h.t.Fatalf("Create: instance %d has name %q, want %q (results in request order)", i, in.Name, reqs[i].Name)
		}
		if in.ID == "" {
			h.t.Fatalf("Create: instance %q has an empty ID", in.Name)
		}
	}
	return insts
}

// list lists the owner's instances and fails the case on error.
func (h *harness) list(owner string) []providers.Instance {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	insts, err := h.p.List(ctx, owner)
	if err != nil {
		h.t.Fatalf("List(%q): %v", owner, err)
	}
	return insts
}

// waitFor polls List(owner) until cond holds, and fails the case after Timeout.
func (h *harness) waitFor(desc string, cond func([]providers.Instance) bool) []providers.Instance {
	h.t.Helper()
	deadline := time.Now().Add(h.o.Timeout)
	for {
		insts := h.list(h.o.Owner)
		if cond(insts) {
			return insts
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s; last List: %s", h.o.Timeout, desc, describe(insts))
		}
		select {
		case <-h.t.Context().Done():
			h.t.Fatalf("test ended while waiting for %s", desc)
		case <-time.After(h.o.PollInterval):
		}
	}
}

// waitState waits until List shows id in state and returns it.
func (h *harness) waitState(id string, state providers.State) providers.Instance {
	h.t.Helper()
	insts := h.waitFor(fmt.Sprintf("instance %s to be %s", id, state), func(insts []providers.Instance) bool {
		in, ok := find(insts, id)
		return ok && in.State == state
	})
	in, _ := find(insts, id)
	return in
}

// waitGone waits until List no longer shows id.
func (h *harness) waitGone(id string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("instance %s to leave List", id), func(insts []providers.Instance) bool {
		_, ok := find(insts, id)
		return !ok
	})
}

// find returns the instance with the given id.
func find(insts []providers.Instance, id string) (providers.Instance, bool) {
	for _, in := range insts {
		if in.ID == id {
			return in, true
		}
	}
	return providers.Instance{}, false
}

// countName counts the instances with the given name.
func countName(insts []providers.Instance, name string) int {
	n := 0
	for _, in := range insts {
		if in.Name == name {
			n++
		}
	}
	return n
}

// describe renders a List result briefly for failure messages.
func describe(insts []providers.Instance) string {
	if len(insts) == 0 {
		return "(none)"
	}
	parts := make([]string, len(insts))
	for i, in := range insts {
		parts[i] = fmt.Sprintf("%s(name=%s state=%s)", in.ID, in.Name, in.State)
	}
	return strings.Join(parts, ", ")
}

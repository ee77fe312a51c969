package providertest

import (
	"slices"
	"strconv"
	"testing"

	"github.com/agentcloud/agentcloud/providers"
)

// Run runs the conformance suite against the providers newProvider builds, one
// per case (so the factory can register per-case cleanups with t.Cleanup).
// Cases run one after another; each destroys what it created when it ends.
func Run(t *testing.T, newProvider func(t *testing.T) providers.Provider, opts Options) {
	t.Helper()
	o := opts.withDefaults()
	run := "pt" + randomHex(3)
	cases := []struct {
		name string
		fn   func(h *harness)
	}{
		{"CreateAndList", createAndList},
		{"CreateAdoptsByName", createAdopts},
		{"SuspendResume", suspendResume},
		{"UnsupportedSuspendMode", unsupportedSuspendMode},
		{"Destroy", destroy},
		{"UnknownIDs", unknownIDs},
		{"BatchPartialFailure", batchPartialFailure},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(newHarness(t, newProvider, o, run+"-"+strconv.Itoa(i)))
		})
	}
}

// createAndList: two instances in two pools show up with their labels and
// fields, reach running, and are invisible to another owner.
func createAndList(h *harness) {
	t := h.t
	reqs := []providers.CreateRequest{h.req(h.name(1), "pool-a"), h.req(h.name(2), "pool-b")}
	created := h.create(reqs...)
	if created[0].ID == created[1].ID {
		t.Fatalf("Create gave both instances the ID %q", created[0].ID)
	}
	for i, in := range created {
		checkIdentity(t, "Create", in, reqs[i])
	}
	h.waitFor("both instances to be running", func(insts []providers.Instance) bool {
		for _, c := range created {
			if in, ok := find(insts, c.ID); !ok || in.State != providers.StateRunning {
				return false
			}
		}
		return true
	})
	insts := h.list(h.o.Owner)
	for i, c := range created {
		in, _ := find(insts, c.ID)
		checkIdentity(t, "List", in, reqs[i])
		if in.CreatedAt.IsZero() || in.StartedAt.IsZero() {
			t.Errorf("List: %s has CreatedAt %v, StartedAt %v; want both set", in.ID, in.CreatedAt, in.StartedAt)
		}
		if !in.SuspendedAt.IsZero() {
			t.Errorf("List: running %s has SuspendedAt %v, want zero", in.ID, in.SuspendedAt)
		}
		if n := countName(insts, c.Name); n != 1 {
			t.Errorf("List shows %d instances named %s, want 1", n, c.Name)
		}
	}

	other := h.o.Owner + "-other"
	for _, in := range h.list(other) {
		if in.Owner != other {
			t.Errorf("List(%q) returned %s with owner %q", other, in.ID, in.Owner)
		}
		if slices.ContainsFunc(created, func(c providers.Instance) bool { return c.ID == in.ID }) {
			t.Errorf("List(%q) returned our instance %s", other, in.ID)
		}
	}
}

// checkIdentity checks the fields and labels that come from the request.
func checkIdentity(t *testing.T, where string, in providers.Instance, req providers.CreateRequest) {
	t.Helper()
	if in.Name != req.Name || in.Owner != req.Owner || in.Installation != req.Installation || in.Pool != req.Pool {
		t.Errorf("%s: %s has name/owner/installation/pool %q/%q/%q/%q, want %q/%q/%q/%q", where, in.ID,
			in.Name, in.Owner, in.Installation, in.Pool, req.Name, req.Owner, req.Installation, req.Pool)
	}
	for k, v := range req.Labels() {
		if in.Labels[k] != v {
			t.Errorf("%s: %s has label %s=%q, want %q", where, in.ID, k, in.Labels[k], v)
		}
	}
	if z := req.Offering.Zone; z != "" && in.Offering.Zone != z {
		t.Errorf("%s: %s is in zone %q, want %q", where, in.ID, in.Offering.Zone, z)
	}
	if m := req.Offering.MachineType; m != "" && in.Offering.MachineType != m {
		t.Errorf("%s: %s has machine type %q, want %q", where, in.ID, in.Offering.MachineType, m)
	}
}

// createAdopts: creating a name that exists returns the same instance.
func createAdopts(h *harness) {
	t := h.t
	req := h.req(h.name(1), "pool-a")
	first := h.create(req)[0]
	second := h.create(req)[0]
	if second.ID != first.ID {
		t.Errorf("second Create of %s gave ID %q, want the first one's %q", req.Name, second.ID, first.ID)
	}
	h.waitState(first.ID, providers.StateRunning)
	third := h.create(req)[0]
	if third.ID != first.ID {
		t.Errorf("Create of running %s gave ID %q, want %q", req.Name, third.ID, first.ID)
	}
	if n := countName(h.list(h.o.Owner), req.Name); n != 1 {
		t.Errorf("List shows %d instances named %s after three Creates, want 1", n, req.Name)
	}
}

// suspendResume: suspend keeps the instance (suspended, SuspendedAt set),
// resume brings it back running with a later StartedAt.
func suspendResume(h *harness) {
	t := h.t
	if !h.o.suspends() {
		t.Skip("Options.SuspendMode is empty or none: no suspend mode to exercise")
	}
	if caps := h.p.Capabilities(); !caps.Supports(h.o.SuspendMode) {
		t.Fatalf("Options.SuspendMode %q is not in the provider's capabilities %v", h.o.SuspendMode, caps.SuspendModes)
	}
	in := h.create(h.req(h.name(1), "pool-a"))[0]
	running := h.waitState(in.ID, providers.StateRunning)

	ctx, cancel := h.ctx()
	ids, err := h.p.Suspend(ctx, h.o.SuspendMode, []string{in.ID})
	cancel()
	if err != nil || !slices.Equal(ids, []string{in.ID}) {
		t.Fatalf("Suspend(%s) = %v, %v; want [%s], nil", in.ID, ids, err, in.ID)
	}
	suspended := h.waitState(in.ID, providers.StateSuspended)
	if suspended.SuspendedAt.IsZero() {
		t.Errorf("suspended %s has a zero SuspendedAt", in.ID)
	}
	if v := suspended.Labels[providers.LabelSuspendedAt]; v == "" {
		t.Errorf("suspended %s has no %s label", in.ID, providers.LabelSuspendedAt)
	} else if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		t.Errorf("suspended %s: label %s=%q is not Unix seconds: %v", in.ID, providers.LabelSuspendedAt, v, err)
	}
	if suspended.Name != in.Name || suspended.Pool != in.Pool || suspended.Owner != in.Owner {
		t.Errorf("suspended %s lost its identity: %+v", in.ID, suspended)
	}

	ctx, cancel = h.ctx()
	ids, err = h.p.Resume(ctx, []string{in.ID})
	cancel()
	if err != nil || !slices.Equal(ids, []string{in.ID}) {
		t.Fatalf("Resume(%s) = %v, %v; want [%s], nil", in.ID, ids, err, in.ID)
	}
	resumed := h.waitState(in.ID, providers.StateRunning)
	if !resumed.StartedAt.After(running.StartedAt) {
		t.Errorf("resumed %s has StartedAt %v, want after the first start %v", in.ID, resumed.StartedAt, running.StartedAt)
	}
	if !resumed.SuspendedAt.IsZero() {
		t.Errorf("resumed %s still has SuspendedAt %v, want zero", in.ID, resumed.SuspendedAt)
	}
	if n := countName(h.list(h.o.Owner), in.Name); n != 1 {
		t.Errorf("List shows %d instances named %s after suspend and resume, want 1", n, in.Name)
	}
}

// unsupportedSuspendMode: a suspend mode the provider does not declare fails
// with a not-supported error and suspends nothing.
func unsupportedSuspendMode(h *harness) {
	t := h.t
	caps := h.p.Capabilities()
	var modes []providers.SuspendMode
	for _, m := range []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend} {
		if !caps.Supports(m) {
			modes = append(modes, m)
		}
	}
	if len(modes) == 0 {
		t.Skip("the provider supports every suspend mode")
	}
	in := h.create(h.req(h.name(1), "pool-a"))[0]
	h.waitState(in.ID, providers.StateRunning)
	for _, m := range modes {
		ctx, cancel := h.ctx()
		ids, err := h.p.Suspend(ctx, m, []string{in.ID})
		cancel()
		if len(ids) != 0 || !providers.IsNotSupported(err) {
			t.Errorf("Suspend(%s, %s) = %v, %v; want no ids and a not-supported error", m, in.ID, ids, err)
		}
	}
	if got, ok := find(h.list(h.o.Owner), in.ID); !ok || got.State != providers.StateRunning {
		t.Errorf("instance %s is %q (listed: %v) after unsupported suspends, want running", in.ID, got.State, ok)
	}
}

// destroy: a destroyed instance leaves List; destroying it again succeeds.
func destroy(h *harness) {
	t := h.t
	in := h.create(h.req(h.name(1), "pool-a"))[0]
	h.waitState(in.ID, providers.StateRunning)
	for i := 1; i <= 2; i++ {
		ctx, cancel := h.ctx()
		ids, err := h.p.Destroy(ctx, []string{in.ID})
		cancel()
		if err != nil || !slices.Equal(ids, []string{in.ID}) {
			t.Fatalf("Destroy #%d of %s = %v, %v; want [%s], nil", i, in.ID, ids, err, in.ID)
		}
		h.waitGone(in.ID)
	}
}

// unknownIDs: suspend and resume of an id the provider never saw fail with a
// not-found error; destroy of it succeeds.
func unknownIDs(h *harness) {
	t := h.t
	unknown := []string{h.o.UnknownID}
	ctx, cancel := h.ctx()
	defer cancel()
	ids, err := h.p.Destroy(ctx, unknown)
	if err != nil || !slices.Equal(ids, unknown) {
		t.Errorf("Destroy(unknown %s) = %v, %v; want %v, nil", h.o.UnknownID, ids, err, unknown)
	}
	if !h.o.suspends() {
		t.Skip("Options.SuspendMode is empty or none: suspend and resume not exercised")
	}
	ids, err = h.p.Suspend(ctx, h.o.SuspendMode, unknown)
	if len(ids) != 0 || !providers.IsNotFound(err) {
		t.Errorf("Suspend(unknown %s) = %v, %v; want no ids and a not-found error", h.o.UnknownID, ids, err)
	}
	ids, err = h.p.Resume(ctx, unknown)
	if len(ids) != 0 || !providers.IsNotFound(err) {
		t.Errorf("Resume(unknown %s) = %v, %v; want no ids and a not-found error", h.o.UnknownID, ids, err)
	}
}

// batchPartialFailure: a batch with one good and one unknown id acts on the
// good one and returns it, plus a not-found error for the other.
func batchPartialFailure(h *harness) {
	t := h.t
	if !h.o.suspends() {
		t.Skip("Options.SuspendMode is empty or none: suspend and resume not exercised")
	}
	in := h.create(h.req(h.name(1), "pool-a"))[0]
	h.waitState(in.ID, providers.StateRunning)

	ctx, cancel := h.ctx()
	ids, err := h.p.Suspend(ctx, h.o.SuspendMode, []string{in.ID, h.o.UnknownID})
	cancel()
	if !slices.Equal(ids, []string{in.ID}) || !providers.IsNotFound(err) {
		t.Fatalf("Suspend([%s, unknown]) = %v, %v; want [%s] and a not-found error", in.ID, ids, err, in.ID)
	}
	h.waitState(in.ID, providers.StateSuspended)

	ctx, cancel = h.ctx()
	ids, err = h.p.Resume(ctx, []string{h.o.UnknownID, in.ID})
	cancel()
	if !slices.Equal(ids, []string{in.ID}) || !providers.IsNotFound(err) {
		t.Fatalf("Resume([unknown, %s]) = %v, %v; want [%s] and a not-found error", in.ID, ids, err, in.ID)
	}
	h.waitState(in.ID, providers.StateRunning)

	ctx, cancel = h.ctx()
	ids, err = h.p.Destroy(ctx, []string{in.ID, h.o.UnknownID})
	cancel()
	if err != nil || !slices.Equal(ids, []string{in.ID, h.o.UnknownID}) {
		t.Fatalf("Destroy([%s, unknown]) = %v, %v; want both ids, nil", in.ID, ids, err)
	}
	h.waitGone(in.ID)
}

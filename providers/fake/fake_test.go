package fake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

var lat = fake.Latencies{
	Create:  10 * time.Second,
	Boot:    20 * time.Second,
	Suspend: 5 * time.Second,
	Resume:  7 * time.Second,
	Destroy: 3 * time.Second,
}

func req(name string) providers.CreateRequest {
	return providers.CreateRequest{Name: name, Owner: "me", Installation: "inst", Pool: "pool"}
}

// stateOf returns the listed state of id ("" when not listed) and the instance.
func stateOf(t *testing.T, p *fake.Provider, id string) (providers.State, providers.Instance) {
	t.Helper()
	insts, err := p.List(context.Background(), "me")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, in := range insts {
		if in.ID == id {
			return in.State, in
		}
	}
	return "", providers.Instance{}
}

func TestLifecycleOnVirtualClock(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewManualClock(t0)
	p := fake.New("f", fake.WithClock(clock), fake.WithLatencies(lat))

	created, err := p.Create(ctx, []providers.CreateRequest{req("a")})
	if err != nil {
		t.Fatal(err)
	}
	id := created[0].ID
	if id == "a" || id == "" {
		t.Errorf("ID = %q, want a provider id distinct from the name", id)
	}
	if created[0].State != providers.StatePending || !created[0].StartedAt.Equal(t0) || !created[0].CreatedAt.Equal(t0) {
		t.Errorf("created = %+v, want pending, created and started at t0", created[0])
	}

	type step struct {
		advance time.Duration
		do      func() error
		want    providers.State
	}
	suspend := func() error { _, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); return err }
	resume := func() error { _, err := p.Resume(ctx, []string{id}); return err }
	destroy := func() error { _, err := p.Destroy(ctx, []string{id}); return err }
	steps := []step{
		{0, nil, providers.StatePending},
		{29 * time.Second, nil, providers.StatePending}, // create + boot = 30s
		{time.Second, nil, providers.StateRunning},
		{time.Minute, suspend, providers.StateSuspending}, // t0+91s
		{4 * time.Second, nil, providers.StateSuspending},
		{time.Second, nil, providers.StateSuspended}, // t0+96s
		{time.Hour, resume, providers.StateResuming},
		{6 * time.Second, nil, providers.StateResuming},
		{time.Second, nil, providers.StateRunning},
		{time.Minute, destroy, providers.StateDestroying},
		{2 * time.Second, nil, providers.StateDestroying},
		{time.Second, nil, ""}, // gone
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if got, _ := stateOf(t, p, id); got != s.want {
			t.Fatalf("step %d at t0+%s: state %q, want %q", i, clock.Now().Sub(t0), got, s.want)
		}
	}
}

func TestSuspendedAtAndStartedAt(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewManualClock(t0)
	p := fake.New("f", fake.WithClock(clock), fake.WithLatencies(lat))
	in, _ := p.Create(ctx, []providers.CreateRequest{req("a")})
	id := in[0].ID
	clock.Advance(time.Minute)
	if _, err := p.Suspend(ctx, providers.SuspendSuspend, []string{id}); err != nil {
		t.Fatal(err)
	}
	if _, got := stateOf(t, p, id); !got.SuspendedAt.IsZero() || got.Labels[providers.LabelSuspendedAt] != "" {
		t.Errorf("suspending instance has SuspendedAt %v, label %q; want neither", got.SuspendedAt, got.Labels[providers.LabelSuspendedAt])
	}
	clock.Advance(time.Hour)
	_, got := stateOf(t, p, id)
	wantAt := t0.Add(time.Minute + lat.Suspend)
	if !got.SuspendedAt.Equal(wantAt) || got.Labels[providers.LabelSuspendedAt] != strconv.FormatInt(wantAt.Unix(), 10) {
		t.Errorf("suspended: SuspendedAt %v label %q, want %v", got.SuspendedAt, got.Labels[providers.LabelSuspendedAt], wantAt)
	}
	// Suspending again changes nothing.
	if ids, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); err != nil || len(ids) != 1 {
		t.Fatalf("second Suspend = %v, %v", ids, err)
	}
	if _, again := stateOf(t, p, id); !again.SuspendedAt.Equal(wantAt) {
		t.Errorf("second Suspend moved SuspendedAt to %v", again.SuspendedAt)
	}
	resumeAt := clock.Now()
	if _, err := p.Resume(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(lat.Resume)
	state, got := stateOf(t, p, id)
	if state != providers.StateRunning || !got.StartedAt.Equal(resumeAt) || !got.SuspendedAt.IsZero() {
		t.Errorf("resumed = %+v, want running, StartedAt %v, no SuspendedAt", got, resumeAt)
	}
	if _, ok := got.Labels[providers.LabelSuspendedAt]; ok {
		t.Errorf("resumed instance still has label %s", providers.LabelSuspendedAt)
	}
	// Resuming a running instance changes nothing.
	clock.Advance(time.Minute)
	if _, err := p.Resume(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	if state, again := stateOf(t, p, id); state != providers.StateRunning || !again.StartedAt.Equal(resumeAt) {
		t.Errorf("Resume of running: %s StartedAt %v, want running and %v", state, again.StartedAt, resumeAt)
	}
}

func TestCreateAdoptsAndKeepsOwners(t *testing.T) {
	ctx := context.Background()
	p := fake.New("f")
	p.Seed(providers.Instance{Name: "theirs", Owner: "other"})
	first, err := p.Create(ctx, []providers.CreateRequest{req("a")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.Create(ctx, []providers.CreateRequest{req("b"), req("a"), req("theirs")})
	if len(second) != 2 || second[0].Name != "b" || second[1].ID != first[0].ID {
		t.Errorf("second Create = %+v, want b and the adopted a (%s)", second, first[0].ID)
	}
	if err == nil || providers.KindOf(err) != "" {
		t.Errorf("Create of another owner's name: err %v, want an untyped error", err)
	}
	if got := len(p.Instances()); got != 3 {
		t.Errorf("%d instances, want 3 (a, b, theirs): %+v", got, p.Instances())
	}
}

func TestFailNext(t *testing.T) {
	ctx := context.Background()
	p := fake.New("f")
	capacity := providers.Errorf(providers.KindCapacity, "create", "", "zone exhausted")
	p.FailNext(fake.OpCreate, capacity, 2)
	p.FailNext(fake.OpCreate, providers.Errorf(providers.KindQuota, "create", "", "quota"), 1)

	insts, err := p.Create(ctx, []providers.CreateRequest{req("a"), req("b"), req("c"), req("d")})
	if len(insts) != 1 || insts[0].Name != "d" {
		t.Errorf("created %+v, want only d", insts)
	}
	if !providers.IsCapacity(err) || !providers.IsQuota(err) {
		t.Errorf("err = %v, want capacity and quota joined", err)
	}
	if insts, err := p.Create(ctx, []providers.CreateRequest{req("a")}); err != nil || len(insts) != 1 {
		t.Errorf("Create after the failures were used up = %v, %v", insts, err)
	}

	p.FailNext(fake.OpList, providers.NewError(providers.KindUnavailable, "list", "", nil), 1)
	if _, err := p.List(ctx, "me"); !providers.IsUnavailable(err) {
		t.Errorf("List err = %v, want unavailable", err)
	}
	if insts, err := p.List(ctx, "me"); err != nil || len(insts) != 2 {
		t.Errorf("second List = %d instances, %v; want 2, nil", len(insts), err)
	}
	p.FailNext(fake.OpList, errors.New("ignored"), 0)
	if _, err := p.List(ctx, "me"); err != nil {
		t.Errorf("FailNext with n=0 injected %v", err)
	}
}

func TestErrorFuncPerOfferingAndID(t *testing.T) {
	ctx := context.Background()
	p := fake.New("f")
	p.SetErrorFunc(func(a fake.Attempt) error {
		switch {
		case a.Op == fake.OpCreate && a.Request.Offering.Zone == "a":
			return providers.Errorf(providers.KindCapacity, a.Op, a.ID, "zone a exhausted")
		case a.Op == fake.OpDestroy && a.ID == "f-000002":
			return providers.NewError(providers.KindThrottled, a.Op, a.ID, nil)
		}
		return nil
	})
	inZone := func(name, zone string) providers.CreateRequest {
		r := req(name)
		r.Offering.Zone = zone
		return r
	}
	insts, err := p.Create(ctx, []providers.CreateRequest{inZone("x", "a"), inZone("y", "b"), inZone("z", "b")})
	if !providers.IsCapacity(err) || len(insts) != 2 {
		t.Fatalf("Create = %+v, %v; want y and z and a capacity error", insts, err)
	}
	if insts[0].Offering.Zone != "b" {
		t.Errorf("y is in zone %q, want b", insts[0].Offering.Zone)
	}
	ids, err := p.Destroy(ctx, []string{insts[0].ID, insts[1].ID})
	if !slices.Equal(ids, []string{insts[0].ID}) || !providers.IsThrottled(err) || insts[1].ID != "f-000002" {
		t.Errorf("Destroy = %v, %v; want only %s and a throttled error for f-000002", ids, err, insts[0].ID)
	}
	p.SetErrorFunc(nil)
	if _, err := p.Destroy(ctx, []string{insts[1].ID}); err != nil {
		t.Errorf("Destroy after removing the hook: %v", err)
	}
}

func TestErrorsAreTypedAndWrapped(t *testing.T) {
	ctx := context.Background()
	p := fake.New("f", fake.WithCapabilities(providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop}}))
	insts, _ := p.Create(ctx, []providers.CreateRequest{req("a")})
	id := insts[0].ID
	for _, mode := range []providers.SuspendMode{providers.SuspendSuspend, providers.SuspendNone} {
		ids, err := p.Suspend(ctx, mode, []string{id})
		if len(ids) != 0 || !providers.IsNotSupported(err) {
			t.Errorf("Suspend(%s) = %v, %v; want not supported", mode, ids, err)
		}
	}
	_, err := p.Resume(ctx, []string{"nope"})
	if !providers.IsNotFound(err) || err.Error() != "resuming instance nope: resume nope: not_found: no such instance" {
		t.Errorf("Resume(nope) err = %q", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if ids, err := p.Destroy(cancelled, []string{id}); len(ids) != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Destroy with a cancelled context = %v, %v", ids, err)
	}
	if _, err := p.List(cancelled, "me"); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context: %v", err)
	}
}

func TestSeed(t *testing.T) {
	clock := fake.NewManualClock(t0)
	p := fake.New("f", fake.WithClock(clock), fake.WithLatencies(lat))
	p.Seed(
		providers.Instance{Name: "by-hand"}, // no owner: started by hand
		providers.Instance{ID: "i-1", Name: "susp", Owner: "me", Pool: "pool", State: providers.StateSuspended, SuspendedAt: t0.Add(-time.Hour)},
		providers.Instance{ID: "i-2", Name: "boot", Owner: "me", Pool: "pool", State: providers.StatePending, StartedAt: t0.Add(-25 * time.Second)},
		providers.Instance{ID: "i-3", Name: "theirs", Owner: "other"},
	)
	insts, err := p.List(context.Background(), "me")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]providers.Instance{}
	for _, in := range insts {
		got[in.Name] = in
	}
	if len(got) != 2 {
		t.Fatalf("List(me) = %+v, want susp and boot", insts)
	}
	if s := got["susp"]; s.State != providers.StateSuspended || !s.SuspendedAt.Equal(t0.Add(-time.Hour)) || s.Labels[providers.LabelOwner] != "me" || s.Labels[providers.LabelPool] != "pool" {
		t.Errorf("susp = %+v", s)
	}
	if b := got["boot"]; b.State != providers.StatePending {
		t.Errorf("boot = %s, want pending", b.State)
	}
	clock.Advance(5 * time.Second) // 30s after its start
	if state, _ := stateOf(t, p, "i-2"); state != providers.StateRunning {
		t.Errorf("boot after its latency = %s, want running", state)
	}
	if n := len(p.Instances()); n != 4 {
		t.Errorf("Instances() has %d, want 4", n)
	}
	if _, ok := p.Request("susp"); ok {
		t.Error("Request of a seeded instance reported a request")
	}
}

func TestCallsAndRequest(t *testing.T) {
	ctx := context.Background()
	clock := fake.NewManualClock(t0)
	p := fake.New("f", fake.WithClock(clock))
	insts, _ := p.Create(ctx, []providers.CreateRequest{req("a")})
	clock.Advance(time.Second)
	_, _ = p.List(ctx, "me")
	_, _ = p.Suspend(ctx, providers.SuspendStop, []string{insts[0].ID, "nope"})
	_, _ = p.Destroy(ctx, []string{insts[0].ID})

	calls := p.Calls()
	ops := make([]string, len(calls))
	for i, c := range calls {
		ops[i] = c.Op
	}
	if want := []string{fake.OpCreate, fake.OpList, fake.OpSuspend, fake.OpDestroy}; !slices.Equal(ops, want) {
		t.Fatalf("ops = %v, want %v", ops, want)
	}
	if c := calls[0]; !slices.Equal(c.Names, []string{"a"}) || !c.Time.Equal(t0) || !slices.Equal(c.Succeeded, []string{insts[0].ID}) {
		t.Errorf("create call = %+v", c)
	}
	if c := calls[1]; c.Owner != "me" || !c.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("list call = %+v", c)
	}
	if c := calls[2]; !slices.Equal(c.IDs, []string{insts[0].ID, "nope"}) || !slices.Equal(c.Succeeded, []string{insts[0].ID}) ||
		c.Mode != providers.SuspendStop || !providers.IsNotFound(c.Err) {
		t.Errorf("suspend call = %+v", c)
	}
	if n := p.CallCount(fake.OpSuspend); n != 1 {
		t.Errorf("CallCount(suspend) = %d", n)
	}
	if _, ok := p.Request("a"); ok {
		t.Error("Request(a) still known after its destroy finished")
	}
	p.ResetCalls()
	if n := len(p.Calls()); n != 0 {
		t.Errorf("%d calls after ResetCalls", n)
	}
}

func TestRequestKeepsACopy(t *testing.T) {
	ctx := context.Background()
	p := fake.New("f")
	r := req("a")
	r.Env = map[string]string{"AGENTCLOUD_POOL": "pool"}
	if _, err := p.Create(ctx, []providers.CreateRequest{r}); err != nil {
		t.Fatal(err)
	}
	r.Env["AGENTCLOUD_POOL"] = "mutated"
	got, ok := p.Request("a")
	if !ok || got.Env["AGENTCLOUD_POOL"] != "pool" {
		t.Errorf("Request(a) = %+v, %v; want the env as created", got, ok)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	p := fake.New("f")
	p.SetErrorFunc(func(a fake.Attempt) error { return nil })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				name := fmt.Sprintf("n-%d", i) // every goroutine races on the same names
				insts, err := p.Create(ctx, []providers.CreateRequest{req(name)})
				if err != nil {
					t.Errorf("goroutine %d: Create: %v", g, err)
					return
				}
				_, _ = p.List(ctx, "me")
				_, _ = p.Suspend(ctx, providers.SuspendStop, []string{insts[0].ID})
				_, _ = p.Resume(ctx, []string{insts[0].ID})
				_ = p.Calls()
			}
		}()
	}
	wg.Wait()
	insts, _ := p.List(ctx, "me")
	if len(insts) != 20 {
		t.Errorf("%d instances after concurrent creates of 20 names, want 20", len(insts))
	}
	if n := p.CallCount(fake.OpCreate); n != 160 {
		t.Errorf("CallCount(create) = %d, want 160", n)
	}
}

// BenchmarkList lists 1000 of 2000 instances on a virtual clock, as the trace
// simulator does every tick.
func BenchmarkList(b *testing.B) {
	clock := fake.NewManualClock(t0)
	p := fake.New("f", fake.WithClock(clock), fake.WithLatencies(lat))
	for i := range 2000 {
		owner := "me"
		if i%2 == 1 {
			owner = "other"
		}
		p.Seed(providers.Instance{Name: fmt.Sprintf("n-%d", i), Owner: owner, State: providers.StatePending})
	}
	ctx := context.Background()
	for b.Loop() {
		clock.Advance(time.Second)
		insts, err := p.List(ctx, "me")
		if err != nil || len(insts) != 1000 {
			b.Fatalf("List = %d, %v", len(insts), err)
		}
	}
}

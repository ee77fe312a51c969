package gce

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/gce/gcefake"
)

func TestRequestIDIsDeterministic(t *testing.T) {
	a := requestID("me", "us-central1-a", "vm-1", "create", 0)
	if a != requestID("me", "us-central1-a", "vm-1", "create", 0) {
		t.Error("the same inputs gave two requestIds")
	}
	for _, other := range []string{
		requestID("you", "us-central1-a", "vm-1", "create", 0),
		requestID("me", "us-central1-b", "vm-1", "create", 0),
		requestID("me", "us-central1-a", "vm-2", "create", 0),
		requestID("me", "us-central1-a", "vm-1", "resume-1700000000", 0),
		requestID("me", "us-central1-a", "vm-1", "create", 1),
	} {
		if other == a {
			t.Errorf("requestId %s does not depend on every input", a)
		}
	}
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("requestId %q is not a version 5 UUID", a)
	}
}

// TestRetriedInsertIsDeduplicated: an insert whose answer was lost is sent
// again by a restarted provider that cannot see the instance yet (the
// listing lags); the same requestId makes the API answer with the first
// operation, so one instance exists.
func TestRetriedInsertIsDeduplicated(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	notYet := gcefake.Fault{Method: "compute.instances.get", Name: "vm-1", Times: 1, HTTPStatus: http.StatusNotFound, Reason: "notFound"}
	e.fake.Inject(notYet)
	first := mustCreate(t, e.provider(), req("vm-1", nil))[0]
	e.fake.Inject(notYet)
	second := mustCreate(t, e.provider(), req("vm-1", nil))[0]
	if first.ID != second.ID {
		t.Errorf("the retried create gave %s, the first %s", second.ID, first.ID)
	}
	if n := e.fake.Calls("compute.instances.insert"); n != 2 {
		t.Errorf("%d inserts, want 2 (the retry must reach the API)", n)
	}
	if n := e.fake.InstanceCount(); n != 1 {
		t.Errorf("%d instances after a retried insert, want 1", n)
	}
	if n := e.fake.Deduplicated(); n != 1 {
		t.Errorf("the API deduplicated %d inserts by requestId, want 1 (the retry)", n)
	}
}

func TestConcurrentCreatesOfOneNameMakeOneInstance(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	// Every provider misses the instance on its first look, so they all insert.
	e.fake.Inject(gcefake.Fault{Method: "compute.instances.get", Name: "same", Times: 6, HTTPStatus: http.StatusNotFound, Reason: "notFound"})
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			insts, err := e.provider().Create(ctx(t), []providers.CreateRequest{req("same", nil)})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = insts[0].ID
		}()
	}
	wg.Wait()
	if n := e.fake.InstanceCount(); n != 1 {
		t.Errorf("%d instances after 6 concurrent creates of one name, want 1", n)
	}
	if n := e.fake.Deduplicated(); n != 5 {
		t.Errorf("the API deduplicated %d inserts by requestId, want 5", n)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("creates returned ids %v, want one", ids)
			break
		}
	}
}

// TestNameReusedAfterDestroy: cloudmgr names machines by the lowest free
// number, so a destroyed name comes back soon, while the API still
// remembers the first insert's requestId. The provider must notice the old
// operation and move to the next generation's requestId.
func TestNameReusedAfterDestroy(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	first := mustCreate(t, p, req("vm-1", nil))[0]
	if _, err := p.Destroy(ctx(t), []string{first.ID}); err != nil {
		t.Fatal(err)
	}
	again := mustCreate(t, p, req("vm-1", nil))[0]
	in, ok := e.fake.Instance(again.Offering.Zone, "vm-1")
	if !ok || in.Status != gcefake.StatusRunning {
		t.Fatalf("re-created vm-1: %+v (exists %v)", in, ok)
	}
	if n := e.fake.Calls("compute.instances.insert"); n != 3 {
		t.Errorf("%d inserts, want 3: the first, the deduplicated retry of its requestId, the next generation", n)
	}
}

// TestFailedInsertIsRetriedWithAFreshRequestID: a stockout leaves a failed
// operation under the requestId; once capacity is back, creating the name
// again must not get that old failure.
func TestFailedInsertIsRetriedWithAFreshRequestID(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	e.fake.Inject(func() gcefake.Fault { f := gcefake.ZoneExhausted("us-central1-a"); f.Times = 1; return f }())
	if _, err := p.Create(ctx(t), []providers.CreateRequest{req("vm-1", nil)}); !providers.IsCapacity(err) {
		t.Fatalf("Create in an exhausted zone: %v, want a capacity error", err)
	}
	time.Sleep(2 * e.cfg.StaleAfter)
	if got := mustCreate(t, p, req("vm-1", nil))[0]; got.State != providers.StateRunning {
		t.Errorf("Create once capacity is back: %+v", got)
	}
}

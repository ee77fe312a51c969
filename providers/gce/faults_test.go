package gce

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/gce/gcefake"
)

// typedFor returns the typed error of err whose ID is id, as cloudmgr looks it up.
func typedFor(err error, id string) *providers.Error {
	var found *providers.Error
	var walk func(error)
	walk = func(err error) {
		if found != nil || err == nil {
			return
		}
		if e, ok := err.(*providers.Error); ok && e.ID == id {
			found = e
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, sub := range u.Unwrap() {
				walk(sub)
			}
		}
	}
	walk(err)
	return found
}

func TestCapacityInOneZone(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	e.fake.Inject(gcefake.ZoneExhausted("us-central1-a"))
	p := e.provider()
	a := req("in-a", nil)
	a.Offering = providers.Offering{Zone: "us-central1-a", MachineType: "e2-standard-2"}
	b := req("in-b", nil)
	b.Offering = providers.Offering{Zone: "us-central1-b", MachineType: "e2-standard-2"}
	insts, err := p.Create(ctx(t), []providers.CreateRequest{a, b})
	if len(insts) != 1 || insts[0].Name != "in-b" {
		t.Errorf("Create returned %+v, want only in-b", insts)
	}
	e1 := typedFor(err, "in-a")
	if e1 == nil || e1.Kind != providers.KindCapacity {
		t.Fatalf("Create error %v: want a capacity error with ID in-a", err)
	}
	for _, want := range []string{"us-central1-a/e2-standard-2", "ZONE_RESOURCE_POOL_EXHAUSTED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("capacity error %q does not name %q", err, want)
		}
	}
	if _, ok := e.fake.Instance("us-central1-a", "in-a"); ok {
		t.Error("the exhausted zone has the instance")
	}
}

func TestMachineTypeExhaustedWithDetails(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	e.fake.Inject(gcefake.MachineTypeExhausted("us-central1-a", "n2-standard-4"))
	p := e.provider()
	r := req("vm-1", nil)
	r.Offering = providers.Offering{Zone: "us-central1-a", MachineType: "n2-standard-4"}
	if _, err := p.Create(ctx(t), []providers.CreateRequest{r}); !providers.IsCapacity(err) || !strings.Contains(err.Error(), "us-central1-a/n2-standard-4") {
		t.Errorf("Create of an exhausted machine type: %v, want a capacity error naming the offering", err)
	}
	r.Offering.MachineType = "e2-standard-4"
	mustCreate(t, p, r) // the next offering works
}

func TestQuotaExceeded(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	e.fake.Inject(gcefake.QuotaExceeded(""))
	_, err := e.provider().Create(ctx(t), []providers.CreateRequest{req("vm-1", nil)})
	if !providers.IsQuota(err) || providers.IsCapacity(err) || !strings.Contains(err.Error(), "Quota 'CPUS' exceeded") {
		t.Errorf("Create over quota: %v, want a quota error with the API's message", err)
	}
}

func TestThrottling(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	e.fake.Inject(gcefake.RateLimited("compute.instances.aggregatedList"))
	if _, err := p.List(ctx(t), "me"); !providers.IsThrottled(err) {
		t.Errorf("List under 429: %v, want a throttled error", err)
	}
	e.fake.ClearFaults()
	e.fake.Inject(gcefake.RateLimited("compute.instances.insert"))
	if _, err := p.Create(ctx(t), []providers.CreateRequest{req("vm-1", nil)}); !providers.IsThrottled(err) {
		t.Errorf("Create under 429: %v, want a throttled error", err)
	}
	e.fake.ClearFaults()
	// Older answers: 403 with reason rateLimitExceeded.
	e.fake.Inject(gcefake.Fault{Method: "compute.instances.insert", HTTPStatus: http.StatusForbidden, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded"})
	if _, err := p.Create(ctx(t), []providers.CreateRequest{req("vm-1", nil)}); !providers.IsThrottled(err) {
		t.Errorf("Create under 403 rateLimitExceeded: %v, want a throttled error", err)
	}
}

// TestDoneOperationCarryingAnError: the operation of a stop ends DONE with
// an error and no httpErrorStatusCode, so zoneOperations.wait answers 200;
// the provider must still see the failure.
func TestDoneOperationCarryingAnError(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	in := mustCreate(t, p, req("vm-1", nil))[0]
	e.fake.Inject(gcefake.Fault{Method: "compute.instances.stop", OpErrorCode: "INTERNAL_ERROR", OpErrorMessage: "Internal error. Please try again."})
	ids, err := p.Suspend(ctx(t), providers.SuspendStop, []string{in.ID})
	if len(ids) != 0 || err == nil || !strings.Contains(err.Error(), "INTERNAL_ERROR") {
		t.Fatalf("Suspend whose stop operation failed = %v, %v; want no ids and the operation's error", ids, err)
	}
	var oe *opError
	if !errors.As(err, &oe) {
		t.Errorf("the error %v does not carry the operation", err)
	}
	if got, _ := e.fake.Instance(in.Offering.Zone, "vm-1"); got.Status != gcefake.StatusRunning {
		t.Errorf("instance is %s after a failed stop", got.Status)
	}

	e.fake.ClearFaults()
	e.fake.Inject(gcefake.Fault{Method: "compute.instances.suspend", OpErrorCode: "UNSUPPORTED_OPERATION", OpErrorMessage: "Instances with GPUs cannot be suspended."})
	if _, err := p.Suspend(ctx(t), providers.SuspendSuspend, []string{in.ID}); !providers.IsNotSupported(err) {
		t.Errorf("Suspend refused by the operation: %v, want a not-supported error", err)
	}
}

// TestSlowTransitions: Suspend waits for the stop to finish; List shows the
// machine suspending meanwhile, and suspended when Suspend returns.
func TestSlowTransitions(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{Delays: gcefake.Delays{Stopping: 400 * time.Millisecond}})
	p := e.provider()
	in := mustCreate(t, p, req("vm-1", nil))[0]
	done := make(chan error, 1)
	go func() {
		_, err := p.Suspend(ctx(t), providers.SuspendStop, []string{in.ID})
		done <- err
	}()
	sawSuspending := false
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if !sawSuspending {
				t.Error("List never showed the machine suspending during a 400ms stop")
			}
			if got, _ := listed(t, p, "me", in.ID); got.State != providers.StateSuspended {
				t.Errorf("after Suspend returned the machine is %s, want suspended", got.State)
			}
			return
		default:
		}
		if got, _ := listed(t, p, "me", in.ID); got.State == providers.StateSuspending {
			sawSuspending = true
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnreachableZoneFailsList(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	mustCreate(t, p, req("vm-1", nil))
	e.fake.SetUnreachable("us-central1-a", true)
	_, err := p.List(ctx(t), "me")
	if !providers.IsUnavailable(err) || !strings.Contains(err.Error(), "zones/us-central1-a") {
		t.Errorf("List with a zone unreachable: %v, want an unavailable error naming the zone", err)
	}
}

func TestEndpointDown(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	e.fake.Close()
	if _, err := p.List(ctx(t), "me"); !providers.IsUnavailable(err) {
		t.Errorf("List with the endpoint down: %v, want an unavailable error", err)
	}
}

func TestDestroyOfGoneAndHalfGone(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	in := mustCreate(t, p, req("vm-1", nil))[0]
	ids := []string{in.ID, "us-central1-a/never-was", "not an id"}
	if ok, err := p.Destroy(ctx(t), ids); err != nil || len(ok) != 3 {
		t.Fatalf("Destroy = %v, %v; want all three", ok, err)
	}
	if ok, err := p.Destroy(ctx(t), ids[:1]); err != nil || len(ok) != 1 {
		t.Errorf("Destroy again = %v, %v", ok, err)
	}
	// A delete whose operation fails keeps the id out of the result.
	in = mustCreate(t, p, req("vm-2", nil))[0]
	e.fake.Inject(gcefake.Fault{Method: "compute.instances.delete", OpErrorCode: "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", OpHTTPStatus: http.StatusBadRequest})
	if ok, err := p.Destroy(ctx(t), []string{in.ID}); len(ok) != 0 || err == nil {
		t.Errorf("Destroy with a failing delete = %v, %v; want an error", ok, err)
	}
}

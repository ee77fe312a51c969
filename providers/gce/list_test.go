package gce

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/gce/gcefake"
)

// TestListCallsDoNotGrowWithInstances: List costs one aggregatedList per
// resource type per page, never a call per instance or per zone.
func TestListCallsDoNotGrowWithInstances(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	e.cfg.PageSize = 4
	p := e.provider()
	zones := e.fake.Zones()
	var reqs []providers.CreateRequest
	for i := range 10 {
		r := req(fmt.Sprintf("vm-%d", i), nil)
		r.Offering.Zone = zones[i%len(zones)]
		reqs = append(reqs, r)
	}
	insts := mustCreate(t, p, reqs...)
	// Five suspended by keeping their disk: 5 instances and 5 kept disks.
	var kept []string
	for _, in := range insts[:5] {
		kept = append(kept, in.ID)
	}
	if _, err := p.Suspend(ctx(t), SuspendDeleteKeepDisk, kept); err != nil {
		t.Fatal(err)
	}
	other := req("not-mine", nil)
	other.Owner = "someone-else"
	mustCreate(t, p, other)

	for _, tc := range []struct {
		owner         string
		want          int
		instanceCalls int // ceil(instances / 4), at least 1
		diskCalls     int // ceil(kept disks / 4), at least 1
	}{
		{"me", 10, 2, 2},
		{"nobody", 0, 1, 1},
	} {
		e.fake.ResetCalls()
		got, err := p.List(ctx(t), tc.owner)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("List(%s) shows %d machines, want %d", tc.owner, len(got), tc.want)
		}
		calls := e.fake.AllCalls()
		if calls["compute.instances.aggregatedList"] != tc.instanceCalls || calls["compute.disks.aggregatedList"] != tc.diskCalls || len(calls) != 2 {
			t.Errorf("List(%s) made calls %v; want %d instances.aggregatedList and %d disks.aggregatedList only",
				tc.owner, calls, tc.instanceCalls, tc.diskCalls)
		}
	}
}

func TestMapStatus(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		status    string
		resumedAt time.Time
		lastStart time.Time
		want      providers.State
	}{
		{"PROVISIONING", time.Time{}, time.Time{}, providers.StatePending},
		{"STAGING", time.Time{}, t0, providers.StatePending},
		{"STAGING", t0.Add(time.Minute), t0, providers.StateResuming},   // our Resume started it
		{"PROVISIONING", t0, t0.Add(time.Hour), providers.StatePending}, // restarted by GCE after our resume
		{"REPAIRING", t0, time.Time{}, providers.StatePending},
		{"RUNNING", t0, t0, providers.StateRunning},
		{"STOPPING", time.Time{}, t0, providers.StateSuspending},
		{"SUSPENDING", time.Time{}, t0, providers.StateSuspending},
		{"PENDING_STOP", time.Time{}, t0, providers.StateSuspending},
		{"DEPROVISIONING", time.Time{}, t0, providers.StateSuspending},
		{"TERMINATED", time.Time{}, t0, providers.StateSuspended},
		{"STOPPED", time.Time{}, t0, providers.StateSuspended},
		{"SUSPENDED", time.Time{}, t0, providers.StateSuspended},
		{"SOMETHING_NEW", time.Time{}, t0, providers.StatePending},
	}
	for _, tc := range tests {
		if got := mapStatus(tc.status, tc.resumedAt, tc.lastStart); got != tc.want {
			t.Errorf("mapStatus(%s, resumed %v, started %v) = %s, want %s", tc.status, tc.resumedAt, tc.lastStart, got, tc.want)
		}
	}
}

func TestListShowsRepairingAsPendingAndSuspendedByHand(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	a := mustCreate(t, p, req("vm-a", nil))[0]
	b := mustCreate(t, p, req("vm-b", nil))[0]
	e.fake.SetStatus(a.Offering.Zone, "vm-a", gcefake.StatusRepairing)
	// Stopped by hand (no suspended-at label): SuspendedAt from lastStopTimestamp.
	op, err := p.api.stopInstance(ctx(t), b.Offering.Zone, "vm-b")
	if err == nil {
		_, err = p.wait(ctx(t), b.Offering.Zone, op)
	}
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := listed(t, p, "me", a.ID); in.State != providers.StatePending {
		t.Errorf("a REPAIRING instance is %s, want pending", in.State)
	}
	in, _ := listed(t, p, "me", b.ID)
	if in.State != providers.StateSuspended || in.SuspendedAt.IsZero() || in.Labels[providers.LabelSuspendedAt] == "" {
		t.Errorf("an instance stopped by hand: %+v; want suspended with SuspendedAt and the label from lastStopTimestamp", in)
	}
}

func TestListOrdersByCreation(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	for _, n := range []string{"c", "a", "b"} {
		mustCreate(t, p, req("vm-"+n, nil))
		time.Sleep(5 * time.Millisecond)
	}
	got, err := p.List(ctx(t), "me")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].CreatedAt.Before(got[i-1].CreatedAt) {
			t.Errorf("List is not ordered by creation: %s (%v) after %s (%v)", got[i].Name, got[i].CreatedAt, got[i-1].Name, got[i-1].CreatedAt)
		}
	}
}

// BenchmarkList lists 100 machines (90 instances, 10 kept disks) through the
// SDK and the fake: two aggregatedList calls per List.
func BenchmarkList(b *testing.B) {
	f := gcefake.New(gcefake.Config{})
	defer f.Close()
	p, err := New(b.Context(), Config{Project: f.Project(), Zones: f.Zones(), Endpoint: f.URL()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var reqs []providers.CreateRequest
	for i := range 100 {
		r := req(fmt.Sprintf("vm-%d", i), nil)
		r.Offering.Zone = f.Zones()[i%3]
		reqs = append(reqs, r)
	}
	insts, err := p.Create(b.Context(), reqs)
	if err != nil {
		b.Fatal(err)
	}
	var kept []string
	for _, in := range insts[:10] {
		kept = append(kept, in.ID)
	}
	if _, err := p.Suspend(b.Context(), SuspendDeleteKeepDisk, kept); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := p.List(b.Context(), "me")
		if err != nil || len(got) != 100 {
			b.Fatalf("List = %d machines, %v", len(got), err)
		}
	}
}

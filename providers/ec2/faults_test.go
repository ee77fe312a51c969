package ec2

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// EC2 errors moto cannot produce, injected as EC2's XML error documents by a
// proxy in front of moto, so they go through the SDK's real deserializer and
// retryer: each comes out typed, or as a permission error.
func TestInjectedErrors(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	type call func(t *testing.T, p *Provider, id string) error
	create := func(t *testing.T, p *Provider, _ string) error {
		insts, err := p.Create(ctxT(t), []providers.CreateRequest{motoReq("faulted-1", "o", "pool", ami)})
		if len(insts) != 0 {
			t.Errorf("a failed Create returned %d instances", len(insts))
		}
		return err
	}
	list := func(t *testing.T, p *Provider, _ string) error { _, err := p.List(ctxT(t), "o"); return err }
	suspend := func(t *testing.T, p *Provider, id string) error {
		ids, err := p.Suspend(ctxT(t), providers.SuspendStop, []string{id})
		if err != nil && len(ids) != 0 {
			t.Errorf("a failed Suspend returned ids %v", ids)
		}
		return err
	}
	destroy := func(t *testing.T, p *Provider, id string) error {
		ids, err := p.Destroy(ctxT(t), []string{id})
		if err == nil && len(ids) != 1 {
			t.Errorf("Destroy returned ids %v, want [%s]", ids, id)
		}
		return err
	}
	tests := []struct {
		name     string
		action   string
		status   int
		code     string
		call     call
		attempts int // SDK attempts allowed
		want     func(error) bool
		requests int // requests of action the proxy must have seen
	}{
		{"capacity", "RunInstances", 500, "InsufficientInstanceCapacity", create, 3, providers.IsCapacity, 1},
		{"host capacity", "RunInstances", 500, "InsufficientHostCapacity", create, 1, providers.IsCapacity, 1},
		{"no free address", "RunInstances", 400, "InsufficientFreeAddressesInSubnet", create, 1, providers.IsCapacity, 1},
		{"instance limit", "RunInstances", 400, "InstanceLimitExceeded", create, 3, providers.IsQuota, 1},
		{"vcpu limit", "RunInstances", 400, "VcpuLimitExceeded", create, 1, providers.IsQuota, 1},
		{"request limit", "DescribeInstances", 503, "RequestLimitExceeded", list, 1, providers.IsThrottled, 1},
		{"throttling", "DescribeInstances", 400, "Throttling", list, 1, providers.IsThrottled, 1},
		{"internal error", "DescribeInstances", 500, "InternalError", list, 1, providers.IsUnavailable, 1},
		{"stop of a vanished id", "StopInstances", 400, "InvalidInstanceID.NotFound", suspend, 1, providers.IsNotFound, 1},
		{"stop unsupported", "StopInstances", 400, "UnsupportedHibernationConfiguration", suspend, 1, providers.IsNotSupported, 1},
		{"destroy of a gone id", "TerminateInstances", 400, "InvalidInstanceID.NotFound", destroy, 1, func(err error) bool { return err == nil }, 1},
		{"destroy of a malformed id", "TerminateInstances", 400, "InvalidInstanceID.Malformed", destroy, 1, func(err error) bool { return err == nil }, 1},
		{"permission", "RunInstances", 403, "UnauthorizedOperation", create, 3, func(err error) bool {
			return errors.Is(err, ErrPermissionDenied) && providers.KindOf(err) == "" && strings.Contains(err.Error(), "iam-policy.json")
		}, 1},
		{"incorrect state", "StopInstances", 400, "IncorrectInstanceState", suspend, 1, func(err error) bool {
			return err != nil && providers.KindOf(err) == "" && strings.Contains(err.Error(), "IncorrectInstanceState")
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needMoto(t)
			fp := newFaultProxy(t, url)
			cfg := testConfig(fp.url)
			cfg.MaxAttempts = tc.attempts
			p := newTestProvider(t, cfg, nil)
			id := mustCreate(t, p, motoReq("victim-1", "o", "pool", ami))[0].ID
			fp.fail(tc.action, 1, tc.status, tc.code)
			before := fp.count(tc.action)
			err := tc.call(t, p, id)
			if !tc.want(err) {
				t.Errorf("%s answered %s: got error %v (kind %q)", tc.action, tc.code, err, providers.KindOf(err))
			}
			if n := fp.count(tc.action) - before; n != tc.requests {
				t.Errorf("%d %s requests, want %d (retries of %s with %d attempts allowed)", n, tc.action, tc.requests, tc.code, tc.attempts)
			}
		})
	}
}

// A capacity error names the offering, so cloudmgr's report says which one
// is exhausted, and it carries the request's name as its ID.
func TestCapacityErrorNamesOffering(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	fp := newFaultProxy(t, url)
	p := newTestProvider(t, testConfig(fp.url), nil)
	fp.fail("RunInstances", 1, 500, "InsufficientInstanceCapacity")
	_, err := p.Create(ctxT(t), []providers.CreateRequest{motoReq("cap-1", "o", "pool", ami), motoReq("cap-2", "o", "pool", ami)})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindCapacity || (pe.ID != "cap-1" && pe.ID != "cap-2") {
		t.Fatalf("Create = %v; want a capacity error about cap-1 or cap-2", err)
	}
	for _, want := range []string{"us-east-1b/t3.micro", "region us-east-1", "InsufficientInstanceCapacity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("capacity error %q lacks %q", err, want)
		}
	}
	if n := len(mustList(t, p, "o")); n != 1 {
		t.Errorf("%d instances after one of two launches failed, want 1", n)
	}
}

// Throttling is retried by the SDK when attempts are allowed; capacity is not.
func TestThrottlingRetried(t *testing.T) {
	url := needMoto(t)
	fp := newFaultProxy(t, url)
	p := newTestProvider(t, testConfig(fp.url), nil)
	fp.fail("DescribeInstances", 1, 503, "RequestLimitExceeded")
	if _, err := p.List(ctxT(t), "o"); err != nil {
		t.Fatalf("List after one throttled answer: %v", err)
	}
	if n := fp.count("DescribeInstances"); n != 2 {
		t.Errorf("%d DescribeInstances requests, want 2 (one throttled, one retried)", n)
	}
}

// A token EC2 says was used with other parameters moves to the next generation.
func TestIdempotentParameterMismatch(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	fp := newFaultProxy(t, url)
	var rec *recorder
	p := newTestProvider(t, testConfig(fp.url), func(r string, api API) API { rec = newRecorder(r, api); return rec })
	fp.fail("RunInstances", 1, 400, "IdempotentParameterMismatch")
	in := mustCreate(t, p, motoReq("mismatch-1", "o", "pool", ami))[0]
	runs := rec.runInputs()
	if len(runs) != 2 || aws.ToString(runs[1].ClientToken) != clientToken("o", "mismatch-1", 1) || in.Labels[TagGeneration] != "1" {
		t.Errorf("%d launches, generation %q; want a second launch with generation 1", len(runs), in.Labels[TagGeneration])
	}
}

// An endpoint that does not answer gives unavailable errors.
func TestUnreachableEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := testConfig("http://" + addr)
	cfg.MaxAttempts = 1 // a refused connection is retryable: one attempt keeps the test quick
	p := newTestProvider(t, cfg, nil)
	if _, err := p.List(ctxT(t), "o"); !providers.IsUnavailable(err) {
		t.Errorf("List against a closed port = %v, want an unavailable error", err)
	}
	ids, err := p.Suspend(ctxT(t), providers.SuspendStop, []string{unknownID})
	if len(ids) != 0 || !providers.IsUnavailable(err) {
		t.Errorf("Suspend against a closed port = %v, %v, want an unavailable error", ids, err)
	}
	ids, err = p.Destroy(ctxT(t), []string{unknownID})
	if len(ids) != 0 || !providers.IsUnavailable(err) {
		t.Errorf("Destroy against a closed port = %v, %v, want an unavailable error (not a success)", ids, err)
	}
}

// Slow state transitions (moto's are instant) rewritten into DescribeInstances
// answers: a booting instance is pending, a stopping one suspending and not
// resumable yet, a shutting-down one destroying and never adopted.
func TestSlowTransitions(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	var rec *recorder
	p := newTestProvider(t, testConfig(url), func(r string, api API) API { rec = newRecorder(r, api); return rec })
	slow := func(id string, from, to types.InstanceStateName) {
		rec.setRewrite(func(in *types.Instance) bool {
			if aws.ToString(in.InstanceId) == id && stateOf(*in) == from {
				in.State = &types.InstanceState{Name: to}
			}
			return true
		})
	}

	in := mustCreate(t, p, motoReq("slow-1", "o", "pool", ami))[0]
	slow(in.ID, types.InstanceStateNameRunning, types.InstanceStateNamePending)
	if got, _ := byID(mustList(t, p, "o"), in.ID); got.State != providers.StatePending {
		t.Errorf("a booting instance is listed %q, want pending", got.State)
	}
	ids, err := p.Suspend(ctxT(t), providers.SuspendStop, []string{in.ID})
	if len(ids) != 0 || err == nil || providers.IsNotFound(err) || !strings.Contains(err.Error(), "pending") {
		t.Errorf("Suspend of a pending instance = %v, %v; want an error saying it is pending", ids, err)
	}

	rec.setRewrite(nil)
	if _, err := p.Suspend(ctxT(t), providers.SuspendStop, []string{in.ID}); err != nil {
		t.Fatal(err)
	}
	slow(in.ID, types.InstanceStateNameStopped, types.InstanceStateNameStopping)
	got, _ := byID(mustList(t, p, "o"), in.ID)
	if got.State != providers.StateSuspending || got.SuspendedAt.IsZero() {
		t.Errorf("a stopping instance is listed %q with SuspendedAt %v, want suspending with a time", got.State, got.SuspendedAt)
	}
	starts := rec.count("StartInstances")
	ids, err = p.Resume(ctxT(t), []string{in.ID})
	if len(ids) != 0 || err == nil || providers.IsNotFound(err) || rec.count("StartInstances") != starts {
		t.Errorf("Resume of a stopping instance = %v, %v (StartInstances called: %v); want an error and no call", ids, err, rec.count("StartInstances") != starts)
	}
	if ids, err := p.Suspend(ctxT(t), providers.SuspendStop, []string{in.ID}); err != nil || len(ids) != 1 {
		t.Errorf("Suspend of a stopping instance = %v, %v; want success", ids, err)
	}
	rec.setRewrite(nil)
	if ids, err := p.Resume(ctxT(t), []string{in.ID}); err != nil || len(ids) != 1 {
		t.Fatalf("Resume once stopped = %v, %v", ids, err)
	}

	slow(in.ID, types.InstanceStateNameRunning, types.InstanceStateNameShuttingDown)
	if got, _ := byID(mustList(t, p, "o"), in.ID); got.State != providers.StateDestroying {
		t.Errorf("a shutting-down instance is listed %q, want destroying", got.State)
	}
	again := mustCreate(t, p, motoReq("slow-1", "o", "pool", ami))[0]
	if again.ID == in.ID {
		t.Errorf("Create adopted the shutting-down instance %s", in.ID)
	}
}

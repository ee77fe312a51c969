package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

func teardownFixture(t *testing.T, f *fake.Provider) *config.Config {
	t.Helper()
	f.Seed(
		providers.Instance{Name: "demo-linux-1", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StateRunning},
		providers.Instance{ID: "i-2", Name: "demo-linux-2", Owner: "cm-test", Installation: "demo", Pool: "linux", State: providers.StateSuspended},
		providers.Instance{Name: "theirs-1", Owner: "someone-else", Installation: "demo", Pool: "linux", State: providers.StateRunning},
		providers.Instance{Name: "by-hand", State: providers.StateRunning},
	)
	cfg, err := config.Load(fixture(t, "http://127.0.0.1:1", goodPolicy), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestTeardownDestroysOursAndWaits(t *testing.T) {
	f := fake.New("fake", fake.WithLatencies(fake.Latencies{Destroy: 300 * time.Millisecond}))
	cfg := teardownFixture(t, f)
	var out bytes.Buffer
	r, err := Teardown(t.Context(), cfg, TeardownOptions{Factories: withFake(f), Out: &out, Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Teardown: %v\n%s", err, out.String())
	}
	if left, err := f.List(t.Context(), "cm-test"); err != nil || len(left) != 0 {
		t.Errorf("after Teardown List shows %v (%v), want nothing", left, err)
	}
	var kept []string
	for _, in := range f.Instances() {
		kept = append(kept, in.Name)
	}
	if strings.Join(kept, ",") != "theirs-1,by-hand" {
		t.Errorf("instances left = %v, want only another owner's and the one by hand", kept)
	}
	if got := strings.Join(r.Destroyed["fake"], ","); got != "demo-linux-1,demo-linux-2" {
		t.Errorf("destroyed = %q", got)
	}
	if n := f.CallCount(fake.OpDestroy); n != 1 {
		t.Errorf("destroy calls = %d, want 1 (no second call while destroying)", n)
	}
	if r.Rounds < 2 {
		t.Errorf("rounds = %d, want it to have waited for List to drop the destroying instances", r.Rounds)
	}
	for _, want := range []string{
		"teardown: destroyed demo-linux-1 (provider fake, pool demo/linux, was running)",
		"teardown: destroyed demo-linux-2 (provider fake, pool demo/linux, was suspended)",
		"teardown: no instance of owner cm-test is left (2 destroyed)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// Nothing left: one round, no destroy.
	f.ResetCalls()
	if r, err := Teardown(t.Context(), cfg, TeardownOptions{Factories: withFake(f)}); err != nil || r.Rounds != 1 || f.CallCount(fake.OpDestroy) != 0 {
		t.Errorf("second Teardown = %+v, %v, %d destroys; want one quiet round", r, err, f.CallCount(fake.OpDestroy))
	}
}

func TestTeardownRetries(t *testing.T) {
	f := fake.New("fake")
	cfg := teardownFixture(t, f)
	f.FailNext(fake.OpList, errors.New("cloud API unavailable"), 1)
	f.FailNext(fake.OpDestroy, providers.NewError(providers.KindThrottled, "destroy", "demo-linux-1", nil), 1)
	var out bytes.Buffer
	_, err := Teardown(t.Context(), cfg, TeardownOptions{Factories: withFake(f), Out: &out, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Teardown: %v\n%s", err, out.String())
	}
	if left, _ := f.List(t.Context(), "cm-test"); len(left) != 0 {
		t.Errorf("left %v", left)
	}
	for _, want := range []string{"listing the instances of provider fake", "cloud API unavailable (retrying)", "destroying instances of provider fake"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTeardownGivesUpWhenCtxEnds(t *testing.T) {
	f := fake.New("fake")
	cfg := teardownFixture(t, f)
	f.SetErrorFunc(func(a fake.Attempt) error {
		if a.Op == fake.OpDestroy && a.ID == "i-2" {
			return errors.New("disk locked")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := Teardown(ctx, cfg, TeardownOptions{Factories: withFake(f), Interval: 20 * time.Millisecond})
	if err == nil {
		t.Fatal("Teardown succeeded with an instance that cannot be destroyed")
	}
	for _, want := range []string{"left: fake/demo-linux-2", "disk locked", context.DeadlineExceeded.Error()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if left, _ := f.List(t.Context(), "cm-test"); len(left) != 1 || left[0].Name != "demo-linux-2" {
		t.Errorf("left = %v, want demo-linux-2 only", left)
	}
}

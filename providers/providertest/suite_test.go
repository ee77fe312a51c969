package providertest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
	"github.com/agentcloud/agentcloud/providers/providertest"
)

// breakEnv selects the breakage TestBrokenProvider runs the suite against.
const breakEnv = "PROVIDERTEST_BREAK"

// broken wraps the fake provider and violates one rule of the contract.
type broken struct {
	providers.Provider
	rule string
	n    int
}

func (b *broken) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	if b.rule == "lists other owners" {
		owner = strings.TrimSuffix(owner, "-other")
	}
	insts, err := b.Provider.List(ctx, owner)
	for i := range insts {
		switch b.rule {
		case "loses the pool":
			insts[i].Pool = ""
		case "never runs":
			insts[i].State = providers.StatePending
		case "resume keeps StartedAt":
			insts[i].StartedAt = insts[i].CreatedAt
		case "duplicates on create":
			insts[i].Name = strings.TrimRight(insts[i].Name, "x")
		case "no suspended-at label":
			delete(insts[i].Labels, providers.LabelSuspendedAt)
		}
	}
	return insts, err
}

func (b *broken) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	if b.rule == "duplicates on create" {
		reqs = slices.Clone(reqs)
		for i := range reqs {
			b.n++
			reqs[i].Name += strings.Repeat("x", b.n)
		}
		insts, err := b.Provider.Create(ctx, reqs)
		for i := range insts {
			insts[i].Name = strings.TrimRight(insts[i].Name, "x")
		}
		return insts, err
	}
	return b.Provider.Create(ctx, reqs)
}

func (b *broken) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	ok, err := b.Provider.Suspend(ctx, mode, ids)
	switch {
	case b.rule == "untyped not found" && err != nil:
		return ok, errors.New(err.Error())
	case b.rule == "all or nothing" && err != nil:
		return nil, err
	}
	return ok, err
}

func (b *broken) Destroy(ctx context.Context, ids []string) ([]string, error) {
	if b.rule == "destroy of gone fails" {
		var ok []string
		var errs []error
		for _, id := range ids {
			if strings.Contains(id, "unknown") {
				errs = append(errs, providers.Errorf(providers.KindNotFound, "destroy", id, "gone"))
				continue
			}
			ok = append(ok, id)
		}
		if _, err := b.Provider.Destroy(ctx, ok); err != nil {
			return nil, err
		}
		return ok, errors.Join(errs...)
	}
	return b.Provider.Destroy(ctx, ids)
}

// TestBrokenProvider runs the suite against one broken provider; it only runs
// as the child of TestSuiteCatchesBrokenProviders, which expects it to fail.
func TestBrokenProvider(t *testing.T) {
	rule := os.Getenv(breakEnv)
	if rule == "" {
		t.Skip("runs only as a child of TestSuiteCatchesBrokenProviders")
	}
	providertest.Run(t, func(t *testing.T) providers.Provider {
		return &broken{Provider: fake.New("fake"), rule: rule}
	}, providertest.Options{SuspendMode: providers.SuspendStop, Timeout: 300 * time.Millisecond})
}

func TestSuiteCatchesBrokenProviders(t *testing.T) {
	tests := []struct {
		rule string
		want string // in the failing suite's output
	}{
		{"none", "--- PASS: TestBrokenProvider/BatchPartialFailure"}, // control: the unbroken fake passes
		{"duplicates on create", "second Create of"},
		{"lists other owners", "returned our instance"},
		{"loses the pool", "name/owner/installation/pool"},
		{"never runs", "timed out after 300ms waiting for both instances to be running"},
		{"resume keeps StartedAt", "want after the first start"},
		{"no suspended-at label", "has no agentcloud-suspended-at label"},
		{"untyped not found", "want no ids and a not-found error"},
		{"all or nothing", "want [" /* the good id */},
		{"destroy of gone fails", "Destroy(unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenProvider$", "-test.v")
			cmd.Env = append(os.Environ(), breakEnv+"="+tc.rule)
			out, err := cmd.CombinedOutput()
			if tc.rule == "none" {
				if err != nil || !strings.Contains(string(out), tc.want) {
					t.Fatalf("the suite did not pass the unbroken fake: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a provider that %s:\n%s", tc.rule, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("the suite failed but without %q in its output:\n%s", tc.want, out)
			}
		})
	}
}

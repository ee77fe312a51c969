package inventory

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/agentcloud/agentcloud/providers"
)

// lister is a provider that only lists.
type lister struct {
	name  string
	insts []providers.Instance
	err   error
	calls atomic.Int64
	owner atomic.Value
}

func (l *lister) Name() string                         { return l.name }
func (l *lister) Capabilities() providers.Capabilities { return providers.Capabilities{} }
func (l *lister) List(_ context.Context, owner string) ([]providers.Instance, error) {
	l.calls.Add(1)
	l.owner.Store(owner)
	return l.insts, l.err
}
func (l *lister) Create(context.Context, []providers.CreateRequest) ([]providers.Instance, error) {
	panic("inventory must only list")
}
func (l *lister) Suspend(context.Context, providers.SuspendMode, []string) ([]string, error) {
	panic("inventory must only list")
}
func (l *lister) Resume(context.Context, []string) ([]string, error) {
	panic("inventory must only list")
}
func (l *lister) Destroy(context.Context, []string) ([]string, error) {
	panic("inventory must only list")
}

func inst(id, installation, pool string) providers.Instance {
	return providers.Instance{ID: id, Name: id, Installation: installation, Pool: pool, State: providers.StateRunning}
}

func TestCollect(t *testing.T) {
	a := &lister{name: "a"}
	for i := range 100 { // many pools, one List
		pool := string(rune('a' + i%26))
		a.insts = append(a.insts, inst("a"+pool+string(rune('0'+i/26)), "demo", pool))
	}
	a.insts = append(a.insts, inst("x1", "other", "linux"))
	b := &lister{name: "b", insts: []providers.Instance{inst("b1", "demo", "a")}}
	broken := &lister{name: "broken", err: providers.Errorf(providers.KindUnavailable, "list", "", "connection refused")}

	inv := Collect(t.Context(), []providers.Provider{a, b, broken}, "cm-1")

	for _, l := range []*lister{a, b, broken} {
		if n := l.calls.Load(); n != 1 {
			t.Errorf("provider %s listed %d times, want 1", l.name, n)
		}
		if o := l.owner.Load(); o != "cm-1" {
			t.Errorf("provider %s listed owner %v", l.name, o)
		}
	}
	if inv.ListCalls != 3 {
		t.Errorf("ListCalls = %d", inv.ListCalls)
	}
	got, err := inv.Pool("a", "demo", "a")
	if err != nil || len(got) != 4 { // i = 0, 26, 52, 78
		t.Errorf("a/demo/a = %d instances, %v", len(got), err)
	}
	if got, _ := inv.Pool("b", "demo", "a"); len(got) != 1 || got[0].ID != "b1" {
		t.Errorf("b/demo/a = %+v: a pool's instances on another provider must stay apart", got)
	}
	if got, _ := inv.Pool("a", "other", "linux"); len(got) != 1 {
		t.Errorf("a/other/linux = %+v", got)
	}
	if got, err := inv.Pool("a", "demo", "none"); err != nil || len(got) != 0 {
		t.Errorf("empty pool = %+v, %v", got, err)
	}
	_, err = inv.Pool("broken", "demo", "a")
	if !providers.IsUnavailable(err) || !errors.Is(err, inv.Errors["broken"]) {
		t.Errorf("broken provider err = %v", err)
	}
}

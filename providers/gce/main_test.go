package gce

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/gce/gcefake"
)

// testImage is the image test pools use.
const testImage = "projects/debian-cloud/global/images/family/debian-12"

// testEnv is a fake Compute API and the provider config pointing at it.
type testEnv struct {
	t    *testing.T
	fake *gcefake.Server
	cfg  Config
}

// newTestEnv starts a fake (closed when the test ends) and a config for it.
func newTestEnv(t *testing.T, fc gcefake.Config) *testEnv {
	t.Helper()
	f := gcefake.New(fc)
	t.Cleanup(f.Close)
	return &testEnv{t: t, fake: f, cfg: Config{
		Name:       "gce-test",
		Project:    f.Project(),
		Zones:      f.Zones(),
		Endpoint:   f.URL(),
		StaleAfter: 50 * time.Millisecond,
	}}
}

// provider builds a provider on the env's config through New, closed when
// the test ends.
func (e *testEnv) provider() *Provider {
	e.t.Helper()
	p, err := New(context.Background(), e.cfg, nil)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() { _ = p.Close() })
	return p
}

// req is a create request for a test pool.
func req(name string, settings map[string]string) providers.CreateRequest {
	s := map[string]string{"machine_type": "e2-small"}
	maps.Copy(s, settings)
	return providers.CreateRequest{
		Name:         name,
		Owner:        "me",
		Installation: "inst",
		Pool:         "pool",
		Image:        testImage,
		Env:          map[string]string{"AGENTCLOUD_POOL": "pool", "AGENTCLOUD_AGENT_ID": name},
		Settings:     s,
	}
}

// ctx is a context bounded for one test step.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// mustCreate creates reqs and fails the test on any error.
func mustCreate(t *testing.T, p *Provider, reqs ...providers.CreateRequest) []providers.Instance {
	t.Helper()
	insts, err := p.Create(ctx(t), reqs)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(insts) != len(reqs) {
		t.Fatalf("Create returned %d instances for %d requests", len(insts), len(reqs))
	}
	return insts
}

// listed returns the owner's instance with the id, if List shows it.
func listed(t *testing.T, p *Provider, owner, id string) (providers.Instance, bool) {
	t.Helper()
	insts, err := p.List(ctx(t), owner)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, in := range insts {
		if in.ID == id {
			return in, true
		}
	}
	return providers.Instance{}, false
}

// eventually polls cond every 5ms for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

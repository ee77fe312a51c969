package docker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// boots returns the lines bootlog wrote in a container's filesystem.
func boots(t testing.TB, id string) []string {
	t.Helper()
	return strings.Split(strings.TrimSpace(readFile(t, id, "/data/boots")), "\n")
}

// waitBoots waits until a container's bootlog shows n starts.
func waitBoots(t testing.TB, id string, n int) {
	t.Helper()
	eventually(t, strconv.Itoa(n)+" boots of "+id, func() bool {
		res, err := env.cli.CopyFromContainer(t.Context(), id, client.CopyFromContainerOptions{SourcePath: "/data/boots"})
		if err != nil {
			return false
		}
		res.Content.Close()
		return len(boots(t, id)) == n
	})
}

func TestStopKeepsTheFilesystem(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	p := newTestProvider(t, testConfig())
	ctx := t.Context()
	insts, err := p.Create(ctx, []providers.CreateRequest{bootReq(owner, owner+"-a", nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	waitBoots(t, id, 1)

	before := time.Now()
	if ids, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); err != nil || len(ids) != 1 {
		t.Fatalf("Suspend = %v, %v", ids, err)
	}
	after := time.Now()
	if st := inspect(t, id).State; st.Running || st.Status != "exited" {
		t.Errorf("after a stop suspend the container is %s (running %v), want exited", st.Status, st.Running)
	}
	if got := boots(t, id); len(got) != 1 {
		t.Errorf("stopped container's bootlog = %q, want the one boot", got)
	}
	in, _ := listed(t, p, owner, owner+"-a")
	if in.State != providers.StateSuspended || in.SuspendedAt.Before(before.Add(-time.Millisecond)) || in.SuspendedAt.After(after) {
		t.Errorf("listed after suspend: state %s, suspended at %v; want suspended between %v and %v", in.State, in.SuspendedAt, before, after)
	}
	if in.Labels[LabelState] != "exited" {
		t.Errorf("label %s = %q, want exited", LabelState, in.Labels[LabelState])
	}

	if ids, err := p.Resume(ctx, []string{id}); err != nil || len(ids) != 1 {
		t.Fatalf("Resume = %v, %v", ids, err)
	}
	waitBoots(t, id, 2) // the same filesystem: the first boot's line is still there
	in, _ = listed(t, p, owner, owner+"-a")
	if in.ID != id || in.State != providers.StateRunning || !in.StartedAt.After(after) || !in.SuspendedAt.IsZero() {
		t.Errorf("listed after resume = %+v; want %s running, started after %v", in, id, after)
	}
}

func TestPauseKeepsTheProcess(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	p := newTestProvider(t, testConfig())
	ctx := t.Context()
	insts, err := p.Create(ctx, []providers.CreateRequest{bootReq(owner, owner+"-a", nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	waitBoots(t, id, 1)
	pid := inspect(t, id).State.Pid

	if _, err := p.Suspend(ctx, providers.SuspendSuspend, []string{id}); err != nil {
		t.Fatal(err)
	}
	if st := inspect(t, id).State; !st.Paused || st.Pid != pid {
		t.Errorf("after a pause suspend: paused %v, pid %d; want paused, pid %d", st.Paused, st.Pid, pid)
	}
	if in, _ := listed(t, p, owner, owner+"-a"); in.State != providers.StateSuspended || in.SuspendedAt.IsZero() {
		t.Errorf("listed after pause = %s, suspended at %v; want suspended", in.State, in.SuspendedAt)
	}
	// Suspending again is a no-op success.
	if ids, err := p.Suspend(ctx, providers.SuspendSuspend, []string{id}); err != nil || len(ids) != 1 {
		t.Errorf("second Suspend = %v, %v", ids, err)
	}
	if _, err := p.Resume(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	if st := inspect(t, id).State; !st.Running || st.Paused || st.Pid != pid {
		t.Errorf("after resume: running %v, paused %v, pid %d; want the same process %d running", st.Running, st.Paused, st.Pid, pid)
	}
	if got := boots(t, id); len(got) != 1 {
		t.Errorf("bootlog after pause and unpause = %q, want one boot (the process never restarted)", got)
	}
	// Resuming a running container is a no-op success.
	if ids, err := p.Resume(ctx, []string{id}); err != nil || len(ids) != 1 {
		t.Errorf("second Resume = %v, %v", ids, err)
	}
	if got := boots(t, id); len(got) != 1 {
		t.Errorf("bootlog after a second resume = %q, want one boot", got)
	}
}

func TestDestroyLeavesNoContainerAndNoVolume(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	p := newTestProvider(t, testConfig())
	ctx := t.Context()
	name := owner + "-a"
	insts, err := p.Create(ctx, []providers.CreateRequest{bootReq(owner, name, nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	byOwner := make(client.Filters).Add("label", providers.LabelOwner+"="+owner)

	// The image's VOLUME /cache is an anonymous volume carrying our labels.
	vs, err := env.cli.VolumeList(ctx, client.VolumeListOptions{Filters: byOwner})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Items) != 1 || vs.Items[0].Labels[LabelName] != name || vs.Items[0].Labels[providers.LabelPool] != "pool-a" {
		t.Fatalf("volumes of %s = %+v, want the /cache volume labelled with name and pool", owner, vs.Items)
	}
	if ms := inspect(t, id).Mounts; len(ms) != 1 || ms[0].Destination != "/cache" || ms[0].Name != vs.Items[0].Name {
		t.Errorf("mounts = %+v, want /cache on volume %s", ms, vs.Items[0].Name)
	}
	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); err != nil {
		t.Fatal(err)
	}
	if vs, _ := env.cli.VolumeList(ctx, client.VolumeListOptions{Filters: byOwner.Clone().Add("label", LabelMarker+"=suspended")}); len(vs.Items) != 1 {
		t.Errorf("suspended markers = %+v, want one", vs.Items)
	}

	if ids, err := p.Destroy(ctx, []string{id}); err != nil || len(ids) != 1 {
		t.Fatalf("Destroy = %v, %v", ids, err)
	}
	cs, err := env.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: byOwner})
	if err != nil || len(cs.Items) != 0 {
		t.Errorf("containers of %s after Destroy = %+v, %v; want none", owner, cs.Items, err)
	}
	vs, err = env.cli.VolumeList(ctx, client.VolumeListOptions{Filters: byOwner})
	if err != nil || len(vs.Items) != 0 {
		t.Errorf("volumes of %s after Destroy = %+v, %v; want none", owner, vs.Items, err)
	}
	if ids, err := p.Destroy(ctx, []string{id}); err != nil || len(ids) != 1 {
		t.Errorf("Destroy of a gone container = %v, %v; want success", ids, err)
	}
}

func TestNewProviderAdoptsWithoutDuplicates(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	ctx := t.Context()
	run, sus := bootReq(owner, owner+"-run", nil), bootReq(owner, owner+"-sus", nil)
	old := newTestProvider(t, testConfig())
	insts, err := old.Create(ctx, []providers.CreateRequest{run, sus})
	if err != nil {
		t.Fatal(err)
	}
	runID, susID := insts[0].ID, insts[1].ID
	waitBoots(t, runID, 1)
	waitBoots(t, susID, 1)
	if _, err := old.Suspend(ctx, providers.SuspendStop, []string{susID}); err != nil {
		t.Fatal(err)
	}

	p := newTestProvider(t, testConfig()) // cloudmgr restarted
	got, err := p.List(ctx, owner)
	if err != nil || len(got) != 2 {
		t.Fatalf("List after restart = %+v, %v; want two", got, err)
	}
	byName := map[string]providers.Instance{got[0].Name: got[0], got[1].Name: got[1]}
	if in := byName[run.Name]; in.ID != runID || in.State != providers.StateRunning || in.Pool != "pool-a" || in.Installation != "inst" {
		t.Errorf("running instance after restart = %+v", in)
	}
	suspended := byName[sus.Name]
	if suspended.ID != susID || suspended.State != providers.StateSuspended || suspended.SuspendedAt.IsZero() ||
		suspended.Labels[providers.LabelSuspendedAt] != strconv.FormatInt(suspended.SuspendedAt.Unix(), 10) {
		t.Errorf("suspended instance after restart = %+v", suspended)
	}

	again, err := p.Create(ctx, []providers.CreateRequest{run, sus})
	if err != nil || len(again) != 2 || again[0].ID != runID || again[1].ID != susID {
		t.Fatalf("Create of the existing names = %+v, %v; want the ids %s, %s", again, err, runID, susID)
	}
	for _, name := range []string{run.Name, sus.Name} {
		cs, err := env.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("name", "^/"+name+"$")})
		if err != nil || len(cs.Items) != 1 {
			t.Errorf("containers named %s = %d, %v; want 1", name, len(cs.Items), err)
		}
	}
	// The running one was left alone; the stopped one was started on its filesystem.
	if got := boots(t, runID); len(got) != 1 {
		t.Errorf("adopting a running container restarted it: bootlog %q", got)
	}
	waitBoots(t, susID, 2)
	if in, _ := listed(t, p, owner, sus.Name); in.State != providers.StateRunning || !in.StartedAt.After(suspended.SuspendedAt) {
		t.Errorf("adopted suspended instance = %s, started %v; want running, started after %v", in.State, in.StartedAt, suspended.SuspendedAt)
	}
}

func TestConcurrentCreatesOfOneNameMakeOneContainer(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	ctx := t.Context()
	req := bootReq(owner, owner+"-same", nil)
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range ids {
		p := newTestProvider(t, testConfig()) // separate providers: no shared lock
		wg.Add(1)
		go func() {
			defer wg.Done()
			insts, err := p.Create(ctx, []providers.CreateRequest{req})
			if err != nil {
				t.Errorf("Create #%d: %v", i, err)
				return
			}
			ids[i] = insts[0].ID
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("concurrent Creates of one name gave ids %v, want one", ids)
			break
		}
	}
	cs, err := env.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", providers.LabelOwner+"="+owner)})
	if err != nil || len(cs.Items) != 1 {
		t.Errorf("containers after concurrent Creates = %d, %v; want 1", len(cs.Items), err)
	}
}

func TestExitedContainerIsADeadMachine(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	cfg := testConfig()
	cfg.Restart = "no"
	p := newTestProvider(t, cfg)
	ctx := t.Context()
	insts, err := p.Create(ctx, []providers.CreateRequest{bootReq(owner, owner+"-dies", map[string]string{"BOOTLOG_EXIT": "3"})})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	var first providers.Instance
	eventually(t, "the exited container to be listed", func() bool {
		first, _ = listed(t, p, owner, owner+"-dies")
		return first.Labels[LabelState] == "exited"
	})
	if first.State != providers.StateRunning || !first.SuspendedAt.IsZero() || first.Labels[providers.LabelSuspendedAt] != "" {
		t.Errorf("a container that exited on its own is listed %s (suspended at %v), want running with %s=exited", first.State, first.SuspendedAt, LabelState)
	}
	// Resume starts a dead machine again, on its filesystem, from now.
	if _, err := p.Resume(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	waitBoots(t, id, 2)
	if in, _ := listed(t, p, owner, owner+"-dies"); !in.StartedAt.After(first.StartedAt) {
		t.Errorf("StartedAt after resuming a dead machine = %v, want after %v", in.StartedAt, first.StartedAt)
	}
	// Suspending a dead machine marks it suspended (its filesystem is kept).
	eventually(t, "the container to exit again", func() bool { return inspect(t, id).State.Status == "exited" })
	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); err != nil {
		t.Fatal(err)
	}
	if in, _ := listed(t, p, owner, owner+"-dies"); in.State != providers.StateSuspended {
		t.Errorf("a dead machine after Suspend is %s, want suspended", in.State)
	}
}

func TestOrphanMarkersAreRemoved(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	p := newTestProvider(t, testConfig())
	ctx := t.Context()
	mk := func(name string, at time.Time) {
		_, err := env.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: map[string]string{
			providers.LabelOwner: owner, LabelMarker: "suspended", LabelContainer: "0123456789ab-gone",
			LabelMarkerAt: strconv.FormatInt(at.UnixNano(), 10),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk(owner+"-old", time.Now().Add(-2*orphanGrace))
	mk(owner+"-new", time.Now()) // could belong to a container created after ContainerList
	if insts, err := p.List(ctx, owner); err != nil || len(insts) != 0 {
		t.Fatalf("List = %+v, %v; want nothing", insts, err)
	}
	vs, err := env.cli.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", providers.LabelOwner+"="+owner)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs.Items {
		names = append(names, v.Name)
	}
	if !slices.Equal(names, []string{owner + "-new"}) {
		t.Errorf("volumes after List = %v, want only the recent marker %s-new", names, owner)
	}
}

// countingEngine counts the engine calls made through it.
type countingEngine struct {
	engine
	mu    sync.Mutex
	calls []string
}

func (c *countingEngine) record(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name)
}

func (c *countingEngine) ContainerList(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	c.record("ContainerList")
	return c.engine.ContainerList(ctx, o)
}

func (c *countingEngine) ContainerInspect(ctx context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	c.record("ContainerInspect")
	return c.engine.ContainerInspect(ctx, id, o)
}

func (c *countingEngine) VolumeList(ctx context.Context, o client.VolumeListOptions) (client.VolumeListResult, error) {
	c.record("VolumeList")
	return c.engine.VolumeList(ctx, o)
}

func (c *countingEngine) VolumeRemove(ctx context.Context, id string, o client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	c.record("VolumeRemove")
	return c.engine.VolumeRemove(ctx, id, o)
}

func TestListIsTwoCallsWhateverTheCount(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	real := newTestProvider(t, testConfig())
	ce := &countingEngine{engine: real.eng}
	p := newProvider(real.cfg, ce, real.log)
	ctx := t.Context()
	var reqs []providers.CreateRequest
	for i := range 4 {
		reqs = append(reqs, bootReq(owner, owner+"-"+strconv.Itoa(i), nil))
	}
	insts, err := p.Create(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{insts[0].ID, insts[1].ID}); err != nil {
		t.Fatal(err)
	}
	ce.mu.Lock()
	ce.calls = nil
	ce.mu.Unlock()
	got, err := p.List(ctx, owner)
	if err != nil || len(got) != 4 {
		t.Fatalf("List = %d instances, %v; want 4", len(got), err)
	}
	if want := []string{"ContainerList", "VolumeList"}; !slices.Equal(ce.calls, want) {
		t.Errorf("List made the calls %v, want %v", ce.calls, want)
	}
	states := map[providers.State]int{}
	for _, in := range got {
		states[in.State]++
	}
	if states[providers.StateSuspended] != 2 || states[providers.StateRunning] != 2 {
		t.Errorf("states = %v, want 2 suspended and 2 running", states)
	}
}

// failingEngine fails the calls named in fail (once each) and passes the rest
// to the real engine.
type failingEngine struct {
	engine
	mu   sync.Mutex
	fail map[string]error
}

func (f *failingEngine) take(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.fail[call]
	delete(f.fail, call)
	return err
}

func (f *failingEngine) ContainerStop(ctx context.Context, id string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
	if err := f.take("ContainerStop"); err != nil {
		return client.ContainerStopResult{}, err
	}
	return f.engine.ContainerStop(ctx, id, o)
}

func (f *failingEngine) ContainerStart(ctx context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
	if err := f.take("ContainerStart"); err != nil {
		return client.ContainerStartResult{}, err
	}
	return f.engine.ContainerStart(ctx, id, o)
}

func (f *failingEngine) VolumeCreate(ctx context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	if err := f.take("VolumeCreate"); err != nil {
		return client.VolumeCreateResult{}, err
	}
	return f.engine.VolumeCreate(ctx, o)
}

func TestFailedActionsLeaveTheStateAsItWas(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	real := newTestProvider(t, testConfig())
	fe := &failingEngine{engine: real.eng, fail: map[string]error{}}
	p := newProvider(real.cfg, fe, real.log)
	ctx := t.Context()
	name := owner + "-a"
	insts, err := p.Create(ctx, []providers.CreateRequest{bootReq(owner, name, nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	markers := func() int {
		vs, err := env.cli.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", LabelContainer+"="+id)})
		if err != nil {
			t.Fatal(err)
		}
		return len(vs.Items)
	}
	boom := errors.New("injected failure")

	fe.fail["VolumeCreate"] = boom
	if ids, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); len(ids) != 0 || !errors.Is(err, boom) {
		t.Errorf("Suspend with the marker failing = %v, %v; want the failure", ids, err)
	}
	if !inspect(t, id).State.Running {
		t.Error("the container was stopped although its suspend time could not be recorded")
	}

	fe.fail["ContainerStop"] = boom
	if ids, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); len(ids) != 0 || !errors.Is(err, boom) {
		t.Errorf("Suspend with the stop failing = %v, %v; want the failure", ids, err)
	}
	if in, _ := listed(t, p, owner, name); in.State != providers.StateRunning || markers() != 0 {
		t.Errorf("after a failed stop: %s with %d markers; want running, no marker", in.State, markers())
	}

	if _, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); err != nil {
		t.Fatal(err)
	}
	fe.fail["ContainerStart"] = boom
	if ids, err := p.Resume(ctx, []string{id}); len(ids) != 0 || !errors.Is(err, boom) {
		t.Errorf("Resume with the start failing = %v, %v; want the failure", ids, err)
	}
	if in, _ := listed(t, p, owner, name); in.State != providers.StateSuspended || markers() != 1 {
		t.Errorf("after a failed resume: %s with %d markers; want suspended, its one marker", in.State, markers())
	}
	if _, err := p.Resume(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	if in, _ := listed(t, p, owner, name); in.State != providers.StateRunning || markers() != 1 {
		t.Errorf("after resume: %s with %d markers; want running, one marker (the old one removed)", in.State, markers())
	}
}

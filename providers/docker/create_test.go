package docker

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

func TestLimitsEnvAndLabelsApplied(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	cfg := testConfig()
	cfg.Env = map[string]string{"FROM_CONFIG": "cfg", "BOTH": "config wins"}
	p := newTestProvider(t, cfg)
	req := bootReq(owner, owner+"-a", map[string]string{"FROM_REQUEST": "req", "BOTH": "request", "AGENTCLOUD_AGENT_ID": "ignored"})
	req.Settings = map[string]string{"cpus": "1.5", "memory": "64m"}
	req.Offering = providers.Offering{Zone: "z1", MachineType: "m1"}
	insts, err := p.Create(t.Context(), []providers.CreateRequest{req})
	if err != nil {
		t.Fatal(err)
	}
	r := inspect(t, insts[0].ID)
	hc := r.HostConfig
	if hc.NanoCPUs != 1_500_000_000 || hc.Memory != 64<<20 {
		t.Errorf("limits: NanoCPUs %d, Memory %d; want 1.5e9 and %d", hc.NanoCPUs, hc.Memory, 64<<20)
	}
	if hc.NetworkMode != "host" || hc.Init == nil || !*hc.Init || hc.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("host config: network %q, init %v, restart %q; want host, init, unless-stopped", hc.NetworkMode, hc.Init, hc.RestartPolicy.Name)
	}
	if r.Config.StopTimeout == nil || *r.Config.StopTimeout != 1 {
		t.Errorf("stop timeout = %v, want 1", r.Config.StopTimeout)
	}
	for _, want := range []string{
		"AGENTCLOUD_AGENT_ID=" + req.Name, "AGENTCLOUD_INSTANCE=" + req.Name,
		"FROM_REQUEST=req", "FROM_CONFIG=cfg", "BOTH=config wins",
	} {
		if !slices.Contains(r.Config.Env, want) {
			t.Errorf("env lacks %q: %q", want, r.Config.Env)
		}
	}
	for k, v := range map[string]string{
		providers.LabelOwner: owner, providers.LabelInstallation: "inst", providers.LabelPool: "pool-a",
		LabelZone: "z1", LabelMachineType: "m1",
	} {
		if r.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, r.Config.Labels[k], v)
		}
	}
	if in, _ := listed(t, p, owner, req.Name); in.Offering != req.Offering {
		t.Errorf("listed offering %+v, want %+v", in.Offering, req.Offering)
	}
}

func TestBadSettingsCreateNothing(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	p := newTestProvider(t, testConfig())
	tests := []struct {
		settings map[string]string
		want     string
	}{
		{map[string]string{"cpus": "lots"}, "settings.cpus"},
		{map[string]string{"memory": "-1"}, "settings.memory"},
		{map[string]string{"cpu": "1"}, "settings.cpu: unknown setting"},
		{map[string]string{"network": "dt-no-such-network"}, "settings.network"},                // refused by the engine
		{map[string]string{"cpus": "512"}, "the engine refused the container's settings (cpus"}, // more CPUs than it has
	}
	for _, tc := range tests {
		req := bootReq(owner, owner+"-bad", nil)
		req.Settings = tc.settings
		if _, err := p.Create(t.Context(), []providers.CreateRequest{req}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create with %v = %v, want an error with %q", tc.settings, err, tc.want)
		}
	}
	cs, err := env.cli.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", providers.LabelOwner+"="+owner)})
	if err != nil || len(cs.Items) != 0 {
		t.Errorf("containers after failed Creates = %d, %v; want none", len(cs.Items), err)
	}
}

func TestNamedNetworkWithBrokerHost(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	cfg := testConfig()
	cfg.ExtraHosts = []string{"cache.internal:10.1.2.3"}
	p := newTestProvider(t, cfg)
	req := bootReq(owner, owner+"-a", map[string]string{"AGENTCLOUD_BROKER_URL": "stomp://127.0.0.1:61613"})
	req.Settings = map[string]string{"network": "bridge", "broker_host": "broker.internal"}
	insts, err := p.Create(t.Context(), []providers.CreateRequest{req})
	if err != nil {
		t.Fatal(err)
	}
	r := inspect(t, insts[0].ID)
	if r.HostConfig.NetworkMode != "bridge" {
		t.Errorf("network mode %q, want bridge", r.HostConfig.NetworkMode)
	}
	if want := []string{"cache.internal:10.1.2.3", "broker.internal:host-gateway"}; !slices.Equal(r.HostConfig.ExtraHosts, want) {
		t.Errorf("extra hosts %q, want %q", r.HostConfig.ExtraHosts, want)
	}
	if !slices.Contains(r.Config.Env, "AGENTCLOUD_BROKER_URL=stomp://broker.internal:61613") {
		t.Errorf("broker URL not rewritten to the broker host: %q", r.Config.Env)
	}
	// The engine resolved host-gateway to the host's address on the bridge.
	var line string
	for _, l := range strings.Split(readFile(t, insts[0].ID, "/etc/hosts"), "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), "broker.internal") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) != 2 || net.ParseIP(f[0]) == nil || f[0] == "host-gateway" {
		t.Errorf("/etc/hosts line for broker.internal = %q, want an address", line)
	}
}

func TestMissingImageIsNotFoundNamingIt(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	p := newTestProvider(t, testConfig())
	for image, hint := range map[string]string{
		"agentcloud-agent:no-such-" + env.run: "make agent-image",
		"example.invalid/nope:" + env.run:     "docker pull example.invalid/nope:" + env.run,
	} {
		req := bootReq(owner, owner+"-a", nil)
		req.Image = image
		insts, err := p.Create(t.Context(), []providers.CreateRequest{req})
		if len(insts) != 0 || !providers.IsNotFound(err) {
			t.Errorf("Create from missing image %s = %v, %v; want a not-found error", image, insts, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "image "+image+" not found on the engine") || !strings.Contains(msg, hint) {
			t.Errorf("error %q does not name the image %s and the hint %q", msg, image, hint)
		}
	}
	if insts, err := p.List(t.Context(), owner); err != nil || len(insts) != 0 {
		t.Errorf("List after failed Creates = %+v, %v", insts, err)
	}
}

func TestUnreachableEngineIsUnavailable(t *testing.T) {
	p, err := New(t.Context(), Config{Host: "tcp://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatalf("New with an unreachable engine = %v, want a provider whose calls fail", err)
	}
	defer p.Close()
	ctx := t.Context()
	_, err = p.List(ctx, "me")
	if !providers.IsUnavailable(err) {
		t.Errorf("List = %v, want unavailable", err)
	}
	_, err = p.Create(ctx, []providers.CreateRequest{{Name: "x1", Owner: "me", Image: "agentcloud-agent:dev"}})
	if !providers.IsUnavailable(err) {
		t.Errorf("Create = %v, want unavailable", err)
	}
	_, err = p.Suspend(ctx, providers.SuspendStop, []string{"x1"})
	if !providers.IsUnavailable(err) {
		t.Errorf("Suspend = %v, want unavailable", err)
	}
	_, err = p.Resume(ctx, []string{"x1"})
	if !providers.IsUnavailable(err) {
		t.Errorf("Resume = %v, want unavailable", err)
	}
	ids, err := p.Destroy(ctx, []string{"x1"})
	if len(ids) != 0 || !providers.IsUnavailable(err) {
		t.Errorf("Destroy = %v, %v; want unavailable", ids, err)
	}
}

func TestOwnersAreIsolated(t *testing.T) {
	needEngine(t)
	a := newOwner(t)
	b := a + "-b"
	t.Cleanup(func() { removeOwner(t, b) })
	p := newTestProvider(t, testConfig())
	ctx := t.Context()
	name := a + "-x"
	insts, err := p.Create(ctx, []providers.CreateRequest{bootReq(a, name, nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	if got, err := p.List(ctx, b); err != nil || len(got) != 0 {
		t.Errorf("List(%s) = %+v, %v; want nothing", b, got, err)
	}
	_, err = p.Create(ctx, []providers.CreateRequest{bootReq(b, name, nil)})
	if err == nil || !strings.Contains(err.Error(), `of owner "`+a+`"`) {
		t.Errorf("Create of %s by another owner = %v, want an error naming owner %s", name, err, a)
	}
	if got, _ := listed(t, p, a, name); got.ID != id || got.State != providers.StateRunning {
		t.Errorf("%s after the other owner's Create = %+v", name, got)
	}

	// A container that is not agentcloud's is never touched.
	foreign, err := env.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   a + "-foreign",
		Config: &container.Config{Image: env.bootImage, Labels: map[string]string{labelTestRun: env.run}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // it has no owner label, so removeOwner does not see it
		_, err := env.cli.ContainerRemove(context.Background(), foreign.ID, client.ContainerRemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing the foreign container: %v", err)
		}
	})
	if _, err := env.cli.ContainerStart(ctx, foreign.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, []providers.CreateRequest{bootReq(a, a+"-foreign", nil)}); err == nil || !strings.Contains(err.Error(), "not an agentcloud container") {
		t.Errorf("Create over a foreign container = %v, want a refusal", err)
	}
	if ids, err := p.Suspend(ctx, providers.SuspendStop, []string{foreign.ID}); len(ids) != 0 || !providers.IsNotFound(err) {
		t.Errorf("Suspend of a foreign container = %v, %v; want not found", ids, err)
	}
	if ids, err := p.Destroy(ctx, []string{foreign.ID}); len(ids) != 0 || err == nil {
		t.Errorf("Destroy of a foreign container = %v, %v; want a refusal", ids, err)
	}
	if st := inspect(t, foreign.ID).State; !st.Running {
		t.Errorf("the foreign container is %s after the refused calls, want running", st.Status)
	}
}

func TestAgentReachesBrokerOnLoopback(t *testing.T) {
	needEngine(t)
	owner := newOwner(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := newTestProvider(t, testConfig())
	req := providers.CreateRequest{
		Name: owner + "-agent", Owner: owner, Installation: "inst", Pool: "pool-a",
		Image: env.agentImage, Env: agentEnv(ln.Addr().(*net.TCPAddr).Port),
	}
	if _, err := p.Create(t.Context(), []providers.CreateRequest{req}); err != nil {
		t.Fatal(err)
	}
	// The agent in the container (host network) dials the broker on 127.0.0.1
	// and opens a STOMP session.
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("no connection from the agent container: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	cmd, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the agent's first frame: %v", err)
	}
	if c := strings.TrimSpace(cmd); c != "CONNECT" && c != "STOMP" {
		t.Errorf("the agent's first frame is %q, want CONNECT or STOMP", c)
	}
}

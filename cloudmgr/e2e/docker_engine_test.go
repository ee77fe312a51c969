package e2e

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// requireEnv turns a missing component into a failure instead of a skip.
const requireEnv = "AGENTCLOUD_REQUIRE_COMPONENTS"

// labelTestRun marks the images the docker tests build, so their cleanup
// finds them.
const labelTestRun = "agentcloud-test-run"

// busyboxPath is where Debian's busybox-static puts the static busybox that
// images/agent/build.sh copies into the agent image (the shell plugin needs
// /bin/sh in the container).
const busyboxPath = "/bin/busybox"

// missing skips tb because a real component is missing, or fails it under
// AGENTCLOUD_REQUIRE_COMPONENTS=1.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		tb.Fatalf("%s (%s=1: failing instead of skipping)", msg, requireEnv)
	}
	tb.Skipf("skipping: %s (set %s=1 to fail instead)", msg, requireEnv)
}

// dockerEngine is the Docker engine of a docker test, with the agent image
// built for it. Everything the test makes on the engine carries its run id:
// the image (tag and label) and every cloudmgr owner (ownerPrefix).
type dockerEngine struct {
	cli   *client.Client
	run   string // random id of this test run
	image string // images/agent built with busybox, tagged with run
}

// newDockerEngine connects to the engine (skipping when there is none),
// builds the agent image with a shell through images/agent/build.sh, and
// removes, when tb ends (failed or not), every container and volume of the
// run's owners and the image.
func newDockerEngine(tb testing.TB) *dockerEngine {
	tb.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		missing(tb, "no Docker engine: %v", err)
	}
	ctx, cancel := context.WithTimeout(tb.Context(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		missing(tb, "no Docker engine reachable at %s: %v", cli.DaemonHost(), err)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		_ = cli.Close()
		missing(tb, "the docker command, which images/agent/build.sh runs, is missing: %v", err)
	}
	if _, err := os.Stat(busyboxPath); err != nil {
		_ = cli.Close()
		missing(tb, "no %s for the agent image's shell (apt-get install busybox-static): %v", busyboxPath, err)
	}
	g := &dockerEngine{cli: cli, run: randomHex(3)}
	g.image = "agentcloud-agent:e2e-" + g.run
	tb.Cleanup(func() {
		g.cleanup(tb)
		_ = cli.Close()
	})

	_, here, _, _ := runtime.Caller(0)
	build := exec.Command("sh", filepath.Join(filepath.Dir(here), "..", "..", "images", "agent", "build.sh"),
		g.image, "-q", "--label", labelTestRun+"="+g.run)
	build.Env = append(os.Environ(), "BUSYBOX=1")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("images/agent/build.sh %s with BUSYBOX=1: %v\n%s", g.image, err, out)
	}
	return g
}

// ownerPrefix starts the owner (cloudmgr id) of every env of this run.
func (g *dockerEngine) ownerPrefix() string { return "cm-e2e-dk-" + g.run }

// ctrInfo is what the tests read of a container.
type ctrInfo struct {
	id, name, state string
	labels          map[string]string
}

// byOwner filters the engine's lists by our owner label.
func byOwner(owner string) client.Filters {
	return make(client.Filters).Add("label", providers.LabelOwner+"="+owner)
}

// containers lists the containers of owner, in every state, by name.
func (g *dockerEngine) containers(ctx context.Context, owner string) ([]ctrInfo, error) {
	res, err := g.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: byOwner(owner)})
	if err != nil {
		return nil, fmt.Errorf("listing the containers of %s: %w", owner, err)
	}
	out := make([]ctrInfo, 0, len(res.Items))
	for _, c := range res.Items {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, ctrInfo{id: c.ID, name: name, state: string(c.State), labels: c.Labels})
	}
	slices.SortFunc(out, func(a, b ctrInfo) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// mustContainers is containers, failing tb on an error.
func (g *dockerEngine) mustContainers(tb testing.TB, owner string) []ctrInfo {
	tb.Helper()
	cs, err := g.containers(tb.Context(), owner)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// volumes lists the names of the volumes of owner: the containers' own and
// the provider's marker volumes.
func (g *dockerEngine) volumes(tb testing.TB, owner string) []string {
	tb.Helper()
	res, err := g.cli.VolumeList(tb.Context(), client.VolumeListOptions{Filters: byOwner(owner)})
	if err != nil {
		tb.Fatalf("listing the volumes of %s: %v", owner, err)
	}
	var out []string
	for _, v := range res.Items {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

// readFile reads a file of a container's filesystem, running or stopped,
// through the archive API (behind cloudmgr's back).
func (g *dockerEngine) readFile(tb testing.TB, container, path string) (string, error) {
	tb.Helper()
	res, err := g.cli.CopyFromContainer(tb.Context(), container, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return "", fmt.Errorf("reading %s from container %s: %w", path, container, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		return "", fmt.Errorf("reading %s from container %s: %w", path, container, err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return "", fmt.Errorf("reading %s from container %s: %w", path, container, err)
	}
	return string(b), nil
}

// cleanup removes every container and volume whose owner starts with the
// run's owner prefix, and the run's images, reporting what it could not.
func (g *dockerEngine) cleanup(tb testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ours := func(labels map[string]string) bool {
		return strings.HasPrefix(labels[providers.LabelOwner], g.ownerPrefix())
	}
	hasOwner := make(client.Filters).Add("label", providers.LabelOwner)
	cs, err := g.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: hasOwner})
	if err != nil {
		tb.Errorf("cleanup: listing containers: %v", err)
	} else {
		for _, c := range cs.Items {
			if !ours(c.Labels) {
				continue
			}
			if _, err := g.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				tb.Errorf("cleanup: removing container %s %v: %v", c.ID, c.Names, err)
			}
		}
	}
	vs, err := g.cli.VolumeList(ctx, client.VolumeListOptions{Filters: hasOwner})
	if err != nil {
		tb.Errorf("cleanup: listing volumes: %v", err)
	} else {
		for _, v := range vs.Items {
			if !ours(v.Labels) {
				continue
			}
			if _, err := g.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				tb.Errorf("cleanup: removing volume %s: %v", v.Name, err)
			}
		}
	}
	imgs, err := g.cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", labelTestRun+"="+g.run)})
	if err != nil {
		tb.Errorf("cleanup: listing images: %v", err)
		return
	}
	for _, img := range imgs.Items {
		if _, err := g.cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			tb.Errorf("cleanup: removing image %s %v: %v", img.ID, img.RepoTags, err)
		}
	}
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dockerEnv is an installation whose cloudmgr runs the docker provider: a
// master with its embedded broker, and a cloudmgr config whose owner and
// installation are unique to the run.
type dockerEnv struct {
	*env
	g            *dockerEngine
	owner        string // the cloudmgr id: the containers' agentcloud-owner label
	installation string // container names are <installation>-linux-<n>
}

// dockerPolicy is the pool policy of a docker env.
type dockerPolicy struct {
	max                    int
	idle, ttl, boot        string
	suspend                string // stop or none
	cooldownUp, cooldownDn string
}

// newDockerEnv starts a master (masterEnv added to its environment) and
// writes a cloudmgr config with the docker provider on the host network,
// and the pool policy, for it; name tells envs of one run apart.
func newDockerEnv(tb testing.TB, g *dockerEngine, name string, pol dockerPolicy, masterEnv ...string) *dockerEnv {
	tb.Helper()
	e := &dockerEnv{env: startMaster(tb, masterEnv...), g: g,
		owner: g.ownerPrefix() + "-" + name, installation: "dk-" + g.run + "-" + name}
	// The engine's address and TLS files, as the developer's docker command uses them.
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DOCKER_") {
			e.cmEnv = append(e.cmEnv, kv)
		}
	}
	cfg := fmt.Sprintf(`id: %s
listen: 127.0.0.1:0
poll_interval: 500ms
poll_timeout: 400ms
stale_after: 5s
tick_interval: 250ms
policies: ./policies
providers:
  - name: docker
    type: docker
    settings:
      # The containers share the host's network: the agents dial the
      # embedded broker on 127.0.0.1 as it is.
      network: host
      stop_timeout: 10s
      env.AGENTCLOUD_CLOUD_FACTS: "false"
      env.AGENTCLOUD_HEARTBEAT: 1s
      env.AGENTCLOUD_SHUTDOWN_GRACE: 3s
installations:
  - name: %s
    master_url: %s
    token_env: E2E_MASTER_TOKEN
    agent:
      broker_url: %s
      prefix: demo
      token_env: E2E_AGENT_TOKEN
`, e.owner, e.installation, e.masterURL, e.brokerURL)
	policy := fmt.Sprintf(`pools:
  - installation: %s
    pool: linux
    provider: docker
    image: %s
    min_agents: 0
    max_agents: %d
    scale_up_step: 10
    idle_timeout: %s
    suspend: %s
    suspended_ttl: %s
    boot_timeout: %s
    cooldown: {up: %s, down: %s}
`, e.installation, g.image, pol.max, pol.idle, pol.suspend, pol.ttl, pol.boot, pol.cooldownUp, pol.cooldownDn)
	e.writeConfig(cfg, policy)
	return e
}

// instances sums cloudmgr's agentcloud_pool_instances of the env's pool in
// the given states.
func (e *dockerEnv) instances(tb testing.TB, cm *cloudmgr, states ...string) int {
	n := 0
	for _, s := range states {
		n += int(cm.metric(tb, "agentcloud_pool_instances", map[string]string{"installation": e.installation, "pool": "linux", "state": s}))
	}
	return n
}

// dockerSampler watches the registered agents and the env's containers
// throughout a test: the most seen at once, and every container name.
type dockerSampler struct {
	ticker
	e *dockerEnv

	mu            sync.Mutex
	maxAgents     int
	maxRunning    int
	maxContainers int
	names         map[string]bool
	errs          []string
}

func (e *dockerEnv) sample() *dockerSampler {
	s := &dockerSampler{e: e, names: map[string]bool{}}
	s.start(s.once)
	e.t.Cleanup(s.halt)
	return s
}

func (s *dockerSampler) once() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	agents, aerr := s.e.agents()
	cs, cerr := s.e.g.containers(ctx, s.e.owner)
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr != nil || cerr != nil {
		if len(s.errs) < 5 {
			s.errs = append(s.errs, fmt.Sprint(aerr, cerr))
		}
		return
	}
	s.maxAgents = max(s.maxAgents, len(agents))
	s.maxContainers = max(s.maxContainers, len(cs))
	running := 0
	for _, c := range cs {
		s.names[c.name] = true
		if c.state == "running" {
			running++
		}
	}
	s.maxRunning = max(s.maxRunning, running)
}

// check fails the test when more than max agents were registered, or more
// than max containers ran or existed at once, or nothing was seen.
func (s *dockerSampler) check(t testing.TB, maxAgents int) {
	t.Helper()
	s.halt()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxAgents > maxAgents || s.maxRunning > maxAgents || s.maxContainers > maxAgents {
		t.Errorf("at most %d agents allowed; seen at once: %d registered, %d running containers, %d containers",
			maxAgents, s.maxAgents, s.maxRunning, s.maxContainers)
	}
	if s.maxAgents == 0 || len(s.names) == 0 {
		t.Errorf("the sampler saw no agent and no container (errors: %v)", s.errs)
	}
}

package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// requireEnv turns a missing engine into a failure instead of a skip.
const requireEnv = "AGENTCLOUD_REQUIRE_COMPONENTS"

// labelTestRun marks what the tests make outside the provider (images, the
// odd foreign container), so TestMain removes it.
const labelTestRun = "agentcloud-test-run"

// suite is what TestMain prepared for the tests that need the engine.
type suite struct {
	skip       string         // why engine tests skip; "" when they run
	run        string         // random id of this test run; every owner starts with "dt-"+run
	cli        *client.Client // the engine, for checks behind the provider's back
	agentImage string         // images/agent built by build.sh
	bootImage  string         // testdata/bootlog FROM scratch, with a VOLUME
}

// env is set once by TestMain, before any test runs.
var env suite

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	env.run = randomHex(3)
	if err := prepare(); err != nil {
		if os.Getenv(requireEnv) == "1" {
			fmt.Fprintf(os.Stderr, "docker provider tests: %v (%s=1: failing instead of skipping)\n", err, requireEnv)
			return 1
		}
		env.skip = err.Error()
	}
	code := m.Run()
	if env.cli != nil {
		if err := cleanupRun(); err != nil {
			fmt.Fprintln(os.Stderr, "docker provider tests: cleanup:", err)
			code = 1
		}
		_ = env.cli.Close()
	}
	return code
}

// prepare connects to the engine and builds the two test images.
func prepare() error {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("no Docker engine: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return fmt.Errorf("no Docker engine reachable (%s): %w", cli.DaemonHost(), err)
	}
	env.cli = cli
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("the docker command, which images/agent/build.sh runs, is missing: %w", err)
	}
	env.agentImage = "agentcloud-agent:test-" + env.run
	build := exec.Command("sh", "../../images/agent/build.sh", env.agentImage, "-q", "--label", labelTestRun+"="+env.run)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "images/agent/build.sh failed: %v\n%s", err, out)
		os.Exit(1) // the engine is there; a broken image build is a failure, not a skip
	}
	env.bootImage = "agentcloud-bootlog:test-" + env.run
	if err := buildBootlog(env.bootImage); err != nil {
		fmt.Fprintf(os.Stderr, "building the bootlog test image: %v\n", err)
		os.Exit(1)
	}
	return nil
}

// buildBootlog builds testdata/bootlog into a FROM scratch image with the
// Go API's ImageBuild and the classic builder.
func buildBootlog(tag string) error {
	dir, err := os.MkdirTemp("", "bootlog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootlog")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/bootlog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build testdata/bootlog: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	dockerfile := "FROM scratch\nCOPY bootlog /bootlog\nVOLUME /cache\nENTRYPOINT [\"/bootlog\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"bootlog", 0o755, prog}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Now()}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := env.cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:    []string{tag},
		Labels:  map[string]string{labelTestRun: env.run},
		Remove:  true,
		Version: build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return buildStreamError(res.Body)
}

// buildStreamError reads a build's JSON message stream to its end and returns
// the error it reports, if any.
func buildStreamError(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var log strings.Builder
	for sc.Scan() {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			continue
		}
		log.WriteString(msg.Stream)
		if msg.Error != "" {
			return fmt.Errorf("%s\n%s", msg.Error, log.String())
		}
	}
	return sc.Err()
}

// cleanupRun removes every container, volume and image of this test run, even
// the ones a failed test left.
func cleanupRun() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	prefix := "dt-" + env.run
	cs, err := env.cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return err
	}
	for _, c := range cs.Items {
		if strings.HasPrefix(c.Labels[providers.LabelOwner], prefix) || c.Labels[labelTestRun] == env.run {
			if _, err := env.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	vs, err := env.cli.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		return err
	}
	for _, v := range vs.Items {
		if strings.HasPrefix(v.Labels[providers.LabelOwner], prefix) || v.Labels[labelTestRun] == env.run {
			if _, err := env.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	for _, img := range []string{env.agentImage, env.bootImage} {
		if img == "" {
			continue
		}
		if _, err := env.cli.ImageRemove(ctx, img, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// needEngine skips t when there is no engine.
func needEngine(t testing.TB) {
	t.Helper()
	if env.skip != "" {
		t.Skipf("skipping: %s (set %s=1 to fail instead)", env.skip, requireEnv)
	}
}

// newOwner returns an owner label unique to t, and removes everything of that
// owner when t ends, whatever the provider did.
func newOwner(t testing.TB) string {
	t.Helper()
	owner := "dt-" + env.run + "-" + strings.ToLower(nonName.ReplaceAllString(t.Name(), "-"))
	t.Cleanup(func() { removeOwner(t, owner) })
	return owner
}

// nonName matches what may not be in an owner label we make.
var nonName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// removeOwner removes the containers and volumes of owner behind the
// provider's back.
func removeOwner(t testing.TB, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byOwner := make(client.Filters).Add("label", providers.LabelOwner+"="+owner)
	cs, err := env.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: byOwner})
	if err != nil {
		t.Errorf("cleanup: listing containers of %s: %v", owner, err)
		return
	}
	for _, c := range cs.Items {
		if _, err := env.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing container %s: %v", c.ID, err)
		}
	}
	vs, err := env.cli.VolumeList(ctx, client.VolumeListOptions{Filters: byOwner})
	if err != nil {
		t.Errorf("cleanup: listing volumes of %s: %v", owner, err)
		return
	}
	for _, v := range vs.Items {
		if _, err := env.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: removing volume %s: %v", v.Name, err)
		}
	}
}

// testConfig is the provider config of the tests: a short stop timeout (the
// agent, with no broker to flush to, takes its whole flush timeout to exit).
func testConfig() Config {
	return Config{Name: "docker-test", StopTimeout: time.Second}
}

// newTestProvider builds a provider on the test engine.
func newTestProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// agentEnv is the agent configuration of test containers running the real
// agent: a broker nobody listens on (the agent keeps retrying), no cloud probes.
func agentEnv(brokerPort int) map[string]string {
	return map[string]string{
		"AGENTCLOUD_BROKER_URL":  fmt.Sprintf("stomp://127.0.0.1:%d", brokerPort),
		"AGENTCLOUD_POOL":        "pool-a",
		"AGENTCLOUD_CLOUD_FACTS": "false",
	}
}

// bootReq is a request for a bootlog container of owner.
func bootReq(owner, name string, extraEnv map[string]string) providers.CreateRequest {
	return providers.CreateRequest{
		Name: name, Owner: owner, Installation: "inst", Pool: "pool-a",
		Image: env.bootImage, Env: extraEnv,
	}
}

// inspect inspects a container behind the provider's back.
func inspect(t testing.TB, id string) container.InspectResponse {
	t.Helper()
	r, err := env.cli.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspecting container %s: %v", id, err)
	}
	return r.Container
}

// readFile reads a file of a container's filesystem, running or not, through
// the archive API (a FROM scratch image has no shell to exec).
func readFile(t testing.TB, id, path string) string {
	t.Helper()
	res, err := env.cli.CopyFromContainer(t.Context(), id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		t.Fatalf("reading %s from container %s: %v", path, id, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		t.Fatalf("reading %s from container %s: %v", path, id, err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatalf("reading %s from container %s: %v", path, id, err)
	}
	return string(b)
}

// eventually polls cond every 50ms for up to 30s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listed returns the instance named name from List(owner).
func listed(t testing.TB, p *Provider, owner, name string) (providers.Instance, bool) {
	t.Helper()
	insts, err := p.List(t.Context(), owner)
	if err != nil {
		t.Fatalf("List(%s): %v", owner, err)
	}
	for _, in := range insts {
		if in.Name == name {
			return in, true
		}
	}
	return providers.Instance{}, false
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

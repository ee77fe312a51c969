package providerset

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestTypes(t *testing.T) {
	if got := Types(Factories()); !slices.Equal(got, []string{"docker", "ec2", "fake", "gce", "local"}) {
		t.Errorf("types = %v", got)
	}
}

func TestCapabilities(t *testing.T) {
	dir := t.TempDir()
	cfgs := []config.Provider{
		{Name: "l", Type: "local", Dir: dir, Settings: map[string]string{"dir": "var/instances", "command": "./bin/agent -v"}, Source: "c.yaml:3"},
		{Name: "f", Type: "fake", Source: "c.yaml:6"},
		{Name: "f1", Type: "fake", Settings: map[string]string{"suspend_modes": "stop"}, Source: "c.yaml:8"},
	}
	caps, err := Capabilities(cfgs, Factories())
	if err != nil {
		t.Fatal(err)
	}
	if !caps["l"].Supports(providers.SuspendStop) || caps["l"].Supports(providers.SuspendSuspend) {
		t.Errorf("local caps = %+v", caps["l"])
	}
	if !caps["f"].Supports(providers.SuspendSuspend) || caps["f1"].Supports(providers.SuspendSuspend) || !caps["f1"].Supports(providers.SuspendStop) {
		t.Errorf("fake caps = %+v, %+v", caps["f"], caps["f1"])
	}
	if _, err := os.Stat(filepath.Join(dir, "var")); !os.IsNotExist(err) {
		t.Errorf("Capabilities created the local dir (stat err %v): it must have no side effects", err)
	}
}

func TestBadSettings(t *testing.T) {
	cfgs := []config.Provider{
		{Name: "l", Type: "local", Settings: map[string]string{"comand": "x", "stop_grace": "soon"}, Source: "c.yaml:3"},
		{Name: "f", Type: "fake", Settings: map[string]string{"suspend_modes": "hibernate"}, Source: "c.yaml:6"},
		{Name: "g", Type: "azure", Source: "c.yaml:9"},
		{Name: "d", Type: "docker", Settings: map[string]string{"stop_timeout": "soon"}, Source: "c.yaml:11"},
		{Name: "e", Type: "ec2", Settings: map[string]string{"region": "us-east-1", "secret_access_key": "x"}, Source: "c.yaml:13"},
		{Name: "gc", Type: "gce", Settings: map[string]string{"zones": "europe-west1-b"}, Source: "c.yaml:15"},
	}
	_, err := Capabilities(cfgs, Factories())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"c.yaml:3: provider l: settings.comand: unknown setting",
		"settings.stop_grace: want a positive duration",
		"settings.dir: required",
		`c.yaml:6: provider f: settings.suspend_modes: unknown mode "hibernate"`,
		`c.yaml:9: provider g: unknown type "azure"`,
		"c.yaml:11: provider d: settings.stop_timeout",
		"c.yaml:13: provider e: ec2 provider e: settings.secret_access_key: credentials are never read from settings",
		"c.yaml:15: provider gc: gce provider gc: config: project is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Build(t.Context(), cfgs, Factories(), quiet()); err == nil {
		t.Error("Build accepted bad settings")
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	provs, err := Build(t.Context(), []config.Provider{
		{Name: "l", Type: "local", Dir: dir, Settings: map[string]string{"dir": "instances", "command": "/bin/true", "env.FOO": "bar", "stop_grace": "2s"}},
		{Name: "f", Type: "fake"},
	}, Factories(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if provs["l"].Name() != "l" || provs["f"].Name() != "f" {
		t.Errorf("names = %s, %s", provs["l"].Name(), provs["f"].Name())
	}
	if fi, err := os.Stat(filepath.Join(dir, "instances")); err != nil || !fi.IsDir() {
		t.Errorf("local dir not created relative to the config: %v", err)
	}
	if insts, err := provs["l"].List(t.Context(), "o"); err != nil || len(insts) != 0 {
		t.Errorf("List = %v, %v", insts, err)
	}
}

func TestReadOnly(t *testing.T) {
	f := fake.New("f")
	f.Seed(providers.Instance{Name: "a", Owner: "o", State: providers.StateRunning})
	ro := ReadOnly(f)
	ctx := t.Context()
	if insts, err := ro.List(ctx, "o"); err != nil || len(insts) != 1 {
		t.Errorf("List = %v, %v", insts, err)
	}
	id := f.Instances()[0].ID
	_, errC := ro.Create(ctx, []providers.CreateRequest{{Name: "b", Owner: "o"}})
	_, errS := ro.Suspend(ctx, providers.SuspendStop, []string{id})
	_, errR := ro.Resume(ctx, []string{id})
	_, errD := ro.Destroy(ctx, []string{id})
	for op, err := range map[string]error{"create": errC, "suspend": errS, "resume": errR, "destroy": errD} {
		if !providers.IsNotSupported(err) {
			t.Errorf("%s err = %v, want not supported", op, err)
		}
	}
	for _, c := range f.Calls() {
		if c.Op != fake.OpList {
			t.Errorf("a %s call reached the provider", c.Op)
		}
	}
	if ro.Name() != "f" || !ro.Capabilities().Supports(providers.SuspendStop) {
		t.Error("Name/Capabilities not passed through")
	}
}

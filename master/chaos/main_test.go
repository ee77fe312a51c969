package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/broker/activemqtest"
)

// env is what TestMain prepared for every test.
type env struct {
	// skip is why the tests cannot run here ("" when they can).
	skip string
	// masterBin and agentBin are the built binaries.
	masterBin, agentBin string
	// amq is the package's private ActiveMQ, which tests may restart.
	amq *activemqtest.Broker
}

// pkg is set once by TestMain before any test runs and only read after.
var pkg env

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if why := activemqtest.Missing(); why != "" {
		pkg.skip = why
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "agentcloud-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pkg.masterBin = filepath.Join(dir, "master")
	pkg.agentBin = filepath.Join(dir, "agent")
	for bin, path := range map[string]string{pkg.masterBin: "./cmd/master", pkg.agentBin: "./cmd/agent"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, path)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", path, err, out)
			return 1
		}
	}
	pkg.amq, err = activemqtest.New(filepath.Join(dir, "activemq"))
	if err == nil {
		err = pkg.amq.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if pkg.amq != nil {
			_ = pkg.amq.Kill()
		}
		return 1
	}
	defer pkg.amq.Kill()
	return m.Run()
}

// need skips (or fails, in CI) a test that cannot run here.
func need(t testing.TB) {
	t.Helper()
	if pkg.skip != "" {
		activemqtest.SkipOrFail(t, pkg.skip)
	}
}

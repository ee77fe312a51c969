package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// agentBin is the agent binary built once for the tests that run it.
var agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentcloud-agent-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "agent")
	build := exec.Command("go", "build", "-o", agentBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the agent:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireComponent skips the test when a real component is missing, or
// fails it when AGENTCLOUD_REQUIRE_COMPONENTS=1.
func requireComponent(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
		t.Fatalf("%s is required (AGENTCLOUD_REQUIRE_COMPONENTS=1) but missing: %v", what, err)
	}
	t.Skipf("skipping: %s is missing (%v); install it or set AGENTCLOUD_REQUIRE_COMPONENTS=1 to make this fail", what, err)
}

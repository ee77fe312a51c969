// Command bootlog is the test program of the docker provider's tests: a
// static binary for a FROM scratch image that appends one line per start to a
// file in its container's filesystem (so a test can tell a restart on the same
// filesystem from a fresh one), then waits for SIGTERM.
//
// Environment: BOOTLOG_FILE (default /data/boots), BOOTLOG_EXIT (exit at once
// with this code instead of waiting).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
)

func main() {
	file := os.Getenv("BOOTLOG_FILE")
	if file == "" {
		file = "/data/boots"
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bootlog:", err)
		os.Exit(1)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootlog:", err)
		os.Exit(1)
	}
	fmt.Fprintf(f, "boot pid=%d agent=%s\n", os.Getpid(), os.Getenv("AGENTCLOUD_AGENT_ID"))
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "bootlog:", err)
		os.Exit(1)
	}
	fmt.Println("bootlog started")
	if code := os.Getenv("BOOTLOG_EXIT"); code != "" {
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Println("bootlog stopping")
}

// Command agent is the agentcloud agent: it registers the machine's facts
// with the master over STOMP and runs the compositions it is given.
//
//	agent [flags]         serve the master until SIGTERM/SIGINT
//	agent facts [flags]   print the facts as JSON (like facter --json)
//
// Every flag has an AGENTCLOUD_* environment variable and a key of the
// -config YAML file; see -h.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentcloud/agentcloud/agent"
	"github.com/agentcloud/agentcloud/agent/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	factsCmd := len(args) > 0 && args[0] == "facts"
	if factsCmd {
		args = args[1:]
	}
	cfg, rest, err := config.Load("agent", args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "agent: configuration: %v\n", err)
		return 2
	}
	if len(rest) == 1 && rest[0] == "facts" {
		factsCmd = true
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "agent: unexpected arguments %q (the only command is \"facts\")\n", rest)
		return 2
	}
	log := newLogger(cfg, stderr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if factsCmd {
		f, err := agent.GatherFacts(ctx, &cfg, log)
		if err != nil {
			fmt.Fprintf(stderr, "agent: %v\n", err)
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			fmt.Fprintf(stderr, "agent: writing facts: %v\n", err)
			return 1
		}
		return 0
	}
	if err := agent.Run(ctx, cfg, log); err != nil {
		log.Error("agent failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	level, _ := config.ParseLevel(cfg.LogLevel) // validated by Load
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

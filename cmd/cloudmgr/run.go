package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/app"
	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/providerset"
	"github.com/agentcloud/agentcloud/cloudmgr/simulate"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // bad config or policies, or a failure while running
	exitUsage = 2
)

const usage = `usage:
  cloudmgr [run] -config FILE      run the scaling loop, metrics, status page and API
  cloudmgr validate -config FILE   check the config and the policies; exit 1 on any problem
  cloudmgr plan -config FILE       one dry-run tick against the live masters and providers
  cloudmgr teardown -config FILE [-timeout D]
                                   destroy every instance with this cloudmgr's owner label
                                   (all pools, all states) and wait until none is listed;
                                   stop cloudmgr first
  cloudmgr simulate -trace FILE -policy FILE [...]
                                   replay a job trace through the real decision in virtual
                                   time: waits, machine-hours, cost (cloudmgr simulate -h)

SIGINT/SIGTERM stop cloudmgr; SIGHUP reloads the policies (a bad set keeps the last good one).

flags:
`

// run is the whole command; main only adds signals and os.Exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "simulate" {
		// Its own flags: it reads traces and policies, not cloudmgr's config.
		return simulate.Main(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("cloudmgr "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "cloudmgr.yaml", "the config `file`")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	var timeout *time.Duration
	if cmd == "teardown" {
		timeout = fs.Duration("timeout", 5*time.Minute, "teardown: give up after this long")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cloudmgr %s: unexpected arguments: %s\n", cmd, strings.Join(fs.Args(), " "))
		fs.Usage()
		return exitUsage
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintf(stderr, "cloudmgr: %v\n", err)
		return exitUsage
	}
	switch cmd {
	case "validate":
		return validate(*configPath, stdout, stderr)
	case "plan":
		return plan(ctx, *configPath, log, stdout, stderr)
	case "run":
		return serve(ctx, *configPath, log, stderr)
	case "teardown":
		return teardown(ctx, *configPath, *timeout, log, stdout, stderr)
	case "help":
		fs.Usage()
		return exitOK
	}
	fmt.Fprintf(stderr, "cloudmgr: unknown command %q\n", cmd)
	fs.Usage()
	return exitUsage
}

// validate prints every problem of the config and policies, or a summary.
func validate(path string, stdout, stderr io.Writer) int {
	summary, err := app.Validate(path, nil)
	if err != nil {
		printProblems(stderr, err)
		return exitError
	}
	fmt.Fprintln(stdout, summary)
	return exitOK
}

// plan prints one dry-run tick.
func plan(ctx context.Context, path string, log *slog.Logger, stdout, stderr io.Writer) int {
	a, code := build(ctx, path, app.Options{Log: log, DryRun: true}, stderr)
	if a == nil {
		return code
	}
	if _, err := a.Plan(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "cloudmgr plan: %v\n", err)
		return exitError
	}
	return exitOK
}

// teardown destroys every instance of this cloudmgr's owner and waits until
// none is listed.
func teardown(ctx context.Context, path string, timeout time.Duration, log *slog.Logger, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path, providerset.Types(providerset.Factories()))
	if err != nil {
		printProblems(stderr, err)
		return exitError
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := app.Teardown(ctx, cfg, app.TeardownOptions{Log: log, Out: stdout}); err != nil {
		fmt.Fprintf(stderr, "cloudmgr teardown: %v\n", err)
		return exitError
	}
	return exitOK
}

// serve runs cloudmgr until ctx ends; SIGHUP reloads the policies.
func serve(ctx context.Context, path string, log *slog.Logger, stderr io.Writer) int {
	a, code := build(ctx, path, app.Options{Log: log}, stderr)
	if a == nil {
		return code
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading policies")
				a.Reload() // logs every problem itself and keeps the last good set
			}
		}
	}()
	if err := a.Run(ctx); err != nil {
		log.Error("cloudmgr failed", "error", err)
		return exitError
	}
	return exitOK
}

// build loads the config and assembles the app, printing problems.
func build(ctx context.Context, path string, opts app.Options, stderr io.Writer) (*app.App, int) {
	cfg, err := config.Load(path, providerset.Types(providerset.Factories()))
	if err != nil {
		printProblems(stderr, err)
		return nil, exitError
	}
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		printProblems(stderr, err)
		return nil, exitError
	}
	return a, exitOK
}

// printProblems prints an error one problem per line.
func printProblems(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		if line != "" {
			fmt.Fprintln(w, line)
		}
	}
}

// newLogger builds the process logger.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: want debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format: want text or json, got %q", format)
}

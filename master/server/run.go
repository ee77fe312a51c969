package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/agentcloud/agentcloud/master/config"
)

// RunServe runs `master serve` until ctx ends: it reads the configuration
// from args and getenv, logs to logOut, and returns the exit code.
func RunServe(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer) int {
	cfg, err := config.LoadServe(args, getenv, logOut)
	if err != nil {
		fmt.Fprintf(logOut, "master serve: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel}))
	m, err := Start(ctx, cfg, log)
	if err != nil {
		log.Error("master did not start", "err", err)
		return 1
	}
	waitErr := m.Wait(ctx)
	if waitErr != nil {
		log.Error("master failed", "err", waitErr)
	} else {
		log.Info("shutting down")
	}
	if err := m.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	if waitErr != nil {
		return 1
	}
	return 0
}

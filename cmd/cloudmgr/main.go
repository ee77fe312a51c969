// Command cloudmgr is agentcloud's autoscaler for CI build agents: it watches
// the pool queues of several master installations and creates, suspends,
// resumes and destroys machines through providers, by per-pool policies.
//
//	cloudmgr [run] -config FILE      run the scaling loop and the HTTP server
//	cloudmgr validate -config FILE   check the config and the policies
//	cloudmgr plan -config FILE       one dry-run tick: what it would do now
//	cloudmgr teardown -config FILE   destroy every instance it owns, and wait
//
// SIGINT and SIGTERM stop it; SIGHUP reloads the policies.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Command master is agentcloud's orchestration master.
//
//	master [serve] [flags]        run the master (the default subcommand)
//	master submit -f FILE [-follow] [-master URL] [-token T]
//	                              submit a composition (YAML or JSON)
//	master cancel [-reason R] [-master URL] [-token T] ID...
//	                              stop compositions, queued or running
//
// Run "master serve -h", "master submit -h" or "master cancel -h" for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/agentcloud/agentcloud/master/client"
	"github.com/agentcloud/agentcloud/master/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return server.RunServe(ctx, args, os.Getenv, stderr)
	case "submit":
		return client.RunSubmit(ctx, args, stdin, stdout, stderr, os.Getenv)
	case "cancel":
		return client.RunCancel(ctx, args, stdout, stderr, os.Getenv)
	case "help":
		fmt.Fprintln(stdout, "usage: master [serve] [flags] | master submit -f FILE [-follow] [-master URL] [-token T] | master cancel [-reason R] ID...")
		return 0
	}
	fmt.Fprintf(stderr, "master: unknown subcommand %q (want serve, submit or cancel)\n", cmd)
	return 2
}

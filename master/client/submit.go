package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/httpapi"
)

// Exit codes of `master submit`.
const (
	ExitOK     = 0 // submitted (with -follow: it succeeded)
	ExitFailed = 1 // with -follow: the composition failed or was cancelled
	ExitUsage  = 2 // bad flags or file, or the master could not be reached
)

// RunSubmit runs `master submit -master URL -token T -f composition.yaml
// [-follow]`. The master URL and token may come from env
// AGENTCLOUD_MASTER_URL and AGENTCLOUD_MASTER_TOKEN.
func RunSubmit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("master submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := clientFlags(fs, getenv)
	file := fs.String("f", "", "composition file, YAML or JSON (- for standard input)")
	follow := fs.Bool("follow", false, "print output as it comes; exit 0 if the composition succeeded, 1 if it failed or was cancelled")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often -follow polls the master")
	cancelOnInterrupt := fs.Bool("cancel-on-interrupt", false, "with -follow: cancel the composition when interrupted (Ctrl-C, SIGTERM) instead of leaving it to run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: master submit -f composition.yaml [-master URL] [-token T] [-follow]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "master submit: -f composition file is required, and nothing else")
		fs.Usage()
		return ExitUsage
	}
	if *cancelOnInterrupt && !*follow {
		fmt.Fprintln(stderr, "master submit: -cancel-on-interrupt needs -follow")
		return ExitUsage
	}
	if *poll <= 0 {
		fmt.Fprintln(stderr, "master submit: -poll must be positive")
		return ExitUsage
	}
	req, err := ReadRequestFile(*file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "master submit: %v\n", err)
		return ExitUsage
	}
	c, err := connect()
	if err != nil {
		fmt.Fprintf(stderr, "master submit: %v\n", err)
		return ExitUsage
	}
	comp, err := c.Submit(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "master submit: %v\n", err)
		return ExitUsage
	}
	if !*follow {
		fmt.Fprintln(stdout, comp.ID)
		return ExitOK
	}
	fmt.Fprintf(stderr, "submitted %s to pool %s\n", comp.ID, comp.Pool)
	attempt := 0
	page, err := c.Follow(ctx, comp.ID, *poll, func(l httpapi.OutputLine) {
		if l.Attempt != attempt {
			if attempt != 0 {
				fmt.Fprintf(stderr, "--- attempt %d ---\n", l.Attempt)
			}
			attempt = l.Attempt
		}
		w := stdout
		if l.Stream == "stderr" {
			w = stderr
		}
		fmt.Fprintln(w, l.Line)
	}, func(err error) {
		fmt.Fprintf(stderr, "master submit: %v (retrying)\n", err)
	})
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled) && *cancelOnInterrupt:
			cancelAfterInterrupt(c, comp.ID, stderr)
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(stderr, "master submit: stopped following %s; it carries on\n", comp.ID)
		default:
			fmt.Fprintf(stderr, "master submit: %v\n", err)
		}
		return ExitUsage
	}
	if page.State == api.CompSucceeded {
		fmt.Fprintf(stderr, "composition %s succeeded\n", comp.ID)
		return ExitOK
	}
	fmt.Fprintf(stderr, "composition %s %s: %s\n", comp.ID, page.State, page.Error)
	return ExitFailed
}

// cancelAfterInterrupt cancels a followed composition once the command was
// interrupted, with a context of its own (the command's is done).
func cancelAfterInterrupt(c *Client, id string, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	comp, err := c.Cancel(ctx, id, "master submit -follow was interrupted")
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "master submit: interrupted, and %v; it may carry on\n", err)
	case comp.State == api.CompCancelled:
		fmt.Fprintf(stderr, "master submit: interrupted: %s cancelled\n", id)
	default:
		fmt.Fprintf(stderr, "master submit: interrupted: %s is being stopped on agent %s\n", id, comp.Agent)
	}
}

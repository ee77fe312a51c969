package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/agentcloud/agentcloud/master/api"
)

// Cancel asks the master to stop a composition (see dispatch.Dispatcher.Cancel).
func (c *Client) Cancel(ctx context.Context, id, reason string) (api.Composition, error) {
	var out api.Composition
	path := fmt.Sprintf(api.PathCompositionCancel, url.PathEscape(id))
	if err := c.call(ctx, http.MethodPost, path, api.CancelRequest{Reason: reason}, &out); err != nil {
		return api.Composition{}, fmt.Errorf("cancelling composition %s: %w", id, err)
	}
	return out, nil
}

// RunCancel runs `master cancel [-reason R] [-master URL] [-token T] ID...`.
// It exits 0 when every composition was cancelled or is being stopped, 1 when
// one had already finished or does not exist, 2 on bad flags or when the
// master could not be reached.
func RunCancel(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("master cancel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := clientFlags(fs, getenv)
	reason := fs.String("reason", "", "why, kept with the composition and shown to the agent")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: master cancel [-reason R] [-master URL] [-token T] COMPOSITION-ID...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "master cancel: name at least one composition id")
		fs.Usage()
		return ExitUsage
	}
	c, err := connect()
	if err != nil {
		fmt.Fprintf(stderr, "master cancel: %v\n", err)
		return ExitUsage
	}
	code := ExitOK
	for _, id := range fs.Args() {
		comp, err := c.Cancel(ctx, id, *reason)
		var apiErr *APIError
		switch {
		case err == nil && comp.State == api.CompCancelled:
			fmt.Fprintf(stdout, "%s cancelled\n", id)
		case err == nil:
			fmt.Fprintf(stdout, "%s is being stopped on agent %s (attempt %d)\n", id, comp.Agent, comp.Attempt)
		case errors.As(err, &apiErr) && (apiErr.Status == http.StatusConflict || apiErr.Status == http.StatusNotFound):
			fmt.Fprintf(stderr, "master cancel: %s: %s\n", id, apiErr.Message)
			code = max(code, ExitFailed)
		default:
			fmt.Fprintf(stderr, "master cancel: %v\n", err)
			return ExitUsage
		}
	}
	return code
}

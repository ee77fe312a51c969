package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/scaler"
)

// Plan runs one dry-run tick against the live masters and providers: it polls
// every master once, lists every provider once and runs Decide for every
// pool, then writes what it would do. It changes nothing: the app must be
// built with Options.DryRun (read-only providers, no drains).
func (a *App) Plan(ctx context.Context, w io.Writer) (*scaler.Report, error) {
	if !a.dryRun {
		return nil, fmt.Errorf("plan: the app was not built with DryRun: its providers are not read-only")
	}
	a.Watcher.PollAll(ctx)
	r := a.Loop.Plan(ctx)
	WritePlan(w, r, time.Now())
	return r, nil
}

// WritePlan renders a report for a terminal: per pool the counts, want, each
// action with its reason and each hold.
func WritePlan(w io.Writer, r *scaler.Report, now time.Time) {
	for name, err := range r.ProviderErrors {
		fmt.Fprintf(w, "provider %s: LIST FAILED: %s\n", name, err)
	}
	for _, in := range r.Installations {
		state := "up"
		if !in.Poll.Up {
			state = "DOWN"
		}
		if in.Poll.Stale {
			state += ", status stale"
		}
		fmt.Fprintf(w, "installation %s (master %s", in.Name, state)
		if in.Poll.Error != "" {
			fmt.Fprintf(w, ": %s", in.Poll.Error)
		}
		if in.MaxAgents > 0 {
			fmt.Fprintf(w, "; cap %d agents", in.MaxAgents)
		}
		fmt.Fprintln(w, ")")
		for _, p := range in.Pools {
			c := p.Agents
			fmt.Fprintf(w, "  pool %s [%s] %s\n", p.Pool, p.Provider, p.Source)
			fmt.Fprintf(w, "    queued %d, oldest wait %s, unschedulable %d\n", p.Queued,
				(time.Duration(p.OldestWaitSeconds * float64(time.Second))).Round(time.Second), p.Unschedulable)
			fmt.Fprintf(w, "    agents: idle %d, busy %d, draining %d, booting %d, suspended %d, by hand %d\n",
				c.Idle, c.Busy, c.Draining, c.Booting, c.Suspended, c.ByHand)
			fmt.Fprintf(w, "    capacity %d, want %d (min %d, max %d)\n", c.Capacity, p.Want, p.Min, p.Max)
			if len(p.Actions) == 0 {
				fmt.Fprintln(w, "    no action")
			}
			for i := 0; i < len(p.Actions); {
				a, n := p.Actions[i], 1
				for i+n < len(p.Actions) && p.Actions[i+n].Kind == a.Kind && p.Actions[i+n].Instance == a.Instance && p.Actions[i+n].Reason == a.Reason {
					n++ // creates are named when executed: the same line n times
				}
				i += n
				target := ""
				if a.Instance != "" {
					target = " " + a.Instance
				}
				if n > 1 {
					target += fmt.Sprintf(" ×%d", n)
				}
				fmt.Fprintf(w, "    would %s%s: %s\n", a.Kind, target, a.Reason)
			}
			for _, h := range p.Holds {
				fmt.Fprintf(w, "    hold: %s\n", strings.TrimSpace(h))
			}
		}
	}
	fmt.Fprintf(w, "dry run at %s: nothing was changed\n", now.UTC().Format(time.RFC3339))
}

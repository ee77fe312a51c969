package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/providerset"
	"github.com/agentcloud/agentcloud/providers"
)

// DefaultTeardownInterval is the pause between two List rounds of Teardown
// while destroys are still in progress.
const DefaultTeardownInterval = time.Second

// TeardownOptions tune Teardown.
type TeardownOptions struct {
	// Factories by provider type (default providerset.Factories()).
	Factories map[string]providerset.Factory
	// Log receives the providers' logs (default: discard).
	Log *slog.Logger
	// Out receives one line per destroyed instance and a summary (default: discard).
	Out io.Writer
	// Interval is the pause between List rounds while something is still
	// listed (default DefaultTeardownInterval).
	Interval time.Duration
}

// TeardownReport says what Teardown destroyed.
type TeardownReport struct {
	// Destroyed holds, by provider, the names of the instances destroyed.
	Destroyed map[string][]string
	// Rounds counts the List rounds.
	Rounds int
}

// Teardown destroys every instance carrying this cloudmgr's owner label
// (cfg.ID) on every configured provider, whatever its pool or state, and waits
// until List on every provider shows none. It touches nothing else: no policy
// is read and no master is called, so it works with broken policies or
// masters away. It retries failed calls every Interval until it is done or ctx
// ends; then the error names what is left. Stop cloudmgr first, or it may
// create machines again.
func Teardown(ctx context.Context, cfg *config.Config, opts TeardownOptions) (TeardownReport, error) {
	if opts.Factories == nil {
		opts.Factories = providerset.Factories()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultTeardownInterval
	}
	r := TeardownReport{Destroyed: map[string][]string{}}
	built, err := providerset.Build(ctx, cfg.Providers, opts.Factories, opts.Log)
	if err != nil {
		return r, fmt.Errorf("tearing down: %w", err)
	}
	names := slices.Sorted(maps.Keys(built))
	asked := map[string]bool{} // provider/id: destroy confirmed; while destroying, not asked again
	for {
		r.Rounds++
		var left []string
		var errs []error
		progressed := false
		for _, name := range names {
			l, e, p := teardownRound(ctx, built[name], cfg.ID, asked, opts.Out, &r)
			left, errs, progressed = append(left, l...), append(errs, e...), progressed || p
		}
		if len(left) == 0 && len(errs) == 0 {
			fmt.Fprintf(opts.Out, "teardown: no instance of owner %s is left (%d destroyed)\n", cfg.ID, r.count())
			return r, nil
		}
		pause := opts.Interval
		if progressed {
			pause = min(pause, 100*time.Millisecond) // the destroys may be done already
		}
		select {
		case <-ctx.Done():
			err := fmt.Errorf("tearing down the instances of owner %s: %w; left: %s", cfg.ID, ctx.Err(), strings.Join(left, ", "))
			return r, errors.Join(append([]error{err}, errs...)...)
		case <-time.After(pause):
		}
	}
}

// teardownRound lists one provider and destroys what it shows, except what is
// destroying after a confirmed destroy. It returns the instances still listed (as
// "provider/name"), the errors, and whether a destroy was confirmed.
func teardownRound(ctx context.Context, p providers.Provider, owner string, asked map[string]bool, out io.Writer, r *TeardownReport) ([]string, []error, bool) {
	insts, err := p.List(ctx, owner)
	if err != nil {
		err = fmt.Errorf("listing the instances of provider %s: %w", p.Name(), err)
		fmt.Fprintf(out, "teardown: %v (retrying)\n", err)
		return []string{p.Name() + "/?"}, []error{err}, false
	}
	var left, ids []string
	byID := map[string]providers.Instance{}
	for _, in := range insts {
		left = append(left, p.Name()+"/"+in.Name)
		if !asked[p.Name()+"/"+in.ID] || in.State != providers.StateDestroying {
			ids = append(ids, in.ID)
			byID[in.ID] = in
		}
	}
	if len(ids) == 0 {
		return left, nil, false
	}
	ok, err := p.Destroy(ctx, ids)
	for _, id := range ok {
		in := byID[id]
		asked[p.Name()+"/"+id] = true
		r.Destroyed[p.Name()] = append(r.Destroyed[p.Name()], in.Name)
		fmt.Fprintf(out, "teardown: destroyed %s (provider %s, pool %s/%s, was %s)\n", in.Name, p.Name(), in.Installation, in.Pool, in.State)
	}
	var errs []error
	if err != nil {
		err = fmt.Errorf("destroying instances of provider %s: %w", p.Name(), err)
		fmt.Fprintf(out, "teardown: %v (retrying)\n", err)
		errs = append(errs, err)
	}
	return left, errs, len(ok) > 0
}

// count is how many instances were destroyed.
func (r TeardownReport) count() int {
	n := 0
	for _, names := range r.Destroyed {
		n += len(names)
	}
	return n
}

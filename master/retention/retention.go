// Package retention deletes the master's finished compositions, with their
// output, once they are older than the retention period, so a long-running
// master's database does not grow without bound. Queued, assigned and running
// compositions are never deleted.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Store is the part of the master's store the purge uses.
type Store interface {
	// PurgeFinished deletes up to limit compositions that finished before
	// before, with their output, and says how many it deleted.
	PurgeFinished(ctx context.Context, before time.Time, limit int) (int, error)
}

// Config configures the purge.
type Config struct {
	// Retain is how long a finished composition is kept; 0 keeps them forever.
	Retain time.Duration
	// Every is how often the purge runs (default: a tenth of Retain, between a
	// minute and an hour).
	Every time.Duration
	// Batch is how many compositions one transaction deletes (default 500),
	// so the dispatcher's writes wait on the database only briefly.
	Batch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Purged, if set, is called with every batch's count (a metric).
	Purged func(n int)
	// Log receives a line per purge that deleted something, and errors.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Every <= 0 {
		c.Every = min(max(c.Retain/10, time.Minute), time.Hour)
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Purged == nil {
		c.Purged = func(int) {}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Once deletes every composition that finished more than cfg.Retain ago, one
// batch at a time, and returns how many it deleted. With Retain 0 it does
// nothing.
func Once(ctx context.Context, st Store, cfg Config) (int, error) {
	cfg = cfg.withDefaults()
	if cfg.Retain <= 0 {
		return 0, nil
	}
	before := cfg.Now().Add(-cfg.Retain)
	total := 0
	for {
		n, err := st.PurgeFinished(ctx, before, cfg.Batch)
		total += n
		cfg.Purged(n)
		if err != nil {
			return total, fmt.Errorf("applying the retention of %s: %w", cfg.Retain, err)
		}
		if n < cfg.Batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// Run purges at once and then every cfg.Every until ctx ends. Errors are
// logged and the next round tries again.
func Run(ctx context.Context, st Store, cfg Config) {
	cfg = cfg.withDefaults()
	if cfg.Retain <= 0 {
		cfg.Log.Info("retention off: finished compositions are kept forever")
		return
	}
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		start := cfg.Now()
		n, err := Once(ctx, st, cfg)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			cfg.Log.Error("retention purge failed; trying again later", "err", err, "deleted", n, "next_in", cfg.Every)
		case n > 0:
			cfg.Log.Info("purged finished compositions past the retention", "deleted", n, "retain", cfg.Retain,
				"took", cfg.Now().Sub(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

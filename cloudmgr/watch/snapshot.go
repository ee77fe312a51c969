// Package watch keeps the latest pool status of every installation: one
// goroutine per master polls GET /api/v1/pools with the master's token, a
// per-request timeout and ±10% jitter on the interval, so one slow or failing
// master never delays the others. It also holds the master client (pools and
// drain).
package watch

import (
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// Snapshot is the latest view of one installation's master. It is never
// modified once published: callers must not modify Pools either.
type Snapshot struct {
	// Installation is the installation's name.
	Installation string
	// Pools holds the pools of the last successful poll, by pool name. It is
	// kept across failed polls (Err says the view is not fresh).
	Pools map[string]*api.PoolStatus
	// FetchedAt is when the last successful poll completed (zero: never).
	FetchedAt time.Time
	// AttemptedAt is when the last poll, successful or not, completed.
	AttemptedAt time.Time
	// Err is the last poll's error; nil when it succeeded.
	Err error
	// Failures counts consecutive failed polls.
	Failures int
}

// Stale reports whether the snapshot cannot be trusted at now: never fetched,
// the last poll failed, or the last success is older than after.
func (s Snapshot) Stale(now time.Time, after time.Duration) bool {
	return s.FetchedAt.IsZero() || s.Err != nil || now.Sub(s.FetchedAt) > after
}

// StatusSource gives the latest status of each installation. The Watcher is
// one; another source (ActiveMQ statistics, an in-process master) can stand
// beside it.
type StatusSource interface {
	// Snapshot returns the latest snapshot of the installation; ok is false for
	// an installation the source does not know.
	Snapshot(installation string) (s Snapshot, ok bool)
}

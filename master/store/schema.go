package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations bring the schema from version i to i+1 (PRAGMA user_version).
var migrations = []string{
	`CREATE TABLE compositions (
		id                TEXT PRIMARY KEY,
		pool              TEXT NOT NULL,
		selector          TEXT NOT NULL DEFAULT '',
		tasks             TEXT NOT NULL,            -- JSON list of api.Task
		state             TEXT NOT NULL,
		attempt           INTEGER NOT NULL DEFAULT 0, -- dispatches so far
		accepted_attempts INTEGER NOT NULL DEFAULT 0, -- dispatches an agent accepted
		max_attempts      INTEGER NOT NULL,
		agent             TEXT NOT NULL DEFAULT '',
		submitted_at      INTEGER NOT NULL,         -- Unix nanoseconds; 0 = never
		assigned_at       INTEGER NOT NULL DEFAULT 0,
		started_at        INTEGER NOT NULL DEFAULT 0,
		finished_at       INTEGER NOT NULL DEFAULT 0,
		error             TEXT NOT NULL DEFAULT '',
		context           TEXT NOT NULL DEFAULT '{}' -- JSON object
	);
	CREATE INDEX compositions_state ON compositions(state, pool);
	CREATE INDEX compositions_pool ON compositions(pool);
	CREATE TABLE output (
		cursor      INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order, for followers
		composition TEXT NOT NULL,
		attempt     INTEGER NOT NULL,
		task        INTEGER NOT NULL,
		seq         INTEGER NOT NULL,
		stream      TEXT NOT NULL,
		line        TEXT NOT NULL,
		at          INTEGER NOT NULL,
		UNIQUE (composition, attempt, task, seq)
	);
	CREATE INDEX output_composition ON output(composition, cursor);`,
	// Agents live in memory, but their drain flag must survive a master
	// restart: the agent keeps draining, and would ignore new work.
	`CREATE TABLE draining_agents (
		agent TEXT PRIMARY KEY,
		since INTEGER NOT NULL -- Unix nanoseconds
	);`,
	// A cancel asked for while an agent runs the composition must survive a
	// master restart, or the attempt would finish as if never cancelled.
	`ALTER TABLE compositions ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';`,
	// The retention purge finds finished compositions by age.
	`CREATE INDEX compositions_finished ON compositions(finished_at) WHERE finished_at > 0;`,
}

// migrate applies the migrations the database has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this master knows (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
	}
	return nil
}

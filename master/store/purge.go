package store

import (
	"context"
	"fmt"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// PurgeFinished deletes up to limit compositions that ended (succeeded,
// failed or cancelled) before before, oldest first, with their output, in
// one transaction, and returns how many it deleted. Active compositions are
// never touched, whatever their age.
func (s *Store) PurgeFinished(ctx context.Context, before time.Time, limit int) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purging compositions finished before %s: %w", before.Format(time.RFC3339), err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id FROM compositions
		WHERE finished_at > 0 AND finished_at < ? AND state IN (?, ?, ?)
		ORDER BY finished_at LIMIT ?`,
		nanos(before), string(api.CompSucceeded), string(api.CompFailed), string(api.CompCancelled), limit)
	if err != nil {
		return 0, fmt.Errorf("purging compositions finished before %s: %w", before.Format(time.RFC3339), err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("purging compositions: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("purging compositions: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM output WHERE composition = ?`, id); err != nil {
			return 0, fmt.Errorf("purging the output of composition %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM compositions WHERE id = ?`, id); err != nil {
			return 0, fmt.Errorf("purging composition %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purging compositions: %w", err)
	}
	return len(ids), nil
}

package store

import (
	"context"
	"fmt"

	"github.com/agentcloud/agentcloud/master/api"
)

// Line is an output line with its cursor: its place in arrival order, which a
// follower passes back to read only what came after.
type Line struct {
	Cursor int64
	api.OutputLine
}

// AddOutput stores one output line of a composition. A line with the same
// (composition, attempt, task, seq) as a stored one is a duplicate: it is
// ignored and added is false.
func (s *Store) AddOutput(ctx context.Context, composition string, l api.OutputLine) (added bool, err error) {
	res, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO output
		(composition, attempt, task, seq, stream, line, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		composition, l.Attempt, l.Task, l.Seq, l.Stream, l.Line, nanos(l.At))
	if err != nil {
		return false, fmt.Errorf("storing output of composition %s: %w", composition, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storing output of composition %s: %w", composition, err)
	}
	return n == 1, nil
}

// Output returns up to limit lines (0: 1000) of a composition that arrived after cursor, in arrival order.
func (s *Store) Output(ctx context.Context, composition string, after int64, limit int) ([]Line, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT cursor, attempt, task, seq, stream, line, at FROM output
		WHERE composition = ? AND cursor > ? ORDER BY cursor LIMIT ?`, composition, after, limit)
	if err != nil {
		return nil, fmt.Errorf("reading output of composition %s: %w", composition, err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var l Line
		var at int64
		if err := rows.Scan(&l.Cursor, &l.Attempt, &l.Task, &l.Seq, &l.Stream, &l.Line, &at); err != nil {
			return nil, fmt.Errorf("reading output of composition %s: %w", composition, err)
		}
		l.At = fromNanos(at)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading output of composition %s: %w", composition, err)
	}
	return out, nil
}

// AllOutput returns every line of a composition ordered by attempt, task and seq.
func (s *Store) AllOutput(ctx context.Context, composition string) ([]api.OutputLine, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT attempt, task, seq, stream, line, at FROM output
		WHERE composition = ? ORDER BY attempt, task, seq`, composition)
	if err != nil {
		return nil, fmt.Errorf("reading output of composition %s: %w", composition, err)
	}
	defer rows.Close()
	var out []api.OutputLine
	for rows.Next() {
		var l api.OutputLine
		var at int64
		if err := rows.Scan(&l.Attempt, &l.Task, &l.Seq, &l.Stream, &l.Line, &at); err != nil {
			return nil, fmt.Errorf("reading output of composition %s: %w", composition, err)
		}
		l.At = fromNanos(at)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading output of composition %s: %w", composition, err)
	}
	return out, nil
}

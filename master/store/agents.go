package store

import (
	"context"
	"fmt"
	"time"
)

// SetDraining records that an agent was drained.
func (s *Store) SetDraining(ctx context.Context, agent string, since time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO draining_agents (agent, since) VALUES (?, ?)
		ON CONFLICT (agent) DO NOTHING`, agent, nanos(since))
	if err != nil {
		return fmt.Errorf("recording drain of agent %s: %w", agent, err)
	}
	return nil
}

// ClearDraining forgets an agent's drain (it left, or never came back).
func (s *Store) ClearDraining(ctx context.Context, agent string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM draining_agents WHERE agent = ?`, agent); err != nil {
		return fmt.Errorf("forgetting drain of agent %s: %w", agent, err)
	}
	return nil
}

// DrainingAgents returns the drained agents and since when.
func (s *Store) DrainingAgents(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT agent, since FROM draining_agents`)
	if err != nil {
		return nil, fmt.Errorf("reading drained agents: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var agent string
		var since int64
		if err := rows.Scan(&agent, &since); err != nil {
			return nil, fmt.Errorf("reading drained agents: %w", err)
		}
		out[agent] = fromNanos(since)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading drained agents: %w", err)
	}
	return out, nil
}

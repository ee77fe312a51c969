package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// Composition is a composition as the master keeps it: the API view plus the
// bookkeeping the dispatcher needs.
type Composition struct {
	ID       string
	Pool     string
	Selector string
	Tasks    []api.Task
	State    api.CompositionState
	// Attempt counts dispatches: every assign increments it.
	Attempt int
	// Accepted counts dispatches an agent accepted; max_attempts limits it.
	Accepted    int
	MaxAttempts int
	// Agent is the agent of the current attempt (empty while queued).
	Agent       string
	SubmittedAt time.Time
	// AssignedAt is when the current attempt was sent to its agent.
	AssignedAt time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
	Context    map[string]any
	// CancelRequested is the reason of a cancel sent to the agent, while the
	// attempt has not ended yet ("" when none was asked for).
	CancelRequested string
}

// API returns the API view, without output.
func (c *Composition) API() api.Composition {
	return api.Composition{
		ID:          c.ID,
		Pool:        c.Pool,
		Selector:    c.Selector,
		Tasks:       c.Tasks,
		State:       c.State,
		Attempt:     c.Attempt,
		MaxAttempts: c.MaxAttempts,
		Agent:       c.Agent,
		SubmittedAt: c.SubmittedAt,
		StartedAt:   c.StartedAt,
		FinishedAt:  c.FinishedAt,
		Error:       c.Error,
		Context:     c.Context,

		CancelRequested: c.CancelRequested,
	}
}

const compositionColumns = `id, pool, selector, tasks, state, attempt, accepted_attempts, max_attempts,
	agent, submitted_at, assigned_at, started_at, finished_at, error, context, cancel_reason`

// Insert stores a new composition.
func (s *Store) Insert(ctx context.Context, c *Composition) error {
	args, err := compositionArgs(c)
	if err != nil {
		return fmt.Errorf("storing composition %s: %w", c.ID, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO compositions (`+compositionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("storing composition %s: %w", c.ID, err)
	}
	return nil
}

// Update writes every field of an existing composition.
func (s *Store) Update(ctx context.Context, c *Composition) error {
	args, err := compositionArgs(c)
	if err != nil {
		return fmt.Errorf("updating composition %s: %w", c.ID, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE compositions SET pool = ?, selector = ?, tasks = ?, state = ?,
		attempt = ?, accepted_attempts = ?, max_attempts = ?, agent = ?, submitted_at = ?, assigned_at = ?,
		started_at = ?, finished_at = ?, error = ?, context = ?, cancel_reason = ? WHERE id = ?`, append(args[1:], args[0])...)
	if err != nil {
		return fmt.Errorf("updating composition %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("updating composition %s: %w", c.ID, ErrNotFound)
	}
	return nil
}

// Get reads one composition; ErrNotFound if there is none with that id.
func (s *Store) Get(ctx context.Context, id string) (*Composition, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+compositionColumns+` FROM compositions WHERE id = ?`, id)
	c, err := scanComposition(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reading composition %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading composition %s: %w", id, err)
	}
	return c, nil
}

// Filter narrows List. Zero fields match everything.
type Filter struct {
	State api.CompositionState
	Pool  string
	// Limit caps the result (0: 100).
	Limit int
}

// List returns compositions newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]*Composition, error) {
	var where []string
	var args []any
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	if f.Pool != "" {
		where = append(where, "pool = ?")
		args = append(args, f.Pool)
	}
	q := `SELECT ` + compositionColumns + ` FROM compositions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY submitted_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	return s.query(ctx, "listing compositions", q, args...)
}

// Active returns every queued, assigned or running composition, oldest first.
func (s *Store) Active(ctx context.Context) ([]*Composition, error) {
	return s.query(ctx, "reading active compositions", `SELECT `+compositionColumns+` FROM compositions
		WHERE state IN (?, ?, ?) ORDER BY submitted_at, id`,
		string(api.CompQueued), string(api.CompAssigned), string(api.CompRunning))
}

// CountByState counts compositions per state.
func (s *Store) CountByState(ctx context.Context) (map[api.CompositionState]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM compositions GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("counting compositions: %w", err)
	}
	defer rows.Close()
	out := map[api.CompositionState]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("counting compositions: %w", err)
		}
		out[api.CompositionState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting compositions: %w", err)
	}
	return out, nil
}

func (s *Store) query(ctx context.Context, what, q string, args ...any) ([]*Composition, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*Composition
	for rows.Next() {
		c, err := scanComposition(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func compositionArgs(c *Composition) ([]any, error) {
	tasks, err := json.Marshal(c.Tasks)
	if err != nil {
		return nil, fmt.Errorf("encoding tasks: %w", err)
	}
	ctxJSON := []byte("{}")
	if len(c.Context) > 0 {
		if ctxJSON, err = json.Marshal(c.Context); err != nil {
			return nil, fmt.Errorf("encoding context: %w", err)
		}
	}
	return []any{c.ID, c.Pool, c.Selector, string(tasks), string(c.State), c.Attempt, c.Accepted,
		c.MaxAttempts, c.Agent, nanos(c.SubmittedAt), nanos(c.AssignedAt), nanos(c.StartedAt),
		nanos(c.FinishedAt), c.Error, string(ctxJSON), c.CancelRequested}, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanComposition(row scanner) (*Composition, error) {
	var c Composition
	var tasks, state, ctxJSON string
	var submitted, assigned, started, finished int64
	err := row.Scan(&c.ID, &c.Pool, &c.Selector, &tasks, &state, &c.Attempt, &c.Accepted, &c.MaxAttempts,
		&c.Agent, &submitted, &assigned, &started, &finished, &c.Error, &ctxJSON, &c.CancelRequested)
	if err != nil {
		return nil, err
	}
	c.State = api.CompositionState(state)
	c.SubmittedAt, c.AssignedAt, c.StartedAt, c.FinishedAt = fromNanos(submitted), fromNanos(assigned), fromNanos(started), fromNanos(finished)
	if err := json.Unmarshal([]byte(tasks), &c.Tasks); err != nil {
		return nil, fmt.Errorf("decoding tasks of composition %s: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(ctxJSON), &c.Context); err != nil {
		return nil, fmt.Errorf("decoding context of composition %s: %w", c.ID, err)
	}
	if len(c.Context) == 0 {
		c.Context = nil
	}
	return &c, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

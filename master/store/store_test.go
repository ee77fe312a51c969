package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sample(id string, state api.CompositionState, at time.Time) *Composition {
	return &Composition{
		ID:       id,
		Pool:     "linux",
		Selector: "os.family=Debian",
		Tasks: []api.Task{
			{Plugin: "shell", Name: "build", Fields: map[string]any{"command": "make", "env": map[string]any{"A": "1"}}},
			{Plugin: "upload"},
		},
		State:       state,
		MaxAttempts: 2,
		SubmittedAt: at,
	}
}

func TestRestartLosesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)

	queued := sample("c-1", api.CompQueued, t0)
	running := sample("c-2", api.CompRunning, t0.Add(time.Second))
	running.Attempt, running.Accepted, running.Agent = 2, 1, "agent-7"
	running.AssignedAt, running.StartedAt = t0.Add(2*time.Second), t0.Add(3*time.Second)
	running.Context = map[string]any{"version": "1.2.3", "n": float64(4)}
	done := sample("c-3", api.CompFailed, t0.Add(2*time.Second))
	done.Attempt, done.Accepted, done.Agent, done.Error = 1, 1, "agent-1", "task 0 exited 2"
	done.FinishedAt = t0.Add(time.Minute)
	for _, c := range []*Composition{queued, running, done} {
		if err := s.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	lines := []api.OutputLine{
		{Attempt: 2, Task: 0, Seq: 1, Stream: "stdout", Line: "hello", At: t0.Add(4 * time.Second)},
		{Attempt: 2, Task: 0, Seq: 2, Stream: "stderr", Line: "warn", At: t0.Add(5 * time.Second)},
	}
	for _, l := range lines {
		if _, err := s.AddOutput(ctx, "c-2", l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	defer s.Close()
	for _, want := range []*Composition{queued, running, done} {
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after reopen composition %s =\n%+v\nwant\n%+v", want.ID, got, want)
		}
	}
	out, err := s.AllOutput(ctx, "c-2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, lines) {
		t.Errorf("after reopen output = %+v, want %+v", out, lines)
	}
	active, err := s.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 2 || active[0].ID != "c-1" || active[1].ID != "c-2" {
		t.Errorf("Active() = %v, want c-1, c-2", ids(active))
	}
}

func TestDuplicateOutputIgnored(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	l := api.OutputLine{Attempt: 1, Task: 0, Seq: 1, Stream: "stdout", Line: "x", At: time.Unix(5, 0).UTC()}
	added, err := s.AddOutput(ctx, "c-1", l)
	if err != nil || !added {
		t.Fatalf("first AddOutput = %v, %v; want true", added, err)
	}
	l.Line = "changed"
	added, err = s.AddOutput(ctx, "c-1", l)
	if err != nil || added {
		t.Fatalf("duplicate AddOutput = %v, %v; want false", added, err)
	}
	l.Attempt = 2 // same seq, other attempt: a different line
	if added, _ := s.AddOutput(ctx, "c-1", l); !added {
		t.Fatal("line of another attempt with the same seq was taken for a duplicate")
	}
	out, _ := s.AllOutput(ctx, "c-1")
	if len(out) != 2 || out[0].Line != "x" {
		t.Fatalf("output = %+v, want the first line kept and the other attempt's", out)
	}
}

func TestOutputCursor(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	for i := 1; i <= 5; i++ {
		s.AddOutput(ctx, "c-1", api.OutputLine{Attempt: 1, Seq: i, Stream: "stdout", Line: strings.Repeat("x", i)})
		s.AddOutput(ctx, "c-other", api.OutputLine{Attempt: 1, Seq: i, Stream: "stdout", Line: "other"})
	}
	first, err := s.Output(ctx, "c-1", 0, 3)
	if err != nil || len(first) != 3 {
		t.Fatalf("Output(after 0, limit 3) = %d lines, %v", len(first), err)
	}
	rest, err := s.Output(ctx, "c-1", first[2].Cursor, 0)
	if err != nil || len(rest) != 2 || rest[0].Seq != 4 || rest[1].Seq != 5 {
		t.Fatalf("Output(after cursor) = %+v, %v; want seq 4 and 5", rest, err)
	}
	none, _ := s.Output(ctx, "c-1", rest[1].Cursor, 0)
	if len(none) != 0 {
		t.Fatalf("Output(after last) = %+v, want nothing", none)
	}
}

func TestListNewestFirstWithFilters(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	t0 := time.Unix(1000, 0).UTC()
	add := func(id, pool string, state api.CompositionState, sec int) {
		c := sample(id, state, t0.Add(time.Duration(sec)*time.Second))
		c.Pool = pool
		if err := s.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	add("c-a", "linux", api.CompQueued, 1)
	add("c-b", "win", api.CompQueued, 2)
	add("c-c", "linux", api.CompSucceeded, 3)
	add("c-d", "linux", api.CompQueued, 4)
	cases := []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"c-d", "c-c", "c-b", "c-a"}},
		{Filter{Pool: "linux"}, []string{"c-d", "c-c", "c-a"}},
		{Filter{State: api.CompQueued}, []string{"c-d", "c-b", "c-a"}},
		{Filter{State: api.CompQueued, Pool: "linux", Limit: 1}, []string{"c-d"}},
		{Filter{Pool: "none"}, nil},
	}
	for _, c := range cases {
		got, err := s.List(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(got), c.want) {
			t.Errorf("List(%+v) = %v, want %v", c.f, ids(got), c.want)
		}
	}
	counts, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[api.CompQueued] != 3 || counts[api.CompSucceeded] != 1 || len(counts) != 2 {
		t.Errorf("CountByState = %v", counts)
	}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	if _, err := s.Get(ctx, "c-nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
	if err := s.Update(ctx, sample("c-nope", api.CompQueued, time.Now())); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update unknown: %v, want ErrNotFound", err)
	}
	if err := s.Insert(ctx, sample("c-1", api.CompQueued, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, sample("c-1", api.CompQueued, time.Now())); err == nil {
		t.Error("inserting a duplicate id succeeded")
	}
}

func TestUpdateWritesEveryField(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	c := sample("c-1", api.CompQueued, time.Unix(1, 0).UTC())
	if err := s.Insert(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.State, c.Attempt, c.Accepted, c.Agent = api.CompSucceeded, 3, 2, "a1"
	c.AssignedAt, c.StartedAt, c.FinishedAt = time.Unix(2, 0).UTC(), time.Unix(3, 0).UTC(), time.Unix(4, 0).UTC()
	c.Error, c.Context, c.CancelRequested = "was lost once", map[string]any{"k": "v"}, "wrong branch"
	if err := s.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("after Update got\n%+v\nwant\n%+v", got, c)
	}
}

// A database written before cancel existed (schema version 2) opens, and its
// compositions read back with no cancel requested.
func TestMigratesVersion2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for v, m := range migrations[:2] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", v+1, err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO compositions (id, pool, tasks, state, max_attempts, submitted_at)
		VALUES ('old-1', 'linux', '[{"plugin":"shell"}]', 'running', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, dir)
	defer s.Close()
	c, err := s.Get(ctx, "old-1")
	if err != nil || c.State != api.CompRunning || c.CancelRequested != "" {
		t.Fatalf("Get of a version-2 row = %+v, %v", c, err)
	}
	c.CancelRequested = "not needed"
	if err := s.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "old-1"); got.CancelRequested != "not needed" {
		t.Errorf("cancel reason after Update = %q", got.CancelRequested)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open on a newer schema: %v, want an error saying so", err)
	}
}

func TestWALMode(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var mode string
	if err := s.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
}

func ids(cs []*Composition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestDrainingAgentsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	at := time.Unix(100, 0).UTC()
	if err := s.SetDraining(ctx, "a1", at); err != nil {
		t.Fatal(err)
	}
	s.SetDraining(ctx, "a1", at.Add(time.Hour)) // again: keeps the first time
	s.SetDraining(ctx, "a2", at)
	s.ClearDraining(ctx, "a2")
	s.Close()
	s = open(t, dir)
	defer s.Close()
	got, err := s.DrainingAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]time.Time{"a1": at}) {
		t.Fatalf("DrainingAgents = %v", got)
	}
}

// PurgeFinished deletes only compositions that ended before the cutoff, with
// their output, oldest first and at most limit at a time; active ones stay
// however old.
func TestPurgeFinished(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	put := func(id string, state api.CompositionState, finished int64) {
		c := sample(id, state, at(1))
		c.FinishedAt = at(finished)
		if finished == 0 {
			c.FinishedAt = time.Time{}
		}
		if err := s.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddOutput(ctx, id, api.OutputLine{Attempt: 1, Seq: 1, Stream: "stdout", Line: "x", At: at(1)}); err != nil {
			t.Fatal(err)
		}
	}
	put("old-ok", api.CompSucceeded, 10)
	put("old-failed", api.CompFailed, 20)
	put("old-cancelled", api.CompCancelled, 30)
	put("new-ok", api.CompSucceeded, 100)
	put("queued", api.CompQueued, 0)
	put("running", api.CompRunning, 0)

	n, err := s.PurgeFinished(ctx, at(50), 2)
	if err != nil || n != 2 {
		t.Fatalf("first PurgeFinished = %d, %v; want 2 (the limit)", n, err)
	}
	if _, err := s.Get(ctx, "old-cancelled"); err != nil {
		t.Errorf("the youngest old composition went first: %v", err)
	}
	if n, err = s.PurgeFinished(ctx, at(50), 2); err != nil || n != 1 {
		t.Fatalf("second PurgeFinished = %d, %v; want 1", n, err)
	}
	if n, err = s.PurgeFinished(ctx, at(50), 2); err != nil || n != 0 {
		t.Fatalf("third PurgeFinished = %d, %v; want 0", n, err)
	}
	for _, id := range []string{"old-ok", "old-failed", "old-cancelled"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) after the purge = %v, want not found", id, err)
		}
		if lines, err := s.Output(ctx, id, 0, 0); err != nil || len(lines) != 0 {
			t.Errorf("output of purged %s = %v, %v; want none", id, lines, err)
		}
	}
	for _, id := range []string{"new-ok", "queued", "running"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("Get(%s) after the purge = %v, want it kept", id, err)
		}
		if lines, _ := s.Output(ctx, id, 0, 0); len(lines) != 1 {
			t.Errorf("output of kept %s = %v, want its line", id, lines)
		}
	}
}

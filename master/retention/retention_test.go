package retention

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/store"
)

// fakeStore records purge calls and answers from a script.
type fakeStore struct {
	mu      sync.Mutex
	befores []time.Time
	limits  []int
	answers []int   // deleted per call; 0 once exhausted
	errs    []error // per call, nil once exhausted
}

func (f *fakeStore) PurgeFinished(_ context.Context, before time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.befores)
	f.befores, f.limits = append(f.befores, before), append(f.limits, limit)
	n := 0
	if i < len(f.answers) {
		n = f.answers[i]
	}
	var err error
	if i < len(f.errs) {
		err = f.errs[i]
	}
	return n, err
}

func (f *fakeStore) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.befores)
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestOnce(t *testing.T) {
	boom := errors.New("disk I/O error")
	for _, tc := range []struct {
		name      string
		cfg       Config
		answers   []int
		errs      []error
		wantN     int
		wantCalls int
		wantErr   string
	}{
		{name: "off", cfg: Config{}, answers: []int{5}, wantN: 0, wantCalls: 0},
		{name: "nothing old", cfg: Config{Retain: time.Hour}, wantN: 0, wantCalls: 1},
		{name: "batches until a short one", cfg: Config{Retain: time.Hour, Batch: 3}, answers: []int{3, 3, 1}, wantN: 7, wantCalls: 3},
		{name: "an exact multiple needs one empty batch", cfg: Config{Retain: time.Hour, Batch: 3}, answers: []int{3, 3}, wantN: 6, wantCalls: 3},
		{name: "error stops the round", cfg: Config{Retain: time.Hour, Batch: 3}, answers: []int{3, 0}, errs: []error{nil, boom},
			wantN: 3, wantCalls: 2, wantErr: "applying the retention of 1h0m0s: disk I/O error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{answers: tc.answers, errs: tc.errs}
			cfg := tc.cfg
			cfg.Now = func() time.Time { return now }
			var purged int
			cfg.Purged = func(n int) { purged += n }
			n, err := Once(context.Background(), st, cfg)
			if n != tc.wantN || st.calls() != tc.wantCalls || purged != tc.wantN {
				t.Errorf("Once = %d with %d calls (metric %d); want %d with %d calls", n, st.calls(), purged, tc.wantN, tc.wantCalls)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Errorf("Once error = %v, want %q", err, tc.wantErr)
			}
			for i, b := range st.befores {
				if !b.Equal(now.Add(-cfg.Retain)) || st.limits[i] != cfg.withDefaults().Batch {
					t.Errorf("call %d: before %v limit %d; want %v and the batch", i, b, st.limits[i], now.Add(-cfg.Retain))
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for retain, every := range map[time.Duration]time.Duration{
		90 * time.Second:    time.Minute, // never more often than a minute
		100 * time.Minute:   10 * time.Minute,
		5 * time.Hour:       30 * time.Minute,
		30 * 24 * time.Hour: time.Hour, // never less often than an hour
	} {
		if got := (Config{Retain: retain}).withDefaults().Every; got != every {
			t.Errorf("Every for Retain %s = %s, want %s", retain, got, every)
		}
	}
	if got := (Config{}).withDefaults().Batch; got != 500 {
		t.Errorf("default Batch = %d, want 500", got)
	}
}

// Run purges at once, keeps going after an error, and returns when ctx ends.
func TestRunRetriesAfterErrors(t *testing.T) {
	st := &fakeStore{errs: []error{errors.New("locked"), errors.New("locked")}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, st, Config{Retain: time.Hour, Every: time.Millisecond})
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for st.calls() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d purge calls, want at least 4 (two failing, then more)", st.calls())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunOffReturnsAtOnce(t *testing.T) {
	st := &fakeStore{}
	Run(context.Background(), st, Config{}) // would block forever if it ticked
	if st.calls() != 0 {
		t.Errorf("%d purge calls with retention off, want 0", st.calls())
	}
}

// Against the real store: a composition finished 31 days ago goes, with its
// output; one finished yesterday and a running one from long ago stay.
func TestOnceOnRealStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(id string, state api.CompositionState, finished time.Time) {
		c := &store.Composition{ID: id, Pool: "linux", Tasks: []api.Task{{Plugin: "shell"}}, State: state,
			MaxAttempts: 1, SubmittedAt: now.Add(-60 * 24 * time.Hour), FinishedAt: finished}
		if err := st.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddOutput(ctx, id, api.OutputLine{Attempt: 1, Seq: 1, Stream: "stdout", Line: id}); err != nil {
			t.Fatal(err)
		}
	}
	put("month-old", api.CompSucceeded, now.Add(-31*24*time.Hour))
	put("yesterday", api.CompFailed, now.Add(-24*time.Hour))
	put("still-running", api.CompRunning, time.Time{})
	n, err := Once(ctx, st, Config{Retain: 30 * 24 * time.Hour, Now: func() time.Time { return now }})
	if err != nil || n != 1 {
		t.Fatalf("Once = %d, %v; want 1", n, err)
	}
	if _, err := st.Get(ctx, "month-old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("month-old after the purge: %v, want not found", err)
	}
	for _, id := range []string{"yesterday", "still-running"} {
		if _, err := st.Get(ctx, id); err != nil {
			t.Errorf("%s after the purge: %v", id, err)
		}
	}
}

package providers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchReturnsSucceededInOrderAndJoinsFailures(t *testing.T) {
	boom := NewError(KindNotFound, "resume", "b", errors.New("no such instance"))
	ok, err := Batch(context.Background(), "resuming", []string{"a", "b", "c"}, 2, func(id string) error {
		if id == "b" {
			return boom
		}
		return nil
	})
	if !slices.Equal(ok, []string{"a", "c"}) {
		t.Errorf("succeeded = %v, want [a c]", ok)
	}
	if !IsNotFound(err) || !strings.Contains(err.Error(), "resuming instance b: ") {
		t.Errorf("err = %v, want a not-found error naming b", err)
	}
}

func TestBatchStopsStartingOnceTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	ok, err := Batch(ctx, "destroying", []string{"a", "b", "c"}, 1, func(id string) error {
		calls.Add(1)
		cancel()
		return nil
	})
	if calls.Load() != 1 || !slices.Equal(ok, []string{"a"}) || !errors.Is(err, context.Canceled) {
		t.Errorf("calls %d, succeeded %v, err %v; want one call, [a], and the rest cancelled", calls.Load(), ok, err)
	}
}

func TestParallelHonoursItsLimit(t *testing.T) {
	var running, most atomic.Int32
	Parallel(20, 3, func(int) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
	})
	if most.Load() > 3 || most.Load() < 1 {
		t.Errorf("at most %d ran at once, want 1..3", most.Load())
	}
}

func TestKeyLocksSerialiseOneKeyAndForgetIt(t *testing.T) {
	var k KeyLocks
	var inside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			defer k.Lock("x")()
			if inside.Add(1) != 1 {
				t.Error("two holders of one key at once")
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
		})
	}
	wg.Wait()
	unlockY := k.Lock("y")
	unlockX := k.Lock("x") // another key is not blocked by y
	unlockX()
	unlockY()
	if len(k.locks) != 0 {
		t.Errorf("%d locks left, want none once unused", len(k.locks))
	}
}

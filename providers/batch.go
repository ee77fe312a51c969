package providers

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// DefaultParallel is how many instances a provider works on at once in one
// batch call: a stop can take a grace period, so one slow machine must not
// hold the others up, and a cloud API must not be flooded either.
const DefaultParallel = 8

// Parallel runs fn(0), ..., fn(n-1), at most limit at once, and returns when
// all have returned.
func Parallel(n, limit int, fn func(i int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// Batch runs fn for every id, at most limit at once, and returns the batch
// result of the contract: the ids that succeeded, in order, and errors.Join
// of the failures, each worded "<verb> instance <id>: <cause>". Once ctx has
// ended, the ids not yet started fail with its error.
func Batch(ctx context.Context, verb string, ids []string, limit int, fn func(id string) error) ([]string, error) {
	errs := make([]error, len(ids))
	Parallel(len(ids), limit, func(i int) {
		err := ctx.Err()
		if err == nil {
			err = fn(ids[i])
		}
		if err != nil {
			errs[i] = fmt.Errorf("%s instance %s: %w", verb, ids[i], err)
		}
	})
	var ok []string
	for i, id := range ids {
		if errs[i] == nil {
			ok = append(ok, id)
		}
	}
	return ok, errors.Join(errs...)
}

// KeyLocks holds one mutex per key (an instance name or id), made on first
// use and dropped once nobody holds or waits for it. The zero value is ready.
type KeyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int // holders and waiters
}

// Lock locks key and returns its unlock.
func (k *KeyLocks) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l, ok := k.locks[key]
	if !ok {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

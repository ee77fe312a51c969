package broker

import (
	"math/rand/v2"
	"time"
)

// backoff is the delay before reconnect attempt number attempt (0-based):
// full jitter, uniform in [0, min(max, min·2^attempt)]. rnd(n) returns a
// value in [0, n); nil means math/rand/v2.
func backoff(attempt int, minDelay, maxDelay time.Duration, rnd func(n int64) int64) time.Duration {
	ceil := minDelay
	for i := 0; i < attempt && ceil < maxDelay; i++ {
		ceil *= 2
	}
	if ceil > maxDelay {
		ceil = maxDelay
	}
	if ceil <= 0 {
		return 0
	}
	if rnd == nil {
		rnd = rand.Int64N
	}
	return time.Duration(rnd(int64(ceil) + 1))
}

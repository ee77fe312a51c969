package e2e

import "time"

// ticker calls a function at once and then every 100ms on its own
// goroutine until halted; the samplers embed it.
type ticker struct {
	stop chan struct{}
	done chan struct{}
}

// start runs once until halt.
func (k *ticker) start(once func()) {
	k.stop, k.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(k.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			once()
			select {
			case <-k.stop:
				return
			case <-tick.C:
			}
		}
	}()
}

// halt stops the loop and waits for it; it may be called more than once.
func (k *ticker) halt() {
	select {
	case <-k.stop:
	default:
		close(k.stop)
	}
	<-k.done
}

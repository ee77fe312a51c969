package dispatch

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/store"
	"github.com/agentcloud/agentcloud/master/wire"
)

// memBus is an in-memory broker: one goroutine per destination delivers its
// messages in order to the destination's handler.
type memBus struct {
	mu    sync.Mutex
	dests map[string]chan []byte
	ctx   context.Context
}

func (b *memBus) ch(dest string) chan []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.dests[dest]
	if !ok {
		c = make(chan []byte, 100000)
		b.dests[dest] = c
	}
	return c
}

func (b *memBus) Send(_ context.Context, dest string, body []byte) error {
	b.ch(dest) <- body
	return nil
}

func (b *memBus) Subscribe(dest string, h func(context.Context, []byte) error) error {
	c := b.ch(dest)
	go func() {
		for {
			select {
			case <-b.ctx.Done():
				return
			case body := <-c:
				h(b.ctx, body)
			}
		}
	}()
	return nil
}

// BenchmarkDispatchThroughputMemBus is BenchmarkDispatchThroughput of package
// server without the broker: the dispatcher and SQLite alone, 200 in-process
// agents answering accepted and done at once.
func BenchmarkDispatchThroughputMemBus(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus := &memBus{dests: map[string]chan []byte{}, ctx: ctx}
	st, err := store.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d := New(Config{Prefix: "bench"}, st, bus)
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	master := wire.MasterQueue("bench")
	for i := range 200 {
		id := fmt.Sprintf("a%03d", i)
		bus.Subscribe(wire.AgentQueue("bench", id), func(ctx context.Context, body []byte) error {
			msg, _ := wire.Decode(body)
			if as, ok := msg.(*wire.Assign); ok {
				acc, _ := wire.Encode(&wire.Accepted{Type: wire.TypeAccepted, Agent: id, Ref: as.Ref})
				done, _ := wire.Encode(&wire.Done{Type: wire.TypeDone, Agent: id, Ref: as.Ref, Result: wire.ResultSucceeded})
				bus.Send(ctx, master, acc)
				bus.Send(ctx, master, done)
			}
			return nil
		})
		reg, _ := wire.Encode(&wire.Register{Type: wire.TypeRegister, Agent: id, Pool: "bench", Plugins: []string{"shell"}})
		bus.Send(ctx, master, reg)
	}
	for len(d.Pools(ctx).Pools) == 0 || len(d.Pools(ctx).Pools[0].Agents) < 200 {
		time.Sleep(time.Millisecond)
	}
	req := api.CompositionRequest{Pool: "bench", Tasks: []api.Task{{Plugin: "shell"}}}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := d.Submit(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	for {
		counts, err := st.CountByState(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if counts[api.CompSucceeded] == b.N {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "compositions/s")
}

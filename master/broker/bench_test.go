package broker

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSendReceive measures messages through the embedded broker, from a
// sending client to a subscribed one: "pingpong" waits for each message
// before sending the next (round-trip latency), "pipelined" sends all and
// then waits (throughput); each with and without receipts.
func BenchmarkSendReceive(b *testing.B) {
	for _, receipts := range []bool{false, true} {
		for _, pipelined := range []bool{false, true} {
			name := "pingpong"
			if pipelined {
				name = "pipelined"
			}
			if receipts {
				name += "/receipts"
			}
			b.Run(name, func(b *testing.B) { benchSendReceive(b, receipts, pipelined) })
		}
	}
}

func benchSendReceive(b *testing.B, receipts, pipelined bool) {
	srv := startServer(b, "127.0.0.1:0", nil)
	recv := dialClient(b, Config{URL: srv.URL()}, nil)
	sender := dialClient(b, Config{URL: srv.URL(), Receipts: receipts}, nil)
	got := make(chan struct{}, 1024)
	if err := recv.Subscribe("/queue/bench", func(context.Context, []byte) error {
		got <- struct{}{}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	body := []byte(`{"type":"output","agent":"a1","composition":"c1","attempt":1,"data":"` + strconv.Itoa(1e6) + `"}`)
	wait := func() {
		select {
		case <-got:
		case <-time.After(waitLong):
			b.Fatal("message lost")
		}
	}
	connected(b, recv)
	connected(b, sender)
	b.ResetTimer()
	start := time.Now()
	if pipelined {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range b.N {
				wait()
			}
		}()
		for range b.N {
			if err := sender.Send(ctx, "/queue/bench", body); err != nil {
				b.Fatal(err)
			}
		}
		<-done
	} else {
		for range b.N {
			if err := sender.Send(ctx, "/queue/bench", body); err != nil {
				b.Fatal(err)
			}
			wait()
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

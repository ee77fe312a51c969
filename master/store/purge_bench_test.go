package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// BenchmarkPurgeBatch measures one retention batch: 500 finished
// compositions with 20 output lines each deleted in one transaction, which
// is how long the dispatcher's writes may wait on the purge (ns/op).
func BenchmarkPurgeBatch(b *testing.B) {
	const batch, lines = 500, 20
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	old := time.Unix(1000, 0).UTC()
	fill := func(round int) {
		for i := range batch {
			id := fmt.Sprintf("c-%d-%d", round, i)
			c := sample(id, api.CompSucceeded, old)
			c.FinishedAt = old.Add(time.Second)
			if err := s.Insert(ctx, c); err != nil {
				b.Fatal(err)
			}
			for seq := range lines {
				if _, err := s.AddOutput(ctx, id, api.OutputLine{Attempt: 1, Seq: seq, Stream: "stdout", Line: "a line of build output", At: old}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		fill(i)
		b.StartTimer()
		n, err := s.PurgeFinished(ctx, old.Add(time.Hour), batch)
		if err != nil || n != batch {
			b.Fatalf("PurgeFinished = %d, %v; want %d", n, err, batch)
		}
	}
}

package chaos

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkReconnectAfterBrokerRestart measures, per SIGKILL and restart of
// ActiveMQ, the time from the broker answering STOMP again until all 10
// agents have registered again with the master (reconnect backoff included:
// 200ms doubling up to 10s, full jitter). Run it with a fixed count:
//
//	go test -run '^$' -bench Reconnect -benchtime 3x ./master/chaos/
func BenchmarkReconnectAfterBrokerRestart(b *testing.B) {
	need(b)
	dir := b.TempDir()
	m := startMaster(b, filepath.Join(dir, "master"), "bench", pkg.amq.URL, credsFlagOrFile)
	ids := make([]string, 10)
	agents := make([]*agent, len(ids))
	for i := range ids {
		ids[i] = fmt.Sprintf("b%02d", i+1)
		agents[i] = startAgent(b, filepath.Join(dir, "agents"), ids[i], "bench", "linux", pkg.amq.URL, credsFlagOrFile)
	}
	waitAgents(b, m, ids...)
	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		time.Sleep(2 * time.Second) // let every connection settle: backoff starts afresh
		took = append(took, restartBroker(b, m, agents))
	}
	b.StopTimer()
	slices.Sort(took)
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	b.ReportMetric(sum.Seconds()/float64(len(took)), "s-reconnect-mean")
	b.ReportMetric(took[len(took)-1].Seconds(), "s-reconnect-max")
	b.Logf("reconnect after broker restart (%d agents): %v", len(ids), took)
}

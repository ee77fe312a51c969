package docker

import (
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// minTrials is the least number of trials a queue-to-running benchmark times.
const minTrials = 20

// brokerStub is a TCP listener on 127.0.0.1 standing in for the broker: it
// records when each connection arrives (the agent in a container dialled it:
// its process is up and configured) and closes it.
type brokerStub struct {
	ln    net.Listener
	conns chan time.Time
}

func newBrokerStub(tb testing.TB) *brokerStub {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &brokerStub{ln: ln, conns: make(chan time.Time, 1024)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- time.Now()
			_ = c.Close()
		}
	}()
	tb.Cleanup(func() { _ = ln.Close() })
	return s
}

func (s *brokerStub) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// drain forgets the connections seen so far.
func (s *brokerStub) drain() {
	for {
		select {
		case <-s.conns:
		default:
			return
		}
	}
}

// next waits for the next connection and returns its time.
func (s *brokerStub) next(tb testing.TB) time.Time {
	tb.Helper()
	select {
	case at := <-s.conns:
		return at
	case <-time.After(30 * time.Second):
		tb.Fatal("the agent did not dial the broker within 30s")
		return time.Time{}
	}
}

// waitRunning polls List until id is running.
func waitRunning(tb testing.TB, p *Provider, owner, id string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		insts, err := p.List(tb.Context(), owner)
		if err != nil {
			tb.Fatal(err)
		}
		for _, in := range insts {
			if in.ID == id && in.State == providers.StateRunning {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not running after 30s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// report prints the medians of the trials as the benchmark's metrics.
func report(b *testing.B, prefix string, running, agent []time.Duration) {
	b.Helper()
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(float64(med(running).Nanoseconds()), "ns/op")
	b.ReportMetric(float64(med(running).Microseconds())/1000, prefix+"-to-running-median-ms")
	b.Logf("%s: %d trials; to running: median %s, min %s, max %s", prefix, len(running), med(running), slices.Min(running), slices.Max(running))
	if len(agent) > 0 {
		b.ReportMetric(float64(med(agent).Microseconds())/1000, prefix+"-to-agent-dial-median-ms")
		b.Logf("%s: to the agent dialling the broker: median %s, min %s, max %s", prefix, med(agent), slices.Min(agent), slices.Max(agent))
	}
}

// agentReq is a request for a real agent container dialling the stub.
func agentReq(owner, name string, stub *brokerStub) providers.CreateRequest {
	return providers.CreateRequest{
		Name: name, Owner: owner, Installation: "inst", Pool: "pool-a",
		Image: env.agentImage, Env: agentEnv(stub.port()),
	}
}

// BenchmarkCreateToRunning times a new agent container from the Create call to
// List showing it running, and to its agent dialling the broker. The image is
// local (no pull). Each trial destroys its container afterwards, untimed.
func BenchmarkCreateToRunning(b *testing.B) {
	needEngine(b)
	owner := newOwner(b)
	p := newTestProvider(b, testConfig())
	ctx := b.Context()
	var running, agent []time.Duration
	for i := range max(b.N, minTrials) {
		stub := newBrokerStub(b) // one per trial: no late dial of the previous agent counts
		t0 := time.Now()
		insts, err := p.Create(ctx, []providers.CreateRequest{agentReq(owner, owner+"-"+strconv.Itoa(i), stub)})
		if err != nil {
			b.Fatal(err)
		}
		waitRunning(b, p, owner, insts[0].ID)
		running = append(running, time.Since(t0))
		agent = append(agent, stub.next(b).Sub(t0))
		if _, err := p.Destroy(ctx, []string{insts[0].ID}); err != nil {
			b.Fatal(err)
		}
		_ = stub.ln.Close()
	}
	report(b, "create", running, agent)
}

// BenchmarkResumeToRunning times a stopped agent container (suspend mode stop)
// from the Resume call to List showing it running, and to its agent dialling
// the broker. The stop before each trial is untimed.
func BenchmarkResumeToRunning(b *testing.B) {
	needEngine(b)
	owner := newOwner(b)
	p := newTestProvider(b, testConfig())
	ctx := b.Context()
	stub := newBrokerStub(b)
	insts, err := p.Create(ctx, []providers.CreateRequest{agentReq(owner, owner+"-r", stub)})
	if err != nil {
		b.Fatal(err)
	}
	id := insts[0].ID
	stub.next(b)
	var running, agent []time.Duration
	for range max(b.N, minTrials) {
		if _, err := p.Suspend(ctx, providers.SuspendStop, []string{id}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // let the last accepted dial land, then forget it
		stub.drain()
		t0 := time.Now()
		if _, err := p.Resume(ctx, []string{id}); err != nil {
			b.Fatal(err)
		}
		waitRunning(b, p, owner, id)
		running = append(running, time.Since(t0))
		agent = append(agent, stub.next(b).Sub(t0))
	}
	report(b, "resume", running, agent)
}

// BenchmarkUnpauseToRunning times a paused agent container (suspend mode
// suspend) from the Resume call to List showing it running. Its agent process
// never stopped, so there is no new dial to time.
func BenchmarkUnpauseToRunning(b *testing.B) {
	needEngine(b)
	owner := newOwner(b)
	p := newTestProvider(b, testConfig())
	ctx := b.Context()
	stub := newBrokerStub(b)
	insts, err := p.Create(ctx, []providers.CreateRequest{agentReq(owner, owner+"-u", stub)})
	if err != nil {
		b.Fatal(err)
	}
	id := insts[0].ID
	var running []time.Duration
	for range max(b.N, minTrials) {
		if _, err := p.Suspend(ctx, providers.SuspendSuspend, []string{id}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := p.Resume(ctx, []string{id}); err != nil {
			b.Fatal(err)
		}
		waitRunning(b, p, owner, id)
		running = append(running, time.Since(t0))
	}
	report(b, "unpause", running, nil)
}

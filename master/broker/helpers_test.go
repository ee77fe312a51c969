package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitLong bounds waits for things that must happen; it is a liveness bound,
// not a speed expectation.
const waitLong = 15 * time.Second

// testLog logs to t.Log (debug level with BROKER_TEST_DEBUG=1) and drops
// lines from goroutines that outlive the test.
func testLog(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.finish) // registered first, so it runs after every other cleanup
	level := slog.LevelInfo
	if os.Getenv("BROKER_TEST_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// freeAddr returns a 127.0.0.1 address nothing listens on (now).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServer starts an embedded broker closed at the end of the test.
func startServer(t testing.TB, addr string, log *slog.Logger) *Server {
	t.Helper()
	s, err := StartEmbedded(context.Background(), addr, log)
	if err != nil {
		t.Fatalf("StartEmbedded(%s): %v", addr, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dialClient dials with fast reconnects unless cfg says otherwise; the client
// is closed at the end of the test.
func dialClient(t testing.TB, cfg Config, log *slog.Logger) *Client {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 10 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 200 * time.Millisecond
	}
	c, err := Dial(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("Dial(%s): %v", cfg.URL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// connected waits for c's connection.
func connected(t testing.TB, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

// send sends or fails the test.
func send(t testing.TB, c *Client, dest, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.Send(ctx, dest, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

var barrierSeq atomic.Int64

// barrier returns once the broker has processed every frame c sent before,
// subscriptions included: a receipted SEND is answered only after the
// broker took the earlier frames (c must have Receipts).
func barrier(t testing.TB, c *Client) {
	t.Helper()
	if !c.cfg.Receipts {
		t.Fatal("barrier needs a client with Receipts")
	}
	send(t, c, fmt.Sprintf("/queue/test.barrier.%d", barrierSeq.Add(1)), "sync")
}

// inbox collects message bodies from a Handler.
type inbox struct{ ch chan string }

func newInbox() *inbox { return &inbox{ch: make(chan string, 10000)} }

func (in *inbox) handler(ctx context.Context, body []byte) error {
	in.ch <- string(body)
	return nil
}

// expect waits for the next body and checks it.
func (in *inbox) expect(t testing.TB, want string) {
	t.Helper()
	select {
	case got := <-in.ch:
		if got != want {
			t.Fatalf("received %q, want %q", got, want)
		}
	case <-time.After(waitLong):
		t.Fatalf("did not receive %q", want)
	}
}

// eventually polls cond until it holds, or fails the test.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settledGoroutines is the goroutine count once it stops changing.
func settledGoroutines() int {
	n, _ := ourGoroutines()
	for range 20 {
		time.Sleep(20 * time.Millisecond)
		m, _ := ourGoroutines()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// stompSubscriptionLeak marks go-stomp's per-subscription reader. go-stomp
// v3.1.5 never ends it when the connection dies while its SUBSCRIBE still
// waits in the connection's write queue (the I/O loop returns without
// draining the queue, so nothing ever reaches the reader's channel). A
// client closed mid-reconnect can hit that window; the goroutine is the
// library's, and session.drain already stops ours from waiting on it.
const stompSubscriptionLeak = "github.com/go-stomp/stomp/v3.(*Subscription).readLoop("

// ourGoroutines counts the running goroutines other than go-stomp's
// subscription readers, and returns every goroutine's stack.
func ourGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && !strings.Contains(g, stompSubscriptionLeak) {
			count++
		}
	}
	return count, string(buf)
}

// noGoroutinesAbove waits until at most base goroutines of ours run (see
// ourGoroutines), or fails the test with every goroutine's stack.
func noGoroutinesAbove(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, stacks := ourGoroutines()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running (go-stomp's subscription readers not counted), want at most %d:\n%s", n, base, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

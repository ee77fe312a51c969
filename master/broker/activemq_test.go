package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"

	"github.com/agentcloud/agentcloud/master/broker/activemqtest"
	"github.com/agentcloud/agentcloud/master/broker/brokertest"
)

// The tests here run against a real ActiveMQ (DESIGN.md §5): the package's
// shared broker for those that only need one, a private broker for those
// that kill it.

func TestMain(m *testing.M) {
	code := m.Run()
	sharedAMQ.stop()
	os.Exit(code)
}

// sharedAMQ is the package's broker: AGENTCLOUD_ACTIVEMQ_URL, or a private
// one started on first use and killed by TestMain.
var sharedAMQ amqOnce

type amqOnce struct {
	mu sync.Mutex
	b  *activemqtest.Broker
	ep *activemqtest.Endpoint
}

func (o *amqOnce) get(t *testing.T) activemqtest.Endpoint {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ep != nil {
		return *o.ep
	}
	if os.Getenv(activemqtest.EnvURL) != "" {
		ep := activemqtest.Shared(t)
		o.ep = &ep
		return ep
	}
	if why := activemqtest.Missing(); why != "" {
		activemqtest.SkipOrFail(t, why)
	}
	dir, err := os.MkdirTemp("", "broker-activemq-")
	if err != nil {
		t.Fatal(err)
	}
	b, err := activemqtest.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatal(err)
	}
	o.b, o.ep = b, &b.Endpoint
	return b.Endpoint
}

func (o *amqOnce) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.b != nil {
		_ = o.b.Kill()
		_ = os.RemoveAll(o.b.Base)
	}
}

// amqConfig is a client configuration for ep.
func amqConfig(ep activemqtest.Endpoint, name string) Config {
	return Config{URL: ep.URL, Login: ep.Login, Passcode: ep.Passcode, ClientAck: true, Receipts: true, Name: name}
}

var destSeq atomic.Int64

// uniqueQueue is a queue no other test (or earlier run on a shared broker) uses.
func uniqueQueue(t *testing.T) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/queue/brokertest.%s.%d.%d", name, time.Now().UnixNano(), destSeq.Add(1))
}

// expectAfterRedeliveries waits for want, accepting before it the message
// handled last before a broker crash: ActiveMQ persists acknowledgements
// lazily, so one that arrived a moment before a SIGKILL may be forgotten and
// its message delivered again (at least once; the application dedupes).
func (in *inbox) expectAfterRedeliveries(t *testing.T, want, handledLast string) {
	t.Helper()
	for {
		select {
		case got := <-in.ch:
			if got == handledLast {
				t.Logf("%q delivered again after the restart (its acknowledgement was lost with the broker)", got)
				continue
			}
			if got != want {
				t.Fatalf("received %q, want %q", got, want)
			}
			return
		case <-time.After(waitLong):
			t.Fatalf("did not receive %q", want)
		}
	}
}

// noMessage checks that nothing arrives for a while.
func (in *inbox) noMessage(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-in.ch:
		t.Fatalf("received %q, want nothing", got)
	case <-time.After(d):
	}
}

// An idle connection to ActiveMQ stays up: ActiveMQ beats only after a whole
// period without writing, so its first beat comes two periods after
// CONNECTED; with "heart-beat:hb,hb" go-stomp gives up after 1.5 periods
// and every idle connection dropped and reconnected in a loop.
func TestActiveMQIdleConnectionKeepsHeartBeating(t *testing.T) {
	ep := sharedAMQ.get(t)
	log := testLog(t)
	cfg := amqConfig(ep, "idle")
	cfg.HeartBeat = 400 * time.Millisecond
	c := dialClient(t, cfg, log)
	in := newInbox()
	if err := c.Subscribe(uniqueQueue(t), in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, c)
	time.Sleep(10 * cfg.HeartBeat)
	if !c.Connected() || c.Reconnects() != 0 {
		t.Fatalf("idle connection dropped: connected %v, reconnects %d", c.Connected(), c.Reconnects())
	}
}

// Wrong credentials: the client never connects, and keeps trying.
func TestActiveMQRejectsWrongPasscode(t *testing.T) {
	ep := sharedAMQ.get(t)
	cfg := amqConfig(ep, "intruder")
	cfg.Passcode = "wrong-" + cfg.Passcode
	c := dialClient(t, cfg, testLog(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitConnected with a wrong passcode = %v, want a deadline (never connected)", err)
	}

	ok := dialClient(t, amqConfig(ep, "right"), testLog(t))
	connected(t, ok)
}

// Prefetch 1: a consumer busy with one message gets no other; a second
// consumer of the queue takes the next one. With ActiveMQ's default prefetch
// (1000) the busy consumer would hold both.
func TestActiveMQPrefetchOne(t *testing.T) {
	ep := sharedAMQ.get(t)
	log := testLog(t)
	q := uniqueQueue(t)
	release := make(chan struct{})
	defer close(release)
	busy := make(chan string, 10)
	a := dialClient(t, amqConfig(ep, "a"), log)
	if err := a.Subscribe(q, func(ctx context.Context, body []byte) error {
		busy <- string(body)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	connected(t, a)
	barrier(t, a)
	send(t, a, q, "first")
	select {
	case got := <-busy:
		if got != "first" {
			t.Fatalf("a received %q first", got)
		}
	case <-time.After(waitLong):
		t.Fatal("a received nothing")
	}
	b := dialClient(t, amqConfig(ep, "b"), log)
	in := newInbox()
	if err := b.Subscribe(q, in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, b)
	barrier(t, b)
	send(t, b, q, "second")
	in.expect(t, "second")
}

// A message whose handler never finished is delivered again when the
// connection is lost (client-individual acks: at least once), and after that
// processed once.
func TestActiveMQUnackedMessageRedeliveredAfterCut(t *testing.T) {
	ep := sharedAMQ.get(t)
	log := testLog(t)
	proxy := brokertest.StartProxy(t, strings.TrimPrefix(ep.URL, "stomp://"))
	q := uniqueQueue(t)
	cfg := amqConfig(ep, "consumer")
	cfg.URL = proxy.URL()
	c := dialClient(t, cfg, log)
	var calls atomic.Int32
	firstStarted := make(chan struct{})
	unstick := make(chan struct{})
	got := make(chan string, 10)
	if err := c.Subscribe(q, func(ctx context.Context, body []byte) error {
		if calls.Add(1) == 1 {
			close(firstStarted)
			select { // stuck until after the cut: never acknowledged
			case <-unstick:
			case <-ctx.Done():
			}
			return errors.New("interrupted")
		}
		got <- string(body)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	connected(t, c)
	barrier(t, c)

	// A second client, through the same kind of path, takes the redelivery.
	other := dialClient(t, amqConfig(ep, "other"), log)
	in := newInbox()
	send(t, other, q, "job")
	select {
	case <-firstStarted:
	case <-time.After(waitLong):
		t.Fatal("the message was not delivered")
	}
	if err := other.Subscribe(q, in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, other)
	barrier(t, other)
	in.noMessage(t, 500*time.Millisecond) // held unacknowledged by c
	if n := proxy.Cut(1); n != 1 {
		t.Fatalf("cut %d connections, want 1", n)
	}
	close(unstick)
	// Either consumer may take it now; exactly one does.
	select {
	case body := <-in.ch:
		if body != "job" {
			t.Fatalf("redelivered %q", body)
		}
	case body := <-got:
		if body != "job" {
			t.Fatalf("redelivered %q", body)
		}
	case <-time.After(waitLong):
		t.Fatal("the unacknowledged message was not delivered again after the cut")
	}
	time.Sleep(500 * time.Millisecond)
	if len(in.ch)+len(got) != 0 {
		t.Fatalf("the message came more than twice in all")
	}
}

// SubscribeAtMostOnce acknowledges before the handler runs: a consumer that
// dies while handling never causes a second delivery.
func TestActiveMQAtMostOnceNotRedelivered(t *testing.T) {
	ep := sharedAMQ.get(t)
	log := testLog(t)
	q := uniqueQueue(t)
	c, err := Dial(context.Background(), amqConfig(ep, "dies"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	started := make(chan struct{})
	if err := c.SubscribeAtMostOnce(q, func(ctx context.Context, body []byte) error {
		close(started)
		<-ctx.Done() // the process "dies" here: Close below
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	connected(t, c)
	barrier(t, c)
	send(t, c, q, "job")
	select {
	case <-started:
	case <-time.After(waitLong):
		t.Fatal("the message was not delivered")
	}
	// The ACK went out on this connection before the handler ran: a receipt
	// for a later frame on it proves the broker has it. Then drop the
	// connection as a crash would.
	barrier(t, c)
	_ = c.Close()

	other := dialClient(t, amqConfig(ep, "other"), log)
	in := newInbox()
	if err := other.Subscribe(q, in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, other)
	barrier(t, other)
	in.noMessage(t, time.Second)
	send(t, other, q, "next") // the queue works: only the handled one is gone
	in.expect(t, "next")
}

// Messages queued with no consumer survive a SIGKILL of the broker: the
// client sends them persistent. The control message, sent without the
// persistent header, is gone, which shows what the header is for.
func TestActiveMQPersistentMessagesSurviveKill(t *testing.T) {
	b := activemqtest.Start(t)
	log := testLog(t)
	q := uniqueQueue(t)
	c := dialClient(t, amqConfig(b.Endpoint, "producer"), log)
	connected(t, c)
	for i := range 5 {
		send(t, c, q, fmt.Sprintf("m%d", i))
	}
	raw, err := stomp.Dial("tcp", b.Addr, stomp.ConnOpt.Login(b.Login, b.Passcode))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Send(q, "", []byte("transient"), stomp.SendOpt.Receipt); err != nil {
		t.Fatal(err)
	}
	_ = raw.Disconnect()

	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the client sees the broker gone", func() bool { return !c.Connected() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}

	in := newInbox()
	if err := c.Subscribe(q, in.handler); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		in.expect(t, fmt.Sprintf("m%d", i))
	}
	in.noMessage(t, 500*time.Millisecond)
	if c.Reconnects() < 1 {
		t.Errorf("Reconnects() = %d after a broker restart", c.Reconnects())
	}
}

// After a broker restart the client reconnects and subscribes again, a send
// made during the outage waits and goes through, and a clean stop (stop.sh)
// behaves the same.
func TestActiveMQRestartReconnectsAndResubscribes(t *testing.T) {
	b := activemqtest.Start(t)
	log := testLog(t)
	q := uniqueQueue(t)
	c := dialClient(t, amqConfig(b.Endpoint, "agent"), log)
	in := newInbox()
	if err := c.Subscribe(q, in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, c)
	last := "before"
	send(t, c, q, last)
	in.expect(t, last)

	for round, down := range []func() error{
		b.Kill,
		func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return b.Stop(ctx)
		},
	} {
		if err := down(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the client sees the broker gone", func() bool { return !c.Connected() })
		sent := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sent <- c.Send(ctx, q, []byte(fmt.Sprintf("during %d", round)))
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := b.Start(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		connected(t, c)
		if err := <-sent; err != nil {
			t.Fatalf("send during the outage: %v", err)
		}
		in.expectAfterRedeliveries(t, fmt.Sprintf("during %d", round), last)
		other := dialClient(t, amqConfig(b.Endpoint, "master"), log)
		last = fmt.Sprintf("after %d", round)
		send(t, other, q, last)
		in.expect(t, last)
	}
	if got := c.Reconnects(); got != 2 {
		t.Errorf("Reconnects() = %d, want 2", got)
	}
}

// With QueueTTL, a message nobody consumed in time is dropped by ActiveMQ
// (messages to an agent that never comes back do not pile up); without, it
// waits for ever.
func TestActiveMQQueueTTLExpiresUnconsumed(t *testing.T) {
	ep := sharedAMQ.get(t)
	log := testLog(t)
	q := uniqueQueue(t)
	cfg := amqConfig(ep, "master")
	cfg.QueueTTL = 500 * time.Millisecond
	short := dialClient(t, cfg, log)
	connected(t, short)
	send(t, short, q, "expires")
	plain := dialClient(t, amqConfig(ep, "plain"), log)
	connected(t, plain)
	send(t, plain, q, "stays")
	time.Sleep(1500 * time.Millisecond)

	in := newInbox()
	if err := plain.Subscribe(q, in.handler); err != nil {
		t.Fatal(err)
	}
	in.expect(t, "stays")
	in.noMessage(t, 500*time.Millisecond)
}

package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"
)

func TestQueueDeliversEachMessageToOneSubscriber(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	a, b := newInbox(), newInbox()
	subA := dialClient(t, Config{URL: srv.URL(), Name: "a"}, log)
	subB := dialClient(t, Config{URL: srv.URL(), Name: "b"}, log)
	pub := dialClient(t, Config{URL: srv.URL(), Name: "pub"}, log)
	for _, c := range []struct {
		cl *Client
		in *inbox
	}{{subA, a}, {subB, b}} {
		if err := c.cl.Subscribe("/queue/work", c.in.handler); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20
	for i := range n {
		send(t, pub, "/queue/work", fmt.Sprintf("m%02d", i))
	}
	var got []string
	for len(got) < n {
		select {
		case m := <-a.ch:
			got = append(got, m)
		case m := <-b.ch:
			got = append(got, m)
		case <-time.After(waitLong):
			t.Fatalf("received %d of %d messages: %v", len(got), n, got)
		}
	}
	sort.Strings(got)
	for i, m := range got {
		if want := fmt.Sprintf("m%02d", i); m != want {
			t.Fatalf("messages received: %v; want each of m00..m%02d exactly once", got, n-1)
		}
	}
}

func TestTopicDeliversEachMessageToEverySubscriber(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	pub := dialClient(t, Config{URL: srv.URL(), Name: "pub"}, log)
	var inboxes []*inbox
	for i := range 2 {
		in := newInbox()
		c := dialClient(t, Config{URL: srv.URL(), Name: fmt.Sprint("sub", i), Receipts: true}, log)
		if err := c.Subscribe("/topic/events", in.handler); err != nil {
			t.Fatal(err)
		}
		barrier(t, c) // the broker has the subscription before anything is published
		inboxes = append(inboxes, in)
	}
	send(t, pub, "/topic/events", "pool changed")
	send(t, pub, "/topic/events", "again")
	for _, in := range inboxes {
		in.expect(t, "pool changed")
		in.expect(t, "again")
	}
}

func TestHandlerErrorOrPanicKeepsSubscription(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	c := dialClient(t, Config{URL: srv.URL()}, log)
	in := newInbox()
	err := c.Subscribe("/queue/x", func(ctx context.Context, body []byte) error {
		switch string(body) {
		case "fail":
			return errors.New("cannot process")
		case "panic":
			panic("handler bug")
		}
		return in.handler(ctx, body)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"fail", "first", "panic", "second"} {
		send(t, c, "/queue/x", m)
	}
	in.expect(t, "first")
	in.expect(t, "second")
	if c.Reconnects() != 0 || !c.Connected() {
		t.Errorf("handler failures disturbed the connection: reconnects %d, connected %v", c.Reconnects(), c.Connected())
	}
}

func TestHandlersRunOneAtATimeInOrder(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	c := dialClient(t, Config{URL: srv.URL()}, log)
	in := newInbox()
	running := make(chan struct{}, 1)
	err := c.Subscribe("/queue/seq", func(ctx context.Context, body []byte) error {
		select {
		case running <- struct{}{}:
		default:
			t.Error("handler called while another call runs")
		}
		time.Sleep(time.Millisecond)
		<-running
		return in.handler(ctx, body)
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	for i := range n {
		send(t, c, "/queue/seq", fmt.Sprint(i))
	}
	for i := range n {
		in.expect(t, fmt.Sprint(i))
	}
}

// The embedded broker cannot do client acks; a client configured for them
// falls back to ack:auto there instead of stalling after the first message.
func TestClientAckFallsBackToAutoOnEmbeddedBroker(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	c := dialClient(t, Config{URL: srv.URL(), ClientAck: true, Receipts: true}, log)
	in := newInbox()
	err := c.Subscribe("/queue/acks", func(ctx context.Context, body []byte) error {
		if string(body) == "nack me" {
			return errors.New("not now")
		}
		return in.handler(ctx, body)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", "nack me", "two", "three"} {
		send(t, c, "/queue/acks", m)
	}
	in.expect(t, "one")
	in.expect(t, "two")
	in.expect(t, "three")
	connected(t, c)
	c.mu.Lock()
	ack := c.sess.clientAck
	c.mu.Unlock()
	if ack {
		t.Error("client-individual acks in effect against go-stomp's broker")
	}
}

func TestSendWithReceiptsIsConfirmed(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	c := dialClient(t, Config{URL: srv.URL(), Receipts: true}, log)
	in := newInbox()
	if err := c.Subscribe("/queue/r", in.handler); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		send(t, c, "/queue/r", fmt.Sprint(i))
	}
	for i := range 5 {
		in.expect(t, fmt.Sprint(i))
	}
}

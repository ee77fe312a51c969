package broker

import (
	"context"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/broker/brokertest"
)

func TestBrokerRestart(t *testing.T) {
	for _, receipts := range []bool{false, true} {
		name := "no receipts"
		if receipts {
			name = "receipts"
		}
		t.Run(name, func(t *testing.T) {
			log := testLog(t)
			addr := freeAddr(t)
			srv := startServer(t, addr, log)
			c := dialClient(t, Config{URL: srv.URL(), Name: "agent", Receipts: receipts}, log)
			in := newInbox()
			if err := c.Subscribe("/queue/agent.a1", in.handler); err != nil {
				t.Fatal(err)
			}
			connected(t, c)
			send(t, c, "/queue/agent.a1", "before")
			in.expect(t, "before")

			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the client sees the broker gone", func() bool { return !c.Connected() })

			// A send during the outage waits for the broker to come back.
			sent := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), waitLong)
				defer cancel()
				sent <- c.Send(ctx, "/queue/agent.a1", []byte("during"))
			}()
			select {
			case err := <-sent:
				t.Fatalf("Send returned %v while no broker runs", err)
			case <-time.After(100 * time.Millisecond):
			}

			srv2 := startServer(t, addr, log)
			connected(t, c)
			if err := <-sent; err != nil {
				t.Fatalf("Send during the outage: %v", err)
			}
			in.expect(t, "during")
			if got := c.Reconnects(); got != 1 {
				t.Errorf("Reconnects() = %d, want 1", got)
			}

			// The subscription was made again: others reach it too.
			other := dialClient(t, Config{URL: srv2.URL(), Name: "master"}, log)
			send(t, other, "/queue/agent.a1", "after")
			in.expect(t, "after")
		})
	}
}

func TestTCPCutReconnectsThroughProxy(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	proxy := brokertest.StartProxy(t, srv.Addr())
	c := dialClient(t, Config{URL: proxy.URL(), Name: "agent", Receipts: true}, log)
	in := newInbox()
	if err := c.Subscribe("/topic/events", in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, c)
	barrier(t, c)
	pub := dialClient(t, Config{URL: srv.URL(), Name: "master"}, log)
	send(t, pub, "/topic/events", "before")
	in.expect(t, "before")

	if n := proxy.Cut(1); n != 1 {
		t.Fatalf("cut %d connections, want 1", n)
	}
	eventually(t, "the client reconnects", func() bool { return c.Reconnects() == 1 && c.Connected() })
	if got := proxy.Accepted(); got != 2 {
		t.Errorf("proxy accepted %d connections, want 2 (the first and the reconnect)", got)
	}
	barrier(t, c) // the topic subscription is back at the broker
	send(t, pub, "/topic/events", "after")
	in.expect(t, "after")

	// A subscription made while connected is made again after a cut too.
	late := newInbox()
	if err := c.Subscribe("/queue/late", late.handler); err != nil {
		t.Fatal(err)
	}
	send(t, pub, "/queue/late", "live")
	late.expect(t, "live")
	proxy.Cut(1)
	eventually(t, "the client reconnects again", func() bool { return c.Reconnects() == 2 && c.Connected() })
	send(t, pub, "/queue/late", "after second cut")
	late.expect(t, "after second cut")
}

// A connection that goes silent without closing (a vanished machine, a
// dropped route) is noticed by heart-beats.
func TestHeartBeatDetectsSilentConnection(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	proxy := brokertest.StartProxy(t, srv.Addr())
	c := dialClient(t, Config{URL: proxy.URL(), HeartBeat: 300 * time.Millisecond}, log)
	in := newInbox()
	if err := c.Subscribe("/queue/hb", in.handler); err != nil {
		t.Fatal(err)
	}
	connected(t, c)
	if n := proxy.Freeze(); n != 1 {
		t.Fatalf("froze %d connections, want 1", n)
	}
	eventually(t, "the client reconnects", func() bool { return c.Reconnects() >= 1 && c.Connected() })
	pub := dialClient(t, Config{URL: srv.URL()}, log)
	send(t, pub, "/queue/hb", "through the new connection")
	in.expect(t, "through the new connection")
}

func TestHeartBeatsKeepAnIdleConnection(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	c := dialClient(t, Config{URL: srv.URL(), HeartBeat: 500 * time.Millisecond}, log)
	connected(t, c)
	time.Sleep(2 * time.Second) // four heart-beat periods without a message
	if !c.Connected() || c.Reconnects() != 0 {
		t.Errorf("idle connection dropped: connected %v, reconnects %d", c.Connected(), c.Reconnects())
	}
}

package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/broker/brokertest"
)

func TestDialRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"empty URL", Config{}, []string{"broker URL is empty"}},
		{"missing port", Config{URL: "stomp://broker.example"}, []string{`"stomp://broker.example"`, "missing port"}},
		{"missing port ssl", Config{URL: "stomp+ssl://broker.example"}, []string{`"stomp+ssl://broker.example"`, "missing port"}},
		{"wrong scheme", Config{URL: "http://broker.example:61613"}, []string{`"http://broker.example:61613"`, `unsupported scheme "http"`}},
		{"no scheme", Config{URL: "broker.example:61613"}, []string{`"broker.example:61613"`}},
		{"missing host", Config{URL: "stomp://:61613"}, []string{`"stomp://:61613"`, "missing host"}},
		{"path", Config{URL: "stomp://broker.example:61613/queue"}, []string{"stomp://broker.example:61613/queue", "unexpected path"}},
		{"unparsable", Config{URL: "stomp://[::1"}, []string{`"stomp://[::1"`}},
		{"password redacted", Config{URL: "stomp://u:secret@broker.example"}, []string{"missing port", "stomp://u:xxxxx@broker.example"}},
		{"TLS on plain URL", Config{URL: "stomp://b:61613", TLS: tlsConfig()}, []string{`"stomp://b:61613"`, "not stomp+ssl"}},
		{"min over max backoff", Config{URL: "stomp://b:61613", MinBackoff: time.Minute}, []string{"min backoff 1m0s exceeds max backoff 10s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(context.Background(), tt.cfg, testLog(t))
			if err == nil {
				_ = c.Close()
				t.Fatalf("Dial(%+v) succeeded, want an error", tt.cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestDialNothingListening(t *testing.T) {
	c := dialClient(t, Config{URL: "stomp://" + freeAddr(t)}, testLog(t))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.WaitConnected(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitConnected = %v, want deadline exceeded", err)
	}
	if c.Connected() {
		t.Error("Connected() with nothing listening")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := c.Send(ctx2, "/queue/x", []byte("lost")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want deadline exceeded", err)
	}
	closeWithin(t, c)
}

func TestClosedClientRefusesWork(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	c := dialClient(t, Config{URL: srv.URL()}, log)
	connected(t, c)
	closeWithin(t, c)
	if err := c.Send(context.Background(), "/queue/x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := c.Subscribe("/queue/x", newInbox().handler); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if err := c.WaitConnected(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitConnected after Close = %v, want ErrClosed", err)
	}
	if c.Connected() {
		t.Error("Connected() after Close")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSubscribeAndSendCheckArguments(t *testing.T) {
	c := dialClient(t, Config{URL: "stomp://" + freeAddr(t)}, testLog(t))
	if err := c.Subscribe("", newInbox().handler); err == nil {
		t.Error("Subscribe with an empty destination succeeded")
	}
	if err := c.Subscribe("/queue/x", nil); err == nil || !strings.Contains(err.Error(), "/queue/x") {
		t.Errorf("Subscribe with a nil handler = %v, want an error naming the destination", err)
	}
	if err := c.Send(context.Background(), "", nil); err == nil {
		t.Error("Send with an empty destination succeeded")
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	base := settledGoroutines()
	func() {
		log := testLog(t)
		srv, err := StartEmbedded(context.Background(), "127.0.0.1:0", log)
		if err != nil {
			t.Fatal(err)
		}
		proxy := brokertest.StartProxy(t, srv.Addr())
		clients := []*Client{
			mustDial(t, Config{URL: srv.URL(), Receipts: true}, log),
			mustDial(t, Config{URL: proxy.URL(), ClientAck: true}, log),
			mustDial(t, Config{URL: "stomp://" + freeAddr(t)}, log), // never connects
		}
		in := newInbox()
		for _, c := range clients[:2] {
			if err := c.Subscribe("/queue/q", in.handler); err != nil {
				t.Fatal(err)
			}
			if err := c.Subscribe("/topic/t", in.handler); err != nil {
				t.Fatal(err)
			}
			connected(t, c)
		}
		send(t, clients[0], "/queue/q", "m")
		in.expect(t, "m")
		proxy.Cut(1) // one client is reconnecting while everything closes
		for _, c := range clients {
			closeWithin(t, c)
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		proxy.Close()
	}()
	noGoroutinesAbove(t, base)
}

func TestServerCloseLeavesNoGoroutines(t *testing.T) {
	base := settledGoroutines()
	log := testLog(t)
	srv, err := StartEmbedded(context.Background(), "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	c := mustDial(t, Config{URL: srv.URL()}, log)
	in := newInbox()
	if err := c.Subscribe("/queue/q", in.handler); err != nil {
		t.Fatal(err)
	}
	send(t, c, "/queue/q", "m")
	in.expect(t, "m")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the client notices", func() bool { return !c.Connected() })
	closeWithin(t, c)
	noGoroutinesAbove(t, base)
}

func TestStartEmbeddedOnBusyAddress(t *testing.T) {
	log := testLog(t)
	srv := startServer(t, "127.0.0.1:0", log)
	_, err := StartEmbedded(context.Background(), srv.Addr(), log)
	if err == nil || !strings.Contains(err.Error(), srv.Addr()) {
		t.Fatalf("second broker on %s: %v, want an error naming the address", srv.Addr(), err)
	}
	if got, want := srv.URL(), "stomp://"+srv.Addr(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
}

// mustDial dials without registering Close, for tests that close themselves.
func mustDial(t *testing.T, cfg Config, log *slog.Logger) *Client {
	t.Helper()
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 200*time.Millisecond
	c, err := Dial(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// closeWithin closes c and fails the test if that hangs.
func closeWithin(t *testing.T, c *Client) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Close hangs")
	}
}

func tlsConfigNamed(name string) *tls.Config {
	c := tlsConfig()
	c.ServerName = name
	return c
}

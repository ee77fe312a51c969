package broker

import (
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
)

// Canary for the go-stomp server bugs behind the ack:auto fallback (see
// doc.go). If it fails, go-stomp changed and the fallback in connect may go.
func TestGoStompServerClientIndividualAckIsBroken(t *testing.T) {
	t.Run("STOMP 1.2: the ACK is refused with ERROR", func(t *testing.T) {
		conn, sub := canarySubscribe(t, stomp.V12)
		m := canaryFirst(t, sub)
		if err := conn.Ack(m); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-sub.C:
			if m.Err == nil {
				t.Fatalf("got message %q after the ACK, want the connection refused", m.Body)
			}
			t.Logf("as expected: %v", m.Err)
		case <-time.After(waitLong):
			t.Fatal("no ERROR after the ACK: go-stomp's server reads 1.2 ACK frames now")
		}
	})
	t.Run("STOMP 1.1: the ACK matches nothing and delivery stalls", func(t *testing.T) {
		conn, sub := canarySubscribe(t, stomp.V11)
		m := canaryFirst(t, sub)
		if err := conn.Ack(m); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-sub.C:
			t.Fatalf("second delivery after an individual ack (%q, %v): go-stomp's server acks work now", m.Body, m.Err)
		case <-time.After(500 * time.Millisecond):
		}
	})
}

// canarySubscribe connects a bare go-stomp client with the given protocol
// version, subscribes client-individual and sends two messages.
func canarySubscribe(t *testing.T, v stomp.Version) (*stomp.Conn, *stomp.Subscription) {
	t.Helper()
	srv := startServer(t, "127.0.0.1:0", testLog(t))
	conn, err := stomp.Dial("tcp", srv.Addr(), stomp.ConnOpt.AcceptVersion(v),
		stomp.ConnOpt.Logger(stompLogger{testLog(t)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.MustDisconnect() })
	sub, err := conn.Subscribe("/queue/canary", stomp.AckClientIndividual)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first", "second"} {
		if err := conn.Send("/queue/canary", "", []byte(body), stomp.SendOpt.Receipt); err != nil {
			t.Fatal(err)
		}
	}
	return conn, sub
}

func canaryFirst(t *testing.T, sub *stomp.Subscription) *stomp.Message {
	t.Helper()
	select {
	case m := <-sub.C:
		if m.Err != nil || string(m.Body) != "first" {
			t.Fatalf("first delivery: %q, %v", m.Body, m.Err)
		}
		return m
	case <-time.After(waitLong):
		t.Fatal("first message not delivered")
	}
	return nil
}

package session

import (
	"context"

	"github.com/agentcloud/agentcloud/master/broker"
)

// Conn is the broker connection the session needs; *broker.Client provides
// it through FromBroker. It reconnects and resubscribes by itself.
type Conn interface {
	// Send sends body to dest, waiting for a connection (bounded by ctx).
	Send(ctx context.Context, dest string, body []byte) error
	// Subscribe calls h for each message to dest, one at a time, now and
	// after every reconnect.
	Subscribe(dest string, h func(ctx context.Context, body []byte) error) error
	// WaitConnected waits for a connection.
	WaitConnected(ctx context.Context) error
	// Reconnects counts the connections after the first; the session
	// registers again when it changes.
	Reconnects() int
	// Close disconnects.
	Close() error
}

// FromBroker adapts a *broker.Client to Conn.
func FromBroker(c *broker.Client) Conn { return brokerConn{c} }

type brokerConn struct{ *broker.Client }

// Subscribe subscribes at most once (broker.Client.SubscribeAtMostOnce): the
// session dedupes assignments in memory only, so an assignment the broker
// delivered again to a restarted agent would run its attempt a second time.
// Acknowledging first means an agent killed right after taking an assignment
// never sees it again; the master's accept timeout re-dispatches it as a new
// attempt.
func (b brokerConn) Subscribe(dest string, h func(ctx context.Context, body []byte) error) error {
	return b.Client.SubscribeAtMostOnce(dest, broker.Handler(h))
}
